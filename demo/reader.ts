/**
 * A reader thread of the demo: looks up random pods by UID, as a controller's
 * event handlers would, and publishes its counts in a shared array.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { SyncMap, type SyncMapHandle } from 'syncmap-wasm';
import { uidOf, type Pod } from './pods.js';

export interface ReaderData {
  handle: SyncMapHandle;
  keys: number;
  index: number;
  /** Float64Array: [reads, hits] per reader. */
  counters: SharedArrayBuffer;
  /** Int32Array: [stop]. */
  control: SharedArrayBuffer;
}

const { handle, keys, index, counters, control } = workerData as ReaderData;
// freeze: the pods this thread loads come deeply frozen, so its read cache keeps
// them: a lookup of a pod unchanged since the thread last read it returns the
// same object, without a JSON.parse (README, Frozen values). Handlers only read.
const map = SyncMap.attach<string, Pod>(handle, { freeze: true });
const counts = new Float64Array(counters);
const stop = new Int32Array(control);
const uids = Array.from({ length: keys }, (_, i) => uidOf(i));
parentPort!.postMessage('ready');

let x = 0x9e3779b9 ^ (index * 0x85ebca6b);
let reads = 0;
let hits = 0;
while (Atomics.load(stop, 0) === 0) {
  for (let i = 0; i < 512; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    const pod = map.load(uids[(x >>> 0) % keys]!);
    if (pod !== undefined && pod.spec.nodeName !== '') hits++;
  }
  reads += 512;
  counts[2 * index] = reads;
  counts[2 * index + 1] = hits;
}
map.close();
