// Size classes of the allocator, as pure arithmetic (no memory access).
//
// Up to 64 bytes the classes step by 8 (8, 16, …, 64): the entries and small
// values that make up most of a map. Above that, each power-of-two range
// (2^b, 2^(b+1)] is cut into four classes of 2^(b-2) bytes each, as in jemalloc:
// a block wastes at most a fifth of its size, and 96 classes reach 256 MiB.
//
//   class   0 … 7   : 8, 16, 24, 32, 40, 48, 56, 64
//   class   8 … 11  : 80, 96, 112, 128
//   class  12 … 15  : 160, 192, 224, 256
//   …
//   class  92 … 95  : 160 Mi, 192 Mi, 224 Mi, 256 Mi

// @ts-ignore: decorator
@inline const SMALL_CLASSES: u32 = 8;
// @ts-ignore: decorator
@inline const SMALL_LIMIT: usize = 64;
// @ts-ignore: decorator
@inline const LOG2_SMALL_LIMIT: u32 = 6;

// The largest block the allocator hands out.
// @ts-ignore: decorator
@inline export const MAX_BLOCK: usize = 1 << 28;
// @ts-ignore: decorator
@inline export const SIZE_CLASSES: u32 = SMALL_CLASSES + (28 - LOG2_SMALL_LIMIT) * 4;

/** The class that serves `size` bytes; size must be in [0, MAX_BLOCK]. */
// @ts-ignore: decorator
@inline export function classOf(size: usize): u32 {
  if (size <= SMALL_LIMIT) return size ? <u32>((size - 1) >> 3) : 0;
  const b = <u32>(31 - clz<u32>(<u32>(size - 1))); // 2^b < size <= 2^(b+1)
  const sub = <u32>((size - 1 - (<usize>1 << b)) >> (b - 2)); // 0 … 3
  return SMALL_CLASSES + ((b - LOG2_SMALL_LIMIT) << 2) + sub;
}

/** The block size of class `c`. */
// @ts-ignore: decorator
@inline export function classSize(c: u32): usize {
  if (c < SMALL_CLASSES) return (<usize>(c + 1)) << 3;
  const i = c - SMALL_CLASSES;
  const b = LOG2_SMALL_LIMIT + (i >> 2);
  return (<usize>1 << b) + ((<usize>((i & 3) + 1)) << (b - 2));
}

/**
 * The alignment a fresh block of class `c` gets: its size's largest power-of-two
 * divisor, capped at a 64-byte line. Blocks of 64 bytes and up that are powers of
 * two (shard arrays, tables) then start on a cache line; the others waste at
 * most 8 bytes of padding. Never less than 8, which reclaim.ts relies on for
 * its tag bits.
 */
// @ts-ignore: decorator
@inline export function classAlign(c: u32): usize {
  const size = classSize(c);
  const lowBit = size & (~size + 1);
  return lowBit < 64 ? lowBit : 64;
}
