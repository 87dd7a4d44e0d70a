// Size classes of the allocator, as pure arithmetic (no memory access).
//
// A map's blocks are mostly entries (32 bytes + the key) and value blocks
// (8 bytes + the value), so small sizes get fine classes: rounding waste counts
// against every entry (the benchmarks hold memory per entry to key + value + 64
// bytes). Larger blocks get eight classes per power of two, as in jemalloc:
// a block wastes at most an eighth of its size.
//
//   class   0 … 31  : 8, 16, 24, …, 256           (8-byte steps)
//   class  32 … 79  : 272, 288, …, 1024           (16-byte steps)
//   class  80 … 87  : 1152, 1280, …, 2048         (eight per doubling)
//   …
//   class 216 … 223 : 144 Mi, 160 Mi, …, 256 Mi

// @ts-ignore: decorator
@inline const FINE_CLASSES: u32 = 32;
// @ts-ignore: decorator
@inline const FINE_LIMIT: usize = 256;
// @ts-ignore: decorator
@inline const MEDIUM_CLASSES: u32 = 48;
// @ts-ignore: decorator
@inline const MEDIUM_LIMIT: usize = 1024;
// @ts-ignore: decorator
@inline const LOG2_MEDIUM_LIMIT: u32 = 10;
// @ts-ignore: decorator
@inline const PER_DOUBLING: u32 = 8;
// @ts-ignore: decorator
@inline const LOG2_PER_DOUBLING: u32 = 3;
// @ts-ignore: decorator
@inline const GEOMETRIC_BASE: u32 = FINE_CLASSES + MEDIUM_CLASSES;

// The largest block the allocator hands out.
// @ts-ignore: decorator
@inline export const MAX_BLOCK: usize = 1 << 28;
// @ts-ignore: decorator
@inline export const SIZE_CLASSES: u32 = GEOMETRIC_BASE + (28 - LOG2_MEDIUM_LIMIT) * PER_DOUBLING;

/** The class that serves `size` bytes; size must be in [0, MAX_BLOCK]. */
// @ts-ignore: decorator
@inline export function classOf(size: usize): u32 {
  if (size <= FINE_LIMIT) return size ? <u32>((size - 1) >> 3) : 0;
  if (size <= MEDIUM_LIMIT) return FINE_CLASSES + <u32>((size - FINE_LIMIT - 1) >> 4);
  const b = <u32>(31 - clz<u32>(<u32>(size - 1))); // 2^b < size <= 2^(b+1)
  const sub = <u32>((size - 1 - (<usize>1 << b)) >> (b - LOG2_PER_DOUBLING)); // 0 … 7
  return GEOMETRIC_BASE + ((b - LOG2_MEDIUM_LIMIT) << LOG2_PER_DOUBLING) + sub;
}

/** The block size of class `c`. */
// @ts-ignore: decorator
@inline export function classSize(c: u32): usize {
  if (c < FINE_CLASSES) return (<usize>(c + 1)) << 3;
  if (c < GEOMETRIC_BASE) return FINE_LIMIT + ((<usize>(c - FINE_CLASSES + 1)) << 4);
  const i = c - GEOMETRIC_BASE;
  const b = LOG2_MEDIUM_LIMIT + (i >> LOG2_PER_DOUBLING);
  return (<usize>1 << b) + ((<usize>((i & (PER_DOUBLING - 1)) + 1)) << (b - LOG2_PER_DOUBLING));
}

/**
 * The alignment a fresh block of class `c` gets: its size's largest power-of-two
 * divisor, capped at a 64-byte line. Blocks of 64 bytes and up that are powers of
 * two (shard arrays, tables) then start on a cache line; the others waste at
 * most 56 bytes of padding, once. Never less than 8, which reclaim.ts relies on
 * for its tag bits.
 */
// @ts-ignore: decorator
@inline export function classAlign(c: u32): usize {
  const size = classSize(c);
  const lowBit = size & (~size + 1);
  return lowBit < 64 ? lowBit : 64;
}
