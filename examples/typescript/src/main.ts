// The main thread: creates two maps, starts a worker on them, reads what it wrote.
import { Worker } from 'node:worker_threads';
import { SyncMap, SyncMapError } from 'syncmap-wasm';
import type { Cluster, WorkerData } from './shared.js';

// V named with type arguments, for JSON values.
const clusters = await SyncMap.create<string, Cluster>({ keys: 'string', values: 'json' });
clusters.store('backend', { version: 1, endpoints: ['10.0.0.1:8080'] });

// K and V inferred from the options: SyncMap<string, number>.
const requests = SyncMap.createSync({ keys: 'string', values: 'number' });

const data: WorkerData = { clusters: clusters.handle, requests: requests.handle };
const worker = new Worker(new URL('./worker.js', import.meta.url), { workerData: data });
await new Promise((resolve) => worker.once('exit', resolve));

const backend: Cluster | undefined = clusters.load('backend');
console.log(`backend v${backend?.version}: ${backend?.endpoints.join(', ')}`);
console.log(`requests counted by the worker: ${requests.load('backend') ?? 0}`);

try {
  requests.load('x'.repeat(5000)); // longer than maxKeyBytes (4096 by default)
} catch (error) {
  if (!(error instanceof SyncMapError)) throw error;
  console.log(`refused: ${error.code}`);
}

// Last, after the worker: the thread that starts workers keeps a map open while they run.
clusters.close();
requests.close();
