// An event handler of the controller (main.mjs): looks pods up by UID, as a
// reconcile loop does, and now and then counts the cached pods by phase.
import { parentPort, workerData } from 'node:worker_threads';
import { SyncMap } from 'syncmap-wasm';
import { sampleLoads } from 'syncmap-wasm/prometheus';
import { uidOf } from './pods.mjs';

const cache = SyncMap.attach(workerData.cache); // the informer's map, in place
sampleLoads(cache, workerData.latency); // time some of this thread's lookups for the histogram
const control = new Int32Array(workerData.control);

let lookups = 0;
let found = 0;
let byPhase = {};
while (Atomics.load(control, 0) === 0) {
  // Any pod ever created: some were deleted since, so not every lookup finds one.

  for (let i = 0; i < 10_000; i++) {
    const pod = cache.load(uidOf(Math.floor(Math.random() * Atomics.load(control, 1))));
    lookups++;
    if (pod !== undefined) found++;
  }
  // Iteration is no snapshot (like Go's Range): counts taken while the informer writes.
  byPhase = {};
  for (const pod of cache.values()) byPhase[pod.phase] = (byPhase[pod.phase] ?? 0) + 1;
}
parentPort.postMessage({ lookups, found, byPhase });
cache.close(); // this thread's slot; the map lives on
