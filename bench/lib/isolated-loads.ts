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

/** How long an isolate may take to start, or to run one round, before the run gives up on it. */
const REPLY_MS = 60_000;

/**
 * One isolate and the one answer it owes: its handlers stay for its whole
 * life, so that an error or an exit while it idles (another isolate's turn)
 * fails the next ask instead of going unheard or crashing the bench.
 */
class Isolate {
  readonly worker: Worker;
  #pending: { resolve(message: unknown): void; reject(error: Error): void } | undefined;
  #failure: Error | undefined;

  constructor(readonly variant: IsolatedVariant, start: Start) {
    this.worker = new Worker(new URL(import.meta.url), { workerData: start });
    this.worker.on('message', (message: unknown) => {
      const pending = this.#pending;
      this.#pending = undefined;
      pending?.resolve(message);
    });
    this.worker.on('error', (error: Error) => this.#fail(error));
    this.worker.on('exit', (code) => this.#fail(new Error(`${variant}: the isolate exited (code ${code})`)));
  }

  #fail(error: Error): void {
    this.#failure ??= error;
    const pending = this.#pending;
    this.#pending = undefined;
    pending?.reject(error);
  }

  /** The isolate's next message (after posting `ask`, if given), or its failure. */
  next(ask?: string): Promise<unknown> {
    if (this.#failure) return Promise.reject(this.#failure);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => this.#fail(new Error(`${this.variant}: no answer in ${REPLY_MS} ms`)), REPLY_MS);
      this.#pending = {
        resolve: (message) => {
          clearTimeout(timer);
          resolve(message);
        },
        reject: (error) => {
          clearTimeout(timer);
          reject(error);
        },
      };
      if (ask !== undefined) this.worker.postMessage(ask);
    });
  }

  /** Ends the isolate; an exit it makes now is no failure. */
  async stop(): Promise<void> {
    this.#failure ??= new Error(`${this.variant}: stopped`);
    await this.worker.terminate();
  }
}

/** Each variant's best ns per load, each in an isolate of its own (see above). */
export async function isolatedLoads(cfg: BenchConfig, keys: number, value: string): Promise<IsolatedRow[]> {
  const isolates: Isolate[] = [];
  try {
    // One at a time: warm-ups that compete for 2 cores would tier up differently.
    for (let replica = 0; replica < REPLICAS; replica++) {
      for (const variant of ISOLATED_VARIANTS) {
        const isolate = new Isolate(variant, { role: 'isolated-load', variant, keys, value, passes: cfg.loopPasses });
        isolates.push(isolate);
        if ((await isolate.next()) !== 'ready') throw new Error(`${variant}: the isolate did not start`);
      }
    }
    const best = new Map<IsolatedVariant, number>(ISOLATED_VARIANTS.map((variant) => [variant, Infinity]));
    for (let round = 0; round < cfg.loopRounds; round++) {
      for (let k = 0; k < isolates.length; k++) {
        const isolate = isolates[(round + k) % isolates.length]!;
        const ns = await isolate.next('round');
        if (typeof ns !== 'number' || !(ns > 0)) throw new Error(`${isolate.variant}: a round answered ${String(ns)}`);
        best.set(isolate.variant, Math.min(best.get(isolate.variant)!, ns));
      }
    }
    return ISOLATED_VARIANTS.map((impl) => ({ impl, loopNs: best.get(impl)! }));
  } finally {
    await Promise.all(isolates.map((isolate) => isolate.stop()));
  }
}
