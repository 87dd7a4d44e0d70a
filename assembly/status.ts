// Result codes of the ABI (abi.ts) and of the map's operations (map.ts).
//
// Zero and up are results (a length, a flag); negative values are statuses.
// bindings/errors.ts maps each failure status to one error class with a stable
// `code`, and test/errors.test.ts keeps the two lists equal: add a status here,
// and that test fails until the bindings know it.
export const enum Status {
  /** The operation found what it looked for (loaded, swapped, deleted). */
  OK = 0,
  /** The key (or the expected value) was absent; for loadOrStore: so it stored. */
  ABSENT = -1,
  /**
   * sm_swapFound only: where the key was found is no longer where its value
   * is (or it holds none). Not a failure: the bindings then store by key.
   */
  MOVED = -12,

  // ── failures: each leaves the map exactly as it was ──
  /** The memory reached its maximum and nothing more could be reclaimed. */
  FULL = -2,
  /** A shard's lock word did not change for the thread's whole patience. */
  LOCK_TIMEOUT = -3,
  /** The key is longer than the map's maxKeyBytes. */
  KEY_TOO_LARGE = -4,
  /** The value is longer than the map's maxValueBytes. */
  VALUE_TOO_LARGE = -5,
  /** An offset or length outside this thread's scratch region, or a bad option. */
  BAD_ARGUMENT = -6,
  /** This instance is not attached (never attached, or detached). */
  NOT_ATTACHED = -7,
  /** All MAX_SLOTS thread slots are taken. */
  NO_SLOT = -8,
  /** The memory holds no heap (or one still being set up). */
  NOT_INITIALIZED = -9,
  /** The memory's heap was laid out by another LAYOUT_VERSION. */
  LAYOUT_MISMATCH = -10,
  /** The memory's heap was created by another build of this module. */
  BUILD_MISMATCH = -11,
}
