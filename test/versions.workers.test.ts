/**
 * Issue 9, versions across threads: waitForChange blocking a worker,
 * waitForChangeAsync on the main thread, and a Delta-xDS-style client that
 * pages changesSince while writers write, ending equal to snapshot().
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { isDeepStrictEqual } from 'node:util';
import { describe, expect, it } from 'vitest';
import { awaitWord, controlBlock, exited, firstMessage, signal, sleep, startWorker, SyncMap, until, xorshift32 } from './helpers.js';
import type { Worker } from 'node:worker_threads';

/** Every message a worker sends, in order. */
function messages<T>(worker: Worker): T[] {
  const got: T[] = [];
  worker.on('message', (m: T) => got.push(m));
  return got;
}

describe('waitForChange (a worker, blocking)', () => {
  it('blocks until another thread writes, then returns the new version', async () => {
    const map = SyncMap.createSync<string, number>({ values: 'number', versioned: true });
    map.store('other', 1);
    const since = map.version;
    const worker = startWorker('feat9-waiter.mjs', { handle: map.handle, since, key: 'k' });
    const got = messages<{ ready?: boolean; version?: number; value?: number }>(worker);
    const done = exited(worker);
    while (got.length === 0) await sleep(5);
    expect(got[0]).toEqual({ ready: true });
    await sleep(50); // the worker is (most likely) in Atomics.wait by now; correctness does not depend on it
    expect(got).toHaveLength(1); // it has not returned: nothing changed
    map.store('k', 42);
    await done;
    expect(got[1]).toEqual({ version: since + 1, value: 42 });
    map.close();
  });

  it('returns on timeout with the same version', async () => {
    const map = SyncMap.createSync<string, number>({ values: 'number', versioned: true });
    map.store('k', 1);
    const since = map.version;
    const worker = startWorker('feat9-waiter.mjs', { handle: map.handle, since, timeoutMs: 40, key: 'k' });
    const got = messages<{ ready?: boolean; version?: number; value?: number }>(worker);
    await exited(worker);
    expect(got).toEqual([{ ready: true }, { version: since, value: 1 }]);
    map.close();
  });

  it('returns at once when the version has already passed `since`', async () => {
    const map = SyncMap.createSync<string, number>({ values: 'number', versioned: true });
    map.store('k', 1);
    map.store('k', 2);
    const worker = startWorker('feat9-waiter.mjs', { handle: map.handle, since: 1, key: 'k' });
    const got = messages<{ ready?: boolean; version?: number; value?: number }>(worker);
    await exited(worker); // no timeout given: had it blocked, this would hang
    expect(got[1]).toEqual({ version: 2, value: 2 });
    map.close();
  });
});

describe('waitForChangeAsync (the main thread, not blocking)', () => {
  it('resolves when a worker writes, with the version that write took', async () => {
    const map = SyncMap.createSync<string, number>({ values: 'number', versioned: true });
    map.store('a', 1);
    const since = map.version;
    const control = controlBlock();
    const worker = startWorker('feat9-writer-on-signal.mjs', { handle: map.handle, key: 'b', value: 7, control: control.buffer });
    const report = firstMessage<{ version: number }>(worker);
    awaitWord(control, 2, 1); // the worker is attached
    let resolved: number | undefined;
    const pending = map.waitForChangeAsync(since).then((v) => (resolved = v));
    await sleep(30);
    expect(resolved, 'resolved before anything changed').toBeUndefined();
    signal(control, 0);
    const version = await pending;
    expect(version).toBe(since + 1);
    expect((await report).version).toBe(since + 1);
    expect(map.load('b')).toBe(7);
    await exited(worker);
    map.close();
  });

  it('resolves with the same version on timeout', async () => {
    const map = SyncMap.createSync<string, number>({ values: 'number', versioned: true });
    map.store('a', 1);
    expect(await map.waitForChangeAsync(map.version, 30)).toBe(1);
    expect(await map.waitForChangeAsync(0, 30), 'already past since').toBe(1);
    map.close();
  });
});

describe('waitForChangeAsync keeps its promise', () => {
  it('a process whose only pending work is waitForChangeAsync(v, timeoutMs) waits for the timeout and resolves', async () => {
    const entry = fileURLToPath(new URL('../build/bindings/index.js', import.meta.url));
    const script = `
      const { SyncMap } = await import(${JSON.stringify(entry)});
      const map = SyncMap.createSync({ values: 'number', versioned: true });
      map.store('a', 1);
      const v = await map.waitForChangeAsync(map.version, 300);
      console.log('resolved ' + v);`;
    const result = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
      const child = execFile(process.execPath, ['--input-type=module', '-e', script], { timeout: 15_000 }, (_error, stdout, stderr) => {
        resolve({ code: child.exitCode, stdout, stderr });
      });
    });
    // Exit code 13 is Node's "unsettled top-level await": the event loop emptied while the promise was pending.
    expect(result, 'the pending wait did not keep the event loop alive').toMatchObject({ code: 0, stdout: 'resolved 1\n' });
  });
});

describe('an xDS-style delta client', () => {
  type Cluster = { writer: number; i: number; endpoints: string[] };

  async function run(options: { writers: number; compactor: boolean; seed: number }): Promise<void> {
    const { writers, compactor, seed } = options;
    const map = SyncMap.createSync<string, Cluster>({ versioned: true, shards: 8 });
    const control = controlBlock();
    const workers = Array.from({ length: writers }, (_, w) =>
      startWorker('feat9-churn-writer.mjs', {
        handle: map.handle, seed: seed + w * 7919, ops: 12_000, keySpace: 300, writer: w, control: control.buffer,
      }),
    );
    const reports = workers.map((w) => firstMessage<{ stores: number; deletes: number }>(w));
    const compacting = compactor ? startWorker('feat9-compactor.mjs', { handle: map.handle, control: control.buffer }) : null;
    const compacted = compacting ? firstMessage<{ removed: number; passes: number }>(compacting) : null;

    // The client: pages of at most 50 changes, applied to a local Map; a reset
    // sends it to the full state (snapshot) at that snapshot's version.
    let local = new Map<string, Cluster>();
    let since = 0;
    let pages = 0;
    let resets = 0;
    let applied = 0;
    signal(control, 0);
    for (;;) {
      const writersDone = Atomics.load(control, 2) === writers; // read before the page, so a complete page after it has all
      const page = map.changesSince(since, { limit: 50 });
      pages++;
      if (page.reset) {
        resets++;
        const snap = map.snapshot();
        local = new Map(snap);
        since = snap.version;
        continue;
      }
      const keys = [...page.upserts.map(([k]) => k), ...page.deletes];
      if (new Set(keys).size !== keys.length) throw new Error(`page ${pages} from ${since} names a key twice: ${keys.join(',')}`);
      for (const [k, v] of page.upserts) local.set(k, v);
      for (const k of page.deletes) local.delete(k);
      applied += keys.length;
      since = page.version;
      // Without the rogue compactor: compact up to what this (only) client has seen, as an xDS server would.
      if (!compactor && pages % 25 === 0) map.compact(since);
      if (writersDone && page.complete) break;
    }
    signal(control, 1);
    const totals = await Promise.all(reports);
    await Promise.all(workers.map(exited));
    const compactorReport = compacted ? await compacted : null;
    if (compacting) await exited(compacting);

    expect(since).toBe(map.version);
    const truth = map.snapshot();
    expect(truth.version).toBe(since);
    const stores = totals.reduce((s, t) => s + t.stores, 0);
    const deletes = totals.reduce((s, t) => s + t.deletes, 0);
    expect(map.version).toBe(stores + deletes);
    const wrong = [...new Set([...local.keys(), ...truth.keys()])].filter((k) => !isDeepStrictEqual(local.get(k), truth.get(k)));
    const context = `seed ${seed}, ${writers} writers, ${pages} pages, ${resets} resets, ${applied} changes applied` +
      (compactorReport ? `, compactor removed ${compactorReport.removed} tombstones in ${compactorReport.passes} passes` : '');
    expect(
      wrong.map((k) => `${k}: client ${JSON.stringify(local.get(k))}, map ${JSON.stringify(truth.get(k))}`),
      `the client's state differs from snapshot() (${context})`,
    ).toEqual([]);
    expect(local.size).toBe(truth.size);
    if (!compactor) expect(resets, 'compaction only up to what the client acknowledged must never reset it').toBe(0);
    map.close();
  }

  it.each([2, 3])('%i writers store and delete while the client pages changesSince: its Map ends equal to snapshot()', async (writers) => {
    await run({ writers, compactor: false, seed: 0x9e3779b9 + writers });
  });

  it('with a compaction running ahead of the client: reset or exact deltas, never a missed delete', async () => {
    for (const seed of [1, 2, 3]) await run({ writers: 2, compactor: true, seed });
  });

  it('changesSince racing a compaction answers reset or the delete, never a complete delta without it (seeded jitter)', async () => {
    // Each iteration: 'victim' is stored and deleted (tombstone at version t),
    // the reader asks changesSince(t - 1) while this thread compacts up to t,
    // both after a seeded random spin. Compaction raises the watermark before
    // it removes a tombstone, so a reader that saw the old watermark but
    // reached the shard after the compaction must still answer reset. With
    // many shards the reader walks them one by one from JavaScript, and a
    // compaction (one Wasm loop) that starts after its watermark check can
    // overtake it: the window is tens of microseconds, not a few instructions.
    // Seeded; as many iterations as it takes to see one wrong answer, up to `most`.
    const most = 6000;
    const seed = 12345;
    const map = SyncMap.createSync<string, number>({ values: 'number', versioned: true, shards: 128 });
    for (let i = 0; i < 64; i++) map.store(`filler-${i}`, i);
    const control = controlBlock();
    const reader = startWorker('feat9-delta-reader.mjs', { handle: map.handle, control: control.buffer, seed });
    const report = firstMessage<{ iterations: number; resets: number; deletes: number; missed: number; examples: unknown[] }>(reader);
    const jitter = xorshift32(99);
    let sink = 0;
    for (let i = 1; i <= most && Atomics.load(control, 3) === 0; i++) {
      map.store('victim', i);
      map.delete('victim');
      const t = map.version;
      Atomics.store(control, 1, t - 1);
      Atomics.store(control, 0, i);
      Atomics.notify(control, 0);
      for (let s = jitter() % 400; s > 0; s--) sink += s;
      map.compact(t);
      for (let spins = 0, seen; (seen = Atomics.load(control, 2)) !== i; spins++) {
        if (spins > 20_000) Atomics.wait(control, 2, seen, 1); // the reader was descheduled: do not burn the core
      }
    }
    signal(control, 0, -1);
    const r = await report;
    await exited(reader);
    expect(sink).toBeGreaterThanOrEqual(0);
    expect(r.resets + r.deletes + r.missed).toBe(r.iterations);
    expect(
      r.missed,
      `${r.missed} of ${r.iterations} answers were complete, not reset, and lacked the delete of a compacted tombstone ` +
        `(resets ${r.resets}, deletes seen ${r.deletes}); first: ${JSON.stringify(r.examples[0])}`,
    ).toBe(0);
    map.close();
  });
});

describe('automatic compaction across threads', () => {
  it('a thread that raises the low watermark compacts the tombstones of a thread that deletes and never yields', async () => {
    // The compaction a delete queues runs on the deleting thread's event loop;
    // a worker deleting in a loop that never yields left a 64 MiB map to fill
    // with a million tombstones while the main thread raised the low
    // watermark every 100 ms (an adversarial stress test).
    const map = SyncMap.createSync<string, number>({ values: 'number', versioned: true, shards: 8 });
    for (let i = 0; i < 3000; i++) map.store(`k${i}`, i);
    const low = map.setLowWatermark(map.version + 2000); // the deletions to come, acknowledged ahead
    const control = controlBlock();
    const worker = startWorker('delete-without-yielding.mjs', { handle: map.handle, prefix: 'k', count: 2000, control: control.buffer });
    try {
      awaitWord(control, 0, 1);
      await sleep(50); // had the worker's loop turned, its own compaction would have removed them by now
      expect(map.stats().tombstones).toBe(2000);
      map.setLowWatermark(low);
      expect(map.stats().tombstones, 'off the call path').toBe(2000);
      await until(() => map.stats().tombstones === 0, 'compacted from the main thread', 5000);
      expect(map.size).toBe(1000);
    } finally {
      await worker.terminate();
    }
    map.close();
  });
});
