/**
 * Issue 9, snapshot(): a point-in-time copy while other threads write. The
 * issue's test: a writer bumps keys k1..kn in order each round (k_i = round);
 * every snapshot must show a prefix-consistent state: k1..kj = r and
 * kj+1..kn = r - 1. In a versioned map each store takes one version, so a
 * snapshot's version also says exactly how many stores it includes.
 */
import { describe, expect, it } from 'vitest';
import { awaitWord, controlBlock, exited, firstMessage, LockedMap, signal, startWorker, SyncMap } from './helpers.js';

const N = 64;

/**
 * Checks one key set of a snapshot: values non-increasing from k1 to kn, and
 * differing by at most 1. Returns the sum of the values (the stores it shows).
 */
function checkPrefix(snap: Map<string, unknown>, prefix: string, n: number, label: string): { sum: number; round: number; mid: boolean } {
  const values: number[] = [];
  for (let i = 1; i <= n; i++) {
    const v = snap.get(`${prefix}${i}`);
    if (typeof v !== 'number') throw new Error(`${label}: ${prefix}${i} missing from the snapshot (${String(v)})`);
    values.push(v);
  }
  for (let i = 1; i < n; i++) {
    if (values[i]! > values[i - 1]! || values[0]! - values[i]! > 1) {
      throw new Error(`${label}: not prefix-consistent at ${prefix}${i + 1}: [${values.join(',')}]`);
    }
  }
  return { sum: values.reduce((s, v) => s + v, 0), round: values[0]!, mid: values[0] !== values[n - 1] };
}

type MapMaker = () => SyncMap<string, number> | LockedMap<string, number>;

async function run(make: MapMaker, prefixes: string[], versioned: boolean): Promise<{ snapshots: number; mid: number }> {
  const map = make();
  for (const prefix of prefixes) for (let i = 1; i <= N; i++) map.store(`${prefix}${i}`, 0);
  map.range(() => {}); // promote: the writers' stores then take the lock-free path where there is one
  const base = versioned ? map.version : 0;
  const control = controlBlock();
  const workers = prefixes.map((prefix) => startWorker('feat9-bumper.mjs', { handle: map.handle, prefix, n: N, control: control.buffer }));
  const reports = workers.map((w) => firstMessage<{ rounds: number }>(w));
  awaitWord(control, 2, prefixes.length); // every writer has finished its first round and is writing
  let snapshots = 0;
  let mid = 0;
  const first = new Map<string, number>();
  const last = new Map<string, number>();
  // At least 200 snapshots, and until every writer has moved on by 3 rounds meanwhile.
  const progressed = (): boolean => prefixes.every((p) => (last.get(p) ?? 0) - (first.get(p) ?? 0) >= 3);
  while ((snapshots < 200 || !progressed()) && snapshots < 50_000) {
    const snap = map.snapshot();
    snapshots++;
    let sum = 0;
    for (const prefix of prefixes) {
      const r = checkPrefix(snap, prefix, N, `snapshot ${snapshots}`);
      sum += r.sum;
      if (r.mid) mid++;
      if (!first.has(prefix)) first.set(prefix, r.round);
      last.set(prefix, r.round);
    }
    expect(snap.size).toBe(prefixes.length * N);
    if (versioned) {
      // Every store took one version: the snapshot's version counts exactly the stores it shows.
      if (snap.version - base !== sum) throw new Error(`snapshot ${snapshots}: version ${snap.version} - ${base} but it shows ${sum} stores`);
    }
  }
  signal(control, 1);
  const rounds = await Promise.all(reports);
  await Promise.all(workers.map(exited));
  expect(progressed(), `the writers made too little progress during ${snapshots} snapshots`).toBe(true);
  for (const r of rounds) expect(r.rounds).toBeGreaterThan(3);
  // After the writers stop, a final snapshot shows every last round complete.
  const final = map.snapshot();
  prefixes.forEach((prefix, w) => {
    for (let i = 1; i <= N; i++) expect(final.get(`${prefix}${i}`)).toBe(rounds[w]!.rounds);
  });
  if (versioned) expect(final.version).toBe(map.version);
  map.close();
  return { snapshots, mid };
}

describe('snapshot() is linearizable: prefix-consistent while writers bump k1..kn in order', () => {
  it.each([
    ['SyncMap', () => SyncMap.createSync<string, number>({ values: 'number', shards: 16 }), false],
    ['SyncMap (versioned)', () => SyncMap.createSync<string, number>({ values: 'number', shards: 16, versioned: true }), true],
    ['SyncMap (ttlMs)', () => SyncMap.createSync<string, number>({ values: 'number', shards: 16, ttlMs: 60_000 }), false],
    ['LockedMap', () => LockedMap.createSync<string, number>({ values: 'number' }), false],
  ] as const)('%s, one writer', async (_, make, versioned) => {
    await run(make as MapMaker, ['k'], versioned);
  });

  it.each([
    ['SyncMap', () => SyncMap.createSync<string, number>({ values: 'number', shards: 16 }), false],
    ['SyncMap (versioned)', () => SyncMap.createSync<string, number>({ values: 'number', shards: 16, versioned: true }), true],
  ] as const)('%s, two writers on disjoint key sets, each checked', async (_, make, versioned) => {
    await run(make as MapMaker, ['a', 'b'], versioned);
  });
});

describe('snapshot().version', () => {
  it('equals map.version when nothing is written in between, while workers are attached', async () => {
    const map = SyncMap.createSync<string, number>({ values: 'number', versioned: true });
    for (let i = 1; i <= N; i++) map.store(`k${i}`, 0);
    const control = controlBlock();
    const worker = startWorker('feat9-bumper.mjs', { handle: map.handle, prefix: 'k', n: N, control: control.buffer });
    const report = firstMessage<{ rounds: number }>(worker);
    awaitWord(control, 2, 1);
    signal(control, 1);
    await report;
    await exited(worker);
    const v = map.version;
    const snap = map.snapshot();
    expect(snap.version).toBe(v);
    expect(map.snapshot().version).toBe(v);
    map.store('k1', -1);
    expect(map.snapshot().version).toBe(v + 1);
    map.close();
  });
});
