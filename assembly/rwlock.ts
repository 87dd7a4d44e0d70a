// A futex reader-writer lock, writer-preferring like Go's sync.RWMutex: once a
// writer waits, new readers wait too, so a stream of readers cannot starve it.
// Used only by the LockedMap baseline (locked.ts), the map + RWMutex that the
// benchmarks hold SyncMap against.
//
//   lock word (u32)
//   ┌───┬───┬───┬──────────────────────────────────────┐
//   │ W │ P │ R │ readers holding the lock              │
//   └───┴───┴───┴──────────────────────────────────────┘
//    31  30  29  28 … 0
//   W: a writer holds the lock. P (pending): a writer waits for it. R: a reader
//   waits for it. Every change is a CAS by the thread taking or releasing the
//   lock; waiters sleep on the word through the imported Atomics.wait
//   (atomics.ts), and releases wake them only when P or R says someone sleeps.
//
// Unlike mutex.ts this lock records no owner (readers are anonymous), so a
// thread terminated while holding it blocks the LockedMap for good: the
// baseline does not try to survive that, SyncMap does. What it does do is give
// up, as mutex.ts does, once the word has not moved for the thread's patience
// (lockPatience): the caller then reports LOCK_TIMEOUT instead of hanging. A
// writer that gives up leaves P set, so later readers time out too: the lock
// is lost either way, and every thread learns it with an error.

import { LOCK_SPINS, LOCK_WAIT_MS } from "./config";
import { cas32, futexWait, futexWake, load32, xchg32 } from "./atomics";
import { TIMED_OUT, lockPatience } from "./mutex";
import { STAT_CONTENDED, STAT_LOCKS, statsCount } from "./stats";

// @ts-ignore: decorator
@inline const WRITER: u32 = 0x8000_0000;
// @ts-ignore: decorator
@inline const PENDING: u32 = 0x4000_0000;
// @ts-ignore: decorator
@inline const READER_WAITING: u32 = 0x2000_0000;
// @ts-ignore: decorator
@inline const READERS: u32 = 0x1FFF_FFFF;
// @ts-ignore: decorator
@inline const WAKE_ALL: u32 = 0x7FFF_FFFF;

/** Takes a read hold; false when the word did not move for this thread's patience. */
export function readLock(word: usize): bool {
  if (!ASC_FEATURE_THREADS) return true;
  stallReset();
  // while (true), not for (;;): asc sees only the former never falls through.
  let spins: u32 = 0;
  while (true) {
    const seen = load32(word);
    const spun = spins++;
    if (!(seen & (WRITER | PENDING))) {
      if (cas32(word, seen, seen + 1) == seen) {
        statsCount(STAT_LOCKS);
        if (spun) statsCount(STAT_CONTENDED);
        return true;
      }
      continue;
    }
    if (spun < LOCK_SPINS) continue;
    if (!(seen & READER_WAITING)) {
      cas32(word, seen, seen | READER_WAITING);
      continue;
    }
    if (!stalledWait(word, seen)) return false;
  }
}

export function readUnlock(word: usize): void {
  if (!ASC_FEATURE_THREADS) return;
  let seen = load32(word);
  while (true) {
    const witness = cas32(word, seen, seen - 1);
    if (witness == seen) break;
    seen = witness;
  }
  // The last reader out lets a pending writer in.
  if ((seen & READERS) == 1 && (seen & PENDING)) futexWake(word, WAKE_ALL);
}

/** Takes the write hold; false when the word did not move for this thread's patience. */
export function writeLock(word: usize): bool {
  if (!ASC_FEATURE_THREADS) return true;
  stallReset();
  // while (true), not for (;;): asc sees only the former never falls through.
  let spins: u32 = 0;
  while (true) {
    const seen = load32(word);
    const spun = spins++;
    if (!(seen & (WRITER | READERS))) {
      // Free: take it, keeping R so that the release wakes those readers. P is
      // dropped; a writer still waiting sets it again when it next looks.
      if (cas32(word, seen, WRITER | (seen & READER_WAITING)) == seen) {
        statsCount(STAT_LOCKS);
        if (spun) statsCount(STAT_CONTENDED);
        return true;
      }
      continue;
    }
    if (!(seen & PENDING)) {
      cas32(word, seen, seen | PENDING);
      continue;
    }
    if (spun >= LOCK_SPINS && !stalledWait(word, seen)) return false;
  }
}

export function writeUnlock(word: usize): void {
  if (!ASC_FEATURE_THREADS) return;
  if (xchg32(word, 0) & (PENDING | READER_WAITING)) futexWake(word, WAKE_ALL);
}

// How long this thread has watched a lock word stay the same, for the one
// wait it is in (a thread waits on one lock at a time). Thread-local: Wasm
// globals belong to the instance.
let stallSeen: u32 = 0;
let stallMs: f64 = 0;

// @ts-ignore: decorator
@inline function stallReset(): void {
  stallSeen = 0;
  stallMs = 0;
}

/**
 * Waits while the word holds `seen`; false once it has not moved for this
 * thread's patience. A wake or a changed word is progress and starts the count
 * again; only waits that run their whole LOCK_WAIT_MS on the same word add up.
 */
function stalledWait(word: usize, seen: u32): bool {
  if (seen != stallSeen) {
    stallSeen = seen;
    stallMs = 0;
  }
  if (futexWait(word, seen, LOCK_WAIT_MS) != TIMED_OUT) {
    stallMs = 0;
    return true;
  }
  stallMs += LOCK_WAIT_MS;
  return stallMs < lockPatience();
}
