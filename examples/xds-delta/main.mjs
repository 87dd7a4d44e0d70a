// A Delta xDS-style configuration server: one writer (this thread) updates
// route and cluster configurations in a versioned SyncMap; each stream worker
// serves one client incrementally: long-poll with waitForChange, then
// changesSince the client's acknowledged version. Run: npm run example:xds-delta
//
// Deletes leave tombstones, so that a delta can tell clients what went away.
// The writer compacts them once every client has acknowledged them (the low
// watermark); a client that stalls is not waited for, and when it comes back
// below the watermark it gets `reset: true` and takes the full state again.
// At the end every client's state must equal the map's snapshot.
import { Worker } from 'node:worker_threads';
import { SyncMap } from 'syncmap-wasm';

const CLIENTS = 3;
const WRITE_MS = 1500;
const LIVE_MS = 150; // a client silent for longer does not hold compaction back
const COMPACT_EVERY_MS = 50;

const configs = await SyncMap.create({ keys: 'string', values: 'json', versioned: true });

// A small seeded generator (mulberry32): the same configurations on every run.
let seed = 42;
const random = () => {
  seed = (seed + 0x6d2b79f5) | 0;
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
  return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
};
const clusterName = () => `cluster/backend-${Math.floor(random() * 20)}`;
const routeName = () => `route/r-${Math.floor(random() * 100)}`;
const route = (n) => ({ prefix: `/api/${n}`, cluster: clusterName(), timeoutMs: 500 + (n % 5) * 100 });
const cluster = (ip) => ({ endpoints: [`${ip}.1:8080`, `${ip}.2:8080`], lb: 'LEAST_REQUEST' });
for (let i = 0; i < 20; i++) configs.store(`cluster/backend-${i}`, cluster(`10.0.${i}`));
for (let i = 0; i < 100; i++) configs.store(`route/r-${i}`, route(i));

// Streams: client 1 stalls for 400 ms a third of the way in.
const control = new Int32Array(new SharedArrayBuffer(4));
const acked = new Map(); // client -> { version, at }
const finals = new Map();
const streams = Array.from({ length: CLIENTS }, (_, i) => {
  const client = i + 1;
  const pause = client === 1 ? { pauseAtMs: WRITE_MS / 3, pauseMs: 400 } : { pauseAtMs: 0, pauseMs: 0 };
  const workerData = { configs: configs.handle, control: control.buffer, client, ...pause };
  const worker = new Worker(new URL('./stream.mjs', import.meta.url), { workerData });
  worker.on('message', (m) => {
    if (m.final) finals.set(m.client, m.final);
    else acked.set(m.client, { version: m.ack, at: Date.now() });
  });
  return new Promise((resolve, reject) => worker.once('exit', resolve).once('error', reject));
});

// What every live client has acknowledged: deletions up to it may be compacted.
const lowWatermark = () => {
  const live = [...acked.values()].filter((a) => Date.now() - a.at <= LIVE_MS);
  return live.length === 0 ? 0 : Math.min(...live.map((a) => a.version));
};

const start = Date.now();
const initial = configs.version; // 120: one version per write
let lastCompaction = start;
let compacted = 0;
let changes = 0;
while (Date.now() - start < WRITE_MS) {
  for (let i = 0; i < 5; i++) {
    const r = random();
    if (r < 0.6) {
      configs.store(routeName(), route(changes));
      changes++;
    } else if (r < 0.8) {
      configs.store(clusterName(), cluster(`10.1.${changes % 250}`));
      changes++;
    } else if (configs.delete(routeName())) {
      changes++; // a route withdrawn: a tombstone until compacted (deleting an absent one changes nothing)
    }
  }
  if (Date.now() - lastCompaction >= COMPACT_EVERY_MS) {
    // setLowWatermark lets the map's own compaction go this far too; it only ever rises.
    compacted += configs.compact(configs.setLowWatermark(lowWatermark()));
    lastCompaction = Date.now();
  }
  await new Promise((resolve) => setTimeout(resolve, 2)); // acks arrive between batches
}
Atomics.store(control, 0, 1); // the writer is done: streams catch up and report
await Promise.all(streams);

// The check: every client holds exactly what the map holds.
const snapshot = configs.snapshot();
const canonical = (entries) => JSON.stringify([...entries].sort(([a], [b]) => (a < b ? -1 : 1)));
const expected = canonical(snapshot);
console.log(
  `writer: ${initial} configurations, then ${changes} changes: version ${snapshot.version}; ` +
    `${compacted} tombstones compacted`,
);
let ok = snapshot.version === initial + changes;
for (let client = 1; client <= CLIENTS; client++) {
  const { version, state, stats } = finals.get(client);
  const same = version === snapshot.version && canonical(state) === expected;
  ok &&= same;
  console.log(
    `client ${client}: ${stats.deltas} deltas (${stats.upserts} upserts, ${stats.deletes} deletes), ` +
      `${stats.resets} full resync${stats.resets === 1 ? '' : 's'}; ` +
      `at version ${version}: ${same ? 'equals' : 'DIFFERS FROM'} the snapshot`,
  );
}
console.log(`${ok ? 'every' : 'NOT every'} client's state equals the map's snapshot (${snapshot.size} configurations)`);
configs.close();
process.exitCode = ok ? 0 : 1;
