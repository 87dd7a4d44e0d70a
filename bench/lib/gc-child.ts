/**
 * One side of the GC table, in a process of its own (started by gc.bench.ts
 * with --expose-gc), so that each heap is measured alone.
 *
 * It fills a map with `entries` small objects under 36-character UID keys, runs
 * a full GC, then runs `ops` operations of a fixed mix (90% load, 10% store of a
 * new object under a present key; keys built per call, as from requests) while
 * a PerformanceObserver records every V8 GC pause ('gc' entries). It reports the
 * pauses, the heap, and (SyncMap) the bytes the map holds outside the JS heap;
 * then how long one forced full GC takes with the entries held.
 *
 * 'none' is the baseline: the same workload with no map (loads find nothing,
 * stores drop the object), i.e. the pauses the workload's own garbage costs.
 */
import { PerformanceObserver, constants, type PerformanceEntry } from 'node:perf_hooks';
import { getHeapStatistics } from 'node:v8';
import { setTimeout as sleep } from 'node:timers/promises';
import { SyncMap } from 'syncmap-wasm';
import { freshKey, xorshift32 } from './keys.js';

export type GcImpl = 'syncmap' | 'map' | 'none';

export interface GcRequest {
  impl: GcImpl;
  entries: number;
  ops: number;
}

export interface GcReport {
  impl: GcImpl;
  entries: number;
  ops: number;
  seconds: number;
  gcCount: number;
  gcMs: number;
  maxPauseMs: number;
  /** Pauses by kind: minor (scavenge), major (mark-compact), incremental, weakcb. */
  byKind: Record<string, { count: number; ms: number }>;
  heapUsedBytes: number;
  heapTotalBytes: number;
  /** One full (mark-compact) GC forced after the workload, entries still held. */
  fullGcMs: number;
  /** SyncMap only: bytes the map holds in its shared memory, outside the JS heap. */
  offHeapBytes?: number;
}

interface Pod {
  uid: string;
  name: string;
  phase: string;
  restarts: number;
}

const pod = (i: number, version: number): Pod => ({ uid: freshKey(i), name: `pod-${i}`, phase: version & 1 ? 'Running' : 'Pending', restarts: version });

/** Names for perf_hooks' NODE_PERFORMANCE_GC_* kinds. */
const KINDS: Record<number, string> = {
  [constants.NODE_PERFORMANCE_GC_MINOR]: 'minor',
  [constants.NODE_PERFORMANCE_GC_MAJOR]: 'major',
  [constants.NODE_PERFORMANCE_GC_INCREMENTAL]: 'incremental',
  [constants.NODE_PERFORMANCE_GC_WEAKCB]: 'weakcb',
};

async function measure({ impl, entries, ops }: GcRequest): Promise<GcReport> {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error('run with --expose-gc');
  let load: (key: string) => Pod | undefined;
  let store: (key: string, value: Pod) => void;
  let offHeap: (() => number) | undefined;
  if (impl === 'syncmap') {
    const map = await SyncMap.create<string, Pod>({ keys: 'string', values: 'json' });
    load = (k) => map.load(k);
    store = (k, v) => map.store(k, v);
    offHeap = () => map.stats().bytesInUse;
  } else if (impl === 'map') {
    const map = new Map<string, Pod>();
    load = (k) => map.get(k);
    store = (k, v) => map.set(k, v);
  } else {
    load = () => undefined;
    store = () => {};
  }
  for (let i = 0; i < entries; i++) store(freshKey(i), pod(i, 0));
  gc();
  gc();

  const pauses: PerformanceEntry[] = [];
  const observer = new PerformanceObserver((list) => pauses.push(...list.getEntries()));
  observer.observe({ entryTypes: ['gc'] });
  let x = 0x2545f491;
  let sink = 0;
  const start = performance.now();
  for (let n = 0; n < ops; n++) {
    x = xorshift32(x);
    const i = (x >>> 0) % entries;
    if (n % 10 === 0) store(freshKey(i), pod(i, n));
    else sink += load(freshKey(i))?.restarts ?? 0;
  }
  const seconds = (performance.now() - start) / 1000;
  await sleep(100); // 'gc' entries are delivered asynchronously
  pauses.push(...observer.takeRecords());
  observer.disconnect();
  if (sink < 0) console.log(sink);
  const before = performance.now();
  gc();
  const fullGcMs = performance.now() - before;

  const byKind: GcReport['byKind'] = {};
  for (const p of pauses) {
    const kind = KINDS[(p as PerformanceEntry & { detail?: { kind?: number } }).detail?.kind ?? 0] ?? 'other';
    const k = (byKind[kind] ??= { count: 0, ms: 0 });
    k.count++;
    k.ms += p.duration;
  }
  const heap = getHeapStatistics();
  // Keep the map reachable until here: V8 may collect what is no longer used.
  sink += load(freshKey(0))?.restarts ?? 0;
  if (sink < 0) console.log(sink);
  return {
    impl,
    entries,
    ops,
    seconds,
    gcCount: pauses.length,
    gcMs: pauses.reduce((a, p) => a + p.duration, 0),
    maxPauseMs: pauses.reduce((a, p) => Math.max(a, p.duration), 0),
    byKind,
    heapUsedBytes: heap.used_heap_size,
    heapTotalBytes: heap.total_heap_size,
    fullGcMs,
    ...(offHeap ? { offHeapBytes: offHeap() } : {}),
  };
}

if (process.send) {
  process.once('message', (request: GcRequest) => {
    measure(request).then(
      (report) => process.send!({ ok: true, report }, () => process.exit(0)),
      (error: unknown) => process.send!({ ok: false, error: String(error) }, () => process.exit(1)),
    );
  });
}
