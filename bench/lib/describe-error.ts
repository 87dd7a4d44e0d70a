/** What a failed measurement says in the tables and latest.json: the error's class and message. */
export function describeError(error: unknown): string {
  return error instanceof Error ? `${error.constructor.name}: ${error.message}` : String(error);
}
