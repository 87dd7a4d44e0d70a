/**
 * Every error syncmap-wasm throws. Each class has a stable `code`; the message
 * names the argument at fault. An operation that throws leaves the map exactly
 * as it was, but for SyncMapValueDecodingError after a write (see there).
 *
 * The first group maps 1:1 from the Wasm core's failure statuses
 * (bindings/status.ts); the second is raised by the bindings, before the core is
 * called (or, for decoding, after it returned). test/errors.test.ts keeps the
 * mapping complete.
 */
import { Status } from './status.js';

export type SyncMapErrorCode =
  | 'ERR_SYNCMAP_FULL'
  | 'ERR_SYNCMAP_LOCK_TIMEOUT'
  | 'ERR_SYNCMAP_KEY_TOO_LARGE'
  | 'ERR_SYNCMAP_VALUE_TOO_LARGE'
  | 'ERR_SYNCMAP_INTERNAL'
  | 'ERR_SYNCMAP_CLOSED'
  | 'ERR_SYNCMAP_TOO_MANY_THREADS'
  | 'ERR_SYNCMAP_INVALID_HANDLE'
  | 'ERR_SYNCMAP_LAYOUT_MISMATCH'
  | 'ERR_SYNCMAP_BUILD_MISMATCH'
  | 'ERR_SYNCMAP_KEY_TYPE'
  | 'ERR_SYNCMAP_VALUE_ENCODING'
  | 'ERR_SYNCMAP_VALUE_DECODING'
  | 'ERR_SYNCMAP_INVALID_ARGUMENT';

/**
 * Base class of every error this package throws. `code` is stable; the message
 * starts with the class and method the caller used ("LockedMap.get: …").
 *
 * Sent to another thread (postMessage, a worker's 'error' event), an error
 * arrives as a plain Error that keeps `code` and `message` but not its class:
 * test `error.code`, not `instanceof`, for errors that may cross threads.
 */
export class SyncMapError extends Error {
  readonly code: SyncMapErrorCode;

  constructor(code: SyncMapErrorCode, message: string, options?: ErrorOptions) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

// ── from the Wasm core ─────────────────────────────────────────────────────

/** The map's memory reached maxMemoryBytes and nothing more could be reclaimed. */
export class SyncMapFullError extends SyncMapError {
  constructor(message: string) { super('ERR_SYNCMAP_FULL', message); }
}

/**
 * A shard's lock did not change hands for lockTimeoutMs. Happens only when the
 * thread holding it was terminated and the thread that created that worker has
 * not yet handled its 'exit' event (possibly because it is the one waiting).
 */
export class SyncMapLockTimeoutError extends SyncMapError {
  constructor(message: string) { super('ERR_SYNCMAP_LOCK_TIMEOUT', message); }
}

export class SyncMapKeyTooLargeError extends SyncMapError {
  constructor(message: string) { super('ERR_SYNCMAP_KEY_TOO_LARGE', message); }
}

export class SyncMapValueTooLargeError extends SyncMapError {
  constructor(message: string) { super('ERR_SYNCMAP_VALUE_TOO_LARGE', message); }
}

/** The core refused an argument the bindings should never pass: a bug here. */
export class SyncMapInternalError extends SyncMapError {
  constructor(message: string) { super('ERR_SYNCMAP_INTERNAL', message); }
}

/** The map was used after close(). */
export class SyncMapClosedError extends SyncMapError {
  constructor(message: string) { super('ERR_SYNCMAP_CLOSED', message); }
}

/** Every thread slot of the map is taken (128 attached handles at once). */
export class SyncMapTooManyThreadsError extends SyncMapError {
  constructor(message: string) { super('ERR_SYNCMAP_TOO_MANY_THREADS', message); }
}

/**
 * attach() was given something that is not the handle of a live map: the map
 * object itself, or the `{}` it becomes through postMessage (pass map.handle),
 * a made-up object, a memory no map was created in.
 */
export class SyncMapInvalidHandleError extends SyncMapError {
  constructor(message: string) { super('ERR_SYNCMAP_INVALID_HANDLE', message); }
}

/** The handle's memory was laid out by another version of this package. */
export class SyncMapLayoutMismatchError extends SyncMapError {
  constructor(message: string) { super('ERR_SYNCMAP_LAYOUT_MISMATCH', message); }
}

/** The handle's memory was created by another build of the Wasm core. */
export class SyncMapBuildMismatchError extends SyncMapError {
  constructor(message: string) { super('ERR_SYNCMAP_BUILD_MISMATCH', message); }
}

// ── from the bindings ──────────────────────────────────────────────────────

/** A key of the wrong type for the map's `keys` option. */
export class SyncMapKeyTypeError extends SyncMapError {
  constructor(message: string) { super('ERR_SYNCMAP_KEY_TYPE', message); }
}

/**
 * The value codec cannot store the value as it is: under 'structured' a
 * function, a symbol, an instance of a class, a WeakMap… (the message says
 * where in the value); under 'json' a cycle, undefined or a bigint; a
 * non-string under 'string'; a custom encode() that threw (`cause`).
 */
export class SyncMapValueEncodingError extends SyncMapError {
  constructor(message: string, options?: ErrorOptions) { super('ERR_SYNCMAP_VALUE_ENCODING', message, options); }
}

/**
 * A custom value codec's decode() threw; `cause` is what it threw. The message
 * says whether the operation had already taken effect: a read (load, get,
 * range, iteration, loadOrStore finding a value) changed nothing, while swap
 * and loadAndDelete made their write and failed only to decode the previous
 * value, and loadOrStore that stored failed to decode what it stored. Either
 * way the map and this thread's attachment stay usable.
 */
export class SyncMapValueDecodingError extends SyncMapError {
  constructor(message: string, options?: ErrorOptions) { super('ERR_SYNCMAP_VALUE_DECODING', message, options); }
}

/** An option or argument is missing, of the wrong type or out of range. */
export class SyncMapArgumentError extends SyncMapError {
  constructor(message: string) { super('ERR_SYNCMAP_INVALID_ARGUMENT', message); }
}

type FailureStatus = Exclude<keyof typeof Status, 'OK' | 'ABSENT' | 'MOVED'>;

/** The error class of each failure status of the core. */
export const errorForStatus: { readonly [S in FailureStatus]: (context: string) => SyncMapError } = {
  FULL: (context) => new SyncMapFullError(`${context}: the map's memory is full (maxMemoryBytes reached)`),
  LOCK_TIMEOUT: (context) =>
    new SyncMapLockTimeoutError(
      `${context}: a shard lock held by another thread did not move for lockTimeoutMs; ` +
        'its holder was probably terminated and has not been reaped yet',
    ),
  KEY_TOO_LARGE: (context) => new SyncMapKeyTooLargeError(`${context}: key is longer than maxKeyBytes`),
  VALUE_TOO_LARGE: (context) => new SyncMapValueTooLargeError(`${context}: value is longer than maxValueBytes`),
  BAD_ARGUMENT: (context) => new SyncMapInternalError(`${context}: the Wasm core refused an argument (a bug in syncmap-wasm)`),
  NOT_ATTACHED: (context) => new SyncMapClosedError(`${context}: the map is closed`),
  NO_SLOT: (context) => new SyncMapTooManyThreadsError(`${context}: all 128 thread slots of the map are taken`),
  NOT_INITIALIZED: (context) => new SyncMapInvalidHandleError(`${context}: handle.memory holds no map`),
  LAYOUT_MISMATCH: (context) =>
    new SyncMapLayoutMismatchError(`${context}: handle.memory was laid out by another version of syncmap-wasm`),
  BUILD_MISMATCH: (context) =>
    new SyncMapBuildMismatchError(`${context}: handle.memory was created by another build of the syncmap-wasm core`),
};

const byStatus = new Map<number, (context: string) => SyncMapError>(
  (Object.keys(errorForStatus) as FailureStatus[]).map((name) => [Status[name], errorForStatus[name]]),
);

/** The error for a negative status other than ABSENT. */
export function statusError(status: number, context: string): SyncMapError {
  const make = byStatus.get(status);
  return make ? make(context) : new SyncMapInternalError(`${context}: unknown status ${status} from the Wasm core`);
}
