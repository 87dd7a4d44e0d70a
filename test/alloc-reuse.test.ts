/**
 * Memory freed in one size class serves the others once the map has used up
 * its maxMemoryBytes: a free block of a larger class is split, and free blocks
 * that touch are merged (assembly/alloc.ts, allocReusing). Without it, a map
 * that had filled its memory with one size of value stayed full for new keys
 * even after clear().
 */
import { describe, expect, it } from 'vitest';
import { SyncMap, controlBlock, exited, firstMessage, internal, startWorker } from './helpers.js';

const OPTIONS = { values: 'string', maxKeyBytes: 64, maxValueBytes: 4096 } as const;

/** Stores `value` under fresh keys until the map is full; returns how many fit. */
function fill(map: SyncMap<string, string>, prefix: string, value: string): number {
  for (let n = 0; ; n++) {
    try {
      map.store(`${prefix}${n}`, value);
    } catch (error) {
      expect((error as { code?: string }).code).toBe('ERR_SYNCMAP_FULL');
      return n;
    }
  }
}

const VALUE = 'v'.repeat(1000);

/** A 2 MiB map filled with 1000-byte values under keys k0, k1, …; `first` is how many fit. */
function filledMap(): { map: SyncMap<string, string>; first: number } {
  const map = SyncMap.createSync<string, string>({ ...OPTIONS, maxMemoryBytes: 2 << 20 });
  return { map, first: fill(map, 'k', VALUE) };
}

describe('a map that has used all its memory', () => {
  it('after clear(), stores small values into memory that held large ones', () => {
    const map = SyncMap.createSync<string, string>({ ...OPTIONS, maxMemoryBytes: 4 << 20 });
    const large = fill(map, 'large-', 'L'.repeat(1000));
    expect(large).toBeGreaterThan(1000);
    map.clear();
    internal.collect(map);
    // Values of 100 bytes: their blocks must come out of the 1000-byte ones.
    const small = fill(map, 'small-', 's'.repeat(100));
    expect(small).toBeGreaterThan(large * 2);
    expect(map.size).toBe(small);
    expect(map.load('small-0')).toBe('s'.repeat(100));
    expect(map.load(`small-${small - 1}`)).toBe('s'.repeat(100));
    expect(internal.verify(map)).toBe(0);
    map.close();
  });

  it('after clear(), takes as many keys again as the empty map did, at most a tenth fewer', () => {
    const { map, first } = filledMap();
    map.clear();
    internal.collect(map);
    const second = fill(map, 'm', VALUE);
    expect(second).toBeGreaterThan(first * 0.9);
    for (let i = 0; i < second; i += 97) expect(map.load(`m${i}`)).toBe(VALUE);
    expect(internal.verify(map)).toBe(0);
    map.close();
  });

  it('after deleting half its keys, stores new keys into the freed memory', () => {
    const { map, first } = filledMap();
    for (let i = 0; i < first; i += 2) map.delete(`k${i}`);
    internal.collect(map);
    const added = fill(map, 'n', VALUE);
    expect(added).toBeGreaterThan(first / 4);
    for (let i = 1; i < first; i += 2) expect(map.load(`k${i}`)).toBe(VALUE);
    expect(internal.verify(map)).toBe(0);
    map.close();
  });

  it('2 workers storing and deleting values of many sizes at the limit never see a wrong value', async () => {
    const map = await SyncMap.create<string, string>({ ...OPTIONS, maxMemoryBytes: 2 << 20 });
    const control = controlBlock();
    const workers = [0, 1].map((id) =>
      startWorker('pressure.mjs', { handle: map.handle, id, operations: 60_000, keys: 1500, control: control.buffer }),
    );
    // Both attached (which takes scratch memory) before either starts filling the map.
    await Promise.all(workers.map((w) => firstMessage<{ attached: boolean }>(w)));
    const results = workers.map((w) => firstMessage<{ full: number; mismatches: number; present: [string, number][] }>(w));
    Atomics.store(control, 0, 1);
    Atomics.notify(control, 0);
    const reports = await Promise.all(results);
    await Promise.all(workers.map(exited));
    // The limit was reached (the fallback ran), and no load ever saw a wrong value.
    expect(reports.reduce((sum, r) => sum + r.full, 0)).toBeGreaterThan(0);
    expect(reports.map((r) => r.mismatches)).toEqual([0, 0]);
    const present = reports.flatMap((r) => r.present);
    expect(map.size).toBe(present.length);
    // The freed memory went on serving other sizes: about 1,830 keys stay held
    // here; with freed blocks serving only their own class, about 950.
    expect(present.length).toBeGreaterThan(1400);
    for (const [key, version] of present) {
      expect(map.load(key)?.startsWith(`${key}:${version}:`)).toBe(true);
    }
    expect(internal.verify(map)).toBe(0);
    map.close();
  });
});
