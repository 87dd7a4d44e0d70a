// A pool of worker threads that all read one map of route policies, while the
// main thread publishes new policies: per-region route policy, as a proxy's
// workers would look it up for each request. Run: npm run example:pool
//
// The tasks posted to the pool carry only region names; the policies are not
// copied to the workers, before or after an update: every worker reads them in
// place, in the map's shared memory.
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { SyncMap } from 'syncmap-wasm';

const REGIONS = ['cn-east', 'cn-north', 'cn-south', 'eu-west'];

// region -> { version, timeoutMs, pool }; a region with no policy gets 'default'.
const policies = await SyncMap.create({ keys: 'string', values: 'json' });
policies.store('default', { version: 1, timeoutMs: 3000, pool: 'shared' });
policies.store('cn-east', { version: 1, timeoutMs: 1200, pool: 'east-1' });
policies.store('cn-north', { version: 1, timeoutMs: 1800, pool: 'north-1' });

/** A minimal pool: one task at a time per worker, the next task to the first free worker. */
class Pool {
  #idle = [];
  #queue = [];
  constructor(size, data) {
    this.workers = Array.from({ length: size }, () => {
      const worker = new Worker(new URL('./worker.mjs', import.meta.url), { workerData: data });
      this.#idle.push(worker);
      return worker;
    });
  }
  run(task) {
    return new Promise((resolve, reject) => {
      this.#queue.push({ task, resolve, reject });
      this.#next();
    });
  }
  #next() {
    while (this.#idle.length && this.#queue.length) {
      const worker = this.#idle.pop();
      const { task, resolve, reject } = this.#queue.shift();
      const onError = (error) => reject(error);
      worker.once('error', onError);
      worker.once('message', (result) => {
        worker.off('error', onError);
        this.#idle.push(worker);
        resolve(result);
        this.#next();
      });
      worker.postMessage(task);
    }
  }
  async close() {
    await Promise.all(this.workers.map((w) => new Promise((resolve) => w.once('exit', resolve).postMessage(null))));
  }
}

const size = Math.max(2, Math.min(4, availableParallelism()));
const pool = new Pool(size, { policies: policies.handle });

/** 40 tasks of 1,000 requests from random regions; what the workers applied, summed. */
async function serve() {
  const tasks = Array.from({ length: 40 }, () => Array.from({ length: 1000 }, () => REGIONS[(Math.random() * 4) | 0]));
  const totals = {};
  for (const counts of await Promise.all(tasks.map((regions) => pool.run(regions)))) {
    for (const [applied, n] of Object.entries(counts)) totals[applied] = (totals[applied] ?? 0) + n;
  }
  return Object.entries(totals).sort().map(([applied, n]) => `${applied} ${n}`).join(', ');
}

console.log(`${size} workers, one map of ${policies.size} policies`);
console.log('version 1:', await serve());

// A new configuration: every policy replaced, eu-west added, cn-north removed.
// Each store is visible to every worker as soon as it returns.
policies.store('default', { version: 2, timeoutMs: 2500, pool: 'shared' });
policies.store('cn-east', { version: 2, timeoutMs: 1000, pool: 'east-2' });
policies.store('cn-south', { version: 2, timeoutMs: 1500, pool: 'south-1' });
policies.store('eu-west', { version: 2, timeoutMs: 900, pool: 'west-1' });
policies.delete('cn-north');
console.log('version 2:', await serve());

await pool.close(); // the workers close their maps as they leave
policies.close(); // after the workers: the thread that starts workers keeps a map open while they run
