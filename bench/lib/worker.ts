/**
 * The bench's worker threads. One script, two roles (workerData.role):
 *
 * - 'runner': runs measured jobs (protocol.ts) one after another, keeping what
 *   it attached or opened for the next job over the same implementation.
 * - 'owner': the owner thread of the postMessage implementation: holds a JS
 *   Map and serves the runners' requests (adapters/owner.ts).
 */
import { isMainThread, parentPort, workerData, type MessagePort } from 'node:worker_threads';
import type { SyncMapHandle } from 'syncmap-wasm';
import { CoreBench } from '../../bindings/bench-core.js';
import { BroadcastAdapter } from '../adapters/broadcast.js';
import { ConcurrentAdapter } from '../adapters/concurrent.js';
import { JsMapAdapter } from '../adapters/jsmap.js';
import { LmdbAdapter, openLmdb } from '../adapters/lmdb.js';
import { OwnerClient, serveClient } from '../adapters/owner.js';
import { SharedMapAdapter } from '../adapters/sharedmap.js';
import { SmdAdapter } from '../adapters/smd.js';
import type { BenchMap, ImplSpec } from '../adapters/types.js';
import { describeError } from './describe-error.js';
import { goCase, loopState } from './go-cases.js';
import { freshKey, keyOf, keptKeys, xorshift32 } from './keys.js';
import { kGo, kReady, kSetupDone, kStop, type Job, type JobResult, type ToWorker } from './protocol.js';

export interface WorkerRole {
  role: 'runner' | 'owner';
}

/**
 * The measured loop, compiled anew for every job so that its call to `step`
 * has feedback of its own (V8 inlines a call site that has seen one target;
 * a loop shared by every case and implementation would see dozens).
 * Warm-up runs until `go`; the count runs from `go` to `stop`. Batches grow
 * until one takes ~50 µs, so that checking the flags costs nothing measurable
 * and the window closes within a fraction of a millisecond.
 */
const TIMED_LOOP = `
  let batch = 1;
  for (;;) {
    const t = performance.now();
    for (let n = 0; n < batch; n++) step();
    if (performance.now() - t < 0.05 && batch < 1 << 16) batch *= 2;
    if (Atomics.load(control, ${kGo}) !== 0) break;
  }
  const start = performance.now();
  let ops = 0;
  do {
    // At least one batch, so that a step longer than the window still counts.
    for (let n = 0; n < batch; n++) step();
    ops += batch;
  } while (Atomics.load(control, ${kStop}) === 0);
  return { ops, seconds: (performance.now() - start) / 1000 };
`;

type TimedLoop = (control: Int32Array, step: () => void) => { ops: number; seconds: number };

function timedLoop(): TimedLoop {
  return new Function('control', 'step', TIMED_LOOP) as TimedLoop;
}

// ── runner ───────────────────────────────────────────────────────────────────

/** Implementations this thread attached or opened, by spec id. */
const opened = new Map<string, BenchMap>();
let ownerClient: OwnerClient | undefined;
let mixKeys: string[] = [];

function open(spec: ImplSpec): BenchMap {
  const kept = opened.get(`${spec.kind}:${spec.id}`);
  if (kept) return kept;
  let map: BenchMap;
  switch (spec.kind) {
    case 'syncmap':
    case 'lockedmap':
      map = ConcurrentAdapter.attach(spec.kind, spec.handle as SyncMapHandle);
      break;
    case 'map':
    case 'map-fresh':
      return new JsMapAdapter(); // a new map for every job: nothing is shared
    case 'smd':
      return new SmdAdapter(spec.buffers); // adopts the buffers of this job's map
    case 'broadcast':
      map = new BroadcastAdapter(spec.id); // this thread's copy, joined to the cell's channel
      break;
    case 'owner':
      if (!ownerClient) throw new Error('no channel to the owner thread');
      map = ownerClient;
      break;
    case 'lmdb':
      map = new LmdbAdapter(openLmdb(spec.path));
      break;
    case 'sharedmap':
      map = new SharedMapAdapter(spec.map);
      break;
  }
  // One map per kind at a time: a new one (the next size of the inflection
  // table) replaces the last, which this thread detaches from.
  for (const [id, other] of opened) {
    if (id.split(':')[0] === spec.kind) {
      other.close();
      opened.delete(id);
    }
  }
  opened.set(`${spec.kind}:${spec.id}`, map);
  return map;
}

function run(job: Job, control: Int32Array): JobResult {
  let map: BenchMap;
  let step: () => void;
  try {
    map = open(job.spec);
    if (job.kind === 'go') {
      const def = goCase(job.name);
      const key = job.spec.kind === 'map-fresh' ? freshKey : keyOf;
      if (map instanceof BroadcastAdapter) {
        // Every thread holds a copy: each seeds its own, as if it had received the setup's writes.
        const m = map;
        m.seed(() => def.setup?.(m, key));
      }
      if (job.setupInWorker && job.goroutine === 0) {
        if (!(map instanceof BroadcastAdapter)) {
          map.clear();
          def.setup?.(map, key);
        }
        Atomics.store(control, kSetupDone, 1);
        Atomics.notify(control, kSetupDone);
      }
      const state = loopState(job.goroutine);
      const loop = def.loop;
      step = () => loop(map, key, state);
    } else if (job.kind === 'core') {
      const core = new CoreBench((map as ConcurrentAdapter).map);
      core.begin(job.name, job.goroutine);
      // One step is a batch of 256 iterations inside Wasm: the calls out cost nothing.
      step = () => core.run(256);
    } else {
      if (mixKeys.length < job.keys) mixKeys = keptKeys(job.keys);
      step = mixStep(map, mixKeys, job.keys, job.writes, job.goroutine);
    }
  } catch (error) {
    Atomics.add(control, kReady, 1);
    Atomics.notify(control, kReady);
    return { ok: false, error: describeError(error) };
  }
  while (Atomics.load(control, kSetupDone) === 0) Atomics.wait(control, kSetupDone, 0, 100);
  Atomics.add(control, kReady, 1);
  Atomics.notify(control, kReady);
  try {
    const { ops, seconds } = timedLoop()(control, step);
    return { ok: true, ops: job.kind === 'core' ? ops * 256 : ops, seconds };
  } catch (error) {
    return { ok: false, error: describeError(error) };
  }
}

/** The inflection mix: a uniform random key; a store with probability `writes`, else a load. */
function mixStep(map: BenchMap, keys: string[], count: number, writes: number, goroutine: number): () => void {
  let x = (0x9e3779b9 ^ (goroutine * 0x85ebca6b)) | 1;
  const threshold = Math.round(writes * 2 ** 32);
  let i = 0;
  return () => {
    x = xorshift32(x);
    const key = keys[(x >>> 0) % count]!;
    x = xorshift32(x);
    if (x >>> 0 < threshold) map.store(key, i++);
    else map.load(key);
  };
}


function runner(): void {
  const port = parentPort!;
  // Every module is loaded: tell the pool, which waits for this before its first cell.
  port.postMessage({ ok: true, ops: 0, seconds: 0 } satisfies JobResult);
  port.on('message', (message: ToWorker) => {
    switch (message.type) {
      case 'job':
        port.postMessage(run(message.job, new Int32Array(message.control)));
        break;
      case 'owner-port':
        ownerClient = new OwnerClient(message.port, new Int32Array(message.replies));
        port.postMessage({ ok: true, ops: 0, seconds: 0 } satisfies JobResult);
        break;
      case 'close':
        for (const map of opened.values()) map.close();
        opened.clear();
        process.exit(0);
        break;
    }
  });
}

// ── owner ────────────────────────────────────────────────────────────────────

function owner(): void {
  const map = new JsMapAdapter();
  parentPort!.on('message', (message: { type: 'client'; port: MessagePort; replies: SharedArrayBuffer } | CloseLike) => {
    if (message.type === 'client') serveClient(map, message.port, new Int32Array(message.replies));
    else process.exit(0);
  });
}
interface CloseLike {
  type: 'close';
}

if (!isMainThread) {
  if ((workerData as WorkerRole).role === 'owner') owner();
  else runner();
}
