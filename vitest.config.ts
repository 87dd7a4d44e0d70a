import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Several files start worker threads; on a 2-core CI machine, running the
    // files one at a time keeps each test's threads from starving each other.
    fileParallelism: false,
    testTimeout: 120_000,
    hookTimeout: 60_000,
    // Type tests (test/*.test-d.ts: expectTypeOf, and @ts-expect-error for what
    // must not compile) run with the rest, checked by tsc against the shipped
    // .d.ts in build/ under a plain Node setup: @types/node, no DOM lib,
    // skipLibCheck off (test/typecheck.tsconfig.json).
    typecheck: {
      enabled: true,
      include: ['test/**/*.test-d.ts'],
      tsconfig: './test/typecheck.tsconfig.json',
    },
  },
});
