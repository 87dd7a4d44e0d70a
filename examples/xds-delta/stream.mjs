// One stream of the delta server (main.mjs): serves one client. It long-polls
// the map's version, sends the client what changed since the version it last
// acknowledged, and keeps the client's state as the client would apply it.
// A client behind the compaction watermark gets the full state instead.
import { parentPort, workerData } from 'node:worker_threads';
import { SyncMap } from 'syncmap-wasm';

const { configs: handle, control: buffer, client, pauseAtMs, pauseMs } = workerData;
const configs = SyncMap.attach(handle);
const control = new Int32Array(buffer); // [0]: 1 once the writer is done
const stats = { deltas: 0, upserts: 0, deletes: 0, resets: 0 };

// The client's own copy of the configuration, and the version it reflects.
let state;
let version;
const fullState = () => {
  const snapshot = configs.snapshot(); // one consistent state of the world, and its version
  state = new Map(snapshot);
  version = snapshot.version;
};
fullState();

const start = Date.now();
let paused = false;
for (;;) {
  const done = Atomics.load(control, 0) === 1; // read before catching up: nothing is written after
  if (!paused && pauseMs > 0 && Date.now() - start >= pauseAtMs) {
    // A client that stalls (a slow network, a long GC): it stops acknowledging,
    // the server stops waiting for it, and compaction may leave it behind.
    paused = true;
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, pauseMs);
  }
  if (!done) configs.waitForChange(version, 50); // the long poll: returns at once if already changed
  for (;;) {
    const delta = configs.changesSince(version, { limit: 64 });
    if (delta.reset) {
      // Deletions it has not seen were compacted away: start over from the full state.
      stats.resets++;
      fullState();
      break;
    }
    for (const [name, config] of delta.upserts) state.set(name, config);
    for (const name of delta.deletes) state.delete(name);
    stats.deltas++;
    stats.upserts += delta.upserts.length;
    stats.deletes += delta.deletes.length;
    version = delta.version;
    if (delta.complete) break; // else `limit` cut it short: send the next part
  }
  parentPort.postMessage({ client, ack: version }); // the client's ACK of what it applied
  if (done) break;
}
parentPort.postMessage({ client, final: { version, state: [...state], stats } });
configs.close();
