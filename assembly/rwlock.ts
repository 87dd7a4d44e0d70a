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
// baseline does not try to survive that, SyncMap does.

import { LOCK_SPINS, LOCK_WAIT_MS } from "./config";
import { cas32, futexWait, futexWake, load32, xchg32 } from "./atomics";

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

export function readLock(word: usize): void {
  if (!ASC_FEATURE_THREADS) return;
  for (let spins: u32 = 0; ; spins++) {
    const seen = load32(word);
    if (!(seen & (WRITER | PENDING))) {
      if (cas32(word, seen, seen + 1) == seen) return;
      continue;
    }
    if (spins < LOCK_SPINS) continue;
    if (!(seen & READER_WAITING)) {
      cas32(word, seen, seen | READER_WAITING);
      continue;
    }
    futexWait(word, seen, LOCK_WAIT_MS);
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

export function writeLock(word: usize): void {
  if (!ASC_FEATURE_THREADS) return;
  for (let spins: u32 = 0; ; spins++) {
    const seen = load32(word);
    if (!(seen & (WRITER | READERS))) {
      // Free: take it, keeping R so that the release wakes those readers. P is
      // dropped; a writer still waiting sets it again when it next looks.
      if (cas32(word, seen, WRITER | (seen & READER_WAITING)) == seen) return;
      continue;
    }
    if (!(seen & PENDING)) {
      cas32(word, seen, seen | PENDING);
      continue;
    }
    if (spins >= LOCK_SPINS) futexWait(word, seen, LOCK_WAIT_MS);
  }
}

export function writeUnlock(word: usize): void {
  if (!ASC_FEATURE_THREADS) return;
  if (xchg32(word, 0) & (PENDING | READER_WAITING)) futexWake(word, WAKE_ALL);
}
