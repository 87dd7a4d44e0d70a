// The block allocator. Its whole state lives in the shared memory, so every
// instance (thread) allocates from the same heap; the AssemblyScript runtimes
// cannot do this (their state is in per-instance globals, see PLATFORM.md).
//
// Design: segregated free lists, one lock-free LIFO (a Treiber stack) per size
// class (sizeclass.ts), fed by a bump pointer that grows the memory on demand.
// Frees are sized: the caller passes the size it allocated, so blocks carry no
// header, and an entry of a 30-byte key costs one 64-byte block.
//
// No lock is ever held, so a thread stopped by Worker.terminate() at any
// instruction leaves the allocator consistent; at worst the one block it was
// between taking and linking is leaked.
//
// Memory freed in one class serves that class first. Once the bump region is
// used up, allocReusing() serves a request from the rest of the free memory:
// it splits a free block of a larger class, and failing that gathers every
// free block, merges neighbours and cuts the result anew (coalesce). So a map
// that filled its memory with one size of value, then deleted, can still make
// the tables and entries of new keys.
//
// Shared words (ALLOC_BASE, FREE_HEADS_BASE in heap.ts):
//
//   HEAP_TOP u32     next unused byte of the bump region. Set to HEAP_START by
//                    the creator during init; afterwards raised by any thread with
//                    CAS, never lowered. Memory below it is either in use or on a
//                    free list; above it, untouched.
//   COALESCED_AT u64 the total of bytes freed (all threads) when free memory was
//                    last coalesced; 0 at init. Raised by CAS by the thread that
//                    coalesces next (allocReusing), so that one thread does it.
//   FREE_HEAD[c] u64 low 32 bits: first free block of class c (0: empty);
//                    high 32 bits: a tag bumped by every successful CAS, so that
//                    a pop which read `next` from a block that was popped, reused
//                    and pushed back in between (ABA) fails instead of linking a
//                    block that is in use. Any thread, by CAS.
//   free block +0    u32 next free block of the same class. Written by the
//                    pushing thread before the CAS that publishes the block.
//
// Each thread also keeps a few free blocks of each small class for itself
// (CACHED_CLASSES, up to CACHE_LIMIT each) in a cache block of its own, so that
// most allocations and frees touch no shared word at all: on the core-only
// Swap cases two threads otherwise spent their time on the shared list heads.
//
//   cache block (CACHE_SIZE bytes, allocated when a thread binds its slot)
//   ┌──────────────────┬──────────────────┬─────┐
//   │ class 0: head u32│ count u32        │ …   │   CACHED_CLASSES × 8 bytes
//   └──────────────────┴──────────────────┴─────┘
//   Read and written only by its thread, with plain accesses, one store at a
//   time so that the list stays well formed at every instruction: a reaper
//   returns a dead thread's cached blocks by walking the lists (allocCacheDrain),
//   whatever the counts say.

import { ALLOC_BASE, FREE_HEADS_BASE, HEADER_INIT_ACCOUNT, HEAP_START } from "./heap";
import { cas32, cas64, load32, load64, store32, store64 } from "./atomics";
import { MAX_BLOCK, SIZE_CLASSES, classAlign, classOf, classSize } from "./sizeclass";

// @ts-ignore: decorator
@inline const HEAP_TOP: usize = ALLOC_BASE;
// @ts-ignore: decorator
@inline const COALESCED_AT: usize = ALLOC_BASE + 8;

// Growth step: at least 1 MiB or an eighth of the memory, so a map that grows
// to N bytes calls memory.grow O(log N) times rather than once per 64 KiB.
// @ts-ignore: decorator
@inline const GROW_MIN_PAGES: i32 = 16;

// Byte counters of the calling thread: [allocated u64, freed u64], each written
// only by the thread it belongs to (so a plain read-modify-write suffices) and
// read by anyone (atomic loads, for stats). This thread-local pointer is set by
// slots.ts when the thread attaches; before that, only the creator allocates,
// against the header's init account.
let account: usize = HEADER_INIT_ACCOUNT;
// The two counters of an account.
// @ts-ignore: decorator
@inline export const ACCOUNT_ALLOCATED: usize = 0;
// @ts-ignore: decorator
@inline export const ACCOUNT_FREED: usize = 8;
// This thread's cache block, or 0 (not bound, or bound without a cache).
let cache: usize = 0;

// Classes 0 … 47 are the blocks of 512 bytes and less: entries of keys up to
// 480 bytes and values up to 504. 32 blocks each bound what a thread holds back
// to ~330 KiB in the worst case, a few KiB in practice.
// @ts-ignore: decorator
@inline const CACHED_CLASSES: u32 = 48;
// @ts-ignore: decorator
@inline const CACHE_LIMIT: u32 = 32;
// @ts-ignore: decorator
@inline export const CACHE_SIZE: usize = (<usize>CACHED_CLASSES) << 3;

// @ts-ignore: decorator
@inline export function setAccount(counters: usize): void {
  account = counters;
}

/** Makes `block` (CACHE_SIZE bytes, zeroed, or 0 for none) this thread's cache. */
// @ts-ignore: decorator
@inline export function setCache(block: usize): void {
  cache = block;
}

/** Returns every block of a cache to the shared lists (a thread detaching, or a reaper). */
export function allocCacheDrain(block: usize): void {
  for (let c: u32 = 0; c < CACHED_CLASSES; c++) {
    let cached = <usize>load<u32>(block + ((<usize>c) << 3));
    while (cached) {
      const next = <usize>load<u32>(cached);
      pushFree(c, cached);
      cached = next;
    }
  }
}

/** Called once by the creator, before anything is allocated. */
export function allocInit(): void {
  store32(HEAP_TOP, <u32>HEAP_START);
}

/**
 * Returns an 8-byte-aligned block of at least `size` bytes, or 0 when size is
 * over MAX_BLOCK or the memory cannot grow enough (its maximum is reached).
 * The block's contents are unspecified.
 */
export function alloc(size: usize): usize {
  if (size > MAX_BLOCK) return 0;
  const c = classOf(size);
  let block: usize = 0;
  if (cache && c < CACHED_CLASSES) {
    const headAt = cache + ((<usize>c) << 3);
    block = <usize>load<u32>(headAt);
    if (block) {
      store<u32>(headAt, load<u32>(block)); // unlinked in one store
      store<u32>(headAt + 4, load<u32>(headAt + 4) - 1);
    }
  }
  if (!block) block = popFree(c);
  if (!block) block = bump(classSize(c), classAlign(c));
  if (block) count(account + ACCOUNT_ALLOCATED, classSize(c));
  return block;
}

/** Returns a block of `size` bytes (the size it was allocated with) to its class. */
export function free(block: usize, size: usize): void {
  const c = classOf(size);
  count(account + ACCOUNT_FREED, classSize(c));
  if (cache && c < CACHED_CLASSES) {
    const headAt = cache + ((<usize>c) << 3);
    const cached = load<u32>(headAt + 4);
    if (cached < CACHE_LIMIT) {
      store<u32>(block, load<u32>(headAt));
      store<u32>(headAt, <u32>block); // linked in one store
      store<u32>(headAt + 4, cached + 1);
      return;
    }
  }
  pushFree(c, block);
}

/**
 * alloc() for when the bump region is used up (it has just returned 0): takes
 * the block from free memory of other classes. `freedBytes` is every byte ever
 * freed, all threads together (slots.ts). When a good part of the heap has been
 * freed since the last time, every free block is first gathered and merged with
 * its neighbours (coalesce), so that memory a map freed in small blocks, after
 * a clear() or many deletes, comes back in runs long enough for tables; then
 * the block is split from the next larger class that has one. 0 when no free
 * memory is large enough.
 *
 * Coalescing costs O(n log n) in the free blocks, so it waits for an eighth of
 * the heap (at least COALESCE_MIN) to have been freed since the last one: a map
 * kept full by a caller that retries pays it once, not on every attempt.
 */
export function allocReusing(size: usize, freedBytes: u64): usize {
  if (size > MAX_BLOCK) return 0;
  const c = classOf(size);
  let block: usize = 0;
  const last = load64(COALESCED_AT);
  // freedBytes is a sum read word by word, so a thread may bring one older than the mark: never lower it.
  if (freedBytes > last && freedBytes - last >= <u64>max(COALESCE_MIN, heapBytes() >> 3) && cas64(COALESCED_AT, last, freedBytes) == last) {
    block = coalesce(c);
  }
  if (!block) block = splitLarger(c);
  if (block) count(account + ACCOUNT_ALLOCATED, classSize(c));
  return block;
}

// @ts-ignore: decorator
@inline const COALESCE_MIN: usize = 64 << 10;

/** A block of class `c` cut from the front of a free block of the next larger class that has one; 0 if none has. */
function splitLarger(c: u32): usize {
  for (let larger = c + 1; larger < SIZE_CLASSES; larger++) {
    const block = popFree(larger);
    if (block) {
      freeRun(block + classSize(c), classSize(larger) - classSize(c));
      return block;
    }
  }
  return 0;
}

/** Gives the free run [start, start + bytes) back as blocks of the largest classes that fit. */
function freeRun(start: usize, bytes: usize): void {
  while (bytes >= MIN_BLOCK) {
    let c = classOf(min(bytes, MAX_BLOCK));
    if (classSize(c) > bytes) c--;
    pushFree(c, start);
    start += classSize(c);
    bytes -= classSize(c);
  }
}

// Coalescing. A gathered block holds, while it is private to the gatherer:
//   +0 u32 next block of the gathered list
//   +4 u32 its size in bytes
// (every block is at least MIN_BLOCK = 8 bytes, so both words fit).
// @ts-ignore: decorator
@inline const GATHERED_SIZE: usize = 4;
// @ts-ignore: decorator
@inline const MIN_BLOCK: usize = 8;

/**
 * Takes every shared free list whole (one CAS each), sorts the blocks by
 * address, merges the blocks that touch, cuts a block of class `c` from the
 * first run long enough, and frees everything else as blocks of the largest
 * classes that fit. Returns the block, or 0.
 *
 * No lock: another thread that allocates meanwhile finds the lists empty and
 * may report its map full once, while this one holds the free memory. A thread
 * stopped in here leaks what it had gathered (never worse: a gathered block is
 * reachable from no shared word). Blocks in threads' caches stay where they are.
 */
function coalesce(c: u32): usize {
  let list: usize = 0;
  for (let k: u32 = 0; k < SIZE_CLASSES; k++) {
    let chain = takeAll(k);
    const size = classSize(k);
    while (chain) {
      const next = <usize>load<u32>(chain);
      store<u32>(chain, <u32>list);
      store<u32>(chain + GATHERED_SIZE, <u32>size);
      list = chain;
      chain = next;
    }
  }
  list = sortByAddress(list);
  const want = classSize(c);
  let found: usize = 0;
  while (list) {
    // One run: the blocks from `list` on whose ends meet the next one's start.
    const start = list;
    let end = start + <usize>load<u32>(start + GATHERED_SIZE);
    list = <usize>load<u32>(start);
    while (list == end) {
      end += <usize>load<u32>(list + GATHERED_SIZE);
      list = <usize>load<u32>(list);
    }
    if (!found && end - start >= want) {
      found = start;
      freeRun(start + want, end - start - want);
    } else {
      freeRun(start, end - start);
    }
  }
  return found;
}

/** Empties free list `c` in one CAS and returns its chain (linked through +0). */
function takeAll(c: u32): usize {
  const headAt = FREE_HEADS_BASE + ((<usize>c) << 3);
  let head = load64(headAt);
  while (<u32>head) {
    const seen = cas64(headAt, head, ((head >> 32) + 1) << 32);
    if (seen == head) return <usize>(<u32>head);
    head = seen;
  }
  return 0;
}

/**
 * Sorts a private list (linked through +0) by address: a bottom-up merge sort,
 * O(n log n) time and no memory beyond the blocks' own link words.
 */
function sortByAddress(list: usize): usize {
  if (!list) return 0;
  let width: usize = 1;
  while (true) { // not for (;;): asc sees only while (true) never falls through
    let rest = list;
    let head: usize = 0;
    let tail: usize = 0;
    let merges: u32 = 0;
    while (rest) {
      merges++;
      // Split off two runs of up to `width` blocks each: a from rest, b after it.
      let a = rest;
      let b = rest;
      let aLen: usize = 0;
      while (b && aLen < width) {
        b = <usize>load<u32>(b);
        aLen++;
      }
      let bLen: usize = width;
      // Merge them onto the output list.
      while (aLen || (bLen && b)) {
        let take: usize;
        if (!aLen) {
          take = b; b = <usize>load<u32>(b); bLen--;
        } else if (!bLen || !b || a < b) {
          take = a; a = <usize>load<u32>(a); aLen--;
        } else {
          take = b; b = <usize>load<u32>(b); bLen--;
        }
        if (tail) store<u32>(tail, <u32>take);
        else head = take;
        tail = take;
      }
      rest = b;
    }
    store<u32>(tail, 0);
    list = head;
    if (merges <= 1) return list;
    width <<= 1;
  }
}

/** Bytes taken from the memory by the bump pointer since the heap began. */
export function heapBytes(): usize {
  return <usize>load32(HEAP_TOP) - HEAP_START;
}

// @ts-ignore: decorator
@inline function count(counter: usize, bytes: usize): void {
  store64(counter, load64(counter) + <u64>bytes);
}

function popFree(c: u32): usize {
  const headAt = FREE_HEADS_BASE + ((<usize>c) << 3);
  let head = load64(headAt);
  while (true) {
    const block = <usize>(<u32>head);
    if (!block) return 0;
    // `block` may have been popped and reused by another thread since `head` was
    // read; then this reads an arbitrary word, but the tag makes the CAS fail.
    const next = <u64>load<u32>(block);
    const seen = cas64(headAt, head, (((head >> 32) + 1) << 32) | next);
    if (seen == head) return block;
    head = seen;
  }
}

function pushFree(c: u32, block: usize): void {
  const headAt = FREE_HEADS_BASE + ((<usize>c) << 3);
  let head = load64(headAt);
  while (true) {
    store<u32>(block, <u32>head); // published by the CAS below
    const seen = cas64(headAt, head, (((head >> 32) + 1) << 32) | <u64>block);
    if (seen == head) return;
    head = seen;
  }
}

function bump(size: usize, align: usize): usize {
  let top = <usize>load32(HEAP_TOP);
  while (true) {
    const start = (top + align - 1) & ~(align - 1);
    const end = start + size;
    if (end < start || !ensureMemory(end)) return 0;
    const seen = <usize>cas32(HEAP_TOP, <u32>top, <u32>end);
    if (seen == top) return start;
    top = seen;
  }
}

/**
 * Grows the memory so that [0, end) is addressable; false at its maximum.
 *
 * The Node bindings create a shared memory at its maximum size, so there this
 * only ever checks: other threads would see a grown shared memory only after
 * their next interrupt check, and until then their memory.copy bounds checks
 * fail (bindings/sharing.ts). The proxy-wasm build, one thread over a memory of
 * its own, grows here on demand.
 */
function ensureMemory(end: usize): bool {
  const pages = memory.size();
  const have = (<usize>pages) << 16;
  if (end <= have) return true;
  const need = <i32>((end - have + 0xFFFF) >> 16);
  const step = max(need, max(GROW_MIN_PAGES, pages >> 3));
  // Two threads may both grow here; the surplus is simply used by later bumps.
  if (memory.grow(step) >= 0) return true;
  if (step > need && memory.grow(need) >= 0) return true;
  return ((<usize>memory.size()) << 16) >= end; // another thread may have grown it
}
