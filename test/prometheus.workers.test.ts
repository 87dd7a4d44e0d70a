/**
 * syncmap-wasm/prometheus: a real prom-client registry, scraped while worker
 * threads load and write the map, shows what the threads counted themselves;
 * counters never go back between scrapes; the options are checked.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { Registry, type MetricObjectWithValues, type MetricValueWithName } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { loadLatencyHandle, registerMetrics, sampleLoads } from '../build/bindings/prometheus.js';
import { controlBlock, exited, firstMessage, startWorker, SyncMap } from './helpers.js';

type Series = MetricValueWithName<string>;

/** One scrape: every series of every metric, by metric name. */
async function scrape(registry: Registry): Promise<Map<string, Series[]>> {
  const metrics = (await registry.getMetricsAsJSON()) as MetricObjectWithValues<Series>[];
  return new Map(metrics.map((m) => [m.name, m.values]));
}

/** The value of the one series of `name` whose labels include `labels`. */
function value(s: Map<string, Series[]>, name: string, labels: Record<string, string | number> = {}, metricName = name): number {
  const found = (s.get(name) ?? []).filter(
    (v) => (v.metricName ?? name) === metricName && Object.entries(labels).every(([k, l]) => v.labels[k] === l),
  );
  if (found.length !== 1) throw new Error(`${found.length} series of ${metricName} with ${JSON.stringify(labels)}`);
  return found[0]!.value;
}

const histogramCount = (s: Map<string, Series[]>, result: string, prefix = 'syncmap_'): number =>
  value(s, `${prefix}read_latency_seconds`, { result }, `${prefix}read_latency_seconds_count`);

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('registerMetrics', () => {
  it('scraped while 2 workers load and write: the counts are what the threads counted, and never go back', async () => {
    const keys = 100;
    const every = 4;
    const map = await SyncMap.create({ values: 'number' });
    for (let i = 0; i < keys; i++) map.store(`k${i}`, i);
    const registry = new Registry();
    const unregister = registerMetrics(map, { registry, sampleEvery: every });

    // This thread's loads count too (and are timed: registerMetrics samples this thread).
    const mainLoads = 1000;
    let mainHits = 0;
    for (let i = 0; i < mainLoads; i++) if (map.load(`k${i % (2 * keys)}`) !== undefined) mainHits++;

    const control = controlBlock();
    const latency = loadLatencyHandle(map);
    const workers = [1, 2].map((g) => startWorker('prom-reader-writer.mjs', { handle: map.handle, latency, control: control.buffer, g, keys }));
    const reports = workers.map((w) => firstMessage<{ loads: number; hits: number; writes: number }>(w));
    for (let n; (n = Atomics.load(control, 2)) < 2; ) Atomics.wait(control, 2, n, 100);
    Atomics.store(control, 0, 1);
    Atomics.notify(control, 0);

    // Scrape while they run: every counter series and histogram bucket only grows.
    const seen = new Map<string, number>();
    let scrapes = 0;
    let threadsWhileRunning = 0;
    const until = Date.now() + 1500;
    while (Date.now() < until) {
      const s = await scrape(registry);
      threadsWhileRunning = Math.max(threadsWhileRunning, value(s, 'syncmap_threads'));
      for (const [name, series] of s) {
        const type = (await registry.getSingleMetric(name)!.get()).type as unknown as string;
        if (type !== 'counter' && type !== 'histogram') continue;
        for (const v of series) {
          const key = `${v.metricName ?? name}${JSON.stringify(v.labels)}`;
          expect(v.value, key).toBeGreaterThanOrEqual(seen.get(key) ?? 0);
          seen.set(key, v.value);
        }
      }
      scrapes++;
      await sleep(20);
    }
    Atomics.store(control, 1, 1);
    const done = await Promise.all(reports);
    await Promise.all(workers.map(exited));
    expect(scrapes).toBeGreaterThan(5);
    expect(threadsWhileRunning).toBe(3);

    const s = await scrape(registry);
    const loads = mainLoads + done.reduce((sum, r) => sum + r.loads, 0);
    const hits = mainHits + done.reduce((sum, r) => sum + r.hits, 0);
    const writes = keys + done.reduce((sum, r) => sum + r.writes, 0);
    expect(done.every((r) => r.loads > 1000)).toBe(true);
    expect(value(s, 'syncmap_hit_total', { op: 'load' })).toBe(hits);
    expect(value(s, 'syncmap_miss_total', { op: 'load' })).toBe(loads - hits);
    expect(value(s, 'syncmap_writes_total')).toBe(writes);
    expect(value(s, 'syncmap_entries')).toBe(map.size);
    expect(map.size).toBe(writes);
    expect(value(s, 'syncmap_threads')).toBe(1);
    // Each sampling thread times one load in `every`, exactly.
    const timed = [mainLoads, ...done.map((r) => r.loads)].reduce((sum, n) => sum + Math.floor(n / every), 0);
    expect(histogramCount(s, 'hit') + histogramCount(s, 'miss')).toBe(timed);
    expect(histogramCount(s, 'hit')).toBeGreaterThan(0);
    expect(histogramCount(s, 'miss')).toBeGreaterThan(0);
    const inf = value(s, 'syncmap_read_latency_seconds', { result: 'hit', le: '+Inf' }, 'syncmap_read_latency_seconds_bucket');
    expect(inf).toBe(histogramCount(s, 'hit'));
    expect(value(s, 'syncmap_read_latency_seconds', { result: 'hit' }, 'syncmap_read_latency_seconds_sum')).toBeGreaterThan(0);
    // The rest, as stats() has them now that nothing runs.
    const stats = map.stats();
    expect(value(s, 'syncmap_slow_loads_total')).toBe(stats.slowLoads);
    expect(value(s, 'syncmap_promotions_total')).toBe(stats.promotions);
    expect(value(s, 'syncmap_lock_acquisitions_total')).toBe(stats.lockAcquisitions);
    expect(value(s, 'syncmap_lock_acquisitions_total')).toBeGreaterThanOrEqual(writes);
    expect(value(s, 'syncmap_lock_contentions_total')).toBe(stats.lockContentions);
    expect(value(s, 'syncmap_lock_wait_seconds_total')).toBeCloseTo(stats.lockWaitMs / 1000, 9);
    expect(value(s, 'syncmap_memory_bytes', { kind: 'in_use' })).toBe(stats.bytesInUse);
    expect(value(s, 'syncmap_memory_bytes', { kind: 'heap' })).toBe(stats.heapBytes);
    expect(value(s, 'syncmap_memory_bytes', { kind: 'limit' })).toBe(stats.maxMemoryBytes);

    // The text format a Prometheus server reads.
    const text = await registry.metrics();
    expect(text).toContain('# TYPE syncmap_read_latency_seconds histogram');
    expect(text).toContain('syncmap_read_latency_seconds_bucket{result="hit",le="0.000001"}');
    expect(text).toContain(`syncmap_hit_total{op="load"} ${hits}`);

    // Unregistered: the metrics are gone, and this thread's loads are no longer timed.
    unregister();
    unregister();
    expect(await registry.metrics()).not.toContain('syncmap_');
    const before = new BigInt64Array(latency.buffer).slice();
    for (let i = 0; i < 100; i++) map.load('k1');
    expect(new BigInt64Array(latency.buffer)).toEqual(before);
    map.close();
  });

  it('expiry, tombstones, compaction and the version of a versioned map with TTL', async () => {
    const map = await SyncMap.create({ values: 'number', ttlMs: 60_000, versioned: true });
    const registry = new Registry();
    registerMetrics(map, { registry });
    for (let i = 0; i < 10; i++) map.store(`k${i}`, i);
    for (let i = 0; i < 3; i++) map.store(`short${i}`, i, { ttlMs: 1 });
    map.delete('k0');
    map.delete('k1');
    let s = await scrape(registry);
    expect(value(s, 'syncmap_entries')).toBe(11); // expired values count until removed
    expect(value(s, 'syncmap_tombstones')).toBe(2);
    // The sweeper removes the expired values; in a versioned map each leaves a tombstone.
    const stop = map.startSweeper({ intervalMs: 10 });
    for (const until = Date.now() + 2000; Date.now() < until && value(s, 'syncmap_expirations_total') < 3; ) {
      await sleep(10);
      s = await scrape(registry);
    }
    stop();
    expect(value(s, 'syncmap_expirations_total')).toBe(3);
    expect(value(s, 'syncmap_entries')).toBe(8);
    expect(value(s, 'syncmap_tombstones')).toBe(5);
    expect(value(s, 'syncmap_version')).toBe(map.version);
    expect(map.version).toBe(18); // 13 stores, 2 deletes, 3 expiries
    map.compact(map.version);
    s = await scrape(registry);
    expect(value(s, 'syncmap_tombstones')).toBe(0);
    expect(value(s, 'syncmap_compactions_total')).toBe(5);
    map.close();
  });

  it('several maps in one registry, told apart by labels; a closed map drops out', async () => {
    const registry = new Registry();
    const pods = SyncMap.createSync({ values: 'number' });
    const nodes = SyncMap.createSync({ values: 'number' });
    const unregisterPods = registerMetrics(pods, { registry, labels: { cache: 'pods' } });
    registerMetrics(nodes, { registry, labels: { cache: 'nodes' } });
    pods.store('a', 1);
    pods.store('b', 2);
    nodes.store('n', 1);
    let s = await scrape(registry);
    expect(value(s, 'syncmap_entries', { cache: 'pods' })).toBe(2);
    expect(value(s, 'syncmap_entries', { cache: 'nodes' })).toBe(1);
    expect(value(s, 'syncmap_memory_bytes', { cache: 'nodes', kind: 'limit' })).toBe(nodes.stats().maxMemoryBytes);

    const other = SyncMap.createSync();
    expect(() => registerMetrics(other, { registry, labels: { cache: 'pods' } })).toThrow(/same labels/);
    expect(() => registerMetrics(other, { registry, labels: { map: 'x' } })).toThrow(/same label names/);
    expect(() => registerMetrics(pods, { registry, labels: { cache: 'again' } })).toThrow(/already registered/);
    // Another prefix is another group; the same map in another registry shares its histogram.
    const second = new Registry();
    expect(() => registerMetrics(pods, { registry: second, sampleEvery: 2 })).toThrow(/sampleEvery 256/);
    const unregisterSecond = registerMetrics(pods, { registry: second, prefix: 'pods_' });
    expect(value(await scrape(second), 'pods_entries')).toBe(2);

    nodes.close(); // without unregistering: the scrape goes on without it
    s = await scrape(registry);
    expect(s.get('syncmap_entries')!.map((v) => v.labels.cache)).toEqual(['pods']);
    unregisterPods();
    expect((await registry.getMetricsAsJSON()).length).toBe(0);
    // The other registration still times pods' loads.
    for (let i = 0; i < 256; i++) pods.load('a');
    expect(histogramCount(await scrape(second), 'hit', 'pods_')).toBe(1);
    unregisterSecond();
    expect(await second.metrics()).toBe('\n');
    pods.close();
    other.close();
  });

  it('refuses bad options and a taken name with ERR_SYNCMAP_INVALID_ARGUMENT, registering nothing', () => {
    const registry = new Registry();
    const map = SyncMap.createSync();
    const bad: [unknown, RegExp][] = [
      [{ registry, sampleEvery: 0 }, /options.sampleEvery must be an integer/],
      [{ registry, sampleEvery: 1.5 }, /options.sampleEvery/],
      [{ registry, prefix: '9x' }, /options.prefix/],
      [{ registry, buckets: [2, 1] }, /options.buckets/],
      [{ registry, buckets: [] }, /options.buckets/],
      [{ registry, labels: { result: 'x' } }, /result is set by the metrics/],
      [{ registry, labels: { 'a-b': 'x' } }, /not a Prometheus label name/],
      [{ registry, labels: { a: 1 } }, /options.labels.a must be a string/],
      [{ registry, registy: registry }, /unknown option "registy"/],
      [{ registry: {} }, /options.registry/],
    ];
    for (const [options, message] of bad) {
      expect(() => registerMetrics(map, options as never)).toThrow(message);
      expect(() => registerMetrics(map, options as never)).toThrow(expect.objectContaining({ code: 'ERR_SYNCMAP_INVALID_ARGUMENT' }));
    }
    expect(() => registerMetrics(map.handle as never, { registry })).toThrow(/not its handle/);
    expect(() => loadLatencyHandle(map)).toThrow(/not registered/);
    expect(() => sampleLoads(map, {} as never)).toThrow(/loadLatencyHandle/);
    // A name the registry already holds: nothing of ours is left behind.
    const taken = new Registry();
    taken.registerMetric({ name: 'syncmap_threads', help: 'x', type: 'gauge', get: async () => ({}), reset() {} } as never);
    expect(() => registerMetrics(map, { registry: taken })).toThrow(/already has a metric named syncmap_threads/);
    expect(taken.getMetricsAsArray().length).toBe(1);
    expect(() => loadLatencyHandle(map)).toThrow(/not registered/);
    map.close();
    expect(() => registerMetrics(map, { registry })).toThrow(expect.objectContaining({ code: 'ERR_SYNCMAP_CLOSED' }));
    expect(registry.getMetricsAsArray().length).toBe(0);
  });

  it('only the subpath imports prom-client: a user without it who never imports the subpath is not affected', () => {
    const dir = new URL('../build/bindings/', import.meta.url);
    const importers = readdirSync(dir)
      .filter((f) => /\.(js|d\.ts)$/.test(f) && readFileSync(new URL(f, dir), 'utf8').includes('prom-client'));
    expect(importers.sort()).toEqual(['prometheus.d.ts', 'prometheus.js']);
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
    expect(pkg.exports['./prometheus']).toEqual({ types: './build/bindings/prometheus.d.ts', default: './build/bindings/prometheus.js' });
    expect(pkg.peerDependenciesMeta['prom-client']).toEqual({ optional: true });
    expect(pkg.dependencies?.['prom-client']).toBeUndefined();
  });
});
