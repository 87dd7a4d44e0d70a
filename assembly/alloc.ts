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
// Shared words (ALLOC_BASE, FREE_HEADS_BASE in heap.ts):
//
//   HEAP_TOP u32     next unused byte of the bump region. Set to HEAP_START by
//                    the creator during init; afterwards raised by any thread with
//                    CAS, never lowered. Memory below it is either in use or on a
//                    free list; above it, untouched.
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
import { MAX_BLOCK, classAlign, classOf, classSize } from "./sizeclass";

// @ts-ignore: decorator
@inline const HEAP_TOP: usize = ALLOC_BASE;

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
  if (block) count(account, classSize(c));
  return block;
}

/** Returns a block of `size` bytes (the size it was allocated with) to its class. */
export function free(block: usize, size: usize): void {
  const c = classOf(size);
  count(account + 8, classSize(c));
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
