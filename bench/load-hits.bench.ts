/**
 * The first figures: SyncMap.load of present 36-character UID keys with small
 * values, against Map.get on the same keys in the same run, on one thread; then
 * total load throughput with 1 and 2 threads sharing one map.
 *
 *   npm run build && node build/bench/load-hits.bench.js
 *
 * Single-thread figures are tight in-process loops (benchmark.js's own ~2 ns
 * per call would blur a 20 ns Map.get); threads run for a fixed time after a
 * shared start signal and count their operations. Results are printed and
 * written to bench/results/load-hits.json.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus } from 'node:os';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { SyncMap, type SyncMapHandle } from 'syncmap-wasm';

const KEYS = 10_000;
const VALUE = 'value-of-20-bytes...';
const uids = (): string[] => Array.from({ length: KEYS }, (_, i) => `${i.toString(16).padStart(8, '0')}-9c1f-4e2a-8b3d-5f6e7a8b9c0d`);

interface ThreadData {
  handle: SyncMapHandle;
  control: SharedArrayBuffer;
}

/** ns per call of `op` over the keys, best of `rounds` passes of `passes` sweeps. */
function nsPerOp(keys: string[], op: (key: string) => unknown, rounds = 7, passes = 20): number {
  let best = Infinity;
  for (let r = 0; r < rounds; r++) {
    let sink = 0;
    const start = process.hrtime.bigint();
    for (let p = 0; p < passes; p++) for (let i = 0; i < keys.length; i++) if (op(keys[i]!) !== undefined) sink++;
    const ns = Number(process.hrtime.bigint() - start) / (passes * keys.length);
    if (sink !== passes * keys.length) throw new Error('a key was missing');
    best = Math.min(best, ns);
  }
  return best;
}

function loadLoop(data: ThreadData): void {
  const map = SyncMap.attach<string, string>(data.handle);
  const control = new Int32Array(data.control);
  const keys = uids();
  // Warm up (tier-up of the Wasm and JS code) before the measured window.
  for (let r = 0; r < 30; r++) for (const key of keys) map.load(key);
  Atomics.add(control, 1, 1);
  Atomics.notify(control, 1);
  Atomics.wait(control, 0, 0);
  let ops = 0;
  let x = 0x9e3779b9 ^ Atomics.add(control, 3, 1);
  while (Atomics.load(control, 2) === 0) {
    for (let i = 0; i < 1024; i++) {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      map.load(keys[(x >>> 0) % KEYS]!);
    }
    ops += 1024;
  }
  map.close();
  parentPort!.postMessage(ops);
}

async function throughput(map: SyncMap<string, string>, threads: number, ms: number): Promise<number> {
  const control = new Int32Array(new SharedArrayBuffer(16));
  const workers = Array.from({ length: threads }, () =>
    new Worker(new URL(import.meta.url), { workerData: { handle: map.handle, control: control.buffer } satisfies ThreadData }),
  );
  const results = workers.map((w) => new Promise<number>((resolve, reject) => w.once('message', resolve).once('error', reject)));
  for (let ready; (ready = Atomics.load(control, 1)) < threads; ) Atomics.wait(control, 1, ready, 50);
  Atomics.store(control, 0, 1);
  Atomics.notify(control, 0);
  const start = performance.now();
  await new Promise((resolve) => setTimeout(resolve, ms));
  Atomics.store(control, 2, 1);
  const elapsed = (performance.now() - start) / 1000;
  const ops = (await Promise.all(results)).reduce((a, b) => a + b, 0);
  return ops / elapsed;
}

async function main(): Promise<void> {
  const keys = uids();
  const map = await SyncMap.create<string, string>({ values: 'string' });
  const plain = new Map<string, string>();
  for (const key of keys) {
    map.store(key, VALUE);
    plain.set(key, VALUE);
  }
  // Fresh key strings, as keys parsed from a request or an event are: V8 has
  // to hash them on each Map.get.
  const parts = keys.map((k) => [k.slice(0, 18), k.slice(18)] as const);
  const syncMapNs = nsPerOp(keys, (k) => map.load(k));
  const mapNs = nsPerOp(keys, (k) => plain.get(k));
  let i = 0;
  const freshNs = nsPerOp(keys, () => {
    const [a, b] = parts[i++ % KEYS]!;
    return plain.get(a + b);
  });
  const oneThread = await throughput(map, 1, 2000);
  const twoThreads = await throughput(map, 2, 2000);
  const result = {
    bench: 'load-hits',
    date: new Date().toISOString(),
    node: process.version,
    cpu: cpus()[0]?.model ?? 'unknown',
    cores: availableParallelism(),
    keys: KEYS,
    singleThread: {
      syncMapLoadNs: syncMapNs,
      mapGetNs: mapNs,
      mapGetFreshKeyNs: freshNs,
      ratioToMapGet: syncMapNs / mapNs,
      ratioToMapGetFreshKey: syncMapNs / freshNs,
    },
    throughput: { oneThreadOpsPerSec: oneThread, twoThreadsOpsPerSec: twoThreads, scaling: twoThreads / oneThread },
  };
  const f = (n: number): string => n.toFixed(1);
  console.log(`single thread, ${KEYS} present 36-char keys, 20-byte string values (${result.node}, ${result.cpu}, ${result.cores} cores)`);
  console.log(`  SyncMap.load              ${f(syncMapNs)} ns/op`);
  console.log(`  Map.get (pre-hashed key)  ${f(mapNs)} ns/op   SyncMap is ${f(syncMapNs / mapNs)}x`);
  console.log(`  Map.get (fresh key)       ${f(freshNs)} ns/op   SyncMap is ${(syncMapNs / freshNs).toFixed(2)}x`);
  console.log(`load throughput, one shared map`);
  console.log(`  1 thread   ${(oneThread / 1e6).toFixed(2)} M ops/s`);
  console.log(`  2 threads  ${(twoThreads / 1e6).toFixed(2)} M ops/s   (${(twoThreads / oneThread).toFixed(2)}x)`);
  mkdirSync(new URL('../../bench/results/', import.meta.url), { recursive: true });
  writeFileSync(new URL('../../bench/results/load-hits.json', import.meta.url), `${JSON.stringify(result, null, 2)}\n`);
  map.close();
}

if (isMainThread) await main();
else loadLoop(workerData as ThreadData);
