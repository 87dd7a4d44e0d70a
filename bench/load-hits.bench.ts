/**
 * One thread, one operation at a time: SyncMap and LockedMap against a JS Map
 * on 10,000 present 36-character UID keys with 20-byte string values (the
 * first figures of this package, kept here). Each row is measured twice:
 *
 * - with benchmark.js (the `benchmark` package), one call per test invocation:
 *   ops/s with its relative margin of error;
 * - with a tight in-process loop over all keys, best of several rounds, the
 *   rows' rounds interleaved: benchmark.js's own per-call cost (~2 ns here)
 *   would blur a 10-20 ns Map.get, so this is the figure the goals are read
 *   against.
 *
 * "kept" keys are strings V8 has already hashed (kept in a table); "fresh"
 * keys are built for each call from two halves (`a + b`), as keys parsed from
 * a request are, so a Map must flatten and hash them again and SyncMap must
 * flatten them before encoding.
 *
 * The cache features' costs (issue 9), beside the plain load: load in a map
 * with ttlMs, in a versioned map, and with the Prometheus metrics registered;
 * then, on the versioned map, changesSince() per change returned against
 * snapshot() per entry; and the 2-thread contention check: Go's
 * LoadMostlyHits on SyncMap and on LockedMap in two worker threads, with the
 * lock acquisitions per load that stats() counted meanwhile.
 */
import { fileURLToPath } from 'node:url';
import Benchmark from 'benchmark';
import { Registry } from 'prom-client';
import { LockedMap, SyncMap, type ConcurrentMap, type SyncMapStats } from 'syncmap-wasm';
import { registerMetrics } from 'syncmap-wasm/prometheus';
import { ConcurrentAdapter } from './adapters/concurrent.js';
import type { BenchConfig } from './lib/config.js';
import { startRun } from './lib/context.js';
import { describeError } from './lib/describe-error.js';
import { goCase } from './lib/go-cases.js';
import { freshBuilder, keptKeys, keyOf } from './lib/keys.js';
import { isolatedLoads, type IsolatedRow } from './lib/isolated-loads.js';
import { interferenceMeter } from './lib/machine.js';
import { Pool } from './lib/pool.js';
import { tightLoop, type Op } from './lib/tight-loop.js';
import type { Job } from './lib/protocol.js';

export const SINGLE_KEYS = 10_000;
/** The one-thread tables' value: a 20-byte string. */
export const VALUE = 'value-of-20-bytes...';

export interface SingleRow {
  op: 'load' | 'store' | 'loadOrStore';
  impl: string;
  keys: 'kept' | 'fresh';
  /** benchmark.js: mean ns per call, ops/s, relative margin of error (%). */
  benchmarkJs: { nsPerOp: number; hz: number; rme: number } | { error: string };
  /** The tight loop: best ns per call. */
  loopNs: number;
  foreignShare?: number;
  attempts?: number;
}

/** changesSince() on a versioned map after some of its keys changed, against snapshot() of the same map. */
export interface ChangesCost {
  keys: number;
  /** Keys updated since the version asked from: what changesSince() returns. */
  changed: number;
  /** Best time of one changesSince() call, and per change returned. */
  changesSinceNs: number;
  nsPerChange: number;
  /** Best time of changesSince(version): no change to return, what a call costs whatever it returns. */
  noChangesNs: number;
  /** Best time of one snapshot(), and per entry copied. */
  snapshotNs: number;
  nsPerEntry: number;
}

/** Go's LoadMostlyHits in two worker threads, and what stats() counted meanwhile. */
export interface ContentionRow {
  impl: 'SyncMap' | 'LockedMap';
  /** Both threads' loads per second in the measured window. */
  opsPerSec?: number;
  /** From stats(), over the measured cell (its warm-up included): loads, lock acquisitions, contended ones, ms waited, slow-path loads. */
  loads?: number;
  locks?: number;
  locksPerLoad?: number;
  contended?: number;
  waitMs?: number;
  slowLoads?: number;
  error?: string;
}

export interface SingleResult {
  keys: number;
  valueBytes: number;
  rows: SingleRow[];
  changes?: ChangesCost;
  /** The plain, ttlMs and metrics loads again, each map in an isolate of its own (lib/isolated-loads.ts): the goals' figures. */
  isolated?: IsolatedRow[];
  contention?: { threads: number; case: 'LoadMostlyHits'; rows: ContentionRow[] };
}

export type { Op };

/**
 * Each op's best ns per call, the ops' tight loops interleaved: each round runs
 * every loop once, and an op keeps its best round. This machine's speed drifts
 * over seconds (neighbours on the host), so the ops a ratio compares are
 * measured side by side in time. With the share of CPU other programs took.
 */
export function interleavedBest(ops: Op[], cfg: BenchConfig): { best: number[]; foreignShare: number | undefined } {
  const meter = interferenceMeter();
  const loops = ops.map((op) => tightLoop(op, SINGLE_KEYS));
  const best = ops.map(() => Infinity);
  for (let round = 0; round < cfg.loopRounds; round++) {
    loops.forEach((loop, i) => {
      best[i] = Math.min(best[i]!, loop(cfg.loopPasses));
    });
  }
  return { best, foreignShare: meter()?.foreignShare };
}

/** Where benchmark.js's test puts each result, so that V8 cannot drop a call whose result is unused. */
export let lastResult: unknown;

function withBenchmarkJs(name: string, op: Op, maxTime: number, minTime: number): SingleRow['benchmarkJs'] {
  let i = 0;
  const bench = new Benchmark(
    name,
    () => {
      lastResult = op(i);
      if (++i === SINGLE_KEYS) i = 0;
    },
    { maxTime, minTime, minSamples: 5, initCount: 1000 },
  );
  bench.run({ async: false });
  if (bench.error) return { error: String(bench.error) };
  return { nsPerOp: bench.stats.mean * 1e9, hz: bench.hz, rme: bench.stats.rme };
}

export async function runSingle(cfg: BenchConfig, log: (line: string) => void): Promise<SingleResult> {
  const started = performance.now();
  const keys = keptKeys(SINGLE_KEYS);
  const fresh = freshBuilder(keys);
  const syncMap = await SyncMap.create<string, string>({ values: 'string' });
  const lockedMap = await LockedMap.create<string, string>({ values: 'string' });
  // The write rows get maps of their own: the rows' rounds interleave, and a
  // store into the map the load rows read would change what those loads find
  // (a value just rewritten, a per-thread cache of decoded values made stale)
  // in that map only, not in the ttlMs/versioned/metrics maps they are set against.
  const syncWrites = await SyncMap.create<string, string>({ values: 'string' });
  const lockedWrites = await LockedMap.create<string, string>({ values: 'string' });
  // The same map with the cache features on: every value carries an expiry
  // (a load compares it with the map's clock word), or a version.
  const ttlMap = await SyncMap.create<string, string>({ values: 'string', ttlMs: 3_600_000 });
  const versionedMap = await SyncMap.create<string, string>({ values: 'string', versioned: true });
  // And with the Prometheus metrics registered. The stats() counters behind
  // them are always on (each a plain store to the thread's own slot), so
  // their cost is inside every SyncMap figure here: this row measures what
  // registering adds, the sampled read-latency histogram (one load in 256 by
  // default timed with hrtime and added to shared buckets).
  const metricsMap = await SyncMap.create<string, string>({ values: 'string' });
  const unregister = registerMetrics(metricsMap, { registry: new Registry() });
  // The same map read without the per-thread read cache: what a load of a key
  // this thread has not read before costs (encode, the core, decode).
  const uncachedMap = SyncMap.attach<string, string>(syncMap.handle, { readCache: false });
  // 'number' keys and values, as counters or ids keyed by number would be.
  const numberKeys = keys.map((_, i) => (i * 2654435761) % 4294967296);
  const numberMap = await SyncMap.create<number, number>({ keys: 'number', values: 'number' });
  const plainNumbers = new Map<number, number>();
  numberKeys.forEach((key, i) => {
    numberMap.store(key, i);
    plainNumbers.set(key, i);
  });
  const plain = new Map<string, string>();
  for (const key of keys) {
    syncMap.store(key, VALUE);
    ttlMap.store(key, VALUE);
    versionedMap.store(key, VALUE);
    metricsMap.store(key, VALUE);
    lockedMap.store(key, VALUE);
    syncWrites.store(key, VALUE);
    lockedWrites.store(key, VALUE);
    plain.set(key, VALUE);
  }

  const plan: { op: SingleRow['op']; impl: string; keys: 'kept' | 'fresh'; fn: Op }[] = [];
  const add = (op: SingleRow['op'], impl: string, keyKind: 'kept' | 'fresh', fn: Op): void => {
    plan.push({ op, impl, keys: keyKind, fn });
  };
  const concurrent = (impl: string, m: ConcurrentMap<string, string>): void => {
    add('load', impl, 'kept', (i) => m.load(keys[i]!));
    add('load', impl, 'fresh', (i) => m.load(fresh(i)));
  };
  concurrent('SyncMap', syncMap);
  concurrent('LockedMap', lockedMap);
  add('load', 'SyncMap, ttlMs', 'kept', (i) => ttlMap.load(keys[i]!));
  add('load', 'SyncMap, versioned', 'kept', (i) => versionedMap.load(keys[i]!));
  add('load', 'SyncMap, metrics', 'kept', (i) => metricsMap.load(keys[i]!));
  add('load', 'SyncMap, readCache: false', 'kept', (i) => uncachedMap.load(keys[i]!));
  add('load', 'SyncMap, readCache: false', 'fresh', (i) => uncachedMap.load(fresh(i)));
  add('load', 'Map', 'kept', (i) => plain.get(keys[i]!));
  add('load', 'Map', 'fresh', (i) => plain.get(fresh(i)));
  add('load', 'SyncMap, number keys', 'kept', (i) => numberMap.load(numberKeys[i]!));
  add('load', 'Map, number keys', 'kept', (i) => plainNumbers.get(numberKeys[i]!));
  // Writes of a present key (the value is the same, so the maps stay as they are).
  add('store', 'SyncMap', 'kept', (i) => syncWrites.store(keys[i]!, VALUE) ?? 0);
  add('store', 'LockedMap', 'kept', (i) => lockedWrites.store(keys[i]!, VALUE) ?? 0);
  add('store', 'Map', 'kept', (i) => plain.set(keys[i]!, VALUE));
  add('store', 'Map', 'fresh', (i) => plain.set(fresh(i), VALUE));
  add('loadOrStore', 'SyncMap', 'kept', (i) => syncWrites.loadOrStore(keys[i]!, VALUE));
  add('loadOrStore', 'LockedMap', 'kept', (i) => lockedWrites.loadOrStore(keys[i]!, VALUE));
  add('loadOrStore', 'Map', 'kept', (i) => plain.get(keys[i]!) ?? plain.set(keys[i]!, VALUE));

  // benchmark.js, one row after the other.
  const benchmarkJs: SingleRow['benchmarkJs'][] = [];
  for (const row of plan) {
    benchmarkJs.push(withBenchmarkJs(`${row.impl} ${row.op} (${row.keys} keys)`, row.fn, cfg.benchmarkJsMaxTime, cfg.benchmarkJsMinTime));
  }
  // Tight loops, interleaved (interleavedBest).
  const { best, foreignShare } = interleavedBest(plan.map((row) => row.fn), cfg);
  const rows: SingleRow[] = plan.map((row, i) => ({
    op: row.op,
    impl: row.impl,
    keys: row.keys,
    benchmarkJs: benchmarkJs[i]!,
    loopNs: best[i]!,
    ...(foreignShare !== undefined ? { foreignShare } : {}),
  }));
  const changes = changesCost(versionedMap, keys, cfg.loopRounds);
  unregister();
  uncachedMap.close();
  syncMap.close();
  numberMap.close();
  lockedMap.close();
  syncWrites.close();
  lockedWrites.close();
  ttlMap.close();
  versionedMap.close();
  metricsMap.close();
  // Without them the ttlMs and metrics goals show no figure; the rest of the section stands.
  let isolated: IsolatedRow[] | undefined;
  try {
    isolated = await isolatedLoads(cfg, SINGLE_KEYS, VALUE);
  } catch (error) {
    log(`  single thread: the loads in isolates of their own failed: ${describeError(error)}`);
  }
  const contention = await contentionRows(cfg);
  log(`  single thread: done in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  return { keys: SINGLE_KEYS, valueBytes: VALUE.length, rows, changes, ...(isolated ? { isolated } : {}), contention: { threads: 2, case: 'LoadMostlyHits', rows: contention } };
}

/** Updates CHANGED of the versioned map's keys, then times changesSince() from before them and snapshot(), best of `rounds` each. */
const CHANGED = 1000;
function changesCost(map: SyncMap<string, string>, keys: string[], rounds: number): ChangesCost {
  const since = map.version;
  const stride = Math.floor(keys.length / CHANGED);
  for (let i = 0; i < CHANGED; i++) map.store(keys[i * stride]!, 'another-20-byte-val.');
  const time = (f: () => number): { ns: number; count: number } => {
    let ns = Infinity;
    let count = 0;
    for (let r = 0; r < rounds + 2; r++) {
      const start = process.hrtime.bigint();
      count = f();
      const took = Number(process.hrtime.bigint() - start);
      if (r >= 2) ns = Math.min(ns, took); // two rounds of warm-up
    }
    return { ns, count };
  };
  const delta = time(() => {
    const c = map.changesSince(since);
    return c.upserts.length + c.deletes.length;
  });
  if (delta.count !== CHANGED) throw new Error(`changesSince returned ${delta.count} changes, not ${CHANGED}`);
  const now = map.version;
  const none = time(() => map.changesSince(now).upserts.length);
  const snap = time(() => map.snapshot().size);
  return {
    keys: keys.length,
    changed: delta.count,
    changesSinceNs: delta.ns,
    nsPerChange: delta.ns / delta.count,
    noChangesNs: none.ns,
    snapshotNs: snap.ns,
    nsPerEntry: snap.ns / snap.count,
  };
}

/**
 * Issue 9's contention check: Go's LoadMostlyHits in two worker threads
 * (lib/worker.ts runners), on SyncMap and on LockedMap, 'number' values as in
 * the Go suite. A first cell attaches the threads and warms them up; stats()
 * is read around the second. SyncMap's loads of present keys read the
 * shard's read table without its lock, so its locks per load should be ~0;
 * LockedMap takes its read lock once per load.
 */
async function contentionRows(cfg: BenchConfig): Promise<ContentionRow[]> {
  const THREADS = 2;
  const def = goCase('LoadMostlyHits');
  const pool = await Pool.start(THREADS);
  const rows: ContentionRow[] = [];
  const maps: ConcurrentMap<string, number>[] = [];
  try {
    for (const impl of ['SyncMap', 'LockedMap'] as const) {
      const options = { keys: 'string', values: 'number' } as const;
      const map = impl === 'SyncMap' ? await SyncMap.create<string, number>(options) : await LockedMap.create<string, number>(options);
      maps.push(map);
      try {
        def.setup?.(new ConcurrentAdapter(map), keyOf);
        const kind = impl === 'SyncMap' ? 'syncmap' : 'lockedmap';
        const spec = { kind, id: `${kind}-contention`, handle: map.handle } as const;
        const jobs: Job[] = Array.from({ length: THREADS }, (_, goroutine) => ({ kind: 'go', spec, name: def.name, goroutine, setupInWorker: false }));
        const timing = { warmupMs: cfg.goWarmupMs, measureMs: cfg.goMeasureMs };
        const warm = await pool.cell(jobs, timing);
        if (!warm.ok) throw new Error(warm.error);
        const before = map.stats();
        const cell = await pool.cell(jobs, timing);
        const after = map.stats();
        if (!cell.ok) throw new Error(cell.error);
        const d = (k: keyof SyncMapStats): number => (after[k] as number) - (before[k] as number);
        rows.push({
          impl,
          opsPerSec: cell.opsPerSec,
          loads: d('loads'),
          locks: d('lockAcquisitions'),
          locksPerLoad: d('lockAcquisitions') / d('loads'),
          contended: d('lockContentions'),
          waitMs: d('lockWaitMs'),
          slowLoads: d('slowLoads'),
        });
      } catch (error) {
        rows.push({ impl, error: describeError(error) });
      }
    }
  } finally {
    // The runners stay attached until the pool closes; this thread's attachments go after them.
    await pool.close();
    for (const map of maps) map.close();
  }
  return rows;
}

// Run directly (`node build/bench/load-hits.bench.js [--quick] [--out DIR]`): this section alone,
// printed (and written only with --out).
if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const run = startRun(process.argv.slice(2), 'single');
  run.results.singleThread = await run.section('single', () => runSingle(run.cfg, run.log));
  run.finish();
}
