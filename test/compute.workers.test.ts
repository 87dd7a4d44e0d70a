/**
 * Issue 9, atomic updates: add(k, delta) and compute(k, fn) from several
 * worker threads on a few shared keys end with exact totals; and what each
 * does on its own (absent keys, deletes, refusals).
 */
import { describe, expect, it } from 'vitest';
import { controlBlock, exited, firstMessage, internal, LockedMap, signal, startWorker, SyncMap } from './helpers.js';

type Counter = SyncMap<string, number> | LockedMap<string, number>;

const makers = [
  ['SyncMap', () => SyncMap.createSync<string, number>({ values: 'number', shards: 4 })],
  ['SyncMap (versioned)', () => SyncMap.createSync<string, number>({ values: 'number', shards: 4, versioned: true })],
  ['SyncMap (ttlMs)', () => SyncMap.createSync<string, number>({ values: 'number', shards: 4, ttlMs: 60_000 })],
  ['LockedMap', () => LockedMap.createSync<string, number>({ values: 'number' })],
] as const;

async function count(map: Counter, workers: number, keys: string[], rounds: number, mode: 'add' | 'compute' | 'both'): Promise<number[]> {
  const control = controlBlock();
  const started = Array.from({ length: workers }, () =>
    startWorker('feat9-adder.mjs', { handle: map.handle, keys, rounds, mode, control: control.buffer }),
  );
  const reports = started.map((w) => firstMessage<{ fnCalls: number }>(w));
  signal(control, 0);
  const calls = (await Promise.all(reports)).map((r) => r.fnCalls);
  await Promise.all(started.map(exited));
  return calls;
}

describe.each(makers)('%s', (name, make) => {
  it('3 workers, each add(k, 1) and compute(k, v => v + 1) on 4 shared keys that start absent: exact totals', async () => {
    const map = make();
    const keys = ['c0', 'c1', 'c2', 'c3'];
    const rounds = 1500;
    const calls = await count(map, 3, keys, rounds, 'both');
    for (const key of keys) expect(map.load(key), key).toBe(3 * rounds * 2);
    expect(map.size).toBe(4);
    // fn may run more than once per call, never less.
    for (const c of calls) expect(c).toBeGreaterThanOrEqual(rounds * keys.length);
    if (name.startsWith('SyncMap')) expect(internal.verify(map)).toBe(0);
    if (name === 'SyncMap (versioned)') {
      // Every add and every compute that stored took one version; the map was empty before.
      expect(map.version).toBe(3 * rounds * 2 * keys.length);
    }
    map.close();
  });
});

describe('add alone, under contention on promoted keys', () => {
  it('4 workers add(k, 1) 5000 times on 2 keys of a SyncMap: exact totals', async () => {
    const map = SyncMap.createSync<string, number>({ values: 'number' });
    map.store('x', 0);
    map.store('y', 100);
    map.range(() => {}); // in the read table: add takes its lock-free path
    await count(map, 4, ['x', 'y'], 5000, 'add');
    expect(map.load('x')).toBe(20_000);
    expect(map.load('y')).toBe(20_100);
    map.close();
  });
});

describe('add and compute, one thread', () => {
  it('add on an absent key starts from delta; it returns the new value; deltas may be negative or fractional', () => {
    const map = SyncMap.createSync<string, number>({ values: 'number' });
    expect(map.add('a', 5)).toBe(5);
    expect(map.add('a', -2)).toBe(3);
    expect(map.add('a', 0.5)).toBe(3.5);
    expect(map.load('a')).toBe(3.5);
    map.delete('a');
    expect(map.add('a', 7), 'after a delete, from delta again').toBe(7);
    expect(map.add('b', 0)).toBe(0);
    expect(map.has('b')).toBe(true);
    map.close();
  });

  it('add on a map whose values are not \'number\' throws ERR_SYNCMAP_INVALID_ARGUMENT, and so does a delta that is not a number', () => {
    for (const values of ['structured', 'json', 'string'] as const) {
      const map = SyncMap.createSync({ values });
      expect(() => (map as unknown as Counter).add('k', 1)).toThrow(expect.objectContaining({ code: 'ERR_SYNCMAP_INVALID_ARGUMENT' }));
      expect(map.has('k')).toBe(false);
      map.close();
    }
    const locked = LockedMap.createSync({ values: 'json' });
    expect(() => (locked as unknown as Counter).add('k', 1)).toThrow(expect.objectContaining({ code: 'ERR_SYNCMAP_INVALID_ARGUMENT' }));
    locked.close();
    const map = SyncMap.createSync<string, number>({ values: 'number' });
    expect(() => map.add('k', '1' as never)).toThrow(expect.objectContaining({ code: 'ERR_SYNCMAP_INVALID_ARGUMENT' }));
    expect(map.has('k')).toBe(false);
    map.close();
  });

  it.each([
    ['SyncMap', () => SyncMap.createSync<string, { n: number }>()],
    ['LockedMap', () => LockedMap.createSync<string, { n: number }>()],
  ] as const)('%s: compute gets (current, present); returning undefined deletes; on an absent key, undefined stores nothing', (_, make) => {
    const map = make();
    const seen: [unknown, boolean][] = [];
    expect(map.compute('k', (v, present) => (seen.push([v, present]), { n: 1 }))).toEqual({ n: 1 });
    expect(map.compute('k', (v, present) => (seen.push([v, present]), { n: (v?.n ?? 0) + 1 }))).toEqual({ n: 2 });
    expect(seen).toEqual([
      [undefined, false],
      [{ n: 1 }, true],
    ]);
    expect(map.load('k')).toEqual({ n: 2 });
    expect(map.compute('k', () => undefined)).toBeUndefined();
    expect(map.has('k')).toBe(false);
    expect(map.size).toBe(0);
    expect(map.compute('absent', () => undefined)).toBeUndefined();
    expect(map.has('absent')).toBe(false);
    expect(() => map.compute('k', 'nope' as never)).toThrow(expect.objectContaining({ code: 'ERR_SYNCMAP_INVALID_ARGUMENT' }));
    map.close();
  });

  it('compute re-runs fn when another write lands in between (fn may run more than once)', () => {
    const map = SyncMap.createSync<string, number>({ values: 'number' });
    map.store('k', 1);
    let runs = 0;
    const result = map.compute('k', (v) => {
      runs++;
      if (runs === 1) map.store('k', 10); // a write between compute's load and its compare-and-swap
      return (v ?? 0) + 1;
    });
    expect(runs).toBe(2);
    expect(result).toBe(11);
    expect(map.load('k')).toBe(11);
    map.close();
  });
});
