// Memory that crosses the boundary with the host: the buffers the host returns
// (allocated here through proxy_on_memory_allocate, freed by the plugin), and
// the words host functions write their results into.
//
// Both come from the core's allocator (alloc.ts), the only allocator in this
// module (the AssemblyScript runtime is `stub` and never used). Its frees are
// sized, while the ABI hands a buffer back as a pointer alone (and a length the
// host chose, which need not be what it asked for), so each host buffer carries
// its own size:
//
//   host buffer (HOST_BUFFER_HEADER_SIZE + size bytes, one alloc.ts block)
//   ┌────────────┬──────────────┬────────────────────────────┐
//   │ size u32   │ tag u32      │ bytes … (size)             │
//   └────────────┴──────────────┴────────────────────────────┘
//    block        block + 4      block + 8: the pointer the host receives
//
//   size  what proxy_on_memory_allocate was asked for.
//   tag   HOST_BUFFER_TAG while the buffer is out; cleared when it is freed,
//         so that freeing a pointer twice, or one the host did not get from
//         us, leaks rather than corrupts the free lists.
//
//   result words (RESULT_WORDS_SIZE bytes, allocated once)
//   ┌────────────┬────────────┬────────────┬────────────┐
//   │ data u32   │ size u32   │ cas u32    │ id u32     │
//   └────────────┴────────────┴────────────┴────────────┘
//   Written by host functions through their return_* pointers. Each caller
//   reads what it needs right after the call, before making another.

import { free } from "../alloc";
import { allocOrCollect } from "../memory";
import { MAX_BLOCK } from "../sizeclass";

// @ts-ignore: decorator
@inline const HOST_BUFFER_SIZE_FIELD: usize = 0;
// @ts-ignore: decorator
@inline const HOST_BUFFER_TAG_FIELD: usize = 4;
// @ts-ignore: decorator
@inline const HOST_BUFFER_HEADER_SIZE: usize = 8; // keeps the bytes 8-aligned
// "HBUF", little endian.
// @ts-ignore: decorator
@inline const HOST_BUFFER_TAG: u32 = 0x46554248;

// @ts-ignore: decorator
@inline export const RESULT_DATA: usize = 0;
// @ts-ignore: decorator
@inline export const RESULT_SIZE: usize = 4;
// @ts-ignore: decorator
@inline export const RESULT_CAS: usize = 8;
// @ts-ignore: decorator
@inline export const RESULT_ID: usize = 12;
// @ts-ignore: decorator
@inline const RESULT_WORDS_SIZE: usize = 16;

/** The result words (see above); 0 until hostmemInit. */
export let results: usize = 0;

/** Allocates the result words. False when memory is exhausted. */
export function hostmemInit(): bool {
  if (results) return true;
  results = allocOrCollect(RESULT_WORDS_SIZE);
  if (!results) return false;
  memory.fill(results, 0, RESULT_WORDS_SIZE);
  return true;
}

// @ts-ignore: decorator
@inline export function RESULT(field: usize): u32 {
  return load<u32>(results + field);
}

// @ts-ignore: decorator
@inline export function CLEAR_RESULTS(): void {
  store<u64>(results, 0);
  store<u64>(results + 8, 0);
}

/**
 * proxy_on_memory_allocate: `size` bytes for the host to fill, or 0 when they
 * cannot be had (the host then fails its call with INVALID_MEMORY_ACCESS).
 * Never traps, whatever the size.
 */
export function hostAllocate(size: usize): usize {
  if (size > MAX_BLOCK - HOST_BUFFER_HEADER_SIZE) return 0;
  const block = allocOrCollect(HOST_BUFFER_HEADER_SIZE + size);
  if (!block) return 0;
  store<u32>(block + HOST_BUFFER_SIZE_FIELD, <u32>size);
  store<u32>(block + HOST_BUFFER_TAG_FIELD, HOST_BUFFER_TAG);
  return block + HOST_BUFFER_HEADER_SIZE;
}

/** Frees a buffer the host returned (0 is ignored: an empty result allocates nothing). */
export function hostFree(data: usize): void {
  if (data < HOST_BUFFER_HEADER_SIZE || !inMemory(data, 0)) return;
  const block = data - HOST_BUFFER_HEADER_SIZE;
  if (load<u32>(block + HOST_BUFFER_TAG_FIELD) != HOST_BUFFER_TAG) return;
  store<u32>(block + HOST_BUFFER_TAG_FIELD, 0);
  free(block, HOST_BUFFER_HEADER_SIZE + <usize>load<u32>(block + HOST_BUFFER_SIZE_FIELD));
}

/** True if [ptr, ptr + len) lies inside the memory (as it is now). */
export function inMemory(ptr: usize, len: usize): bool {
  return (<u64>ptr) + (<u64>len) <= ((<u64>memory.size()) << 16);
}
