/**
 * The goals (issues 3, 9 and 10), read against the run's figures. Each says
 * the figure, the target, whether it was met, and by how much it was missed.
 * A quick run judges only the goals it can measure reliably (QUICK_JUDGES);
 * the others show their figure and "not judged (quick run)".
 */
import { readFileSync } from 'node:fs';
import type { GcReport } from '../lib/gc-child.js';
import type { ImplKind } from '../adapters/types.js';
import type { GoCase } from '../lib/go-cases.js';
import { ns, ratio, si } from './format.js';
import type { Goal, Results } from './results.js';

function goOps(r: Results, name: GoCase, impl: ImplKind, threads: number): number | undefined {
  const cell = r.goSuite?.cells.find((c) => c.case === name && c.impl === impl && c.threads === threads);
  return cell?.status === 'ok' ? cell.opsPerSec : undefined;
}

/** A row's figure in isolates of its own (lib/isolated-loads.ts), if that part of the run ran. */
function isolated(r: Results, impl: string, keys: 'kept' | 'fresh' = 'kept', op: 'load' | 'store' = 'load'): number | undefined {
  return r.singleThread?.isolated?.find((row) => row.impl === impl && row.keys === keys && row.op === op)?.loopNs;
}

/** How the one-thread goals' figures were measured (lib/isolated-loads.ts). */
const APART = ', each in a thread of its own';

function judge(id: string, goal: string, target: string, value: number | undefined, limit: number, atLeast: boolean, figure: (v: number) => string): Goal {
  if (value === undefined || !Number.isFinite(value)) return { id, goal, target, figure: 'no figure (a cell failed or did not run)', met: null };
  const met = atLeast ? value >= limit : value <= limit;
  let shown = figure(value);
  // A miss that two decimals would round onto the target shows a third (1.105x, not 1.10x).
  if (!met && ratio(value) === ratio(limit)) shown = shown.replace(ratio(value), `${value.toFixed(3)}x`);
  const result: Goal = { id, goal, target, figure: shown, met };
  if (!met) {
    const short = (1 - value / limit) * 100;
    const over = value / limit;
    result.note = atLeast
      ? `missed by ${short < 10 ? short.toFixed(1) : short.toFixed(0)}%`
      : `missed: ${ratio(over) === ratio(1) ? `${over.toFixed(3)}x` : ratio(over)} the target`;
  }
  return result;
}

/**
 * The goals a quick run judges: those read from byte counts, which do not
 * depend on how busy the machine is (the memory goal). Every other goal is a ratio of timings,
 * and a quick run's single short window cannot tell a miss from noise: the
 * thread-scaling and cross-implementation ratios move by ±15% or more between
 * quick runs on a shared 2-core machine (one printed 0.79x for 2-thread
 * scaling, issue 10), the one-thread ratios compare rows a few ns apart
 * measured over a few ms, and the GC ratio runs a seventh of the full
 * workload. So those print "not judged (quick run)"; a full run judges them.
 */
const QUICK_JUDGES = new Set(['memory']);

export function evaluateGoals(r: Results): Goal[] {
  const goals = judgeAll(r);
  if (r.config.mode !== 'quick') return goals;
  return goals.map((goal) => {
    if (goal.met === null || QUICK_JUDGES.has(goal.id)) return goal;
    const { note: _missedBy, ...rest } = goal;
    return { ...rest, met: null, notJudged: 'quick run' };
  });
}

function judgeAll(r: Results): Goal[] {
  const goals: Goal[] = [];
  // Every one-thread goal reads rows measured in isolates of their own
  // (lib/isolated-loads.ts); without them it shows no figure rather than the
  // in-process rows', which depend on the order they ran in.
  const syncKept = isolated(r, 'SyncMap');
  const syncFresh = isolated(r, 'SyncMap', 'fresh');
  const mapKept = isolated(r, 'Map');
  const mapFresh = isolated(r, 'Map', 'fresh');
  goals.push(
    judge(
      'load-vs-map',
      'One thread, load of a present 36-char key, 20-byte value: within 3x of Map.get on pre-hashed keys',
      'SyncMap.load / Map.get (kept keys) <= 3x',
      syncKept !== undefined && mapKept !== undefined ? syncKept / mapKept : undefined,
      3,
      false,
      (v) => `${ratio(v)} (${ns(syncKept!)} ns against ${ns(mapKept!)} ns${APART})`,
    ),
  );
  goals.push(
    judge(
      'load-vs-fresh',
      'One thread: no slower than Map.get on freshly built keys (both given the same fresh key)',
      'SyncMap.load / Map.get (fresh keys) <= 1x',
      syncFresh !== undefined && mapFresh !== undefined ? syncFresh / mapFresh : undefined,
      1,
      false,
      (v) => `${ratio(v)} (${ns(syncFresh!)} ns against ${ns(mapFresh!)} ns${APART}; with a kept key SyncMap takes ${ns(syncKept ?? NaN)} ns)`,
    ),
  );
  const syncNumbers = isolated(r, 'SyncMap, number keys');
  const mapNumbers = isolated(r, 'Map, number keys');
  goals.push(
    judge(
      'load-numbers',
      "One thread, load of a present 'number' key, 'number' value: within 2x of Map.get",
      'SyncMap.load / Map.get (number keys) <= 2x',
      syncNumbers !== undefined && mapNumbers !== undefined ? syncNumbers / mapNumbers : undefined,
      2,
      false,
      (v) => `${ratio(v)} (${ns(syncNumbers!)} ns against ${ns(mapNumbers!)} ns${APART})`,
    ),
  );
  // Judged as a service runs: keys this thread has read are stored by the
  // place its read cache recorded; the figure adds the store by key (no cache).
  const syncStore = isolated(r, 'SyncMap', 'kept', 'store');
  const syncStoreByKey = isolated(r, 'SyncMap, readCache: false', 'kept', 'store');
  const mapStore = isolated(r, 'Map', 'kept', 'store');
  goals.push(
    judge(
      'store-vs-map',
      'One thread, store of a present key (36-char key, 20-byte value): within 4x of Map.set',
      'SyncMap.store / Map.set (kept keys) <= 4x',
      syncStore !== undefined && mapStore !== undefined ? syncStore / mapStore : undefined,
      4,
      false,
      (v) =>
        `${ratio(v)} (${ns(syncStore!)} ns against ${ns(mapStore!)} ns${APART}; without the read cache, by key: ` +
        `${syncStoreByKey !== undefined ? `${ns(syncStoreByKey)} ns, ${ratio(syncStoreByKey / mapStore!)}` : 'no figure'})`,
    ),
  );
  // Each feature against the plain load.
  const syncAlone = syncKept;
  const syncTtl = isolated(r, 'SyncMap, ttlMs');
  goals.push(
    judge(
      'load-ttl',
      'One thread, load of a present key in a map with ttlMs: at most 10% slower than without',
      'SyncMap.load with ttlMs / without <= 1.1x',
      syncTtl !== undefined && syncAlone !== undefined ? syncTtl / syncAlone : undefined,
      1.1,
      false,
      (v) => `${ratio(v)} (${ns(syncTtl!)} ns against ${ns(syncAlone!)} ns${APART})`,
    ),
  );
  const syncMetrics = isolated(r, 'SyncMap, metrics');
  goals.push(
    judge(
      'load-metrics',
      'One thread, load of a present key with registerMetrics() active (its sampled latency histogram; the stats counters are in every SyncMap figure): at most 5% slower than without',
      'SyncMap.load with metrics registered / without <= 1.05x',
      syncMetrics !== undefined && syncAlone !== undefined ? syncMetrics / syncAlone : undefined,
      1.05,
      false,
      (v) => `${ratio(v)} (${ns(syncMetrics!)} ns against ${ns(syncAlone!)} ns${APART})`,
    ),
  );
  const T = 2;
  const s1 = goOps(r, 'LoadMostlyHits', 'syncmap', 1);
  const s2 = goOps(r, 'LoadMostlyHits', 'syncmap', T);
  const c1 = r.goSuite?.ceiling?.find((c) => c.threads === 1)?.opsPerSec;
  const c2 = r.goSuite?.ceiling?.find((c) => c.threads === T)?.opsPerSec;
  const ceiling = c1 && c2 ? `; a private Map per thread, nothing shared, scales ${ratio(c2 / c1)} on this machine` : '';
  goals.push(
    judge('hits-scaling', 'LoadMostlyHits, 2 threads: at least 1.8x the total throughput of 1 thread', '>= 1.8x', s1 && s2 ? s2 / s1 : undefined, 1.8, true, (v) => `${ratio(v)} (${si(s2!)} against ${si(s1!)} ops/s${ceiling})`),
  );
  const vs = (impl: ImplKind, label: string, limit: number): void => {
    const other = goOps(r, 'LoadMostlyHits', impl, T);
    goals.push(
      judge(
        `hits-vs-${impl}`,
        `LoadMostlyHits, 2 threads: ${limit === 1 ? 'ahead of' : `at least ${limit}x`} ${label}`,
        `>= ${limit}x`,
        s2 && other ? s2 / other : undefined,
        limit,
        true,
        (v) => `${ratio(v)} (${si(s2!)} against ${si(other!)} ops/s)`,
      ),
    );
  };
  vs('lockedmap', "LockedMap's", 2);
  vs('owner', "the postMessage owner's", 50);
  vs('lmdb', 'lmdb', 1);
  vs('sharedmap', 'sharedmap', 1);
  vs('smd', 'ShareableMap (shared-memory-datastructures)', 1);
  for (const name of ['LoadOrStoreUnique', 'AdversarialAlloc', 'DeleteCollision'] as const) {
    for (const threads of r.goSuite?.threads ?? []) {
      const s = goOps(r, name, 'syncmap', threads);
      const l = goOps(r, name, 'lockedmap', threads);
      goals.push(
        judge(`${name}-${threads}`, `${name}, ${threads} thread${threads > 1 ? 's' : ''}: no worse than 0.7x of LockedMap`, '>= 0.7x', s && l ? s / l : undefined, 0.7, true, (v) => `${ratio(v)} (${si(s!)} against ${si(l!)} ops/s)`),
      );
    }
  }
  const memory = r.inflection?.memory.filter((m) => m.impl === 'syncmap') ?? [];
  const worst = memory.reduce<(typeof memory)[number] | undefined>((a, m) => (!a || m.overheadBytes > a.overheadBytes ? m : a), undefined);
  goals.push(
    judge(
      'memory',
      'Memory in use per entry: at most the key and value bytes plus 64 (SyncMap, worst key count, beyond the empty map)',
      'overhead <= 64 B',
      worst?.overheadBytes,
      64,
      false,
      (v) =>
        `${v.toFixed(1)} B over ${worst!.keyValueBytes} B of key and value at ${worst!.keys} keys (per entry beyond the empty map: ${memory.map((m) => `${m.keys}: ${m.marginalBytesPerEntry.toFixed(0)} B`).join(', ')}; all in, the empty map's ${(worst!.emptyBytes / 1024).toFixed(0)} KiB included: ${memory.map((m) => `${m.keys}: ${m.bytesPerEntry.toFixed(0)} B`).join(', ')})`,
    ),
  );
  const gcSync = r.gc?.rows.find((row): row is GcReport => row.impl === 'syncmap' && !('error' in row));
  const gcMap = r.gc?.rows.find((row): row is GcReport => row.impl === 'map' && !('error' in row));
  goals.push(
    judge(
      'gc',
      `GC pause time with ${r.gc?.entries ?? '1M'} entries: at most a tenth of the JS Map's under the same workload`,
      '<= 0.1x',
      gcSync && gcMap && gcMap.gcMs > 0 ? gcSync.gcMs / gcMap.gcMs : undefined,
      0.1,
      false,
      (v) => `${ratio(v)} (${gcSync!.gcMs.toFixed(1)} ms in ${gcSync!.gcCount} pauses against ${gcMap!.gcMs.toFixed(1)} ms in ${gcMap!.gcCount})`,
    ),
  );
  goals.push(...coreGoals(r));
  return goals;
}

/**
 * Go 1.19's sync.Map ns/op by case and -cpu, from bench/results/go-sync-reference.txt
 * (run on this bench's machine with `go test -bench . -cpu 1,2 sync`; Go is not
 * needed to run the bench, so this baseline comes from that run, not this one).
 */
function goReference(): Map<string, number> {
  const out = new Map<string, number>();
  let text: string;
  try {
    text = readFileSync(new URL('../../../bench/results/go-sync-reference.txt', import.meta.url), 'utf8');
  } catch {
    return out;
  }
  for (const line of text.split('\n')) {
    const m = /^Benchmark(\w+)\/\*sync\.Map(?:-(\d+))?\s+\d+\s+([\d.]+) ns\/op/.exec(line);
    if (m) out.set(`${m[1]}-${m[2] ?? '1'}`, Number(m[3]));
  }
  return out;
}

/**
 * Cases whose loop differs from Go 1.19's: its LoadAndDeleteCollision only
 * calls LoadAndDelete(0) (a read-only miss after the first), later Go and this
 * bench store the key back after each delete (docs/benchmarks.md).
 */
const NOT_GOS_LOOP = new Set(['LoadAndDeleteCollision']);

/** Issue 10's goals for the core alone: within 1.5x of Go's sync.Map, and Clear no slower than LockedMap's. */
function coreGoals(r: Results): Goal[] {
  const cells = r.core?.cells ?? [];
  const nsOf = (name: string, impl: string, threads: number): number | undefined =>
    cells.find((c) => c.case === name && c.impl === impl && c.threads === threads && c.status === 'ok')?.nsPerOp;
  const reference = goReference();
  let worst: { ratio: number; label: string } | undefined;
  for (const [key, goNs] of reference) {
    const [name, cpu] = key.split('-') as [string, string];
    if (NOT_GOS_LOOP.has(name)) continue;
    const ours = nsOf(name, 'syncmap', Number(cpu));
    if (ours === undefined) continue;
    const ratioToGo = ours / goNs;
    if (!worst || ratioToGo > worst.ratio) worst = { ratio: ratioToGo, label: `${name} -cpu ${cpu}: ${ns(ours)} against Go's ${ns(goNs)} ns/op` };
  }
  const clear = nsOf('Clear', 'syncmap', 1);
  const lockedClear = nsOf('Clear', 'lockedmap', 1);
  return [
    judge(
      'core-vs-go',
      "The core alone, every case of Go 1.19's suite both run: within 1.5x of Go's sync.Map (Go's figures from go-sync-reference.txt)",
      'core ns/op / Go ns/op <= 1.5x, the worst case',
      worst?.ratio,
      1.5,
      false,
      (v) => `${ratio(v)} (${worst!.label})`,
    ),
    judge(
      'core-clear',
      "The core alone, Go's Clear case, 1 thread: no slower than LockedMap's core",
      "SyncMap's Clear throughput / LockedMap's >= 1x",
      clear !== undefined && lockedClear !== undefined ? lockedClear / clear : undefined,
      1,
      true,
      (v) => `${ratio(v)} (${ns(clear!)} against ${ns(lockedClear!)} ns/op)`,
    ),
  ];
}
