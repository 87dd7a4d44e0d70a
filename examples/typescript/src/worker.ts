// The worker: attaches to both maps, counts requests, publishes a new snapshot.
import { workerData } from 'node:worker_threads';
import { SyncMap } from 'syncmap-wasm';
import type { Cluster, WorkerData } from './shared.js';

const data = workerData as WorkerData;
const clusters = SyncMap.attach<string, Cluster>(data.clusters);
const requests = SyncMap.attach<string, number>(data.requests);

for (let i = 0; i < 1000; i++) {
  // An atomic increment: retry until no other thread changed the count in between.
  for (;;) {
    const { value, loaded } = requests.loadOrStore('backend', 1);
    if (!loaded || requests.compareAndSwap('backend', value, value + 1)) break;
  }
}

const current = clusters.load('backend');
if (current !== undefined) {
  const next: Cluster = { version: current.version + 1, endpoints: [...current.endpoints, '10.0.0.2:8080'] };
  // Replaces the snapshot only if nobody else did first.
  clusters.compareAndSwap('backend', current, next);
}

clusters.close();
requests.close();
