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
 */
import { fileURLToPath } from 'node:url';
import Benchmark from 'benchmark';
import { LockedMap, SyncMap, type ConcurrentMap } from 'syncmap-wasm';
import type { BenchConfig } from './lib/config.js';
import { startRun } from './lib/context.js';
import { keptKeys } from './lib/keys.js';
import { interferenceMeter } from './lib/machine.js';

export const SINGLE_KEYS = 10_000;
const VALUE = 'value-of-20-bytes...';

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

export interface SingleResult {
  keys: number;
  valueBytes: number;
  rows: SingleRow[];
}

export type Op = (i: number) => unknown;

/**
 * The tight loop, compiled anew for each row so that its call to `op` has
 * feedback of its own and V8 can inline it. Returns the best ns per call.
 */
const LOOP = `
  let best = Infinity;
  for (let r = 0; r < rounds; r++) {
    let sink = 0;
    const start = process.hrtime.bigint();
    for (let p = 0; p < passes; p++) for (let i = 0; i < count; i++) if (op(i) !== undefined) sink++;
    const ns = Number(process.hrtime.bigint() - start) / (passes * count);
    if (sink < 0) throw new Error('unreachable');
    if (ns < best) best = ns;
  }
  return best;
`;

/** A row's loop, compiled and warmed up (tier-up); then each call runs one round: `passes` sweeps over the keys. */
export function tightLoop(op: Op): (passes: number) => number {
  const loop = new Function('op', 'count', 'rounds', 'passes', 'process', LOOP) as (
    op: Op,
    count: number,
    rounds: number,
    passes: number,
    p: NodeJS.Process,
  ) => number;
  loop(op, SINGLE_KEYS, 2, 2, process);
  return (passes) => loop(op, SINGLE_KEYS, 1, passes, process);
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
  const halves = keys.map((k) => [k.slice(0, 18), k.slice(18)] as const);
  const fresh = (i: number): string => {
    const [a, b] = halves[i]!;
    return a + b;
  };
  const syncMap = await SyncMap.create<string, string>({ values: 'string' });
  const lockedMap = await LockedMap.create<string, string>({ values: 'string' });
  // The same map with the cache features on: every value carries an expiry
  // (a load compares it with the map's clock word), or a version.
  const ttlMap = await SyncMap.create<string, string>({ values: 'string', ttlMs: 3_600_000 });
  const versionedMap = await SyncMap.create<string, string>({ values: 'string', versioned: true });
  const plain = new Map<string, string>();
  for (const key of keys) {
    syncMap.store(key, VALUE);
    ttlMap.store(key, VALUE);
    versionedMap.store(key, VALUE);
    lockedMap.store(key, VALUE);
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
  add('load', 'Map', 'kept', (i) => plain.get(keys[i]!));
  add('load', 'Map', 'fresh', (i) => plain.get(fresh(i)));
  // Writes of a present key (the value is the same, so the maps stay as they are).
  add('store', 'SyncMap', 'kept', (i) => syncMap.store(keys[i]!, VALUE) ?? 0);
  add('store', 'LockedMap', 'kept', (i) => lockedMap.store(keys[i]!, VALUE) ?? 0);
  add('store', 'Map', 'kept', (i) => plain.set(keys[i]!, VALUE));
  add('store', 'Map', 'fresh', (i) => plain.set(fresh(i), VALUE));
  add('loadOrStore', 'SyncMap', 'kept', (i) => syncMap.loadOrStore(keys[i]!, VALUE));
  add('loadOrStore', 'LockedMap', 'kept', (i) => lockedMap.loadOrStore(keys[i]!, VALUE));
  add('loadOrStore', 'Map', 'kept', (i) => plain.get(keys[i]!) ?? plain.set(keys[i]!, VALUE));

  // benchmark.js, one row after the other.
  const benchmarkJs: SingleRow['benchmarkJs'][] = [];
  for (const row of plan) {
    benchmarkJs.push(withBenchmarkJs(`${row.impl} ${row.op} (${row.keys} keys)`, row.fn, cfg.benchmarkJsMaxTime, cfg.benchmarkJsMinTime));
  }
  // Tight loops, interleaved: each round runs every row once, and a row keeps
  // its best round. This machine's speed drifts over seconds (neighbours on the
  // host), so the rows a ratio compares are measured side by side in time.
  const meter = interferenceMeter();
  const loops = plan.map((row) => tightLoop(row.fn));
  const best = plan.map(() => Infinity);
  for (let round = 0; round < cfg.loopRounds; round++) {
    loops.forEach((loop, i) => {
      best[i] = Math.min(best[i]!, loop(cfg.loopPasses));
    });
  }
  const foreignShare = meter()?.foreignShare;
  const rows: SingleRow[] = plan.map((row, i) => ({
    op: row.op,
    impl: row.impl,
    keys: row.keys,
    benchmarkJs: benchmarkJs[i]!,
    loopNs: best[i]!,
    ...(foreignShare !== undefined ? { foreignShare } : {}),
  }));
  syncMap.close();
  lockedMap.close();
  ttlMap.close();
  versionedMap.close();
  log(`  single thread: done in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  return { keys: SINGLE_KEYS, valueBytes: VALUE.length, rows };
}

// Run directly (`node build/bench/load-hits.bench.js [--quick] [--out DIR]`): this section alone,
// printed (and written only with --out).
if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const run = startRun(process.argv.slice(2), 'single');
  run.results.singleThread = await run.section('single', () => runSingle(run.cfg, run.log));
  run.finish();
}
