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
//   value block, inline (length <= VALUE_INLINE_MAX; VALUE_BYTES + length bytes)
//   ┌─────────┬─────────────┬────────────────────┐
//   │ length  │ retire link │ bytes …            │
//   └─────────┴─────────────┴────────────────────┘
//   value block, chunked (longer values; PAGE_BYTES, then chunks)
//   ┌─────────┬─────────────┬────────────┬─────┬──────────────────────────┐
//   │ length  │ retire link │ next chunk │ —   │ first HEAD_CHUNK bytes … │
//   └─────────┴─────────────┴────────────┴─────┴──────────────────────────┘
//   chunk (CHUNK_HEADER_SIZE + up to CHUNK_BYTES bytes; the last one is shorter)
//   ┌────────────┬─────┬──────────────────┐
//   │ next chunk │ —   │ bytes …          │
//   └────────────┴─────┴──────────────────┘
//
// Values longer than VALUE_INLINE_MAX are split into blocks of at most
// PAGE_BYTES, so that storing a large value never needs a long contiguous run
// of free memory (the reason tables are paged too, table.ts): in a churned heap,
// any 4 KiB of free memory serves. Reading a chunked value follows its chain.
// The proxy-wasm build (one thread, a memory that grows) keeps every value inline.
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

import { allocOrCollect } from "./memory";
import { free } from "./alloc";
import { MAX_VALUE_BYTES } from "./config";
import { PAGE_BYTES } from "./table";
import { KIND_ENTRY, KIND_VALUE, reclaimRegisterKind } from "./reclaim";

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
@inline export const VALUE_BYTES: usize = 8; // of an inline value
// @ts-ignore: decorator
@inline export const VALUE_HEADER_SIZE: usize = VALUE_BYTES;
// @ts-ignore: decorator
@inline const VALUE_NEXT: usize = 8; // of a chunked value
// @ts-ignore: decorator
@inline const VALUE_CHUNKED_BYTES: usize = 16;
// @ts-ignore: decorator
@inline const HEAD_CHUNK: usize = PAGE_BYTES - VALUE_CHUNKED_BYTES;
// @ts-ignore: decorator
@inline const CHUNK_NEXT: usize = 0;
// @ts-ignore: decorator
@inline const CHUNK_HEADER_SIZE: usize = 8;
// @ts-ignore: decorator
@inline const CHUNK_BYTES: usize = PAGE_BYTES - CHUNK_HEADER_SIZE;
/** The longest value kept in one block: the block is then at most PAGE_BYTES. */
// @ts-ignore: decorator
@inline export const VALUE_INLINE_MAX: usize = ASC_FEATURE_THREADS ? PAGE_BYTES - VALUE_HEADER_SIZE : <usize>MAX_VALUE_BYTES;

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

/** The size of a value's first block (for a chunked value, its chunks come on top). */
// @ts-ignore: decorator
@inline export function valueBlockSize(block: usize): usize {
  const len = valueLength(block);
  return len <= VALUE_INLINE_MAX ? VALUE_HEADER_SIZE + len : PAGE_BYTES;
}

/** Copies a value's bytes to `dest`; returns their length. */
// @ts-ignore: decorator
@inline export function valueCopyTo(block: usize, dest: usize): i32 {
  const len = valueLength(block);
  if (len <= VALUE_INLINE_MAX) memory.copy(dest, block + VALUE_BYTES, len);
  else copyChunked(block, dest, len);
  return <i32>len;
}

function copyChunked(block: usize, dest: usize, len: usize): void {
  memory.copy(dest, block + VALUE_CHUNKED_BYTES, HEAD_CHUNK);
  let done = HEAD_CHUNK;
  let chunk = <usize>load<u32>(block + VALUE_NEXT);
  while (done < len) {
    const n = min(CHUNK_BYTES, len - done);
    memory.copy(dest + done, chunk + CHUNK_HEADER_SIZE, n);
    done += n;
    chunk = <usize>load<u32>(chunk + CHUNK_NEXT);
  }
}

/**
 * A new value block holding a copy of `len` bytes (chunked past
 * VALUE_INLINE_MAX); 0 when memory is exhausted, having freed what it made.
 */
export function valueNew(bytes: usize, len: usize): u32 {
  if (len <= VALUE_INLINE_MAX) {
    const block = allocOrCollect(VALUE_HEADER_SIZE + len);
    if (!block) return 0;
    store<u32>(block + VALUE_LENGTH, <u32>len);
    memory.copy(block + VALUE_BYTES, bytes, len);
    return <u32>block;
  }
  const block = allocOrCollect(PAGE_BYTES);
  if (!block) return 0;
  store<u32>(block + VALUE_LENGTH, <u32>len);
  store<u32>(block + VALUE_NEXT, 0);
  memory.copy(block + VALUE_CHUNKED_BYTES, bytes, HEAD_CHUNK);
  let done = HEAD_CHUNK;
  let link = block + VALUE_NEXT; // the word the next chunk is linked into
  while (done < len) {
    const n = min(CHUNK_BYTES, len - done);
    const chunk = allocOrCollect(CHUNK_HEADER_SIZE + n);
    if (!chunk) {
      valueFree(block);
      return 0;
    }
    store<u32>(chunk + CHUNK_NEXT, 0);
    memory.copy(chunk + CHUNK_HEADER_SIZE, bytes + done, n);
    store<u32>(link, <u32>chunk);
    link = chunk + CHUNK_NEXT;
    done += n;
  }
  return <u32>block;
}

/**
 * Frees a chunked value's chunks, leaving its first block. Resumable: each
 * chunk is unlinked before it is freed, so an interrupted call can be repeated
 * (by one thread at a time) and leaks at most one chunk.
 */
export function valueFreeChunks(block: usize): void {
  if (valueLength(block) <= VALUE_INLINE_MAX) return;
  let chunk = <usize>load<u32>(block + VALUE_NEXT);
  while (chunk) {
    const next = load<u32>(chunk + CHUNK_NEXT);
    store<u32>(block + VALUE_NEXT, next);
    free(chunk, chunkBlockSize(block, chunk));
    chunk = <usize>next;
  }
}

/** A chunk's block size: full, but for the last one of the value. */
function chunkBlockSize(block: usize, chunk: usize): usize {
  if (load<u32>(chunk + CHUNK_NEXT)) return PAGE_BYTES;
  const tail = (valueLength(block) - HEAD_CHUNK) % CHUNK_BYTES;
  return CHUNK_HEADER_SIZE + (tail ? tail : CHUNK_BYTES);
}

/** Frees a value that no other thread can reach (never published). */
export function valueFree(block: usize): void {
  valueFreeChunks(block);
  free(block, valueBlockSize(block));
}

/** Every block of a value: its share of bytesInUse. */
export function valueBytes(block: usize): usize {
  const len = valueLength(block);
  if (len <= VALUE_INLINE_MAX) return VALUE_HEADER_SIZE + len;
  const rest = len - HEAD_CHUNK;
  return PAGE_BYTES + (rest / CHUNK_BYTES) * PAGE_BYTES + (rest % CHUNK_BYTES ? CHUNK_HEADER_SIZE + rest % CHUNK_BYTES : 0);
}

/** Byte equality of a value with `len` bytes at `bytes`. */
export function valueEquals(block: usize, bytes: usize, len: usize): bool {
  if (valueLength(block) != len) return false;
  if (len <= VALUE_INLINE_MAX) return bytesEqual(block + VALUE_BYTES, bytes, len);
  if (!bytesEqual(block + VALUE_CHUNKED_BYTES, bytes, HEAD_CHUNK)) return false;
  let done = HEAD_CHUNK;
  let chunk = <usize>load<u32>(block + VALUE_NEXT);
  while (done < len) {
    const n = min(CHUNK_BYTES, len - done);
    if (!bytesEqual(chunk + CHUNK_HEADER_SIZE, bytes + done, n)) return false;
    done += n;
    chunk = <usize>load<u32>(chunk + CHUNK_NEXT);
  }
  return true;
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

// How reclamation frees what this file lays out (reclaim.ts knows no layouts).
function valueSize(block: usize): usize { return valueBlockSize(block); }
function entrySize(entry: usize): usize { return entryBlockSize(entry); }
function drainNone(entry: usize): void {}
reclaimRegisterKind(KIND_VALUE, valueFreeChunks, valueSize);
reclaimRegisterKind(KIND_ENTRY, drainNone, entrySize);
