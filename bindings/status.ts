/**
 * The Wasm core's result codes (assembly/status.ts), as the bindings see them.
 * test/errors.test.ts reads assembly/status.ts and fails if this list drifts.
 */
export const Status = {
  OK: 0,
  ABSENT: -1,
  FULL: -2,
  LOCK_TIMEOUT: -3,
  KEY_TOO_LARGE: -4,
  VALUE_TOO_LARGE: -5,
  BAD_ARGUMENT: -6,
  NOT_ATTACHED: -7,
  NO_SLOT: -8,
  NOT_INITIALIZED: -9,
  LAYOUT_MISMATCH: -10,
  BUILD_MISMATCH: -11,
  MOVED: -12,
} as const;

export type StatusName = keyof typeof Status;

/**
 * Flags the core adds to a count it returns (assembly/map.ts): sm_sweep's
 * SWEEP_WRAPPED (a pass over the whole map ended), SWEEP_SHORT (it stopped at
 * a value whose tombstone waits for a merge of free memory under way) and
 * SWEEP_UNRECORDED (versioned: it expired values without tombstones, for want
 * of memory); sm_compact's COMPACT_SKIPPED (with `waits` 0, it passed a busy
 * shard over).
 */
export const CoreFlag = {
  SWEEP_WRAPPED: 1 << 30,
  SWEEP_SHORT: 1 << 29,
  SWEEP_UNRECORDED: 1 << 28,
  COMPACT_SKIPPED: 1 << 30,
} as const;

/** Must equal LAYOUT_VERSION in assembly/config.ts (checked by test/errors.test.ts). */
export const LAYOUT_VERSION = 9;
