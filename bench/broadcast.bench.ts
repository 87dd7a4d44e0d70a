/**
 * The baseline users build instead of a shared map, beside SyncMap in the
 * same run (issue 10): a JS Map in every thread, kept in step by
 * BroadcastChannel messages (adapters/broadcast.ts). Three questions:
 *
 * - load speed on one thread: the tight loop of load-hits.bench.ts over the
 *   same 10,000 present 36-character UID keys with 20-byte string values,
 *   kept and fresh keys, every row's rounds interleaved;
 * - memory: every thread holds a copy. One copy's bytes are the JS heap's
 *   growth (v8.getHeapStatistics(), after full GCs) while a Map is filled as
 *   a worker fills it, from messages (each key and value deserialized); the
 *   threads hold that times their count. SyncMap's entries are in one shared
 *   memory: its bytesInUse (map.stats()) less the scratch regions, plus one
 *   scratch region (maxKeyBytes + maxValueBytes) per attached thread; shown
 *   with the default limits and with 256-byte ones;
 * - how long a write takes to be seen by another thread (lib/visibility.ts):
 *   median and p99 over 1,000 writes of new keys, the worker looking once per
 *   event-loop turn, and for SyncMap also in a busy loop.
 *
 *   node build/bench/broadcast.bench.js [--quick] [--out DIR] [--threads 1,2,8]
 */
import { fileURLToPath } from 'node:url';
import v8 from 'node:v8';
import { runInNewContext } from 'node:vm';
import { SyncMap, type SyncMapOptions } from 'syncmap-wasm';
import { ReplicatedMap } from './adapters/broadcast.js';
import type { BenchConfig } from './lib/config.js';
import { startRun } from './lib/context.js';
import { freshBuilder, keptKeys } from './lib/keys.js';
import { measureVisibility, type VisibilityRow } from './lib/visibility.js';
import { SINGLE_KEYS, VALUE, interleavedBest, type Op } from './load-hits.bench.js';

type Message = ['s', string, string];
/** Writes timed for the visibility rows. */
const VISIBILITY_WRITES = 1000;

export interface BroadcastLoadRow {
  impl: 'SyncMap' | 'Map + BroadcastChannel';
  keys: 'kept' | 'fresh';
  /** The tight loop: best ns per load. */
  loopNs: number;
}

export interface SyncMapMemory {
  /** The limits it was created with. */
  maxKeyBytes: number;
  maxValueBytes: number;
  /** bytesInUse less the scratch regions: entries, values, tables, the empty map's fixed part. */
  sharedBytes: number;
  /** One attached thread's scratch region. */
  scratchBytesPerThread: number;
}

export interface BroadcastResult {
  keys: number;
  valueBytes: number;
  load: BroadcastLoadRow[];
  foreignShare?: number;
  memory: {
    /** JS heap bytes of one thread's copy (Map, keys and values). */
    copyBytes: number;
    syncMap: SyncMapMemory[];
    /** By thread count: the copies, and SyncMap with each set of limits (same order as syncMap). */
    rows: { threads: number; copiesBytes: number; syncMapBytes: number[] }[];
  };
  visibility: VisibilityRow[];
}

/** The gc() of --expose-gc, without the flag on the command line. */
function exposeGc(): () => void {
  v8.setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
}

/** JS heap bytes of one Map holding `keys`, each entry deserialized as a BroadcastChannel message would be. */
function fillOnce(keys: string[], used: () => number): number {
  const before = used();
  const copy = new Map<string, string>();
  for (const key of keys) {
    const [k, v] = (v8.deserialize(v8.serialize(['s', key, VALUE])) as Message).slice(1) as [string, string];
    copy.set(k, v);
  }
  const after = used();
  if (copy.size !== keys.length) throw new Error('the copy lost entries');
  return after - before;
  // The copy dies with this frame: a loop in one frame could keep the last
  // round's copy alive in an interpreter register and count it twice.
}

/** The median of 3 fills. */
function copyBytes(keys: string[]): number {
  const gc = exposeGc();
  const used = (): number => {
    gc();
    gc();
    return v8.getHeapStatistics().used_heap_size;
  };
  const samples = [fillOnce(keys, used), fillOnce(keys, used), fillOnce(keys, used)];
  return samples.sort((a, b) => a - b)[1]!;
}

async function syncMapMemory(keys: string[], limits: Pick<SyncMapOptions, 'maxKeyBytes' | 'maxValueBytes'>): Promise<SyncMapMemory> {
  const map = await SyncMap.create<string, string>({ values: 'string', ...limits });
  try {
    for (const key of keys) map.store(key, VALUE);
    const s = map.stats();
    return {
      maxKeyBytes: limits.maxKeyBytes ?? 4096,
      maxValueBytes: limits.maxValueBytes ?? 1 << 20,
      sharedBytes: s.bytesInUse - s.scratchBytes,
      scratchBytesPerThread: s.scratchBytes / Math.max(1, s.threads),
    };
  } finally {
    map.close();
  }
}

export async function runBroadcast(cfg: BenchConfig, log: (line: string) => void): Promise<BroadcastResult> {
  const started = performance.now();
  const keys = keptKeys(SINGLE_KEYS);
  const fresh = freshBuilder(keys);

  // (a) Load speed, one thread.
  const syncMap = await SyncMap.create<string, string>({ values: 'string' });
  const copy = new ReplicatedMap<string>(`syncmap-bench-broadcast-load-${process.pid}`);
  for (const key of keys) {
    syncMap.store(key, VALUE);
    copy.set(key, VALUE); // posted, and no one listens
  }
  const plan: { impl: BroadcastLoadRow['impl']; keys: 'kept' | 'fresh'; fn: Op }[] = [
    { impl: 'SyncMap', keys: 'kept', fn: (i) => syncMap.load(keys[i]!) },
    { impl: 'SyncMap', keys: 'fresh', fn: (i) => syncMap.load(fresh(i)) },
    { impl: 'Map + BroadcastChannel', keys: 'kept', fn: (i) => copy.get(keys[i]!) },
    { impl: 'Map + BroadcastChannel', keys: 'fresh', fn: (i) => copy.get(fresh(i)) },
  ];
  const { best, foreignShare } = interleavedBest(plan.map((row) => row.fn), cfg);
  syncMap.close();
  copy.close();
  const load = plan.map((row, i): BroadcastLoadRow => ({ impl: row.impl, keys: row.keys, loopNs: best[i]! }));

  // (b) Memory: a copy per thread against one shared map.
  const one = copyBytes(keys);
  const syncMaps = [await syncMapMemory(keys, {}), await syncMapMemory(keys, { maxKeyBytes: 256, maxValueBytes: 256 })];
  const rows = cfg.threads.map((threads) => ({
    threads,
    copiesBytes: one * threads,
    syncMapBytes: syncMaps.map((m) => m.sharedBytes + m.scratchBytesPerThread * threads),
  }));

  // (c) How long until another thread sees a write.
  const visibility = [
    await measureVisibility('broadcast', 'turn', VISIBILITY_WRITES),
    await measureVisibility('syncmap', 'turn', VISIBILITY_WRITES),
    await measureVisibility('syncmap', 'loop', VISIBILITY_WRITES),
  ];
  log(`  broadcast: done in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  return {
    keys: SINGLE_KEYS,
    valueBytes: VALUE.length,
    load,
    ...(foreignShare !== undefined ? { foreignShare } : {}),
    memory: { copyBytes: one, syncMap: syncMaps, rows },
    visibility,
  };
}

// Run directly (`node build/bench/broadcast.bench.js [--quick] [--out DIR] [--threads 1,2,8]`): this section alone,
// printed (and written only with --out).
if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const run = startRun(process.argv.slice(2), 'broadcast');
  run.results.broadcast = await run.section('broadcast', () => runBroadcast(run.cfg, run.log));
  run.finish();
}
