// A worker of the pool (main.mjs): attaches to the shared map once, then for
// each task looks up every request's region and counts the policies applied.
import { parentPort, workerData } from 'node:worker_threads';
import { SyncMap } from 'syncmap-wasm';

// Synchronous, no copy. freeze: the policies come back frozen, so this thread's
// read cache keeps them: a lookup of a policy unchanged since decodes nothing.
const policies = SyncMap.attach(workerData.policies, { freeze: true });

parentPort.on('message', (regions) => {
  if (regions === null) {
    policies.close(); // this thread's slot; the map lives on in the others
    parentPort.close();
    return;
  }
  const counts = {};
  for (const region of regions) {
    const policy = policies.load(region) ?? policies.load('default');
    const applied = `${policy.pool}@v${policy.version}`;
    counts[applied] = (counts[applied] ?? 0) + 1;
  }
  parentPort.postMessage(counts);
});
