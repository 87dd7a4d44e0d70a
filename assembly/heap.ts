// The root of the shared heap: a fixed block at ROOT that every instance finds
// without being told, holding the heap header and the state of each subsystem.
//
// Nothing shared lives in Wasm globals (they are per instance), in static data
// (every new instance rewrites its data segments) or in AssemblyScript managed
// objects (the runtime's allocator state is per instance). The root is set up
// once, by the thread that creates the heap, behind a compare-and-swap on
// INIT_STATE; a fresh WebAssembly.Memory is zero-filled, so every field whose
// initial value is 0 needs no store.
//
//   ROOT
//   ┌──────────────────────────────────────────────────────────────┐ +0
//   │ header: identity, init state, root map, counters              │ 64 B
//   ├──────────────────────────────────────────────────────────────┤ +64
//   │ reclaim: epoch, limbo lists                 (reclaim.ts)      │ 64 B
//   ├──────────────────────────────────────────────────────────────┤ +128
//   │ alloc: bump pointer, coalescing state       (alloc.ts)        │ 64 B
//   ├──────────────────────────────────────────────────────────────┤ +192
//   │ alloc: free-list heads, SIZE_CLASSES × u64  (alloc.ts)        │ 1792 B
//   ├──────────────────────────────────────────────────────────────┤ +1984
//   │ thread slots, MAX_SLOTS × 256 B             (slots.ts)        │ 32 KiB
//   ├──────────────────────────────────────────────────────────────┤ HEAP_START
//   │ blocks handed out by alloc.ts …                               │
//
// Each block begins on a 64-byte line so that words written by different
// threads for different reasons never share a cache line.

import { LAYOUT_VERSION, MAGIC, MAX_SLOTS, ROOT, STAMP } from "./config";
import { cas32, load32, store32 } from "./atomics";
import { SIZE_CLASSES } from "./sizeclass";

// ── header fields ──────────────────────────────────────────────────────────
// MAGIC, LAYOUT and STAMP: written once by the creator before INIT_STATE
// becomes READY; read by every attaching thread after it sees READY.
// @ts-ignore: decorator
@inline export const HEADER_MAGIC: usize = ROOT;
// @ts-ignore: decorator
@inline export const HEADER_LAYOUT: usize = ROOT + 4;
// @ts-ignore: decorator
@inline export const HEADER_STAMP: usize = ROOT + 8;
// UNINITIALIZED → INITIALIZING (CAS by the creator) → READY (store by the creator).
// @ts-ignore: decorator
@inline export const HEADER_INIT_STATE: usize = ROOT + 12;
// The map the Node bindings use. Written once by the creator before READY.
// @ts-ignore: decorator
@inline export const HEADER_ROOT_MAP: usize = ROOT + 16;
// One past the highest slot index ever claimed. Raised by CAS in slots.ts,
// never lowered, so a scan up to it sees every slot that may be pinned.
// @ts-ignore: decorator
@inline export const HEADER_SLOT_HIGH_WATER: usize = ROOT + 20;
// Byte counters for what the creator allocates before it owns a slot (the map
// itself). Written only by the creator, only during init (see alloc.ts).
// @ts-ignore: decorator
@inline export const HEADER_INIT_ACCOUNT: usize = ROOT + 24;
// Shard locks recovered from threads that died holding them (statistics).
// Raised by CAS by reapers. (A thread that repairs its own locks after a trap,
// recoverFromTrap in abi.ts, does not count them: nobody died.)
// @ts-ignore: decorator
@inline export const HEADER_LOCKS_RECOVERED: usize = ROOT + 40;
// Tables made so far (u64): each new table takes the next number as its serial
// (table.ts), so that a serial names one table for the heap's whole life, where
// an address is reused once the table is freed. Raised by atomic add, by
// whoever makes a table; never lowered.
// @ts-ignore: decorator
@inline export const HEADER_TABLE_SERIALS: usize = ROOT + 48;
// @ts-ignore: decorator
@inline export const HEADER_SIZE: usize = 64;

// ── subsystem blocks ───────────────────────────────────────────────────────
// @ts-ignore: decorator
@inline export const RECLAIM_BASE: usize = ROOT + HEADER_SIZE;
// @ts-ignore: decorator
@inline export const RECLAIM_SIZE: usize = 64;
// @ts-ignore: decorator
@inline export const ALLOC_BASE: usize = RECLAIM_BASE + RECLAIM_SIZE;
// @ts-ignore: decorator
@inline export const ALLOC_SIZE: usize = 64;
// @ts-ignore: decorator
@inline export const FREE_HEADS_BASE: usize = ALLOC_BASE + ALLOC_SIZE;
// @ts-ignore: decorator
@inline export const FREE_HEADS_SIZE: usize = (<usize>SIZE_CLASSES) << 3;
// @ts-ignore: decorator
@inline export const SLOTS_BASE: usize = (FREE_HEADS_BASE + FREE_HEADS_SIZE + 63) & ~<usize>63;
// @ts-ignore: decorator
@inline export const SLOT_SIZE: usize = 256;
// @ts-ignore: decorator
@inline export const HEAP_START: usize = SLOTS_BASE + (<usize>MAX_SLOTS) * SLOT_SIZE;

// INIT_STATE values.
// @ts-ignore: decorator
@inline export const UNINITIALIZED: u32 = 0;
// @ts-ignore: decorator
@inline export const INITIALIZING: u32 = 1;
// @ts-ignore: decorator
@inline export const READY: u32 = 2;

/**
 * Claims the right to initialize this memory. True for exactly one caller, and
 * only on a memory that nobody has initialized; the caller must finish with
 * heapPublish().
 */
export function heapClaimInit(): bool {
  // Static data must end below ROOT, or the root would overlap what every new
  // instance rewrites.
  if (__heap_base > ROOT) return false;
  return cas32(HEADER_INIT_STATE, UNINITIALIZED, INITIALIZING) == UNINITIALIZED;
}

/** Writes the identity words and makes the heap visible to attaching threads. */
export function heapPublish(rootMap: usize): void {
  store32(HEADER_MAGIC, MAGIC);
  store32(HEADER_LAYOUT, LAYOUT_VERSION);
  store32(HEADER_STAMP, STAMP);
  store32(HEADER_ROOT_MAP, <u32>rootMap);
  store32(HEADER_INIT_STATE, READY); // sequentially consistent: publishes all of the above
}

// @ts-ignore: decorator
@inline export function heapIsReady(): bool {
  return load32(HEADER_INIT_STATE) == READY;
}

// @ts-ignore: decorator
@inline export function heapRootMap(): usize {
  return <usize>load32(HEADER_ROOT_MAP);
}

/** Adds to the count of locks recovered from dead threads. */
export function heapCountRecoveredLocks(n: u32): void {
  let seen = load32(HEADER_LOCKS_RECOVERED);
  while (n) {
    const witness = cas32(HEADER_LOCKS_RECOVERED, seen, seen + n);
    if (witness == seen) return;
    seen = witness;
  }
}

export function heapRecoveredLocks(): u32 {
  return load32(HEADER_LOCKS_RECOVERED);
}
