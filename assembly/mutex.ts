// A futex mutex that records its owner, so that a lock whose holder has exited
// can be recovered (abi.ts, reapThread).
//
//   mutex (MUTEX_SIZE = 8 bytes)
//   ┌───┬──────────────────────────────────────┬──────────────────────────┐
//   │ C │ owner: slot index + 1 (0 = unlocked)  │ acquisitions u32         │
//   └───┴──────────────────────────────────────┴──────────────────────────┘
//    31   30 … 0                                 +4
//   C (CONTENDED): some thread may be asleep on the word, so unlock must wake one.
//   acquisitions: bumped by every acquirer while it holds the lock (plain
//   read-modify-write under the lock, atomic store); waiters read it to tell a
//   lock that keeps changing hands from one whose holder never lets go.
//
// Acquired by CAS from 0, released by exchange with 0, as in Drepper's
// "Futexes Are Tricky" (mutex 3), with the owner's id in place of the 1. A
// waiter that acquires after sleeping keeps C set: it cannot know whether others
// still sleep, and a spurious wake is cheaper than a lost one.
//
// The sleep goes through an imported `Atomics.wait` (atomics.ts: a V8 bug in
// Node 20 breaks Wasm's own wait) and is bounded, so a waiter that sees the lock
// held by the same owner, with no acquisition in between, for `patienceMs` gives
// up with `false` instead of blocking forever. Before that, after each wait,
// the waiter asks whether the holder's thread has died and if so reaps it
// itself (reaper.ts), so a dead holder costs a waiter one wait, not a timeout.
//
// Without threads (proxy-wasm) there is one thread per VM and no call into a VM
// overlaps another, so lock and unlock compile to nothing.

import { hostNowMs } from "./clock"; // for the time waited (statistics)
import { LOCK_SPINS, LOCK_WAIT_MS } from "./config";
import { cas32, futexWait, futexWake, load32, store32, xchg32 } from "./atomics";
import { STAT_CONTENDED, STAT_LOCKS, STAT_WAIT_MICROS, statsAdd, statsCount } from "./stats";

// @ts-ignore: decorator
@inline const UNLOCKED: u32 = 0;
// @ts-ignore: decorator
@inline const CONTENDED: u32 = 0x8000_0000;
// @ts-ignore: decorator
@inline const OWNER_MASK: u32 = 0x7FFF_FFFF;
// What futexWait returns when the wait ran its whole time (Atomics.wait's "timed-out").
// @ts-ignore: decorator
@inline export const TIMED_OUT: i32 = 2;
// @ts-ignore: decorator
@inline export const ACQUISITIONS: usize = 4;
// @ts-ignore: decorator
@inline export const MUTEX_SIZE: usize = 8;

// Thread-local: how long this thread waits on an unchanging lock word.
let patienceMs: f64 = 5000;

/**
 * Called with the owner id of a lock that has not moved for a wait's length
 * (LOCK_WAIT_MS); reaps that owner if its thread has died, and says whether it
 * did (reaper.ts registers it). So a waiter does not time out on a dead
 * holder: it recovers the lock itself, within one wait.
 */
type DeadOwnerHandler = (owner: u32) => bool;
function noHandler(owner: u32): bool { return false; }
let onStuckOwner: DeadOwnerHandler = noHandler;

export function mutexSetDeadOwnerHandler(handler: DeadOwnerHandler): void {
  onStuckOwner = handler;
}

/** Reaps the holder of lock-owner id `owner` if its thread has died (for other waits than a lock's). */
export function reapIfDead(owner: u32): bool {
  return onStuckOwner(owner);
}

// Thread-local: this thread's `waiting` word (slots.ts), 0 until attached.
let waitingWord: usize = 0;

/** Binds the word this thread sets while it waits for a lock (0 to unbind). */
export function mutexBind(word: usize): void {
  waitingWord = word;
}

export function setLockPatience(ms: f64): void {
  patienceMs = ms;
}

/** This thread's patience, for the other lock (rwlock.ts). */
// @ts-ignore: decorator
@inline export function lockPatience(): f64 {
  return patienceMs;
}

/** Acquires the lock for `owner` (a slot index + 1); false when patience ran out. */
// @ts-ignore: decorator
@inline export function lock(word: usize, owner: u32): bool {
  if (!ASC_FEATURE_THREADS) return true;
  if (cas32(word, UNLOCKED, owner) != UNLOCKED && !lockWaiting(word, owner)) return false;
  acquired(word);
  return true;
}

/** Counts an acquisition, by the holder (the lock's word, and this thread's statistics). */
// @ts-ignore: decorator
@inline function acquired(word: usize): void {
  store32(word + ACQUISITIONS, load32(word + ACQUISITIONS) + 1);
  statsCount(STAT_LOCKS);
}

/** Takes the lock only if it is free right now; never waits. */
export function tryLock(word: usize, owner: u32): bool {
  if (!ASC_FEATURE_THREADS) return true;
  if (cas32(word, UNLOCKED, owner) != UNLOCKED) return false;
  acquired(word);
  return true;
}

// @ts-ignore: decorator
@inline export function unlock(word: usize): void {
  if (!ASC_FEATURE_THREADS) return;
  if (xchg32(word, UNLOCKED) & CONTENDED) futexWake(word, 1);
}

/** True if the lock is held by `owner` (a lock's holder asking about its own). */
// @ts-ignore: decorator
@inline export function lockHeldBy(word: usize, owner: u32): bool {
  return (load32(word) & OWNER_MASK) == owner;
}

/** True if the lock is held by anyone, or about to be (a waiter set C). */
// @ts-ignore: decorator
@inline export function lockIsHeld(word: usize): bool {
  return load32(word) != UNLOCKED;
}

/**
 * Makes `owner` the holder of a lock held by `deadOwner`, whose thread has
 * exited. False if the lock is not held by `deadOwner`.
 */
export function lockTakeOver(word: usize, deadOwner: u32, owner: u32): bool {
  let seen = load32(word);
  while ((seen & OWNER_MASK) == deadOwner) {
    const witness = cas32(word, seen, owner | (seen & CONTENDED));
    if (witness == seen) {
      store32(word + ACQUISITIONS, load32(word + ACQUISITIONS) + 1);
      return true;
    }
    seen = witness;
  }
  return false;
}

/**
 * The contended path: marks this thread as waiting (it is in no lock-free step
 * meanwhile: see snapshot() in map.ts), and counts the wait and its length.
 */
function lockWaiting(word: usize, owner: u32): bool {
  if (waitingWord) store32(waitingWord, 1);
  const start = hostNowMs();
  const acquired = lockSlow(word, owner);
  statsCount(STAT_CONTENDED);
  statsAdd(STAT_WAIT_MICROS, <u64>((hostNowMs() - start) * 1000));
  if (waitingWord) store32(waitingWord, 0);
  return acquired;
}

function lockSlow(word: usize, owner: u32): bool {
  for (let i: u32 = 0; i < LOCK_SPINS; i++) {
    if (load32(word) == UNLOCKED && cas32(word, UNLOCKED, owner) == UNLOCKED) return true;
  }
  let unchangedMs: f64 = 0;
  let lastSeen: u32 = UNLOCKED;
  let lastAcquisitions = load32(word + ACQUISITIONS);
  while (true) {
    let seen = load32(word);
    if (seen == UNLOCKED) {
      if (cas32(word, UNLOCKED, owner | CONTENDED) == UNLOCKED) return true;
      continue;
    }
    if (!(seen & CONTENDED)) {
      if (cas32(word, seen, seen | CONTENDED) != seen) continue;
      seen |= CONTENDED;
    }
    const acquisitions = load32(word + ACQUISITIONS);
    if (seen != lastSeen || acquisitions != lastAcquisitions) {
      lastSeen = seen;
      lastAcquisitions = acquisitions;
      unchangedMs = 0;
    }
    if (futexWait(word, seen, LOCK_WAIT_MS) == TIMED_OUT) {
      if (onStuckOwner(seen & OWNER_MASK)) {
        unchangedMs = 0;
        continue;
      }
      unchangedMs += LOCK_WAIT_MS;
      if (unchangedMs >= patienceMs) return false;
    }
  }
}
