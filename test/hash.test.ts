/**
 * assembly/hash.ts is SipHash-1-3: checked against an independent BigInt
 * implementation written from the SipHash paper, which itself must reproduce
 * the paper's SipHash-2-4 test vector.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { internal, SyncMap } from './helpers.js';

const MASK = (1n << 64n) - 1n;
const rotl = (x: bigint, b: bigint): bigint => ((x << b) | (x >> (64n - b))) & MASK;

/** SipHash-c-d of `message` under the 128-bit key (k0, k1), per Aumasson & Bernstein. */
function sipHash(c: number, d: number, k0: bigint, k1: bigint, message: Uint8Array): bigint {
  let v0 = k0 ^ 0x736f6d6570736575n;
  let v1 = k1 ^ 0x646f72616e646f6dn;
  let v2 = k0 ^ 0x6c7967656e657261n;
  let v3 = k1 ^ 0x7465646279746573n;
  const round = (): void => {
    v0 = (v0 + v1) & MASK; v1 = rotl(v1, 13n); v1 ^= v0; v0 = rotl(v0, 32n);
    v2 = (v2 + v3) & MASK; v3 = rotl(v3, 16n); v3 ^= v2;
    v0 = (v0 + v3) & MASK; v3 = rotl(v3, 21n); v3 ^= v0;
    v2 = (v2 + v1) & MASK; v1 = rotl(v1, 17n); v1 ^= v2; v2 = rotl(v2, 32n);
  };
  const blocks = Math.floor(message.length / 8);
  const view = new DataView(message.buffer, message.byteOffset, message.length);
  for (let i = 0; i <= blocks; i++) {
    let m: bigint;
    if (i < blocks) {
      m = view.getBigUint64(i * 8, true);
    } else {
      m = BigInt(message.length & 0xff) << 56n;
      for (let j = 0; j < message.length % 8; j++) m |= BigInt(message[i * 8 + j]!) << BigInt(8 * j);
    }
    v3 ^= m;
    for (let r = 0; r < c; r++) round();
    v0 ^= m;
  }
  v2 ^= 0xffn;
  for (let r = 0; r < d; r++) round();
  return (v0 ^ v1 ^ v2 ^ v3) & MASK;
}

describe('SipHash', () => {
  it('the reference reproduces the SipHash-2-4 vector of the paper (appendix A)', () => {
    const key = Uint8Array.from({ length: 16 }, (_, i) => i);
    const keyView = new DataView(key.buffer);
    const message = Uint8Array.from({ length: 15 }, (_, i) => i);
    const hash = sipHash(2, 4, keyView.getBigUint64(0, true), keyView.getBigUint64(8, true), message);
    expect(hash).toBe(0xa129ca6149be45e5n);
  });

  it('the core computes SipHash-1-3 for any key and message (0 to 100 bytes)', () => {
    const map = SyncMap.createSync();
    const core = internal.coreOfMap(map);
    const u8 = new Uint8Array(map.handle.memory.buffer);
    const scratch = core.sm_scratch();
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: MASK }), fc.bigInt({ min: 0n, max: MASK }), fc.uint8Array({ maxLength: 100 }), (k0, k1, message) => {
        u8.set(message, scratch + 8);
        const got = BigInt.asUintN(64, core.sm_sipHash13(k0, k1, 8, message.length));
        expect(got).toBe(sipHash(1, 3, k0, k1, message));
      }),
      { numRuns: 500 },
    );
    map.close();
  });

  it('the core computes SipHash-1-3 of 8-byte messages (hashed in line, apart from other lengths)', () => {
    const map = SyncMap.createSync();
    const core = internal.coreOfMap(map);
    const u8 = new Uint8Array(map.handle.memory.buffer);
    const scratch = core.sm_scratch();
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: MASK }), fc.bigInt({ min: 0n, max: MASK }), fc.uint8Array({ minLength: 8, maxLength: 8 }), (k0, k1, message) => {
        u8.set(message, scratch + 8);
        const got = BigInt.asUintN(64, core.sm_sipHash13(k0, k1, 8, 8));
        expect(got).toBe(sipHash(1, 3, k0, k1, message));
      }),
      { numRuns: 500 },
    );
    map.close();
  });

  it('two maps draw different hash keys', () => {
    // Same keys, two maps: the order keys come out of a one-shard table follows
    // the hash; with independent random keys the two orders differ.
    const orders = [0, 1].map(() => {
      const map = SyncMap.createSync<string, number>({ shards: 1, values: 'number' });
      for (let i = 0; i < 64; i++) map.store(`key-${i}`, i);
      const order = [...map.keys()].join();
      map.close();
      return order;
    });
    expect(orders[0]).not.toBe(orders[1]);
  });
});
