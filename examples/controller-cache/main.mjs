// A Kubernetes-style controller cache: the main thread is the informer, which
// applies add / update / delete events for pods, keyed by UID, to one SyncMap;
// worker threads are the event handlers that read it (lookups by UID, counts by
// phase). Run: npm run example:controller-cache
//
// Entries live for TTL_MS unless a resync refreshes them, as the informer's
// periodic relist does for every pod that still exists: a pod whose delete
// event the watch missed is never refreshed again, expires, and the sweeper
// frees it. Metrics come from syncmap-wasm/prometheus, read by prom-client.
import { Worker } from 'node:worker_threads';
import { Registry } from 'prom-client';
import { SyncMap } from 'syncmap-wasm';
import { loadLatencyHandle, registerMetrics } from 'syncmap-wasm/prometheus';
import { PHASES, podOf, uidOf } from './pods.mjs';

const PODS = 2000; // listed at start
const EVENTS_MS = 1500; // how long the watch delivers events
const RESYNC_MS = 200; // relist period: refreshes every live pod's TTL
const TTL_MS = 3 * RESYNC_MS; // three periods: one late resync loses no pod
const MISSED = 0.05; // share of delete events the watch drops
const READERS = 2;

const cache = await SyncMap.create({ keys: 'string', values: 'json', ttlMs: TTL_MS });
const registry = new Registry();
registerMetrics(cache, { registry, sampleEvery: 16 });
const stopSweeper = cache.startSweeper({ intervalMs: 50 });

// The cluster as the API server has it: pod index -> pod. The cache must end equal to it.
const cluster = new Map();
let rv = 1;
const counts = { adds: 0, updates: 0, deletes: 0, missed: 0 };
const add = (index) => {
  const pod = podOf(index, rv++, 'Pending');
  cluster.set(index, pod);
  cache.store(pod.uid, pod);
};
// The informer's periodic relist: every pod the cluster still has is stored
// again, with a fresh TTL. A pod the cache holds but the list lacks is not.
let lastResync = Date.now();
const resyncIfDue = () => {
  if (Date.now() - lastResync < RESYNC_MS) return;
  for (const pod of cluster.values()) cache.store(pod.uid, pod);
  lastResync = Date.now();
};
const tick = () => new Promise((resolve) => setTimeout(resolve, 5)); // the event loop breathes

// Initial list, then readers. `control`: [0] stop flag, [1] the next pod index (readers look up below it).
for (let i = 0; i < PODS; i++) add(i);
const control = new Int32Array(new SharedArrayBuffer(8));
Atomics.store(control, 1, PODS);
const workerData = { cache: cache.handle, latency: loadLatencyHandle(cache), control: control.buffer };
const reader = new URL('./reader.mjs', import.meta.url);
const readers = Array.from({ length: READERS }, () => new Worker(reader, { workerData }));
const reports = readers.map((w) => new Promise((resolve, reject) => w.once('message', resolve).once('error', reject)));
const exits = readers.map((w) => new Promise((resolve) => w.once('exit', resolve)));

// The watch: batches of events every few ms, and a relist every RESYNC_MS.
const pick = () => {
  for (;;) {
    const index = Math.floor(Math.random() * Atomics.load(control, 1));
    if (cluster.has(index)) return index; // most are: few pods are deleted
  }
};
const start = Date.now();
while (Date.now() - start < EVENTS_MS) {
  for (let e = 0; e < 20; e++) {
    const r = Math.random();
    if (r < 0.3) {
      add(Atomics.add(control, 1, 1));
      counts.adds++;
    } else if (r < 0.85) {
      const index = pick();
      const old = cluster.get(index);
      const phase = old.phase === 'Pending' ? 'Running' : PHASES[1 + Math.floor(Math.random() * 3)];
      const pod = podOf(index, rv++, phase);
      cluster.set(index, pod);
      cache.store(pod.uid, pod);
      counts.updates++;
    } else {
      const index = pick();
      cluster.delete(index);
      counts.deletes++;
      if (Math.random() < MISSED) counts.missed++; // dropped by the watch: only the TTL removes it
      else cache.delete(uidOf(index));
    }
  }
  resyncIfDue();
  await tick();
}

// Events over; resyncs go on, as they would in a controller, until the pods
// whose delete was missed have expired and the sweeper has removed them.
const deadline = Date.now() + TTL_MS + 2000;
while (cache.stats().expirations < counts.missed && Date.now() < deadline) {
  resyncIfDue();
  await tick();
}
Atomics.store(control, 0, 1);
const done = await Promise.all(reports);
await Promise.all(exits);
stopSweeper();

// The check: the cache holds exactly the cluster's pods, as the cluster has them.
const snapshot = cache.snapshot();
const matches =
  snapshot.size === cluster.size &&
  [...cluster.values()].every((pod) => JSON.stringify(snapshot.get(pod.uid)) === JSON.stringify(pod));

const lookups = done.reduce((sum, r) => sum + r.lookups, 0);
const found = done.reduce((sum, r) => sum + r.found, 0);
const byPhase = done.at(-1).byPhase;
console.log(
  `informer: ${PODS} pods listed, then ${counts.adds} adds, ${counts.updates} updates, ` +
    `${counts.deletes} deletes (${counts.missed} missed by the watch)`,
);
console.log(`readers: ${READERS} workers, ${lookups} lookups by UID, ${found} found (${Math.round((100 * found) / lookups)}%)`);
console.log(`by phase, as a reader last counted: ${PHASES.map((p) => `${p} ${byPhase[p] ?? 0}`).join(', ')}`);
console.log(`expired by TTL and swept: ${cache.stats().expirations} (the pods whose delete was missed)`);
console.log(`cache matches the cluster: ${matches ? 'yes' : 'NO'} (${snapshot.size} pods)`);
console.log('metrics (Prometheus text format, a few series):');
const shown = new Set([
  'hit_total', 'miss_total', 'writes_total', 'entries', 'expirations_total', 'lock_contentions_total',
  'read_latency_seconds_count',
]);
for (const line of (await registry.metrics()).split('\n')) {
  if (shown.has(/^syncmap_(\w+)/.exec(line)?.[1])) console.log(`  ${line}`);
}

cache.close(); // last: the thread that starts workers keeps the map open while they run
process.exitCode = matches ? 0 : 1;
