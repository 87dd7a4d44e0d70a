// The block allocator. Its whole state lives in the shared memory, so every
// instance (thread) allocates from the same heap; the AssemblyScript runtimes
// cannot do this (their state is in per-instance globals, see PLATFORM.md).
//
// Design: segregated free lists, one lock-free LIFO (a Treiber stack) per size
// class (sizeclass.ts), fed by a bump pointer. Frees are sized: the caller
// passes the size it allocated, so blocks carry no header, and an entry of a
// 30-byte key costs one 64-byte block. Each thread keeps a few free blocks of
// each small class in a cache of its own, so that most allocations and frees
// touch no shared word at all.
//
// Small blocks (the cached classes: entries and short values) are carved from
// a chunk of CARVE_CHUNK bytes that each thread holds, never from the bump
// region or a large free block directly: so small blocks lie together, and
// the memory between them that large values and table pages free again stays
// in runs that coalescing can merge. (Carved from anywhere, as they once were,
// new entries filling the holes of deleted ones left the map's free memory in
// pieces of ~1 KiB between them, and a table page no longer fit.)
//
// Memory freed in one class serves that class first. Once the bump region is
// used up (allocReusing), a request is split from a free block of a larger
// class, and failing that, free memory is *coalesced*: every free block is
// marked in a bitmap of the heap, and the lists are rebuilt from the runs of
// marked memory, neighbours merged. The map's writes never need a block larger
// than 4 KiB (tables are paged, long values chunked: table.ts, entry.ts), so
// after deletes, coalesced free memory serves new keys wherever it lies.
//
// Crash safety. Allocation and freeing take no lock: a thread stopped by
// Worker.terminate() at any instruction leaves the lists consistent. Free
// memory a thread has taken off a list or the bump region and not yet linked
// again or handed out (a block it splits, a bump's alignment gap, the rest of
// its carving chunk, a deferred block it moves) is named by a word of its
// slot throughout (Runs, below), and so is a block being freed by name
// (freeNamed): its reaper gives them back. What a caller has just been handed
// is the caller's to name. Coalescing takes the
// COALESCE lock (mutex.ts, owner recorded) and *freezes* every shared list
// (FROZEN bit in its head): while frozen, pops find nothing and pushes go to
// the DEFERRED list instead, so the coalescer owns the lists. It only reads
// them while marking (MARKING); rebuilding (REBUILDING) depends on the bitmap alone, so a reaper that takes
// over the lock of a dead coalescer either unfreezes the intact lists or runs
// the rebuild again (allocRecoverCoalesce).
//
// Shared words (ALLOC_BASE, FREE_HEADS_BASE in heap.ts):
//
//   HEAP_TOP u32       next unused byte of the bump region. Set to HEAP_START by
//                      the creator during init; afterwards raised by any thread
//                      with CAS, never lowered. Memory below it is in use, on a
//                      free list or in a thread's cache; above it, untouched.
//   HEAP_LIMIT u32     end of the bump region; the bitmap lies above it. Init only.
//   BITMAP u32         the coalescing bitmap (one bit per 8 bytes of the bump
//                      region), 0 in builds without threads. Init only.
//   COALESCED_AT u64   bytes freed (all threads) when free memory was last
//                      coalesced. Written by the COALESCE lock holder; read by
//                      any thread to decide whether a coalesce is worth the
//                      lock, and read again under it (allocCoalesceIfWorth).
//                      Only raised: a bytesFreed sum read word by word may be
//                      older than it.
//   COALESCE_LOCK      mutex.ts. Held while coalescing. Read without it only as
//                      a hint (coalesceUnderWay: the sweeper's tombstones).
//   COALESCE_STATE u32 IDLE → MARKING → REBUILDING → UNFREEZING → IDLE, stored
//                      by the lock holder before each phase.
//   COALESCES u32      how many coalesces ran (statistics); lock holder only.
//   SPLITTABLE u32     odd while a coalesce may have left merged runs on the
//                      lists of classes larger than allocations ask for; alloc()
//                      and carve() then split one (splitBeforeGrowing) rather
//                      than grow the heap. Set to a new odd value by the
//                      COALESCE lock holder after the lists are unfrozen; made
//                      even by any thread that looked and found none, by CAS
//                      from the value it read before looking, so that a
//                      coalesce in between is never forgotten. (Without it, the
//                      runs coalescing merges lay unused while the bump region
//                      had room: a 1 GiB map churning 10 MiB of keys grew its
//                      heap by 10 MiB a second.)
//   IN_USE_MARK u64    the most bytes in use (all threads) seen by
//                      allocCoalesceIfWorth since free memory was last
//                      coalesced there: raised by CAS by any thread that has
//                      just freed a limbo list, set to the bytes then in use by
//                      the COALESCE lock holder when it coalesces. Bytes in use
//                      falling a quarter of the heap below it means memory was
//                      freed and not taken again (a clear, most keys deleted);
//                      overwrites, which free and take again at once, never
//                      move it. (Counting bytes freed instead made a map whose
//                      values are overwritten coalesce its whole heap every few
//                      thousand stores: 70% of a store's time. Near the
//                      heap's limit, bytes freed count too: allocCoalesceIfWorth.)
//   DEFERRED u64       a Treiber stack like a FREE_HEAD, never frozen: blocks
//                      freed while their class's list was frozen, each with
//                      its class in its second word. A free never waits for a
//                      coalesce: it may be running in a thread that died, and
//                      the thread that can tell (its creator, on its event
//                      loop) may be the one freeing. Emptied back into the
//                      lists by whoever unfreezes them (the COALESCE lock
//                      holder, or a reaper), and by a thread that deferred a
//                      block and then found its list open again. Any thread,
//                      by CAS.
//   FREE_HEAD[c] u64   bits 0-31: first free block of class c (0: empty); bits
//                      32-62: a tag bumped by every change, so that a pop which
//                      read `next` from a block popped, reused and pushed back
//                      in between (ABA) fails instead of linking a block in use;
//                      bit 63 FROZEN: a coalesce owns the list. Any thread, by CAS,
//                      while not frozen; the COALESCE lock holder while frozen.
//   free block +0      u32 next free block of the same list. Written by the
//                      pushing thread before the CAS that publishes the block.
//              +4      u32 its class, on the DEFERRED list only (every class
//                      is at least 8 bytes). Written with +0.
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
import { atomicMax64, cas32, cas64, load32, load64, store32, store64 } from "./atomics";
import { MAX_BLOCK, SIZE_CLASSES, classAlign, classOf, classSize } from "./sizeclass";
import { MUTEX_SIZE, lock, lockIsHeld, lockTakeOver, tryLock, unlock } from "./mutex";
import { crashPoint } from "./faults";

// @ts-ignore: decorator
@inline const HEAP_TOP: usize = ALLOC_BASE;
// @ts-ignore: decorator
@inline const HEAP_LIMIT: usize = ALLOC_BASE + 4;
// @ts-ignore: decorator
@inline const COALESCED_AT: usize = ALLOC_BASE + 8;
// @ts-ignore: decorator
@inline const COALESCE_LOCK: usize = ALLOC_BASE + 16;
// @ts-ignore: decorator
@inline const COALESCE_STATE: usize = COALESCE_LOCK + MUTEX_SIZE;
// @ts-ignore: decorator
@inline const BITMAP: usize = COALESCE_STATE + 4;
// @ts-ignore: decorator
@inline const COALESCES: usize = BITMAP + 4;
// @ts-ignore: decorator
@inline const SPLITTABLE: usize = COALESCES + 4;
// @ts-ignore: decorator
@inline const IN_USE_MARK: usize = SPLITTABLE + 4;
// @ts-ignore: decorator
@inline const DEFERRED: usize = IN_USE_MARK + 8;
// The class word of a block on the DEFERRED list.
// @ts-ignore: decorator
@inline const DEFERRED_CLASS: usize = 4;

// COALESCE_STATE values.
// @ts-ignore: decorator
@inline const IDLE: u32 = 0;
// @ts-ignore: decorator
@inline const MARKING: u32 = 1;
// @ts-ignore: decorator
@inline const REBUILDING: u32 = 2;
// @ts-ignore: decorator
@inline const UNFREEZING: u32 = 3;

// FREE_HEAD bits.
// @ts-ignore: decorator
@inline const FROZEN: u64 = 1 << 63;
// @ts-ignore: decorator
@inline const TAG_ONE: u64 = 1 << 32;
// @ts-ignore: decorator
@inline const TAG_MASK: u64 = 0x7FFF_FFFF_0000_0000;

// Bytes of heap one bitmap bit stands for: the allocator's granule.
// @ts-ignore: decorator
@inline const GRANULE: usize = 8;

// Byte counters of the calling thread: [allocated u64, freed u64], each written
// only by the thread it belongs to (so a plain read-modify-write suffices) and
// read by anyone (atomic loads, for stats). This thread-local pointer is set by
// thread.ts when the thread attaches; before that, only the creator allocates,
// against the header's init account.
let account: usize = HEADER_INIT_ACCOUNT;
// The two counters of an account.
// @ts-ignore: decorator
@inline export const ACCOUNT_ALLOCATED: usize = 0;
// @ts-ignore: decorator
@inline export const ACCOUNT_FREED: usize = 8;
// This thread's cache block, or 0 (not bound, or bound without a cache).
let cache: usize = 0;
// This thread's lock-owner id (slot index + 1), for the COALESCE lock.
let owner: u32 = 0;
// This thread's carving chunk: two words of its slot, [next, end) (0: none).
// Written only by the owner (plain); a reaper frees what is left of a dead
// thread's chunk: a run (below), its start `next` (allocReleaseRun).
let carveAt: usize = 0;
// @ts-ignore: decorator
@inline const CARVE_NEXT: usize = 0;
// @ts-ignore: decorator
@inline const CARVE_END: usize = 4;
// This thread's held run: two words of its slot naming free memory it has in
// hand (0: not bound). See "Runs" below.
let heldRun: usize = 0;
// A class one of this thread's pieces was deferred in, plus one (0: none),
// while it held a block just split off or bumped for its caller: the deferred
// blocks are moved back at its next allocation (redrainDeferred), not then,
// when the block would be named by nothing across the calls.
let redrainPending: u32 = 0;
// @ts-ignore: decorator
@inline const CARVE_CHUNK: usize = 16 << 10;

// Classes 0 … 47 are the blocks of 512 bytes and less: entries of keys up to
// 480 bytes and values up to 504. 32 blocks each bound what a thread holds back
// to ~330 KiB in the worst case, a few KiB in practice.
// @ts-ignore: decorator
@inline const CACHED_CLASSES: u32 = 48;
// @ts-ignore: decorator
@inline const CACHE_LIMIT: u32 = 32;
// @ts-ignore: decorator
@inline export const CACHE_SIZE: usize = (<usize>CACHED_CLASSES) << 3;

/**
 * Binds this thread's byte account, cache block (CACHE_SIZE bytes, zeroed, or
 * 0), owner id, the two words of its carving chunk and those of its held run
 * (slots.ts; 0 for none).
 */
export function allocBind(counters: usize, cacheBlock: usize, ownerId: u32, carve: usize, run: usize): void {
  account = counters;
  cache = cacheBlock;
  owner = ownerId;
  carveAt = carve;
  heldRun = run;
}

/**
 * Frees the block `name` names by moving it into `run` (empty) and counting it
 * freed, in stores with no call between them, then giving the run back: for a
 * block whose first words a reaper that takes over would need (the cache
 * block: its lists' heads), which a free() stopped half-way may overwrite.
 */
export function allocFreeThroughRun(block: usize, size: usize, name: usize, run: usize): void {
  const bytes = classSize(classOf(size));
  nameRun(run, block, block + bytes);
  store<u32>(name, 0);
  count(account + ACCOUNT_FREED, bytes);
  crashPoint();
  allocReleaseRun(run);
}

/**
 * Gives back the free memory a run names (a thread's held run or carving
 * chunk: its own after a trap, a dead thread's when reaped), from the front,
 * each piece let go of as it is linked. Repeatable.
 */
export function allocReleaseRun(run: usize): void {
  const start = <usize>load<u32>(run + RUN_START);
  const end = <usize>load<u32>(run + RUN_END);
  const deferred = end > start ? releaseRun(run, start, end, false) : -1;
  store<u32>(run + RUN_END, 0); // end first: every state in between is empty
  store<u32>(run + RUN_START, 0);
  if (deferred >= 0) redrainDeferred(<u32>deferred);
}

/**
 * Returns every block of a cache to the shared lists (a thread detaching, or a
 * reaper), through `run` (the cache's slot's held run, empty): each block is
 * moved from its cache list into the run, with no call between the stores,
 * and the run shrinks past it as it is linked. Its first word, the cache's
 * link, is the shared list's link from the push on, so a cache list is never
 * walked through a block that has left it. Repeatable: a reaper stopped here
 * leaves the rest in the cache and at most one block in the run, which its
 * successor gives back first (reapSlot).
 */
export function allocCacheDrain(block: usize, run: usize): void {
  for (let c: u32 = 0; c < CACHED_CLASSES; c++) {
    const headAt = block + ((<usize>c) << 3);
    let cached = <usize>load<u32>(headAt);
    while (cached) {
      const next = load<u32>(cached);
      const end = cached + classSize(c);
      nameRun(run, cached, end);
      store<u32>(headAt, next);
      crashPoint();
      pushFree(c, cached, run + RUN_START, <u32>end, 0);
      cached = <usize>next;
    }
  }
}

/**
 * Called once by the creator, before anything is allocated. With threads the
 * memory is created at its maximum (bindings/sharing.ts): the top 1/65 of what
 * lies above HEAP_START becomes the coalescing bitmap.
 */
export function allocInit(): void {
  store32(HEAP_TOP, <u32>HEAP_START);
  if (ASC_FEATURE_THREADS) {
    const end = (<u64>memory.size()) << 16;
    const span = end - <u64>HEAP_START;
    const bitmapBytes = ((span / 65 + 63) & ~<u64>63) + 64;
    const limit = (end - bitmapBytes) & ~<u64>63;
    store32(HEAP_LIMIT, <u32>limit);
    store32(BITMAP, <u32>limit);
  } else {
    store32(HEAP_LIMIT, 0xFFFF_FFF8);
  }
}

/**
 * Returns an 8-byte-aligned block of at least `size` bytes, or 0 when size is
 * over MAX_BLOCK or neither a free list nor the bump region has one (then see
 * allocReusing); the bump region only when `mayGrow` (memory.ts decides when
 * the heap should grow). The block's contents are unspecified.
 */
export function alloc(size: usize, mayGrow: bool = true): usize {
  if (redrainPending) {
    giveBackLeftRun();
    redrainNow();
  }
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
  if (!block) {
    // The paths below name runs; the two above (a cached block, a listed one) do not.
    giveBackLeftRun();
    if (carveAt && c < CACHED_CLASSES) {
      block = carve(classSize(c), false, mayGrow);
    } else {
      block = splitBeforeGrowing(c);
      if (!block && mayGrow) block = bump(classSize(c), classAlign(c));
    }
  }
  if (block) count(account + ACCOUNT_ALLOCATED, classSize(c));
  return block;
}

/**
 * A block of class `c` split from a larger free one, if a coalesce may have
 * left some (SPLITTABLE), before the heap grows for it; 0 otherwise.
 */
function splitBeforeGrowing(c: u32): usize {
  const seen = load32(SPLITTABLE);
  if (!(seen & 1)) return 0;
  const block = splitLarger(c);
  if (!block) cas32(SPLITTABLE, seen, seen & ~1);
  return block;
}

/** After a coalesce, with the lists unfrozen: their merged runs are worth splitting (SPLITTABLE). */
function markSplittable(): void {
  store32(SPLITTABLE, (load32(SPLITTABLE) | 1) + 2);
}

/**
 * A small block from this thread's chunk; when the chunk is used up, a new one
 * from the bump region or a free chunk-sized block (split from a larger one
 * when `split`: allocReusing). The rest of the old chunk goes back to the lists.
 */
function carve(size: usize, split: bool, mayGrow: bool = true): usize {
  const next = <usize>load<u32>(carveAt + CARVE_NEXT);
  if (next + size <= <usize>load<u32>(carveAt + CARVE_END)) {
    store<u32>(carveAt + CARVE_NEXT, <u32>(next + size));
    return next;
  }
  // The old chunk's rest (too small for this block) goes back first, named by
  // the chunk's own words as they shrink, so that the new chunk can be named
  // there from the instruction after it comes back, and the block carved from
  // it is the caller's with no call in between.
  allocReleaseRun(carveAt);
  const chunkClass = classOf(CARVE_CHUNK);
  let chunk = popFree(chunkClass);
  if (!chunk) chunk = splitBeforeGrowing(chunkClass);
  if (!chunk && mayGrow) chunk = bump(CARVE_CHUNK, 64);
  if (!chunk && split) chunk = splitLarger(chunkClass);
  if (!chunk) return 0;
  store<u32>(carveAt + CARVE_NEXT, <u32>(chunk + size)); // next first: empty until whole
  store<u32>(carveAt + CARVE_END, <u32>(chunk + CARVE_CHUNK));
  return chunk;
}

/** Returns a block of `size` bytes (the size it was allocated with) to its class. */
export function free(block: usize, size: usize): void {
  freeAndLetGo(block, size, 0);
}

/**
 * free() of a block that the shared word `name` names until it is free (a
 * slot's held words: scratch regions, an entry, a block reclamation is
 * freeing): whoever takes over after this thread dies frees what such a word
 * names. The word is cleared right after the store or CAS that links the block
 * into a list, with no call or loop between the two, so a thread stopped
 * anywhere in here (Worker.terminate() stops one at a call or a loop's
 * back-edge) leaves the block either named and not yet free, or free and not
 * named: never lost, never freed twice. The block's first two words may have
 * been overwritten by then (a list's link, a deferred block's class): whoever
 * frees a named block must not need them. Freed bytes are counted after the
 * link, so a block freed again by a reaper is counted once.
 */
export function freeNamed(block: usize, size: usize, name: usize): void {
  freeAndLetGo(block, size, name);
}

// A separate body for each of the two (name 0 folds away in free()): an
// optional parameter would send every free() through a varargs trampoline.
// @ts-ignore: decorator
@inline function freeAndLetGo(block: usize, size: usize, name: usize): void {
  const c = classOf(size);
  if (cache && c < CACHED_CLASSES) {
    const headAt = cache + ((<usize>c) << 3);
    const cached = load<u32>(headAt + 4);
    if (cached < CACHE_LIMIT) {
      store<u32>(block, load<u32>(headAt));
      store<u32>(headAt, <u32>block); // linked in one store
      if (name) store<u32>(name, 0);
      store<u32>(headAt + 4, cached + 1);
      count(account + ACCOUNT_FREED, classSize(c));
      return;
    }
  }
  if (name) crashPoint(); // a death before the link: `name` still names the block
  pushFree(c, block, name, 0, classSize(c));
}

/**
 * alloc() for when the bump region is used up, or should not grow (memory.ts,
 * heapMayGrow): takes the block from free memory of other classes, never from
 * the bump region. `freedBytes` is every byte ever
 * freed, all threads together (slots.ts). First it splits a free block of the
 * next larger class that has one. Failing that, it takes the COALESCE lock
 * (waiting for a coalesce under way, which may have made the block; with
 * `waits` false, for the sweeper, a busy lock means 0: see memory.ts), tries
 * again, and coalesces if enough memory was freed since the last time (a
 * thirty-second of the heap, at least COALESCE_MIN), so that a map kept full
 * by a caller that retries pays for a coalesce once per that much freed, not
 * on every attempt. 0 when no free memory is large enough.
 */
export function allocReusing(size: usize, freedBytes: u64, waits: bool): usize {
  giveBackLeftRun();
  if (redrainPending) redrainNow();
  if (size > MAX_BLOCK) return 0;
  const c = classOf(size);
  let block = reuse(c);
  if (!block && ASC_FEATURE_THREADS && load32(BITMAP)) {
    if (waits ? !lock(COALESCE_LOCK, owner) : !tryLock(COALESCE_LOCK, owner)) return 0;
    block = popFree(c);
    if (!block) block = reuse(c);
    const last = load64(COALESCED_AT);
    // freedBytes is a sum read word by word, so it may be older than the mark: never lower it.
    if (!block && freedBytes > last && freedBytes - last >= <u64>max(COALESCE_MIN, heapBytes() >> 5)) {
      store64(COALESCED_AT, freedBytes);
      coalesce();
      block = popFree(c);
      if (!block) block = reuse(c);
    }
    // Held across the unlock (a call): a thread stopped there gives it back.
    if (block) holdRun(block, block + classSize(c));
    unlock(COALESCE_LOCK);
    letGoRun();
  }
  if (block) count(account + ACCOUNT_ALLOCATED, classSize(c));
  return block;
}

// @ts-ignore: decorator
@inline const COALESCE_MIN: usize = 64 << 10;

/**
 * Whether a coalesce is under way in some thread (or was cut short by its
 * death, until the reaper ends it): an allocation that would not wait for it
 * (allocReusing, `waits` false) may find memory once it ends. A hint, read
 * without the lock.
 */
export function coalesceUnderWay(): bool {
  return ASC_FEATURE_THREADS && lockIsHeld(COALESCE_LOCK);
}

/**
 * Coalesces without waiting for a failure, in two cases. (1) Bytes in use have
 * fallen by a large share of the heap (a quarter) below the most seen since
 * the last time (IN_USE_MARK): a clear(), or most keys deleted. Then free
 * memory is merged while it is mostly in long runs, before new small blocks are
 * placed in its scattered holes: a map refilled after clear() otherwise put its
 * new entries and values into the freed holes all over the heap and ran out of
 * 4 KiB runs for its tables with a third of its memory free. (2) A quarter of
 * the heap has been freed since the last time, and either the heap has taken
 * three quarters of the bump region or more than a quarter of the heap is
 * free: keys that come and go at random sizes fragment free memory, and
 * unmerged it serves no larger block, so writes fail near the limit (4 workers
 * churning at 70% of 32 MiB met ERR_SYNCMAP_FULL without this) and the heap
 * grows far below it (a 256 MiB map churning 8 MiB of keys reached an 86 MiB
 * heap). A heap that is nearly all in use and far from its limit, as when
 * values are overwritten in place, coalesces nothing: that made every few
 * thousand stores coalesce a heap with nothing to merge.
 * Never waits: if a coalesce is under way, it is skipped. `inUse` and
 * `freedBytes` are the sums over the slots (bytesInUse, bytesFreed), read after
 * a limbo list was freed.
 */
export function allocCoalesceIfWorth(inUse: u64, freedBytes: u64): void {
  if (!ASC_FEATURE_THREADS || !load32(BITMAP)) return;
  const heap = <u64>heapBytes();
  const worth = <u64>max(COALESCE_MIN, <usize>heap >> 2);
  const mark = atomicMax64(IN_USE_MARK, inUse);
  const last = load64(COALESCED_AT);
  const nearLimit = heap * 4 >= (<u64>load32(HEAP_LIMIT) - <u64>HEAP_START) * 3;
  const fallen = mark - inUse >= worth;
  const sparse = inUse * 4 < heap * 3;
  const churned = (nearLimit || sparse) && freedBytes > last && freedBytes - last >= worth;
  if (!fallen && !churned) return;
  giveBackLeftRun();
  if (!tryLock(COALESCE_LOCK, owner)) return;
  if (load64(IN_USE_MARK) == mark && load64(COALESCED_AT) == last) {
    store64(IN_USE_MARK, inUse);
    if (freedBytes > last) store64(COALESCED_AT, freedBytes);
    coalesce();
  }
  unlock(COALESCE_LOCK);
}

/**
 * A block of class `c` from free memory of other classes: a small one carved
 * from a new chunk split from a larger free block (so that small blocks stay
 * together), and only failing that, like a large one, cut from the front of
 * the next larger free block.
 */
function reuse(c: u32): usize {
  let block: usize = 0;
  if (carveAt && c < CACHED_CLASSES) block = carve(classSize(c), true, false); // reuse: never grows the heap
  if (!block) block = splitLarger(c);
  return block;
}

/**
 * A block of class `c` cut from the front of a free block of the next larger
 * class that has one; 0 if none has. The larger block is held as a run from
 * the instruction after its pop, and its tail given back from the back, so
 * that a thread stopped while splitting (a coalesced run may be most of the
 * heap) leaves all of it named.
 */
function splitLarger(c: u32): usize {
  for (let larger = c + 1; larger < SIZE_CLASSES; larger++) {
    const block = popFree(larger);
    if (block) {
      holdRun(block, block + classSize(larger));
      const deferred = releaseRun(heldRun, block + classSize(c), block + classSize(larger), true);
      letGoRun(); // the head is the caller's from here
      if (deferred >= 0) redrainPending = <u32>deferred + 1;
      return block;
    }
  }
  return 0;
}

// ── Runs ────────────────────────────────────────────────────────────────────
//
// A run is two words, [start u32, end u32], naming free memory [start, end)
// that a thread has in hand, empty when start >= end: a block popped to be
// split, a bump with its alignment gap, the rest of a carving chunk being
// given back, a deferred block being moved to its list. It is given back one
// piece at a time (blocks of the largest classes that fit), and the linking
// of each piece and the word that shrinks the run past it follow each other
// with no call or loop between (pushListed, pushDeferred), as in freeNamed():
// a thread stopped anywhere leaves every byte either on a list or in the run,
// once, and whoever takes over gives the run back (allocReleaseRun). Its bytes
// were never counted as allocated, so they are not counted as freed either.
// The held run (heldRun) is one per thread, used by one step at a time, never
// across a call that could need it again (deferred blocks are moved after the
// run is empty: redrainDeferred).

// @ts-ignore: decorator
@inline const RUN_START: usize = 0;
// @ts-ignore: decorator
@inline const RUN_END: usize = 4;

/**
 * Makes `run` name [start, end), whatever it named before (nothing, or an
 * empty run): end cleared first, so that no state in between names anything
 * else. (No call lies between these stores, so none is seen by a reaper; the
 * order keeps it so if one ever does.)
 */
// @ts-ignore: decorator
@inline function nameRun(run: usize, start: usize, end: usize): void {
  store<u32>(run + RUN_END, 0);
  store<u32>(run + RUN_START, <u32>start);
  store<u32>(run + RUN_END, <u32>end);
}

/** Names [start, end) as this thread's held run (nothing before it is bound: then no other thread runs). */
// @ts-ignore: decorator
@inline function holdRun(start: usize, end: usize): void {
  if (heldRun) nameRun(heldRun, start, end);
}

/**
 * Where a run may be named in this thread's held run (allocation's slow paths,
 * allocReusing, the two coalesces), first: gives back
 * what an allocation a trap cut short left there. Between two calls into the
 * allocator the held run is empty, but a stack overflow can cut one short at
 * any call (before the operation pins, where nothing but sm_recover gives the
 * run back), and the thread may allocate again before sm_recover has run:
 * naming a new run over it would lose it (helper-54: 16-96 KiB at a time, a
 * store's split cut short at the stack's edge). Before any pop, so that no
 * block is this thread's alone meanwhile.
 */
// @ts-ignore: decorator
@inline function giveBackLeftRun(): void {
  if (heldRun && load<u32>(heldRun + RUN_START) < load<u32>(heldRun + RUN_END)) allocReleaseRun(heldRun);
}

/** Empties this thread's held run, whatever was left in it now being the caller's. */
// @ts-ignore: decorator
@inline function letGoRun(): void {
  if (heldRun) {
    store<u32>(heldRun + RUN_END, 0); // end first: empty from the first store
    store<u32>(heldRun + RUN_START, 0);
  }
}

/** The largest class whose blocks fit in `bytes` (at least GRANULE). */
// @ts-ignore: decorator
@inline function classFitting(bytes: usize): u32 {
  let c = classOf(min(bytes, MAX_BLOCK));
  if (classSize(c) > bytes) c--;
  return c;
}

/**
 * Gives back [low, high) of `run` (0: a run no word names), one piece at a
 * time: from the front, raising the run's start word past each piece as the
 * piece is linked, or `fromBack`, lowering its end word. Returns the class of
 * a piece that went to DEFERRED (the caller then moves the deferred blocks
 * once its run is empty: redrainDeferred), or -1.
 */
function releaseRun(run: usize, low: usize, high: usize, fromBack: bool): i32 {
  const name = run ? run + (fromBack ? RUN_END : RUN_START) : 0;
  let deferred: i32 = -1;
  while (high - low >= GRANULE) {
    const c = classFitting(high - low);
    const piece = fromBack ? high - classSize(c) : low;
    const bound = fromBack ? piece : low + classSize(c); // the run's new end, or start
    if (!pushListed(c, piece, name, <u32>bound)) {
      pushDeferred(c, piece, name, <u32>bound);
      deferred = <i32>c;
    }
    crashPoint();
    if (fromBack) high = bound;
    else low = bound;
  }
  return deferred;
}

/**
 * Gives the free run [start, start + bytes) to the frozen lists, as blocks of
 * the largest classes that fit (the coalescer's rebuild, which the bitmap
 * names whole until it is done).
 */
function freeRunFrozen(start: usize, bytes: usize): void {
  while (bytes >= GRANULE) {
    const c = classFitting(bytes);
    pushFrozen(c, start);
    start += classSize(c);
    bytes -= classSize(c);
  }
}

/** How many times free memory was coalesced (statistics). */
export function allocCoalesces(): u32 {
  return load32(COALESCES);
}

/** Bytes taken from the memory by the bump pointer since the heap began. */
export function heapBytes(): usize {
  return <usize>load32(HEAP_TOP) - HEAP_START;
}

// @ts-ignore: decorator
@inline function count(counter: usize, bytes: usize): void {
  store64(counter, load64(counter) + <u64>bytes);
}

// @ts-ignore: decorator
@inline function headOf(c: u32): usize {
  return FREE_HEADS_BASE + ((<usize>c) << 3);
}

// @ts-ignore: decorator
@inline function nextTag(head: u64): u64 {
  return (head + TAG_ONE) & TAG_MASK;
}

/** Pops a block of class c; 0 if the list is empty or frozen (a coalesce owns it). */
function popFree(c: u32): usize {
  const headAt = headOf(c);
  let head = load64(headAt);
  while (true) {
    const block = <usize>(<u32>head);
    if (!block || (head & FROZEN)) return 0;
    // `block` may have been popped and reused by another thread since `head` was
    // read; then this reads an arbitrary word, but the tag makes the CAS fail.
    const next = <u64>load<u32>(block);
    const seen = cas64(headAt, head, nextTag(head) | next);
    if (seen == head) return block;
    head = seen;
  }
}

/**
 * Pushes a block of class c; onto the DEFERRED list if a coalesce has the
 * list frozen. Never waits: see DEFERRED.
 */
function pushFree(c: u32, block: usize, name: usize, nameValue: u32, freedBytes: usize): void {
  // `name` and `nameValue` as in pushListed. `freedBytes` (free(): the block's
  // class size; 0 for a block counted when it entered a cache) is counted right
  // after the link, before any loop below.
  if (pushListed(c, block, name, nameValue)) {
    if (freedBytes) count(account + ACCOUNT_FREED, freedBytes);
    return;
  }
  pushDeferred(c, block, name, nameValue);
  if (freedBytes) count(account + ACCOUNT_FREED, freedBytes);
  redrainDeferred(c);
}

/**
 * After this thread deferred a block of class c: if its list is open again, the
 * coalesce that froze it may have emptied DEFERRED before the push, so the
 * deferred blocks (other threads' too: linked, counted and let go of already)
 * go back to their lists here, each held as this thread's run from its pop to
 * its link. The held run must be empty.
 */
function redrainDeferred(c: u32): void {
  while (true) {
    // Still frozen: the coalesce under way empties DEFERRED after it unfreezes
    // the lists, which comes after this look, so after the push.
    if (load64(headOf(c)) & FROZEN) return;
    // Unfrozen since the push: move them back, until none is left or a new
    // coalesce has frozen a list again (defer that one again, and look again).
    c = moveDeferred();
    if (c == NONE_DEFERRED) return;
  }
}

/** The redrain a split or a bump put off (redrainPending), now that nothing is in hand. */
function redrainNow(): void {
  const c = redrainPending - 1;
  redrainPending = 0;
  redrainDeferred(c);
}

// moveDeferred's answer when DEFERRED is empty (no class is this large).
// @ts-ignore: decorator
@inline const NONE_DEFERRED: u32 = 0xFFFF_FFFF;

/**
 * Moves deferred blocks back to their lists until DEFERRED is empty
 * (NONE_DEFERRED) or a list is frozen again: then the block goes back to
 * DEFERRED, and its class is returned. Each popped block is this thread's held
 * run until it is linked, so a thread stopped here leaks none.
 */
function moveDeferred(): u32 {
  const name = heldRun ? heldRun + RUN_START : 0;
  while (true) {
    const block = popDeferred();
    if (!block) return NONE_DEFERRED;
    const c = load<u32>(block + DEFERRED_CLASS);
    const end = block + classSize(c);
    holdRun(block, end); // from the instruction after the pop
    crashPoint();
    if (!pushListed(c, block, name, <u32>end)) {
      pushDeferred(c, block, name, <u32>end);
      letGoRun();
      return c;
    }
    letGoRun();
  }
}

/**
 * Pushes a block of class c onto its list; false (nothing done) if the list is
 * frozen. When `name` is not 0, stores `nameValue` there right after the CAS
 * that links the block, with no call or loop between the two: freeNamed()
 * clears the word that named the block (nameValue 0), a run raises or lowers
 * its bound past it (Runs).
 */
function pushListed(c: u32, block: usize, name: usize, nameValue: u32): bool {
  const headAt = headOf(c);
  let head = load64(headAt);
  while (!(head & FROZEN)) {
    store<u32>(block, <u32>head); // published by the CAS below
    const seen = cas64(headAt, head, nextTag(head) | <u64>block);
    if (seen == head) {
      if (name) store<u32>(name, nameValue); // no call between the link and this
      return true;
    }
    head = seen;
  }
  return false;
}

/** Pushes a block of class c onto DEFERRED; `name` and `nameValue` as in pushListed. */
function pushDeferred(c: u32, block: usize, name: usize, nameValue: u32): void {
  store<u32>(block + DEFERRED_CLASS, c);
  let head = load64(DEFERRED);
  while (true) {
    store<u32>(block, <u32>head); // published by the CAS below
    const seen = cas64(DEFERRED, head, nextTag(head) | <u64>block);
    if (seen == head) {
      if (name) store<u32>(name, nameValue); // as in pushListed
      return;
    }
    head = seen;
  }
}

/** Pops a block from DEFERRED (as popFree; the tag defeats ABA); 0 if empty. */
function popDeferred(): usize {
  let head = load64(DEFERRED);
  while (true) {
    const block = <usize>(<u32>head);
    if (!block) return 0;
    const next = <u64>load<u32>(block);
    const seen = cas64(DEFERRED, head, nextTag(head) | next);
    if (seen == head) return block;
    head = seen;
  }
}

/**
 * Gives every deferred block back to its list. For whoever has just unfrozen
 * the lists, holding the COALESCE lock: none can freeze again meanwhile, so
 * moveDeferred empties DEFERRED.
 */
function drainDeferred(): void {
  moveDeferred();
}

function bump(size: usize, align: usize): usize {
  let top = <usize>load32(HEAP_TOP);
  const limit = <usize>load32(HEAP_LIMIT);
  while (true) {
    const start = (top + align - 1) & ~(align - 1);
    const end = start + size;
    if (end < start || end > limit || !ensureMemory(end)) return 0;
    const seen = <usize>cas32(HEAP_TOP, <u32>top, <u32>end);
    if (seen == top) {
      // The alignment gap becomes free memory, so that coalescing can merge
      // across it (it is never counted as allocated, so not as freed either),
      // given back as a run: the block with it is named until then.
      if (start > top) {
        holdRun(top, end);
        const deferred = releaseRun(heldRun, top, start, false);
        letGoRun();
        if (deferred >= 0) redrainPending = <u32>deferred + 1;
      }
      return start;
    }
    top = seen;
  }
}

// Growth step of the proxy-wasm build's memory: at least 1 MiB or an eighth of
// the memory, so a heap that grows to N bytes calls memory.grow O(log N) times.
// @ts-ignore: decorator
@inline const GROW_MIN_PAGES: i32 = 16;

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
  if (memory.grow(step) >= 0) return true;
  if (step > need && memory.grow(need) >= 0) return true;
  return ((<usize>memory.size()) << 16) >= end;
}

// ── coalescing (threads build only) ────────────────────────────────────────

/** Marks every free block in the bitmap and rebuilds the lists from its runs. The caller holds COALESCE_LOCK. */
function coalesce(): void {
  store32(COALESCES, load32(COALESCES) + 1);
  store32(COALESCE_STATE, MARKING);
  for (let c: u32 = 0; c < SIZE_CLASSES; c++) {
    const headAt = headOf(c);
    let head = load64(headAt);
    while (!(head & FROZEN)) {
      const seen = cas64(headAt, head, head | FROZEN);
      if (seen == head) break;
      head = seen;
    }
  }
  crashPoint();
  const bitmap = <usize>load32(BITMAP);
  memory.fill(bitmap, 0, bitmapBytes());
  for (let c: u32 = 0; c < SIZE_CLASSES; c++) {
    const size = classSize(c);
    let block = <usize>(<u32>load64(headOf(c)));
    while (block) {
      markRun(bitmap, block, size);
      block = <usize>load<u32>(block);
    }
  }
  crashPoint();
  store32(COALESCE_STATE, REBUILDING);
  rebuild();
}

/** Empties the frozen lists and refills them from the bitmap's runs; then unfreezes them. Repeatable. */
function rebuild(): void {
  for (let c: u32 = 0; c < SIZE_CLASSES; c++) {
    const headAt = headOf(c);
    store64(headAt, nextTag(load64(headAt)) | FROZEN);
  }
  const bitmap = <usize>load32(BITMAP);
  const words = bitmapBytes() >> 3;
  let runStart: usize = 0; // granule index + 1 of the open run, 0 for none
  for (let w: usize = 0; w < words; w++) {
    let bits = load<u64>(bitmap + (w << 3));
    let at: usize = 0; // bits below `at` in this word are done
    while (at < 64) {
      if (runStart) {
        // In a run: it goes on to the next clear bit.
        const clear = ~bits >> at;
        if (!clear) break; // the rest of the word is set: the run goes on
        const end = (w << 6) + at + <usize>ctz<u64>(clear);
        freeRunFrozen(HEAP_START + (runStart - 1) * GRANULE, (end - (runStart - 1)) * GRANULE);
        runStart = 0;
        at = end - (w << 6);
      } else {
        const set = bits >> at;
        if (!set) break; // no run starts in the rest of the word
        at += <usize>ctz<u64>(set);
        runStart = (w << 6) + at + 1;
      }
    }
    crashPoint();
  }
  if (runStart) freeRunFrozen(HEAP_START + (runStart - 1) * GRANULE, (words * 64 - (runStart - 1)) * GRANULE);
  store32(COALESCE_STATE, UNFREEZING);
  unfreezeAll();
  drainDeferred();
  markSplittable();
  store32(COALESCE_STATE, IDLE);
}

function unfreezeAll(): void {
  for (let c: u32 = 0; c < SIZE_CLASSES; c++) {
    const headAt = headOf(c);
    const head = load64(headAt);
    if (head & FROZEN) store64(headAt, nextTag(head) | (head & 0xFFFF_FFFF));
  }
}

/** Pushes onto a frozen list (only the COALESCE lock holder writes those). */
function pushFrozen(c: u32, block: usize): void {
  const headAt = headOf(c);
  const head = load64(headAt);
  store<u32>(block, <u32>head);
  store64(headAt, nextTag(head) | FROZEN | <u64>block);
}

/** Bytes of the bitmap: one bit per granule of the bump region. */
function bitmapBytes(): usize {
  return ((<usize>load32(HEAP_LIMIT) - HEAP_START) / GRANULE + 63) >> 6 << 3;
}

/** Sets the bits of the granules of [block, block + size). */
function markRun(bitmap: usize, block: usize, size: usize): void {
  let g = (block - HEAP_START) / GRANULE;
  let n = size / GRANULE;
  while (n) {
    const word = bitmap + ((g >> 6) << 3);
    const bit = g & 63;
    const take = min(n, 64 - bit);
    const mask = take == 64 ? ~<u64>0 : (((<u64>1) << take) - 1) << bit;
    store<u64>(word, load<u64>(word) | mask);
    g += take;
    n -= take;
  }
}

/**
 * Coalesces now if the COALESCE lock is free (for tests: with a crash point
 * armed, a thread dies in the middle of it). False if it was not.
 */
export function allocCoalesceNow(): bool {
  giveBackLeftRun();
  if (!ASC_FEATURE_THREADS || !load32(BITMAP) || !tryLock(COALESCE_LOCK, owner)) return false;
  coalesce();
  unlock(COALESCE_LOCK);
  return true;
}

/**
 * How many blocks wait on the DEFERRED list (for tests: a walk, exact only
 * while no thread frees; bounded, in steps and in the heap, since a block
 * popped meanwhile may link anywhere).
 */
export function allocDeferredBlocks(): u32 {
  const most = <u32>(heapBytes() / GRANULE);
  let n: u32 = 0;
  let block = <usize>(<u32>load64(DEFERRED));
  while (block && block < <usize>load32(HEAP_TOP) && n < most) {
    n++;
    block = <usize>load<u32>(block);
  }
  return n;
}

/**
 * Bytes on the free lists and DEFERRED (for the heap audit, sm_heapUnaccounted:
 * exact only while no thread allocates or frees; each walk bounded, as in
 * allocDeferredBlocks).
 */
export function allocListedBytes(): u64 {
  let bytes: u64 = 0;
  for (let c: u32 = 0; c < SIZE_CLASSES; c++) {
    bytes += <u64>listLength(<usize>(<u32>load64(headOf(c)))) * <u64>classSize(c);
  }
  const most = heapBytes() / GRANULE;
  const top = <usize>load32(HEAP_TOP);
  let block = <usize>(<u32>load64(DEFERRED));
  for (let n: usize = 0; block && block < top && n < most; n++) {
    bytes += <u64>classSize(load<u32>(block + DEFERRED_CLASS));
    block = <usize>load<u32>(block);
  }
  return bytes;
}

/** Bytes in a thread's cache block (for the heap audit; the lists, not the counts). */
export function allocCacheBytes(cacheBlock: usize): u64 {
  let bytes: u64 = 0;
  for (let c: u32 = 0; c < CACHED_CLASSES; c++) {
    bytes += <u64>listLength(<usize>load<u32>(cacheBlock + ((<usize>c) << 3))) * <u64>classSize(c);
  }
  return bytes;
}

/** Blocks on the list starting at `block` (bounded, in steps and in the heap, as allocDeferredBlocks). */
function listLength(block: usize): usize {
  const most = heapBytes() / GRANULE;
  const top = <usize>load32(HEAP_TOP);
  let n: usize = 0;
  while (block && block < top && n < most) {
    n++;
    block = <usize>load<u32>(block);
  }
  return n;
}

/** Bytes a run's two words name (a carving chunk's rest, a held run). */
export function allocRunBytes(run: usize): u64 {
  const start = load<u32>(run + RUN_START);
  const end = load<u32>(run + RUN_END);
  return end > start ? <u64>(end - start) : 0;
}

/**
 * Finishes the work of a coalescer that died holding the COALESCE lock, which
 * `dead` (its owner id) held: takes the lock over, unfreezes the lists if it
 * was still marking (they were only read) or rebuilds them again from the
 * bitmap (which it had finished), and releases the lock. True if it did.
 */
export function allocRecoverCoalesce(deadOwner: u32): bool {
  if (!ASC_FEATURE_THREADS || !lockTakeOver(COALESCE_LOCK, deadOwner, owner)) return false;
  const state = load32(COALESCE_STATE);
  if (state == REBUILDING) rebuild();
  else if (state != IDLE) {
    unfreezeAll();
    drainDeferred();
    store32(COALESCE_STATE, IDLE);
  }
  unlock(COALESCE_LOCK);
  return true;
}
