/**
 * How long a write takes to be seen by another thread. The main thread
 * writes a new key; a worker polls for it and stamps the moment it first sees
 * it (process.hrtime.bigint(): one monotonic clock for every thread of the
 * process); the latency is that stamp less the one taken just before the
 * write. One write at a time: the next is made once the worker has seen the
 * last one and polls for the next, after a random pause of up to 50 µs so
 * that writes land anywhere in the worker's polling cycle. The first WARMUP
 * writes (compilation of both sides' paths) are not counted.
 *
 * The worker polls in one of two ways:
 * - 'turn': one look per event-loop turn (setImmediate), as a server that
 *   checks between requests; the only way the BroadcastChannel copy can ever
 *   see a write, since its messages are delivered between turns;
 * - 'loop': looks again and again in a synchronous loop, as a busy thread
 *   does (SyncMap only: a BroadcastChannel copy would never see the write).
 *
 * Run as a worker (workerData.role 'visibility'), this file is the poller.
 */
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { SyncMap, type SyncMapHandle } from 'syncmap-wasm';
import { ReplicatedMap } from '../adapters/broadcast.js';
import { freshKey, xorshift32 } from './keys.js';

export type Polling = 'turn' | 'loop';

export interface VisibilityRow {
  impl: 'SyncMap' | 'Map + BroadcastChannel';
  polling: Polling;
  writes: number;
  /** From just before the write to the worker's first sight of it, in µs. */
  medianUs: number;
  p99Us: number;
  maxUs: number;
}

interface PollerData {
  role: 'visibility';
  kind: 'syncmap' | 'broadcast';
  polling: Polling;
  handle?: SyncMapHandle;
  channel?: string;
  keys: string[];
  /** BigInt64Array: when the worker first saw key i. */
  seen: SharedArrayBuffer;
  /** Int32Array [0]: how many keys the worker has seen. */
  control: SharedArrayBuffer;
}

const VALUE = 'value-of-20-bytes...';
/** Writes made before the counted ones. */
const WARMUP = 100;
/** A write the worker has not seen after this long means something is broken. */
const TIMEOUT_MS = 10_000;

const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

async function poller(data: PollerData): Promise<void> {
  const seen = new BigInt64Array(data.seen);
  const control = new Int32Array(data.control);
  let visible: (key: string) => boolean;
  let close: () => void;
  if (data.kind === 'syncmap') {
    const map = SyncMap.attach<string, string>(data.handle!);
    visible = (key) => map.load(key) !== undefined;
    close = () => map.close();
  } else {
    const copy = new ReplicatedMap<string>(data.channel!);
    visible = (key) => copy.get(key) !== undefined;
    close = () => copy.close();
  }
  parentPort!.postMessage('ready');
  for (let i = 0; i < data.keys.length; i++) {
    const key = data.keys[i]!;
    if (data.polling === 'loop') {
      while (!visible(key));
    } else {
      while (!visible(key)) await nextTurn();
    }
    seen[i] = process.hrtime.bigint();
    Atomics.store(control, 0, i + 1);
    Atomics.notify(control, 0);
  }
  close();
  parentPort!.postMessage('done');
}

/** Waits (blocking this thread) until the worker has seen `count` keys. */
function waitSeen(control: Int32Array, count: number): void {
  const deadline = performance.now() + TIMEOUT_MS;
  for (let now = Atomics.load(control, 0); now < count; now = Atomics.load(control, 0)) {
    if (performance.now() > deadline) throw new Error(`a write was not seen by the other thread within ${TIMEOUT_MS / 1000} s`);
    Atomics.wait(control, 0, now, 100);
  }
}

function quantile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

/** `writes` new keys written here, each polled for by one worker. */
export async function measureVisibility(kind: 'syncmap' | 'broadcast', polling: Polling, counted: number): Promise<VisibilityRow> {
  const writes = WARMUP + counted;
  const keys = Array.from({ length: writes }, (_, i) => freshKey(2 ** 32 + i));
  const seen = new BigInt64Array(new SharedArrayBuffer(writes * 8));
  const control = new Int32Array(new SharedArrayBuffer(4));
  let write: (key: string) => void;
  let close: () => void;
  const data: PollerData = { role: 'visibility', kind, polling, keys, seen: seen.buffer as SharedArrayBuffer, control: control.buffer as SharedArrayBuffer };
  if (kind === 'syncmap') {
    const map = await SyncMap.create<string, string>({ values: 'string' });
    write = (key) => map.store(key, VALUE);
    close = () => map.close();
    data.handle = map.handle;
  } else {
    data.channel = `syncmap-bench-visibility-${process.pid}-${polling}`;
    const copy = new ReplicatedMap<string>(data.channel);
    write = (key) => copy.set(key, VALUE);
    close = () => copy.close();
  }
  const worker = new Worker(new URL(import.meta.url), { workerData: data });
  const messages: string[] = [];
  let failed: Error | undefined;
  let wake = (): void => {};
  worker.on('message', (m: string) => (messages.push(m), wake()));
  worker.once('error', (error) => ((failed = error), wake()));
  worker.once('exit', (code) => ((failed ??= new Error(`the polling worker exited (code ${code})`)), wake()));
  const next = async (what: string): Promise<void> => {
    while (!messages.includes(what)) {
      if (failed) throw failed;
      await new Promise<void>((resolve) => (wake = resolve));
    }
  };
  try {
    await next('ready');
    const written = new Array<bigint>(writes);
    let x = 0x2545f491;
    for (let i = 0; i < writes; i++) {
      waitSeen(control, i);
      x = xorshift32(x);
      const until = process.hrtime.bigint() + BigInt((x >>> 0) % 50_000);
      while (process.hrtime.bigint() < until);
      written[i] = process.hrtime.bigint();
      write(keys[i]!);
    }
    waitSeen(control, writes);
    await next('done');
    const us = written.slice(WARMUP).map((t, i) => Number(seen[WARMUP + i]! - t) / 1000).sort((a, b) => a - b);
    return {
      impl: kind === 'syncmap' ? 'SyncMap' : 'Map + BroadcastChannel',
      polling,
      writes: counted,
      medianUs: quantile(us, 0.5),
      p99Us: quantile(us, 0.99),
      maxUs: us[us.length - 1]!,
    };
  } finally {
    await worker.terminate();
    close();
  }
}

if (!isMainThread && (workerData as Partial<PollerData> | null)?.role === 'visibility') await poller(workerData as PollerData);
