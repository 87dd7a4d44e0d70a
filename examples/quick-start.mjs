import { Worker, isMainThread, workerData } from 'node:worker_threads';
import { SyncMap } from 'syncmap-wasm';

if (isMainThread) {
  const pods = await SyncMap.create({ keys: 'string', values: 'json' });
  pods.store('6b9f1a2e-7c4d', { name: 'web-0', phase: 'Running' });
  // The handle is structured-cloneable: pass it in workerData or postMessage.
  const worker = new Worker(new URL(import.meta.url), { workerData: pods.handle });
  await new Promise((resolve) => worker.once('exit', resolve));
  console.log('main sees', pods.load('0c2d5e8f-1b7a')); // the worker's store
  pods.close(); // last: a thread keeps a map open while the workers it started run
} else {
  const pods = SyncMap.attach(workerData); // synchronous: the same map, the same memory
  console.log('worker sees', pods.load('6b9f1a2e-7c4d'));
  pods.store('0c2d5e8f-1b7a', { name: 'web-1', phase: 'Pending' });
  pods.close(); // this thread's slot; the map lives on
}
