// The key hash: SipHash-1-3 (Aumasson & Bernstein), a keyed pseudo-random
// function, under a random 128-bit key drawn for each map when it is created.
// Without the key nobody can precompute keys that collide in a table, which is
// what makes hash flooding (many keys on one probe chain) impractical. 1-3 (one
// compression round per block, three finalization rounds) is the variant Rust's
// standard HashMap uses for the same purpose; it hashes a 36-byte UID in ~15 ns
// here.
//
// The 64-bit result is split: the high half picks the shard, the low half the
// table slot (and is stored in the slot to skip most key comparisons).

/**
 * SipHash-1-3 of `len` bytes at `ptr` under the key (k0, k1). An 8-byte key
 * (the 'number' keys, Go's ints of the bench) is hashed in line, one block and
 * the length block written out, without the general loops; the same function
 * of the same bytes (test/hash.test.ts checks both against the reference).
 */
// @ts-ignore: decorator
@inline export function sipHash13(k0: u64, k1: u64, ptr: usize, len: usize): u64 {
  return len == 8 ? sipHash13Word(k0, k1, load<u64>(ptr)) : sipHash13Bytes(k0, k1, ptr, len);
}

/** SipHash-1-3 of the 8 bytes of `m` (little endian) under the key (k0, k1). */
// @ts-ignore: decorator
@inline function sipHash13Word(k0: u64, k1: u64, m: u64): u64 {
  let v0 = k0 ^ 0x736f6d6570736575;
  let v1 = k1 ^ 0x646f72616e646f6d;
  let v2 = k0 ^ 0x6c7967656e657261;
  let v3 = k1 ^ 0x7465646279746573;
  v3 ^= m;
  v0 += v1; v1 = rotl<u64>(v1, 13); v1 ^= v0; v0 = rotl<u64>(v0, 32); // c = 1 round
  v2 += v3; v3 = rotl<u64>(v3, 16); v3 ^= v2;
  v0 += v3; v3 = rotl<u64>(v3, 21); v3 ^= v0;
  v2 += v1; v1 = rotl<u64>(v1, 17); v1 ^= v2; v2 = rotl<u64>(v2, 32);
  v0 ^= m;
  return sipFinish(v0, v1, v2, v3, (<u64>8) << 56);
}

/** SipHash-1-3 of `len` bytes at `ptr` under the key (k0, k1), any length. */
export function sipHash13Bytes(k0: u64, k1: u64, ptr: usize, len: usize): u64 {
  let v0 = k0 ^ 0x736f6d6570736575;
  let v1 = k1 ^ 0x646f72616e646f6d;
  let v2 = k0 ^ 0x6c7967656e657261;
  let v3 = k1 ^ 0x7465646279746573;

  // Each SipRound is written out in place: one round body shared through a
  // branchy loop measured 60% slower (25 ns against 15 ns for 36 bytes).
  const end = ptr + (len & ~<usize>7);
  while (ptr < end) {
    const m = load<u64>(ptr);
    v3 ^= m;
    v0 += v1; v1 = rotl<u64>(v1, 13); v1 ^= v0; v0 = rotl<u64>(v0, 32); // c = 1 round
    v2 += v3; v3 = rotl<u64>(v3, 16); v3 ^= v2;
    v0 += v3; v3 = rotl<u64>(v3, 21); v3 ^= v0;
    v2 += v1; v1 = rotl<u64>(v1, 17); v1 ^= v2; v2 = rotl<u64>(v2, 32);
    v0 ^= m;
    ptr += 8;
  }

  // The last block: the remaining 0-7 bytes, little endian, with len in the top
  // byte. Read byte by byte, never past the key (it may end the memory).
  let last: u64 = (<u64>len) << 56;
  for (let i: usize = 0; i < (len & 7); i++) last |= (<u64>load<u8>(ptr + i)) << (<u64>(i << 3));
  return sipFinish(v0, v1, v2, v3, last);
}

/**
 * The end of SipHash-1-3 from state (v0..v3): the last block `last` (the key's
 * tail and its length), then the finalization. In line in both callers, so
 * that each keeps the state in locals, as written out by hand.
 */
// @ts-ignore: decorator
@inline function sipFinish(v0: u64, v1: u64, v2: u64, v3: u64, last: u64): u64 {
  v3 ^= last;
  v0 += v1; v1 = rotl<u64>(v1, 13); v1 ^= v0; v0 = rotl<u64>(v0, 32);
  v2 += v3; v3 = rotl<u64>(v3, 16); v3 ^= v2;
  v0 += v3; v3 = rotl<u64>(v3, 21); v3 ^= v0;
  v2 += v1; v1 = rotl<u64>(v1, 17); v1 ^= v2; v2 = rotl<u64>(v2, 32);
  v0 ^= last;

  v2 ^= 0xff;
  // d = 3 rounds, written out: V8 does not unroll a counted loop.
  v0 += v1; v1 = rotl<u64>(v1, 13); v1 ^= v0; v0 = rotl<u64>(v0, 32);
  v2 += v3; v3 = rotl<u64>(v3, 16); v3 ^= v2;
  v0 += v3; v3 = rotl<u64>(v3, 21); v3 ^= v0;
  v2 += v1; v1 = rotl<u64>(v1, 17); v1 ^= v2; v2 = rotl<u64>(v2, 32);
  v0 += v1; v1 = rotl<u64>(v1, 13); v1 ^= v0; v0 = rotl<u64>(v0, 32);
  v2 += v3; v3 = rotl<u64>(v3, 16); v3 ^= v2;
  v0 += v3; v3 = rotl<u64>(v3, 21); v3 ^= v0;
  v2 += v1; v1 = rotl<u64>(v1, 17); v1 ^= v2; v2 = rotl<u64>(v2, 32);
  v0 += v1; v1 = rotl<u64>(v1, 13); v1 ^= v0; v0 = rotl<u64>(v0, 32);
  v2 += v3; v3 = rotl<u64>(v3, 16); v3 ^= v2;
  v0 += v3; v3 = rotl<u64>(v3, 21); v3 ^= v0;
  v2 += v1; v1 = rotl<u64>(v1, 17); v1 ^= v2; v2 = rotl<u64>(v2, 32);
  return v0 ^ v1 ^ v2 ^ v3;
}
