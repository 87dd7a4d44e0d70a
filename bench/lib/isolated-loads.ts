/**
 * What a feature costs a load, each map in a thread of its own: the plain
 * load against the same load in a map with ttlMs, and with the Prometheus
 * metrics registered (issue 9's goals).
 *
 * Why not in-process with the other rows: the rows share the bindings' code,
 * and V8 specialises that code for whatever it has seen when it optimises it.
 * The row measured first got code built before any expiry, sampler or number
 * key had gone through `load`; later rows got code made more general, and
 * were deoptimised by rows after them (the number-key map changes the shape
 * of the read cache's records). Measured that way, the same build gave ttlMs
 * 1.19x-1.26x in the table's order and 0.93x-1.00x in the reverse order.
 * Here each map runs in a fresh isolate, so each load is compiled for its own
 * kind of map only, as in a service that keeps one. The isolates take turns,
 * one at a time, the first of each round rotating; each keeps its best round.
 * An isolate's figure is not always its kind's: one in a few runs a loop V8
 * compiled worse (the same plain load measured 36.5, 58.0 and 39.8 ns in
 * three isolates), so each variant runs in REPLICAS isolates and keeps the
 * best, as each keeps its best round.
 */
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { Registry } from 'prom-client';
import { SyncMap } from 'syncmap-wasm';
import { registerMetrics } from 'syncmap-wasm/prometheus';
import type { BenchConfig } from './config.js';
import { keptKeys } from './keys.js';
import { tightLoop } from './tight-loop.js';

export const ISOLATED_VARIANTS = ['SyncMap', 'SyncMap, ttlMs', 'SyncMap, metrics'] as const;
export type IsolatedVariant = (typeof ISOLATED_VARIANTS)[number];

export interface IsolatedRow {
  impl: IsolatedVariant;
  /** The tight loop's best ns per load of a present kept key. */
  loopNs: number;
}

/** How long each isolate runs its loop before its rounds count. */
const WARMUP_MS = 300;

/** Isolates per variant. */
const REPLICAS = 3;

interface Start {
  role: 'isolated-load';
  variant: IsolatedVariant;
  keys: number;
  value: string;
  passes: number;
}

async function mapFor(variant: IsolatedVariant): Promise<SyncMap<string, string>> {
  switch (variant) {
    case 'SyncMap':
      return SyncMap.create<string, string>({ values: 'string' });
    case 'SyncMap, ttlMs':
      return SyncMap.create<string, string>({ values: 'string', ttlMs: 3_600_000 });
    case 'SyncMap, metrics': {
      const map = await SyncMap.create<string, string>({ values: 'string' });
      registerMetrics(map, { registry: new Registry() });
      return map;
    }
  }
}

/** In the isolate: fills its map, warms its loop up, then runs one round per message. */
async function serve(start: Start): Promise<void> {
  const keys = keptKeys(start.keys);
  const map = await mapFor(start.variant);
  for (const key of keys) map.store(key, start.value);
  const round = tightLoop((i) => map.load(keys[i]!), keys.length);
  // The main process's rows have had benchmark.js's seconds of warm-up by the
  // time their loops run; give this one time to tier up as far.
  for (const end = performance.now() + WARMUP_MS; performance.now() < end; ) round(start.passes);
  parentPort!.on('message', () => parentPort!.postMessage(round(start.passes)));
  parentPort!.postMessage('ready');
}

if (!isMainThread && (workerData as Partial<Start> | undefined)?.role === 'isolated-load') await serve(workerData as Start);

function reply<T>(worker: Worker): Promise<T> {
  return new Promise((resolve, reject) => {
    const onError = (error: Error): void => {
      worker.off('message', onMessage);
      reject(error);
    };
    const onMessage = (message: T): void => {
      worker.off('error', onError);
      resolve(message);
    };
    worker.once('message', onMessage);
    worker.once('error', onError);
  });
}

/** Each variant's best ns per load, each in an isolate of its own (see above). */
export async function isolatedLoads(cfg: BenchConfig, keys: number, value: string): Promise<IsolatedRow[]> {
  const workers: { variant: IsolatedVariant; worker: Worker }[] = [];
  try {
    // One at a time: warm-ups that compete for 2 cores would tier up differently.
    for (let replica = 0; replica < REPLICAS; replica++) {
      for (const variant of ISOLATED_VARIANTS) {
        const start: Start = { role: 'isolated-load', variant, keys, value, passes: cfg.loopPasses };
        const worker = new Worker(new URL(import.meta.url), { workerData: start });
        workers.push({ variant, worker });
        if ((await reply<string>(worker)) !== 'ready') throw new Error(`${variant}: the isolate did not start`);
      }
    }
    const best = new Map<IsolatedVariant, number>(ISOLATED_VARIANTS.map((variant) => [variant, Infinity]));
    for (let round = 0; round < cfg.loopRounds; round++) {
      for (let k = 0; k < workers.length; k++) {
        const { variant, worker } = workers[(round + k) % workers.length]!;
        worker.postMessage('round');
        best.set(variant, Math.min(best.get(variant)!, await reply<number>(worker)));
      }
    }
    return ISOLATED_VARIANTS.map((impl) => ({ impl, loopNs: best.get(impl)! }));
  } finally {
    await Promise.all(workers.map(({ worker }) => worker.terminate()));
  }
}
