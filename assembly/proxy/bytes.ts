// Growable byte strings in the core's heap.
//
// The runtime is `stub` and no managed object may be made, so messages, keys
// and encodings are assembled here: a builder is a small record pointing at a
// block of alloc.ts that doubles as it fills.
//
//   builder (BUILDER_SIZE = 16 bytes)
//   ┌──────────┬──────────┬──────────┬──────────┐
//   │ data u32 │ len u32  │ cap u32  │ failed   │
//   └──────────┴──────────┴──────────┴──────────┘
//   data    the bytes (0 while cap is 0)
//   len     bytes in use; cap: bytes allocated
//   failed  1 once a push could not get memory. Pushes after that do nothing,
//           so a caller checks once, at the end (builderFailed).

import { free } from "../alloc";
import { allocOrCollect } from "../memory";
import { bytesEqual } from "../entry";
import { MAX_BLOCK } from "../sizeclass";
import { TEXT_AT, TEXT_LEN, Text } from "./texts";

// @ts-ignore: decorator
@inline const BUILDER_DATA: usize = 0;
// @ts-ignore: decorator
@inline const BUILDER_LEN: usize = 4;
// @ts-ignore: decorator
@inline const BUILDER_CAP: usize = 8;
// @ts-ignore: decorator
@inline const BUILDER_FAILED: usize = 12;
// @ts-ignore: decorator
@inline const BUILDER_SIZE: usize = 16;

// The first block a builder takes: most keys, names and log lines fit.
// @ts-ignore: decorator
@inline const BUILDER_FIRST_CAP: usize = 256;

// @ts-ignore: decorator
@inline export function DATA(b: usize): usize { return <usize>load<u32>(b + BUILDER_DATA); }
// @ts-ignore: decorator
@inline export function LEN(b: usize): usize { return <usize>load<u32>(b + BUILDER_LEN); }
// @ts-ignore: decorator
@inline function CAP(b: usize): usize { return <usize>load<u32>(b + BUILDER_CAP); }
// @ts-ignore: decorator
@inline function SET_LEN(b: usize, len: usize): void { store<u32>(b + BUILDER_LEN, <u32>len); }

/** A new, empty builder; 0 when memory is exhausted. */
export function builderNew(): usize {
  const b = allocOrCollect(BUILDER_SIZE);
  if (b) memory.fill(b, 0, BUILDER_SIZE);
  return b;
}

/** Empties the builder (keeping its block) and clears `failed`. */
export function builderClear(b: usize): void {
  SET_LEN(b, 0);
  store<u32>(b + BUILDER_FAILED, 0);
}

/** Cuts the builder back to its first `len` bytes. */
export function builderTruncate(b: usize, len: usize): void {
  if (len < LEN(b)) SET_LEN(b, len);
}

// @ts-ignore: decorator
@inline export function builderFailed(b: usize): bool {
  return load<u32>(b + BUILDER_FAILED) != 0;
}

/** Makes room for `extra` more bytes; false (and `failed`) when it cannot. */
export function builderReserve(b: usize, extra: usize): bool {
  if (builderFailed(b)) return false;
  const len = LEN(b);
  const cap = CAP(b);
  if (extra <= cap - len) return true;
  if (extra > MAX_BLOCK - len) return fail(b);
  const need = len + extra;
  let grown = cap ? cap : BUILDER_FIRST_CAP;
  while (grown < need) grown = grown <= MAX_BLOCK >> 1 ? grown << 1 : MAX_BLOCK;
  const data = allocOrCollect(grown);
  if (!data) return fail(b);
  if (len) memory.copy(data, DATA(b), len);
  if (cap) free(DATA(b), cap);
  store<u32>(b + BUILDER_DATA, <u32>data);
  store<u32>(b + BUILDER_CAP, <u32>grown);
  return true;
}

function fail(b: usize): bool {
  store<u32>(b + BUILDER_FAILED, 1);
  return false;
}

export function pushByte(b: usize, byte: u32): void {
  if (!builderReserve(b, 1)) return;
  const len = LEN(b);
  store<u8>(DATA(b) + len, <u8>byte);
  SET_LEN(b, len + 1);
}

export function pushBytes(b: usize, ptr: usize, n: usize): void {
  if (!builderReserve(b, n)) return;
  const len = LEN(b);
  memory.copy(DATA(b) + len, ptr, n);
  SET_LEN(b, len + n);
}

export function pushU32(b: usize, value: u32): void {
  if (!builderReserve(b, 4)) return;
  const len = LEN(b);
  store<u32>(DATA(b) + len, value);
  SET_LEN(b, len + 4);
}

/** Pads with zero bytes to a multiple of `align` (a power of two). */
export function pushPadding(b: usize, align: usize): void {
  while (LEN(b) & (align - 1)) {
    pushByte(b, 0);
    if (builderFailed(b)) return;
  }
}

/** Appends one of the texts (texts.ts). */
export function pushText(b: usize, text: Text): void {
  pushBytes(b, TEXT_AT(text), TEXT_LEN(text));
}

/** Appends `value` in decimal. */
export function pushDecimal(b: usize, value: u64): void {
  let digits: usize = 1;
  for (let v = value; v >= 10; v /= 10) digits++;
  if (!builderReserve(b, digits)) return;
  const len = LEN(b);
  let at = DATA(b) + len + digits;
  let v = value;
  do {
    store<u8>(--at, <u8>(0x30 + <u32>(v % 10)));
    v /= 10;
  } while (v);
  SET_LEN(b, len + digits);
}

/** Overwrites a u32 already pushed at `offset`. */
export function patchU32(b: usize, offset: usize, value: u32): void {
  if (offset + 4 <= LEN(b)) store<u32>(DATA(b) + offset, value);
}

/** True if the `len` bytes at `ptr` are the text. */
export function equalsText(ptr: usize, len: usize, text: Text): bool {
  return len == TEXT_LEN(text) && bytesEqual(ptr, TEXT_AT(text), len);
}
