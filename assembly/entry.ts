// Entries and value blocks: the records a map's tables point at.
//
//   entry (ENTRY_HEADER_SIZE + key length bytes)
//   ┌─────────┬─────────────┬─────────┬─────────┐
//   │ value   │ retire link │ keyLen  │ flags   │  +0 … +16
//   ├─────────┴─────────────┼─────────┴─────────┤
//   │ version u64           │ expiresAt u64     │  +16 … +32
//   ├───────────────────────┴───────────────────┤
//   │ key bytes …                                │  +32
//   └───────────────────────────────────────────┘
//
//   value block (VALUE_HEADER_SIZE + length bytes)
//   ┌─────────┬─────────────┬────────────────────┐
//   │ length  │ retire link │ bytes …            │
//   └─────────┴─────────────┴────────────────────┘
//
// Everything but an entry's `value` word is immutable once the record is
// reachable: keys and value bytes are written into a private block, and a new
// value is a new block swapped in whole. A reader that loads `value` therefore
// sees either the old bytes or the new ones, never a mix, as long as it is
// pinned (reclaim.ts) while it copies them out.
//
// `value` is Go's entry.p: the entry's state, changed only by atomic operations.
//
//   DELETED (0)   The key is absent. The entry is in the read table, and in the
//                 dirty table too if there is one.
//   EXPUNGED (1)  The key is absent, there is a dirty table, and the entry is
//                 not in it: it lives on only in the read table, until the next
//                 promotion drops it. Also the final state of every entry that
//                 has been dropped from all tables (clear, promotion, deletion of
//                 a dirty-only key), so that a late CAS by a lock-free writer who
//                 still holds the entry fails instead of storing into the void.
//   live (>= 8)   A value block: the key is present with that value. The entry
//                 is in the read table and/or the dirty table.
//
//   Transitions, and who may make them:
//     live     → live      any thread, by CAS, without the lock (Store, Swap,
//                          CompareAndSwap of a present key)
//     live     → DELETED   lock holder (Delete and friends)
//     DELETED  → live      lock holder (Store of an absent key whose entry remains)
//     DELETED  → EXPUNGED  lock holder, while copying read into a new dirty table
//     EXPUNGED → DELETED   lock holder, right after adding the entry back to dirty
//     any      → EXPUNGED  lock holder, when the entry is dropped from every table
//
// Go also lets DELETED → live and live → DELETED happen without the lock. Here
// every change of presence takes the shard's lock, so that the shard's size
// counter changes under the same lock as the entries it counts and a lock
// recovered from a dead thread can be repaired by recounting (map.ts).
//
// `flags`, `version` and `expiresAt` are reserved for per-entry metadata (a
// version stamp and an expiry time); they are zero for now.

import { allocOrCollect } from "./reclaim";

// @ts-ignore: decorator
@inline export const ENTRY_VALUE: usize = 0;
// @ts-ignore: decorator
@inline export const ENTRY_RETIRE_LINK: usize = 4; // reclaim.ts
// @ts-ignore: decorator
@inline const ENTRY_KEY_LEN: usize = 8;
// @ts-ignore: decorator
@inline const ENTRY_FLAGS: usize = 12;
// @ts-ignore: decorator
@inline const ENTRY_VERSION: usize = 16;
// @ts-ignore: decorator
@inline const ENTRY_EXPIRES_AT: usize = 24;
// @ts-ignore: decorator
@inline export const ENTRY_KEY: usize = 32;
// @ts-ignore: decorator
@inline export const ENTRY_HEADER_SIZE: usize = ENTRY_KEY;

// @ts-ignore: decorator
@inline const VALUE_LENGTH: usize = 0;
// @ts-ignore: decorator
@inline export const VALUE_RETIRE_LINK: usize = 4; // reclaim.ts
// @ts-ignore: decorator
@inline export const VALUE_BYTES: usize = 8;
// @ts-ignore: decorator
@inline export const VALUE_HEADER_SIZE: usize = VALUE_BYTES;

// @ts-ignore: decorator
@inline export const DELETED: u32 = 0;
// @ts-ignore: decorator
@inline export const EXPUNGED: u32 = 1;

/** True for a value block, false for DELETED and EXPUNGED. */
// @ts-ignore: decorator
@inline export function isLive(value: u32): bool {
  return value > EXPUNGED;
}

// @ts-ignore: decorator
@inline export function entryKeyLen(entry: usize): usize {
  return <usize>load<u32>(entry + ENTRY_KEY_LEN);
}

// @ts-ignore: decorator
@inline export function entryBlockSize(entry: usize): usize {
  return ENTRY_HEADER_SIZE + entryKeyLen(entry);
}

/** A new entry holding a copy of the key and `value`; 0 when memory is exhausted. */
export function entryNew(key: usize, keyLen: usize, value: u32): usize {
  const entry = allocOrCollect(ENTRY_HEADER_SIZE + keyLen);
  if (!entry) return 0;
  // Private until the caller inserts it into a table, so plain stores suffice.
  store<u32>(entry + ENTRY_VALUE, value);
  store<u32>(entry + ENTRY_KEY_LEN, <u32>keyLen);
  store<u32>(entry + ENTRY_FLAGS, 0);
  store<u64>(entry + ENTRY_VERSION, 0);
  store<u64>(entry + ENTRY_EXPIRES_AT, 0);
  memory.copy(entry + ENTRY_KEY, key, keyLen);
  return entry;
}

// @ts-ignore: decorator
@inline export function entryHasKey(entry: usize, key: usize, keyLen: usize): bool {
  return entryKeyLen(entry) == keyLen && bytesEqual(entry + ENTRY_KEY, key, keyLen);
}

// @ts-ignore: decorator
@inline export function valueLength(block: usize): usize {
  return <usize>load<u32>(block + VALUE_LENGTH);
}

// @ts-ignore: decorator
@inline export function valueBlockSize(block: usize): usize {
  return VALUE_HEADER_SIZE + valueLength(block);
}

/** Copies a value block's bytes to `dest`; returns their length. */
// @ts-ignore: decorator
@inline export function valueCopyTo(block: usize, dest: usize): i32 {
  const len = valueLength(block);
  memory.copy(dest, block + VALUE_BYTES, len);
  return <i32>len;
}

/** A new value block holding a copy of `len` bytes; 0 when memory is exhausted. */
export function valueNew(bytes: usize, len: usize): u32 {
  const block = allocOrCollect(VALUE_HEADER_SIZE + len);
  if (!block) return 0;
  store<u32>(block + VALUE_LENGTH, <u32>len);
  memory.copy(block + VALUE_BYTES, bytes, len);
  return <u32>block;
}

/** Byte equality of a value block with `len` bytes at `bytes`. */
// @ts-ignore: decorator
@inline export function valueEquals(block: usize, bytes: usize, len: usize): bool {
  return valueLength(block) == len && bytesEqual(block + VALUE_BYTES, bytes, len);
}

export function bytesEqual(a: usize, b: usize, len: usize): bool {
  let i: usize = 0;
  for (; i + 8 <= len; i += 8) {
    if (load<u64>(a + i) != load<u64>(b + i)) return false;
  }
  for (; i < len; i++) {
    if (load<u8>(a + i) != load<u8>(b + i)) return false;
  }
  return true;
}
