// Entries and value blocks: the records a map's tables point at.
//
//   entry (ENTRY_HEADER_SIZE + key length bytes)
//   ┌─────────┬─────────────┬─────────┬─────────┐
//   │ value   │ retire link │ keyLen  │ —       │  +0 … +16
//   ├─────────┴─────────────┴─────────┴─────────┤
//   │ key bytes …                                │  +16
//   └───────────────────────────────────────────┘
//
//   value block, inline (length <= valueInlineMax(); VALUE_HEADER_SIZE + meta + length bytes)
//   ┌─────────┬─────────────┬──────────────────────┬────────────────────┐
//   │ length  │ birth, then │ meta (0 or 16 bytes) │ bytes …            │
//   │         │ retire link │                      │                    │
//   └─────────┴─────────────┴──────────────────────┴────────────────────┘
//   value block, chunked (longer values; PAGE_BYTES, then chunks)
//   ┌─────────┬─────────────┬──────┬────────────┬─────┬─────────────────────┐
//   │ length  │ birth, then │ meta │ next chunk │ —   │ first bytes …       │
//   │         │ retire link │      │            │     │                     │
//   └─────────┴─────────────┴──────┴────────────┴─────┴─────────────────────┘
//   birth      until the block is retired: the count of epoch advances when it
//              was made (reclaim.ts, ADVANCES), modulo 2^29, shifted left by 3
//              (low bits 0, where a retire link holds its kind, never 0).
//              Written by valueNew (a plain store) before the block is
//              published by the atomic swap that puts it in an entry; replaced
//              by the retire link (plain stores, reclaim.ts retire) once it is
//              unlinked, while pinned readers may still load it. Read only by
//              mapRevalidate, plainly, after its atomic load of the entry's
//              value word: an aligned u32 does not tear, and nonzero low bits
//              say the word is a link by then. Replaced (valueRestamp, by
//              CAS) with the count a pinned reader read after finding the
//              block in its entry with a birth 2^26 advances old, so that a
//              value kept for hours stays within the 2^28 advances births
//              are told apart in; the CAS fails once the word is a link.
//              A block reached again by an address kept from long ago is
//              this block if its birth is no later than a count read while
//              it was reachable: a block freed since and made again at the
//              same address was made after the advance that freed it,
//              counted first (valueBornBy).
//   chunk (CHUNK_HEADER_SIZE + up to CHUNK_BYTES bytes; the last one is shorter)
//   ┌────────────┬─────┬──────────────────┐
//   │ next chunk │ —   │ bytes …          │
//   └────────────┴─────┴──────────────────┘
//
//   meta, in maps made with expiry or versions (MAP_FLAG_META, map.ts):
//   ┌─────────────┬───────────────────────────────────────────┐
//   │ version u64 │ expiry u64: bit 63 TOMBSTONE, bits 0-62 at │  +8 … +24
//   └─────────────┴───────────────────────────────────────────┘
//   version    the map-wide version of the write that made the block (0 in maps
//              without versions).
//   expiry     the map clock (ms) at which the value expires, 0 for never;
//              TOMBSTONE marks a block that records a deletion in a versioned
//              map: the key is absent (map.ts, "Versions").
//   A value's metadata is in its block, not in its entry, so that a new value
//   and its expiry or version replace the old ones in the one atomic swap.
//
// Values longer than the inline maximum are split into blocks of at most
// PAGE_BYTES, so that storing a large value never needs a long contiguous run
// of free memory (the reason tables are paged too, table.ts): in a churned heap,
// any 4 KiB of free memory serves. Reading a chunked value follows its chain.
// The proxy-wasm build (one thread, a memory that grows) keeps every value inline.
//
// Everything but an entry's `value` word (and a value block's birth, which its
// retire link replaces) is immutable once the record is reachable: keys and
// value bytes are written into a private block, and a new value is a new block
// swapped in whole. A reader that loads `value` therefore sees either the old
// bytes or the new ones, never a mix, as long as it is pinned (reclaim.ts)
// while it copies them out.
//
// `value` is Go's entry.p: the entry's state, changed only by atomic operations.
//
//   DELETED (0)   The key is absent. The entry is in the read table, and in the
//                 dirty table too if there is one; or, while a lock holder deletes
//                 a key that is in dirty only (map.ts, mapDelete), in the dirty
//                 table alone, until the same holder drops it and makes it
//                 EXPUNGED (a holder that dies in between leaves it there: a
//                 deleted entry in dirty, which later steps treat as any other).
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
import { allocOrCollect } from "./memory";
import { free } from "./alloc";
import { MAX_VALUE_BYTES } from "./config";
import { PAGE_BYTES } from "./table";
import { crashPoint } from "./faults";
import { cas32 } from "./atomics";
import {
  KIND_ENTRY, KIND_VALUE, RETIRE_KIND_BITS, epochAdvances, freeHeldBlock, holdBlock, reclaimRegisterKind,
} from "./reclaim";

// @ts-ignore: decorator
@inline export const ENTRY_VALUE: usize = 0;
// @ts-ignore: decorator
@inline export const ENTRY_RETIRE_LINK: usize = 4; // reclaim.ts
// @ts-ignore: decorator
@inline const ENTRY_KEY_LEN: usize = 8;
// @ts-ignore: decorator
@inline export const ENTRY_KEY: usize = 16;
// @ts-ignore: decorator
@inline export const ENTRY_HEADER_SIZE: usize = ENTRY_KEY;

// @ts-ignore: decorator
@inline const VALUE_LENGTH: usize = 0;
// @ts-ignore: decorator
@inline export const VALUE_RETIRE_LINK: usize = 4; // reclaim.ts
// @ts-ignore: decorator
@inline const VALUE_BIRTH: usize = VALUE_RETIRE_LINK; // until retired (the layout above)
// @ts-ignore: decorator
@inline const BIRTH_SHIFT: u32 = RETIRE_KIND_BITS; // a retire link's kind bits, always 0 in a birth
// @ts-ignore: decorator
@inline export const VALUE_HEADER_SIZE: usize = 8;
/** Where an inline value's bytes begin in a map without metadata (the proxy filter's, the benchmarks'). */
// @ts-ignore: decorator
@inline export const VALUE_BYTES: usize = VALUE_HEADER_SIZE;
// @ts-ignore: decorator
@inline const VALUE_VERSION: usize = 8;
// @ts-ignore: decorator
@inline const VALUE_EXPIRY: usize = 16;
// @ts-ignore: decorator
@inline export const VALUE_META_SIZE: usize = 16;
// @ts-ignore: decorator
@inline const CHUNK_NEXT: usize = 0;
// @ts-ignore: decorator
@inline const CHUNK_HEADER_SIZE: usize = 8;
// @ts-ignore: decorator
@inline const CHUNK_BYTES: usize = PAGE_BYTES - CHUNK_HEADER_SIZE;
// @ts-ignore: decorator
@inline const NEXT_SIZE: usize = 8; // a chunked value's next-chunk word, padded

// @ts-ignore: decorator
@inline export const TOMBSTONE: u64 = 1 << 63;
// @ts-ignore: decorator
@inline const EXPIRY_MASK: u64 = ~TOMBSTONE;

// Thread-local: the metadata size of this instance's map's values (0 or
// VALUE_META_SIZE), set when it attaches (valueBindMeta). One map per instance.
let meta: usize = 0;

export function valueBindMeta(bytes: usize): void {
  meta = bytes;
}

/** The longest value kept in one block: the block is then at most PAGE_BYTES. */
// @ts-ignore: decorator
@inline export function valueInlineMax(): usize {
  return ASC_FEATURE_THREADS ? PAGE_BYTES - VALUE_HEADER_SIZE - meta : <usize>MAX_VALUE_BYTES;
}

// @ts-ignore: decorator
@inline function headChunk(): usize {
  return PAGE_BYTES - VALUE_HEADER_SIZE - meta - NEXT_SIZE;
}

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

/**
 * A new entry holding a copy of the key and `value`; 0 when memory is
 * exhausted. `record` (0: none) names it while it is unpublished (inflight.ts),
 * from the moment its size can be read from it.
 */
export function entryNew(key: usize, keyLen: usize, value: u32, record: usize): usize {
  const entry = allocOrCollect(ENTRY_HEADER_SIZE + keyLen);
  if (!entry) return 0;
  // Private until the caller inserts it into a table, so plain stores suffice.
  store<u32>(entry + ENTRY_VALUE, value);
  store<u32>(entry + ENTRY_KEY_LEN, <u32>keyLen);
  store<u32>(entry + ENTRY_KEY_LEN + 4, 0);
  if (record) store<u32>(record, <u32>entry); // its size is known from here on (inflight.ts)
  memory.copy(entry + ENTRY_KEY, key, keyLen);
  return entry;
}

// @ts-ignore: decorator
@inline export function entryHasKey(entry: usize, key: usize, keyLen: usize): bool {
  if (entryKeyLen(entry) != keyLen) return false;
  // 8 bytes ('number' keys): one compare, not bytesEqual's loops.
  return keyLen == 8 ? load<u64>(entry + ENTRY_KEY) == load<u64>(key) : bytesEqual(entry + ENTRY_KEY, key, keyLen);
}

// ── value blocks ───────────────────────────────────────────────────────────

// @ts-ignore: decorator
@inline export function valueLength(block: usize): usize {
  return <usize>load<u32>(block + VALUE_LENGTH);
}

/** The version stamped on a value block (0 without metadata). */
// @ts-ignore: decorator
@inline export function valueVersion(block: usize): u64 {
  return meta ? load<u64>(block + VALUE_VERSION) : 0;
}

/** When the value expires on the map clock (0: never, and always 0 without metadata). */
// @ts-ignore: decorator
@inline export function valueExpiresAt(block: usize): u64 {
  return meta ? load<u64>(block + VALUE_EXPIRY) & EXPIRY_MASK : 0;
}

/** True for a block that records a deletion (versioned maps). */
// @ts-ignore: decorator
@inline export function valueIsTombstone(block: usize): bool {
  return meta != 0 && (load<u64>(block + VALUE_EXPIRY) & TOMBSTONE) != 0;
}

/** True if the value has expired at map-clock time `now`. */
// @ts-ignore: decorator
@inline export function valueExpired(block: usize, now: u64): bool {
  if (!meta) return false;
  const at = load<u64>(block + VALUE_EXPIRY) & EXPIRY_MASK;
  return at != 0 && at <= now;
}

/** Stamps an unpublished block's metadata (a no-op without metadata). */
// @ts-ignore: decorator
@inline export function valueSetMeta(block: usize, version: u64, expiry: u64): void {
  if (!meta) return;
  store<u64>(block + VALUE_VERSION, version);
  store<u64>(block + VALUE_EXPIRY, expiry);
}

/** Stamps an unpublished block's version, keeping its expiry (a no-op without metadata). */
// @ts-ignore: decorator
@inline export function valueSetVersion(block: usize, version: u64): void {
  if (meta) store<u64>(block + VALUE_VERSION, version);
}

/** The size of a value's first block (for a chunked value, its chunks come on top). */
// @ts-ignore: decorator
@inline export function valueBlockSize(block: usize): usize {
  const len = valueLength(block);
  return len <= valueInlineMax() ? VALUE_HEADER_SIZE + meta + len : PAGE_BYTES;
}

/** Copies a value's bytes to `dest`; returns their length. */
// @ts-ignore: decorator
@inline export function valueCopyTo(block: usize, dest: usize): i32 {
  const len = valueLength(block);
  if (len <= valueInlineMax()) memory.copy(dest, block + VALUE_HEADER_SIZE + meta, len);
  else copyChunked(block, dest, len);
  return <i32>len;
}

/** The address of an inline value's bytes (for the proxy filter and the benchmarks' fixed-size values). */
// @ts-ignore: decorator
@inline export function valueBytesOf(block: usize): usize {
  return block + VALUE_HEADER_SIZE + meta;
}

// @ts-ignore: decorator
@inline function nextWord(block: usize): usize {
  return block + VALUE_HEADER_SIZE + meta;
}

function copyChunked(block: usize, dest: usize, len: usize): void {
  const first = headChunk();
  memory.copy(dest, nextWord(block) + NEXT_SIZE, first);
  let done = first;
  let chunk = <usize>load<u32>(nextWord(block));
  while (done < len) {
    const n = min(CHUNK_BYTES, len - done);
    memory.copy(dest + done, chunk + CHUNK_HEADER_SIZE, n);
    done += n;
    chunk = <usize>load<u32>(chunk + CHUNK_NEXT);
  }
}

/** A count of epoch advances as a birth (the layout above): modulo 2^29, clear of a link's kind bits. */
// @ts-ignore: decorator
@inline function birthAt(advances: f64): u32 {
  return <u32><u64>advances << BIRTH_SHIFT;
}

/** Whether a block's birth word holds a retire link by now: a link's kind bits are never 0. */
// @ts-ignore: decorator
@inline function isRetireLink(word: u32): bool {
  return (word & ((1 << BIRTH_SHIFT) - 1)) != 0;
}

/** A new block's birth (the layout above): read after the block was taken from the allocator. */
// @ts-ignore: decorator
@inline function birthNow(): u32 {
  return birthAt(epochAdvances());
}

/**
 * Whether `block`, the value of an entry just read while pinned, was made no
 * later than the count of epoch advances `advances` (less than 2^27 advances
 * ago), read while a block at this address was reachable. Then it is that
 * block: one freed after that read can be made again at the same address only
 * after the advance that freed it, which counts first (reclaim.ts, ADVANCES),
 * so a block made again is born later. False for a block retired since (its
 * birth replaced by a link); may be false, harmlessly, for one born 2^28
 * advances or more before `advances` (births are kept modulo 2^29).
 */
export function valueBornBy(block: usize, advances: f64): bool {
  const birth = load<u32>(block + VALUE_BIRTH);
  if (isRetireLink(birth)) return false;
  return birthAt(advances) - birth < <u32>0x80000000;
}

// How old a birth may grow before a reader moves it up: a quarter of the 2^28
// advances births are told apart in, so that one revalidation in 2^26 advances
// (an hour at 20k advances a second) keeps a value's records checkable.
// @ts-ignore: decorator
@inline const RESTAMP_AGE: u32 = 1 << 26;

/**
 * Moves the birth of `block` up to `advances` when it is RESTAMP_AGE
 * advances older or more: `block` is the value of an entry just read while
 * pinned, and `advances` a count read after that. Sound for the reason a
 * record's count is (valueBornBy): the block was reachable when `advances`
 * was read, so it is not freed, nor made again, before a later advance; a
 * record made before `advances` then fails once (born after it, as far as
 * the record can tell) and is made again. Without this, births kept modulo
 * 2^29 stop telling a value unchanged for 2^28 advances (hours of churn)
 * apart from a newer block, and every advance would send its loads back to
 * the core for the next 2^28. A CAS, so that a retire link written since
 * (retire(), plain stores) is never overwritten: it never equals a birth.
 * Two readers may race: one that read the count before another re-stamped
 * sees that birth as born after its count, 2^29 advances old as far as it
 * can tell, and sets it back by the advances between their counts. Harmless:
 * its count, too, was read while the block was reachable.
 */
export function valueRestamp(block: usize, advances: f64): void {
  const birth = load<u32>(block + VALUE_BIRTH);
  if (isRetireLink(birth)) return;
  const now = birthAt(advances);
  if (now - birth < RESTAMP_AGE << BIRTH_SHIFT) return; // young (modulo 2^29: still told apart)
  cas32(block + VALUE_BIRTH, birth, now);
}

/**
 * A new value block holding a copy of `len` bytes (chunked past the inline
 * maximum), its metadata zero; 0 when memory is exhausted, having freed what
 * it made. `record` (0: none) is a word that names the block while it is
 * unpublished (inflight.ts): set once its size can be read from it, and
 * cleared by freeUnfinishedNamed as the last block of a value this cannot
 * finish is freed.
 */
export function valueNew(bytes: usize, len: usize, record: usize): u32 {
  if (len <= valueInlineMax()) {
    const block = allocOrCollect(VALUE_HEADER_SIZE + meta + len);
    if (!block) return 0;
    store<u32>(block + VALUE_LENGTH, <u32>len);
    if (record) store<u32>(record, <u32>block); // its size is known from here on (inflight.ts)
    store<u32>(block + VALUE_BIRTH, birthNow());
    valueSetMeta(block, 0, 0);
    memory.copy(block + VALUE_HEADER_SIZE + meta, bytes, len);
    return <u32>block;
  }
  const block = allocOrCollect(PAGE_BYTES);
  if (!block) return 0;
  store<u32>(block + VALUE_LENGTH, <u32>len);
  store<u32>(block + VALUE_BIRTH, birthNow());
  valueSetMeta(block, 0, 0);
  store<u32>(nextWord(block), 0);
  if (record) store<u32>(record, <u32>block); // its chain is well formed from here on
  const first = headChunk();
  memory.copy(nextWord(block) + NEXT_SIZE, bytes, first);
  let done = first;
  let link = nextWord(block); // the word the next chunk is linked into
  while (done < len) {
    const n = min(CHUNK_BYTES, len - done);
    crashPoint(); // as a stack overflow at the allocation's call: the value stays named by `record`
    const chunk = allocOrCollect(CHUNK_HEADER_SIZE + n);
    if (!chunk) {
      if (record) freeUnfinishedNamed(record, block);
      else freeUnfinished(block);
      return 0;
    }
    store<u32>(chunk + CHUNK_NEXT, 0);
    store<u32>(link, <u32>chunk); // in the chain, and so named with the value, before it is filled
    memory.copy(chunk + CHUNK_HEADER_SIZE, bytes + done, n);
    link = chunk + CHUNK_NEXT;
    done += n;
  }
  return <u32>block;
}

/**
 * Whether a value block valueNew made holds its whole chain (inline, or every
 * chunk made): then valueFree and valueFreeChunks may free it; otherwise only
 * freeUnfinished may (its last chunk was never made).
 */
export function valueIsWhole(block: usize): bool {
  const len = valueLength(block);
  if (len <= valueInlineMax()) return true;
  let chunks: usize = 0;
  let chunk = <usize>load<u32>(nextWord(block));
  while (chunk) {
    chunks++;
    chunk = <usize>load<u32>(chunk + CHUNK_NEXT);
  }
  return chunks >= (len - headChunk() + CHUNK_BYTES - 1) / CHUNK_BYTES;
}

/**
 * Frees a chunked value whose chain valueNew could not finish, which no word
 * names (a LockedMap's, a filter's: one thread, no reaper). Every chunk it
 * holds is a whole one (only the value's last chunk is shorter, and that one
 * was never made), so chunkBlockSize, which takes the chain's end for the
 * value's end, would free the last of them short.
 */
export function freeUnfinished(block: usize): void {
  let chunk = <usize>load<u32>(nextWord(block));
  while (chunk) {
    const next = <usize>load<u32>(chunk + CHUNK_NEXT);
    free(chunk, PAGE_BYTES);
    chunk = next;
  }
  free(block, PAGE_BYTES);
}

/**
 * freeUnfinished() of a value that the held-value word `word` names (this
 * thread's, or a dead owner's, inflight.ts), resumable: each chunk is named by
 * this thread's held block, unlinked from the chain's head and freed, and the
 * first block passes from `word` to the held block for its own free. A thread
 * stopped anywhere leaves `word` naming a shorter chain of whole chunks, never
 * a whole value (valueIsWhole), so whoever takes the word over frees the rest
 * the same way. (Let go first and then freed, it was lost whole by a thread
 * stopped while freeing it.)
 */
export function freeUnfinishedNamed(word: usize, block: usize): void {
  const head = nextWord(block);
  let chunk = <usize>load<u32>(head);
  while (chunk) {
    const next = load<u32>(chunk + CHUNK_NEXT);
    holdBlock(chunk, PAGE_BYTES); // named from here until free: the unlink below leaves it to the slot
    store<u32>(head, next);
    freeHeldBlock(chunk, PAGE_BYTES);
    crashPoint(); // the rest of the chain as unfinished as before
    chunk = <usize>next;
  }
  holdBlock(block, PAGE_BYTES); // from `word` to the held block, with no call between
  store<u32>(word, 0);
  freeHeldBlock(block, PAGE_BYTES);
}

/** A tombstone: an empty block marked as a deletion, at `version` (versioned maps); `record` as valueNew's. */
export function valueNewTombstone(version: u64, record: usize, waits: bool = true): u32 {
  const block = allocOrCollect(VALUE_HEADER_SIZE + meta, waits);
  if (!block) return 0;
  store<u32>(block + VALUE_LENGTH, 0);
  if (record) store<u32>(record, <u32>block);
  store<u32>(block + VALUE_BIRTH, birthNow());
  valueSetMeta(block, version, TOMBSTONE);
  return <u32>block;
}

/**
 * Frees a chunked value's chunks, leaving its first block. Resumable: each
 * chunk is unlinked before it is freed, so an interrupted call can be repeated
 * (by one thread at a time), and named by the slot's held block from just
 * before its unlink until its free, so an interruption loses none.
 */
export function valueFreeChunks(block: usize): void {
  if (valueLength(block) <= valueInlineMax()) return;
  const head = nextWord(block);
  let chunk = <usize>load<u32>(head);
  while (chunk) {
    const next = load<u32>(chunk + CHUNK_NEXT);
    const size = chunkBlockSize(block, chunk);
    holdBlock(chunk, size); // named from here until free: the unlink below leaves it to the slot
    store<u32>(head, next);
    freeHeldBlock(chunk, size);
    crashPoint(); // the rest of the chain as well formed as before
    chunk = <usize>next;
  }
}

/** A chunk's block size: full, but for the last one of the value. */
function chunkBlockSize(block: usize, chunk: usize): usize {
  if (load<u32>(chunk + CHUNK_NEXT)) return PAGE_BYTES;
  const tail = (valueLength(block) - headChunk()) % CHUNK_BYTES;
  return CHUNK_HEADER_SIZE + (tail ? tail : CHUNK_BYTES);
}

/** Frees a value that no other thread can reach (never published). */
export function valueFree(block: usize): void {
  valueFreeChunks(block);
  free(block, valueBlockSize(block));
}

/** Byte equality of a value with `len` bytes at `bytes`. */
export function valueEquals(block: usize, bytes: usize, len: usize): bool {
  if (valueLength(block) != len) return false;
  if (len <= valueInlineMax()) return bytesEqual(block + VALUE_HEADER_SIZE + meta, bytes, len);
  const first = headChunk();
  if (!bytesEqual(nextWord(block) + NEXT_SIZE, bytes, first)) return false;
  let done = first;
  let chunk = <usize>load<u32>(nextWord(block));
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
function valueWeight(block: usize): usize { return VALUE_HEADER_SIZE + meta + valueLength(block); }
function entrySize(entry: usize): usize { return entryBlockSize(entry); }
function drainNone(entry: usize): void {}
reclaimRegisterKind(KIND_VALUE, valueFreeChunks, valueSize, valueWeight);
reclaimRegisterKind(KIND_ENTRY, drainNone, entrySize, entrySize);
