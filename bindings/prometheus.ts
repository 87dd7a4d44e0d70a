/**
 * syncmap-wasm/prometheus: a map's counters as Prometheus metrics, through
 * prom-client (an optional peer dependency: only this subpath imports it).
 *
 * Nothing is counted here. The map counts every operation itself, per thread,
 * in its shared memory (stats()); the metrics read those totals when the
 * registry is scraped, through prom-client's `collect()` callbacks. So the
 * figures cover every thread attached to the map, workers included, and cost
 * nothing between scrapes.
 *
 * The one thing the map does not count is time: the read-latency histogram is
 * made of sampled loads (one in `sampleEvery`, timed by the map's load path).
 * Its buckets live in a SharedArrayBuffer, so that workers can time their own
 * loads into it: pass loadLatencyHandle(map) to a worker and call
 * sampleLoads() there. Loads of threads that do not sample are counted by
 * the counters but not timed.
 *
 * Several maps may share one registry and prefix, told apart by their
 * `labels`: their metrics are the same prom-client objects, one series per map.
 */
import { Counter, Gauge, register as globalRegistry, type Metric, type Registry } from 'prom-client';
import type { LoadSampler } from './attachment.js';
import { SyncMapArgumentError } from './errors.js';
import { methodOptions, shown, type SyncMapStats } from './options.js';
import { ConcurrentMap, kSampleLoads } from './syncmap.js';

/** Options of registerMetrics(). */
export interface MetricsOptions {
  /** The registry to register the metrics in. Default: prom-client's global `register`. */
  registry?: Registry;
  /** What every metric's name starts with. Default 'syncmap_'. */
  prefix?: string;
  /**
   * Time one load in this many, in this thread, for the read-latency
   * histogram. A timed load costs about 0.3 µs more (two
   * `process.hrtime.bigint()` calls and the histogram's atomic adds), so the
   * default, 256, adds about 1.5 ns to a load on average. 1 times every load.
   */
  sampleEvery?: number;
  /**
   * Upper bounds, in seconds, of the read-latency histogram's buckets,
   * ascending. Default 12 exponential buckets from 1 µs, doubling up to
   * 2.048 ms: most loads take well under 1 µs, so the buckets show the tail
   * (garbage collection, a key not yet promoted, a lock held by a writer).
   */
  buckets?: readonly number[];
  /**
   * Labels every series of this map carries, e.g. `{ map: 'pods' }`: what
   * tells apart several maps registered in one registry under one prefix
   * (they must all use the same label names).
   */
  labels?: Readonly<Record<string, string>>;
}

/**
 * What a worker passes to sampleLoads() so that its loads are timed into the
 * read-latency histogram of a map registered with registerMetrics(): a plain,
 * structured-cloneable object (send it in `workerData` or by `postMessage`
 * next to the map's handle).
 */
export interface LoadLatencyHandle {
  /** What this object is: sampleLoads() checks it. */
  readonly kind: 'syncmap-load-latency';
  /** The histogram's counts (see LatencyLayout below). */
  readonly buffer: SharedArrayBuffer;
  /** One load in this many is timed. */
  readonly every: number;
  /** The buckets' upper bounds, in seconds. */
  readonly buckets: readonly number[];
}

/** The default buckets: exponential from 1 µs, factor 2, 12 of them (to 2.048 ms). */
const DEFAULT_BUCKETS: readonly number[] = Object.freeze(Array.from({ length: 12 }, (_, i) => 1e-6 * 2 ** i));
const DEFAULT_PREFIX = 'syncmap_';
/**
 * One load in 256: a timed load takes ~0.3 µs more than a plain one here
 * (Node 20, 2 vCPUs), and a load answered by the read cache ~45 ns, so one in
 * 64 added 12% to it (the bench's "SyncMap, metrics" row); one in 256 adds
 * ~1.5 ns, and a map loaded a million times a second still gets ~4000 samples.
 */
const DEFAULT_SAMPLE_EVERY = 256;

/** Labels the metrics set themselves, which `labels` may not use. */
const RESERVED_LABELS = ['result', 'op', 'kind', 'le'];
const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

// ── the shared histogram ──────────────────────────────────────────────────
//
// A BigInt64Array over a SharedArrayBuffer, one row per result (hit, miss):
//
//   row r at r * ROW(B), B = buckets.length
//   [0, B)    loads that took at most buckets[i] and more than buckets[i - 1]
//   B         loads slower than the last bound (the +Inf bucket's own part)
//   B + 1     the sum of the timed loads, in nanoseconds
//
// Any thread that samples adds with Atomics.add; the scraping thread reads
// with Atomics.load. Each cell only grows, so a scrape sees every bucket at
// least as full as the last scrape did (the count is the buckets' sum).

const HIT = 0;
const MISS = 1;
const row = (buckets: number): number => buckets + 2;

/** Adds one timed load to the shared histogram. */
function record(cells: BigInt64Array, buckets: readonly number[], seconds: number, hit: boolean): void {
  let i = 0;
  while (i < buckets.length && seconds > buckets[i]!) i++;
  const base = (hit ? HIT : MISS) * row(buckets.length);
  Atomics.add(cells, base + i, 1n);
  Atomics.add(cells, base + buckets.length + 1, BigInt(Math.round(seconds * 1e9)));
}

/** Installs a sampler on this thread's attachment that times loads into `handle`'s histogram. */
function installSampler(map: ConcurrentMap<unknown, unknown>, handle: LoadLatencyHandle): void {
  const cells = new BigInt64Array(handle.buffer);
  const { buckets, every } = handle;
  const sampler: LoadSampler = {
    every,
    countdown: every,
    observe: (seconds, hit) => record(cells, buckets, seconds, hit),
  };
  ConcurrentMap[kSampleLoads](map, sampler);
}

function stopSampler(map: ConcurrentMap<unknown, unknown>): void {
  if (!map.closed) ConcurrentMap[kSampleLoads](map, null);
}

/** This thread's histogram of each map registered here (shared by its registrations in several registries). */
interface Latency {
  readonly handle: LoadLatencyHandle;
  /** How many registrations use it: the sampler stops with the last. */
  users: number;
}

const latencies = new WeakMap<ConcurrentMap<unknown, unknown>, Latency>();

// ── one group of metrics per registry and prefix ──────────────────────────

/** One registered map: its labels and what its counters showed last. */
interface Source {
  readonly map: ConcurrentMap<unknown, unknown>;
  readonly labels: Readonly<Record<string, string>>;
  readonly latency: Latency;
  /** stats() of the scrape in progress (one call per scrape, so that all metrics agree), or null. */
  stats: SyncMapStats | null;
  /** The last value each counter series exported: a counter never goes back (see collectCounter()). */
  readonly last: Map<string, number>;
}

/** The metrics registered in one registry under one prefix, and the maps they report. */
interface Group {
  readonly registry: Registry;
  readonly prefix: string;
  readonly labelNames: readonly string[];
  readonly sources: Set<Source>;
  readonly names: readonly string[];
}

const groups = new WeakMap<Registry, Map<string, Group>>();

/**
 * This scrape's stats of a source: taken once, by the first metric collected,
 * and dropped when the scrape's synchronous part is over (prom-client calls
 * every metric's collect() before it awaits anything).
 */
function statsOf(source: Source): SyncMapStats {
  if (source.stats === null) {
    source.stats = source.map.stats();
    queueMicrotask(() => {
      source.stats = null;
    });
  }
  return source.stats;
}

/** The sources to report: a map closed without unregistering is dropped rather than failing the scrape. */
function live(group: Group): Source[] {
  for (const source of group.sources) if (source.map.closed) removeSource(group, source);
  return [...group.sources];
}

/** One series of a metric: the labels it adds to the map's, and its value in stats(). */
type Reading = [labels: Record<string, string>, value: (s: SyncMapStats) => number];

/** A counter or gauge read from stats(): its name after the prefix, its help, the label its readings add. */
interface Spec {
  readonly suffix: string;
  readonly help: string;
  readonly type: 'counter' | 'gauge';
  readonly extraLabel?: string;
  readonly readings: readonly Reading[];
}

/** A counter or gauge of one series, with no label of its own. */
const counter = (suffix: string, help: string, value: (s: SyncMapStats) => number): Spec =>
  ({ suffix, help, type: 'counter', readings: [[{}, value]] });
const gauge = (suffix: string, help: string, value: (s: SyncMapStats) => number): Spec =>
  ({ suffix, help, type: 'gauge', readings: [[{}, value]] });

const SPECS: readonly Spec[] = [
  {
    suffix: 'hit_total', type: 'counter', extraLabel: 'op',
    help: 'Loads (load, get, has) that found their key, in every thread.',
    readings: [[{ op: 'load' }, (s) => s.hits]],
  },
  {
    suffix: 'miss_total', type: 'counter', extraLabel: 'op',
    help: 'Loads (load, get, has) that did not find their key, in every thread.',
    readings: [[{ op: 'load' }, (s) => s.misses]],
  },
  counter('slow_loads_total', "Loads that took a shard's lock: a key not yet promoted to the read table (Go's miss path).",
    (s) => s.slowLoads),
  counter('promotions_total', 'Dirty tables promoted to read, after enough slow loads.',
    (s) => s.promotions),
  counter('writes_total', 'Writes that changed the map: stores, swaps, deletes, loadOrStore that stored, CAS that swapped, adds.',
    (s) => s.writes),
  counter('lock_acquisitions_total', 'Shard locks taken (by writes and slow loads).',
    (s) => s.lockAcquisitions),
  counter('lock_contentions_total', 'Shard locks taken after waiting for another thread.',
    (s) => s.lockContentions),
  counter('lock_wait_seconds_total', 'Time threads spent waiting for shard locks, in seconds.',
    (s) => s.lockWaitMs / 1000),
  counter('expirations_total', 'Values removed because their time to live had passed (maps with ttlMs).',
    (s) => s.expirations),
  counter('compactions_total', 'Tombstones removed by compaction (versioned maps).',
    (s) => s.compactions),
  counter('locks_recovered_total', 'Shard locks taken back from threads terminated while holding them.',
    (s) => s.locksRecovered),
  gauge('entries', 'Keys present (expired values count until removed by a write or the sweeper).',
    (s) => s.size),
  {
    suffix: 'memory_bytes', type: 'gauge', extraLabel: 'kind',
    help: "The map's shared memory: in_use (allocated, scratch regions included), heap (the allocator's high-water mark), limit (maxMemoryBytes).",
    readings: [
      [{ kind: 'in_use' }, (s) => s.bytesInUse],
      [{ kind: 'heap' }, (s) => s.heapBytes],
      [{ kind: 'limit' }, (s) => s.maxMemoryBytes],
    ],
  },
  gauge('threads', 'Threads attached to the map right now.',
    (s) => s.threads),
  gauge('tombstones', 'Tombstones of deleted keys not yet compacted (versioned maps).',
    (s) => s.tombstones),
  gauge('version', "The map's version: the last version a write took (versioned maps; 0 otherwise).",
    (s) => s.version),
];

const LATENCY_SUFFIX = 'read_latency_seconds';

/**
 * A counter's collect(): the map's cumulative totals, set afresh at each
 * scrape. The totals only grow (each thread counts in its own slot, whose
 * counters are never reset, and loads are the sum of hits and misses, each
 * counted once: assembly/stats.ts); the series also keeps the highest value
 * it has shown, so that Prometheus never sees a counter reset.
 */
function collectCounter(this: Counter<string>, group: Group, spec: Spec): void {
  this.reset();
  for (const source of live(group)) {
    const s = statsOf(source);
    for (const [extra, value] of spec.readings) {
      const key = `${spec.suffix}${JSON.stringify(extra)}`;
      const shown = Math.max(source.last.get(key) ?? 0, value(s));
      source.last.set(key, shown);
      this.inc({ ...source.labels, ...extra }, shown);
    }
  }
}

function collectGauge(this: Gauge<string>, group: Group, spec: Spec): void {
  this.reset();
  for (const source of live(group)) {
    const s = statsOf(source);
    for (const [extra, value] of spec.readings) this.set({ ...source.labels, ...extra }, value(s));
  }
}

/** A series of prom-client's metric values: what its registry reads from get(). */
interface Value {
  labels: Record<string, string | number>;
  value: number;
  metricName: string;
}

/**
 * The read-latency histogram, as prom-client's registry reads a Histogram
 * (name, help, type, get()). Not a prom-client Histogram: that one only
 * counts what observe() is given in its own thread, and its counts cannot be
 * set from the shared buckets other threads fill.
 */
function latencyMetric(group: Group): object {
  const name = group.prefix + LATENCY_SUFFIX;
  const help = 'Sampled load latency in seconds (one load in sampleEvery, in the threads that sample), by result.';
  const get = async () => {
    const values: Value[] = [];
    for (const source of live(group)) {
      const { buffer, buckets } = source.latency.handle;
      const cells = new BigInt64Array(buffer);
      for (const [result, r] of [['hit', HIT], ['miss', MISS]] as const) {
        const base = r * row(buckets.length);
        const labels = { ...source.labels, result };
        let count = 0;
        for (let i = 0; i < buckets.length; i++) {
          count += Number(Atomics.load(cells, base + i));
          values.push({ labels: { ...labels, le: buckets[i]! }, value: count, metricName: `${name}_bucket` });
        }
        count += Number(Atomics.load(cells, base + buckets.length));
        values.push({ labels: { ...labels, le: '+Inf' }, value: count, metricName: `${name}_bucket` });
        const sum = Number(Atomics.load(cells, base + buckets.length + 1)) / 1e9;
        values.push({ labels, value: sum, metricName: `${name}_sum` });
        values.push({ labels, value: count, metricName: `${name}_count` });
      }
    }
    return { name, help, type: 'histogram', values, aggregator: 'sum' };
  };
  // reset(): registry.resetMetrics() has nothing to reset, the counts are the map's.
  return { name, help, type: 'histogram', aggregator: 'sum', get, reset() {} };
}

function createGroup(registry: Registry, prefix: string, labelNames: readonly string[]): Group {
  const names = [...SPECS.map((spec) => prefix + spec.suffix), prefix + LATENCY_SUFFIX];
  for (const name of names) {
    if (registry.getSingleMetric(name) !== undefined) {
      throw new SyncMapArgumentError(
        `registerMetrics: the registry already has a metric named ${name}; give options.prefix another value`,
      );
    }
  }
  const group: Group = { registry, prefix, labelNames, sources: new Set(), names };
  for (const spec of SPECS) {
    const config = {
      name: prefix + spec.suffix,
      help: spec.help,
      labelNames: spec.extraLabel === undefined ? [...labelNames] : [...labelNames, spec.extraLabel],
      registers: [registry],
    };
    if (spec.type === 'counter') {
      new Counter({ ...config, collect(this: Counter<string>) { collectCounter.call(this, group, spec); } });
    } else {
      new Gauge({ ...config, collect(this: Gauge<string>) { collectGauge.call(this, group, spec); } });
    }
  }
  registry.registerMetric(latencyMetric(group) as Metric);
  return group;
}

function removeSource(group: Group, source: Source): void {
  if (!group.sources.delete(source)) return;
  if (--source.latency.users === 0) {
    stopSampler(source.map);
    latencies.delete(source.map);
  }
  if (group.sources.size > 0) return;
  for (const name of group.names) group.registry.removeSingleMetric(name);
  groups.get(group.registry)?.delete(group.prefix);
}

// ── checking the options ──────────────────────────────────────────────────

const OPTION_NAMES: (keyof MetricsOptions)[] = ['registry', 'prefix', 'sampleEvery', 'buckets', 'labels'];

function checkOptions(options: unknown): Required<Omit<MetricsOptions, 'registry'>> & { registry: Registry } {
  const what = 'registerMetrics';
  const o = methodOptions(options as MetricsOptions | undefined, OPTION_NAMES, what);
  const registry = o.registry ?? globalRegistry;
  if (typeof registry !== 'object' || registry === null || typeof registry.registerMetric !== 'function') {
    throw new SyncMapArgumentError(`${what}: options.registry must be a prom-client Registry`);
  }
  const prefix = o.prefix ?? DEFAULT_PREFIX;
  if (typeof prefix !== 'string' || !METRIC_NAME.test(`${prefix}x`)) {
    throw new SyncMapArgumentError(`${what}: options.prefix must start a Prometheus metric name ([a-zA-Z_:][a-zA-Z0-9_:]*), got ${shown(prefix)}`);
  }
  const sampleEvery = o.sampleEvery ?? DEFAULT_SAMPLE_EVERY;
  if (typeof sampleEvery !== 'number' || !Number.isInteger(sampleEvery) || sampleEvery < 1 || sampleEvery > 2 ** 31 - 1) {
    throw new SyncMapArgumentError(`${what}: options.sampleEvery must be an integer from 1 to ${2 ** 31 - 1}, got ${shown(sampleEvery)}`);
  }
  const buckets = o.buckets ?? DEFAULT_BUCKETS;
  if (
    !Array.isArray(buckets) || buckets.length === 0 ||
    !buckets.every((b, i) => typeof b === 'number' && Number.isFinite(b) && b > 0 && (i === 0 || b > buckets[i - 1]))
  ) {
    throw new SyncMapArgumentError(`${what}: options.buckets must be a non-empty array of ascending positive numbers (seconds)`);
  }
  const labels = o.labels ?? {};
  if (typeof labels !== 'object' || labels === null) throw new SyncMapArgumentError(`${what}: options.labels must be an object`);
  for (const [name, value] of Object.entries(labels)) {
    if (!LABEL_NAME.test(name) || name.startsWith('__')) {
      throw new SyncMapArgumentError(`${what}: options.labels: ${JSON.stringify(name)} is not a Prometheus label name`);
    }
    if (RESERVED_LABELS.includes(name)) {
      throw new SyncMapArgumentError(`${what}: options.labels: ${name} is set by the metrics themselves (${RESERVED_LABELS.join(', ')})`);
    }
    if (typeof value !== 'string') {
      throw new SyncMapArgumentError(`${what}: options.labels.${name} must be a string, got ${typeof value}`);
    }
  }
  return { registry, prefix, sampleEvery, buckets: Object.freeze([...buckets]), labels: Object.freeze({ ...labels }) };
}

const sameList = (a: readonly unknown[], b: readonly unknown[]): boolean => a.length === b.length && a.every((x, i) => x === b[i]);

// ── the exports ───────────────────────────────────────────────────────────

/**
 * Registers `map`'s metrics in a prom-client registry; returns a function
 * that unregisters them (calling it again does nothing). Read at scrape
 * time from `map.stats()`, the counters and gauges cover every thread
 * attached to the map. With the default prefix:
 *
 * | metric | type | what |
 * |---|---|---|
 * | `syncmap_hit_total{op="load"}`, `syncmap_miss_total{op="load"}` | counter | loads (load, get, has) that found / did not find their key |
 * | `syncmap_read_latency_seconds{result="hit"\|"miss"}` | histogram | sampled load time, one load in `sampleEvery` |
 * | `syncmap_slow_loads_total` | counter | loads that took a shard's lock (key not yet promoted) |
 * | `syncmap_promotions_total` | counter | dirty tables promoted to read |
 * | `syncmap_writes_total` | counter | writes that changed the map |
 * | `syncmap_lock_acquisitions_total`, `syncmap_lock_contentions_total` | counter | shard locks taken; of those, after waiting |
 * | `syncmap_lock_wait_seconds_total` | counter | time spent waiting for shard locks |
 * | `syncmap_expirations_total` | counter | values removed because they had expired |
 * | `syncmap_compactions_total` | counter | tombstones removed by compaction |
 * | `syncmap_locks_recovered_total` | counter | locks taken back from terminated threads |
 * | `syncmap_entries` | gauge | keys present |
 * | `syncmap_memory_bytes{kind="in_use"\|"heap"\|"limit"}` | gauge | shared memory allocated, high-water mark, maxMemoryBytes |
 * | `syncmap_threads` | gauge | threads attached |
 * | `syncmap_tombstones` | gauge | tombstones awaiting compaction |
 * | `syncmap_version` | gauge | the map's version (versioned maps) |
 *
 * The histogram times this thread's loads; workers time theirs with
 * sampleLoads(map, loadLatencyHandle(map)). A map registered again in
 * another registry shares its histogram (with the same `sampleEvery` and
 * `buckets`). Maps sharing a registry and prefix must each have `labels`
 * with the same names and different values. A map closed without
 * unregistering drops out of the metrics at the next scrape.
 *
 * Throws SyncMapArgumentError (ERR_SYNCMAP_INVALID_ARGUMENT) for a bad option
 * or a metric name the registry already holds, and registers nothing then.
 */
export function registerMetrics(map: ConcurrentMap<unknown, unknown>, options?: MetricsOptions): () => void {
  const what = 'registerMetrics';
  if (!(map instanceof ConcurrentMap)) throw new SyncMapArgumentError(`${what}: map must be a SyncMap or LockedMap (a map object, not its handle)`);
  const { registry, prefix, sampleEvery, buckets, labels } = checkOptions(options);
  map.stats(); // a closed map fails here, before anything is registered

  const labelNames = Object.keys(labels).sort();
  let byPrefix = groups.get(registry);
  const existing = byPrefix?.get(prefix);
  if (existing !== undefined) {
    if (!sameList(existing.labelNames, labelNames)) {
      throw new SyncMapArgumentError(
        `${what}: the maps registered under prefix ${prefix} in this registry have labels ` +
          `[${existing.labelNames.join(', ')}], this one [${labelNames.join(', ')}]: give every map the same label names`,
      );
    }
    for (const other of existing.sources) {
      if (other.map === map) throw new SyncMapArgumentError(`${what}: this map is already registered in this registry under prefix ${prefix}`);
      if (labelNames.every((name) => other.labels[name] === labels[name])) {
        throw new SyncMapArgumentError(
          `${what}: another map is registered under prefix ${prefix} with the same labels ${JSON.stringify(labels)}: give each map its own`,
        );
      }
    }
  }
  let latency = latencies.get(map);
  if (latency !== undefined && (latency.handle.every !== sampleEvery || !sameList(latency.handle.buckets, buckets))) {
    throw new SyncMapArgumentError(
      `${what}: this map's loads are already sampled with sampleEvery ${latency.handle.every} and buckets ` +
        `[${latency.handle.buckets.join(', ')}]; register it again with the same`,
    );
  }

  const group = existing ?? createGroup(registry, prefix, labelNames);
  if (existing === undefined) {
    if (byPrefix === undefined) groups.set(registry, (byPrefix = new Map()));
    byPrefix.set(prefix, group);
  }
  if (latency === undefined) {
    const buffer = new SharedArrayBuffer(2 * row(buckets.length) * BigInt64Array.BYTES_PER_ELEMENT);
    latency = { handle: Object.freeze({ kind: 'syncmap-load-latency', buffer, every: sampleEvery, buckets }), users: 0 };
    latencies.set(map, latency);
    installSampler(map, latency.handle);
  }
  latency.users++;
  const source: Source = { map, labels, latency, stats: null, last: new Map() };
  group.sources.add(source);
  return () => removeSource(group, source);
}

/**
 * The handle that lets workers time their loads into the read-latency
 * histogram of `map` (registered in this thread with registerMetrics()):
 * pass it to the worker with the map's handle, and call sampleLoads() there.
 * Throws when `map` is not registered.
 */
export function loadLatencyHandle(map: ConcurrentMap<unknown, unknown>): LoadLatencyHandle {
  const latency = latencies.get(map);
  if (latency === undefined) {
    throw new SyncMapArgumentError('loadLatencyHandle: the map is not registered: call registerMetrics(map) first, in this thread');
  }
  return latency.handle;
}

/**
 * In a worker: times one load in `handle.every` of this thread's loads of
 * `map` into the histogram `handle` belongs to (loadLatencyHandle(), from
 * the thread that registered the metrics). Returns a function that stops
 * sampling; closing the map stops it too. Without it a worker's loads are
 * still counted by the counters, only not timed.
 */
export function sampleLoads(map: ConcurrentMap<unknown, unknown>, handle: LoadLatencyHandle): () => void {
  const what = 'sampleLoads';
  if (!(map instanceof ConcurrentMap)) throw new SyncMapArgumentError(`${what}: map must be a SyncMap or LockedMap (attached in this thread)`);
  const h = handle as Partial<LoadLatencyHandle> | null | undefined;
  if (
    typeof h !== 'object' || h === null || h.kind !== 'syncmap-load-latency' || !(h.buffer instanceof SharedArrayBuffer) ||
    !Array.isArray(h.buckets) || typeof h.every !== 'number' || h.buffer.byteLength !== 2 * row(h.buckets.length) * 8
  ) {
    throw new SyncMapArgumentError(`${what}: handle must be what loadLatencyHandle(map) returned`);
  }
  installSampler(map, handle);
  return () => stopSampler(map);
}
