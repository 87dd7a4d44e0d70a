/**
 * npm run demo: a Kubernetes-style controller cache on one SyncMap.
 *
 * The main thread plays the informer: it lists every pod into the map, then
 * applies a stream of add / update / delete events keyed by pod UID. Reader
 * worker threads play the event handlers that look pods up. Everyone works on
 * the same map, in the same memory: no copies, no messages per lookup.
 *
 *   npm run demo -- --threads 4 --keys 100000 --duration 10 --write-ratio 0.01
 */
import { availableParallelism } from 'node:os';
import { parseArgs } from 'node:util';
import { Worker } from 'node:worker_threads';
import { SyncMap } from 'syncmap-wasm';
import { podOf, uidOf, type Pod } from './pods.js';
import type { ReaderData } from './reader.js';

const USAGE = `usage: npm run demo -- [--threads N] [--keys N] [--duration SECONDS] [--write-ratio R]

  --threads      reader worker threads, 1 to 64 (default: os.availableParallelism() = ${availableParallelism()})
  --keys         pods in the cluster, keyed by UID, 1 to 5000000 (default 10000)
  --duration     seconds to run, 1 to 3600 (default 10)
  --write-ratio  share of all operations that are writes (add/update/delete), 0 to 0.9 (default 0.01)
  --help         this text`;

/** A bad command line: the reason, then the usage, on stderr; exit status 2. */
function usageError(reason: string): never {
  console.error(`${reason}\n\n${USAGE}`);
  process.exit(2);
}

const NUMBER_FLAGS = ['threads', 'keys', 'duration', 'write-ratio'];

/**
 * parseArgs reads `--keys -5` as a flag without its value followed by an
 * unknown option `-5`; a negative number after a number flag is its value (and
 * then out of range), so pass it as `--keys=-5`.
 */
function joinNegativeValues(args: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    const next = args[i + 1];
    if (NUMBER_FLAGS.includes(arg.replace(/^--/, '')) && arg.startsWith('--') && next !== undefined && /^-[\d.]/.test(next)) {
      out.push(`${arg}=${next}`);
      i++;
    } else {
      out.push(arg);
    }
  }
  return out;
}

/** The first sentence of parseArgs' message, which goes on to advice about positionals. */
function reasonOf(error: Error): string {
  const first = /^[^.]*(?:'[^']*'[^.]*)*/.exec(error.message)?.[0] ?? error.message;
  const reason = first.replace(/^Option '(--[\w-]+)(?: <value>)?' argument (?:missing|is ambiguous)$/, '$1 needs a value');
  return reason.charAt(0).toLowerCase() + reason.slice(1);
}

let flags;
try {
  ({ values: flags } = parseArgs({
    args: joinNegativeValues(process.argv.slice(2)),
    options: {
      threads: { type: 'string', default: String(availableParallelism()) },
      keys: { type: 'string', default: '10000' },
      duration: { type: 'string', default: '10' },
      'write-ratio': { type: 'string', default: '0.01' },
      help: { type: 'boolean', default: false },
    },
  }));
} catch (error) {
  if ((error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS_')) usageError(reasonOf(error as Error));
  throw error;
}

if (flags.help) {
  console.log(USAGE);
  process.exit(0);
}

function numberFlag(name: string, value: string, min: number, max: number, integer = true): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n < min || n > max || (integer && !Number.isInteger(n))) {
    usageError(`--${name} must be ${integer ? 'an integer' : 'a number'} from ${min} to ${max}, got '${value}'`);
  }
  return n;
}

const threads = numberFlag('threads', flags.threads, 1, 64);
const keys = numberFlag('keys', flags.keys, 1, 5_000_000);
const duration = numberFlag('duration', flags.duration, 1, 3600, false);
const writeRatio = numberFlag('write-ratio', flags['write-ratio'], 0, 0.9, false);

const fmt = new Intl.NumberFormat('en-US', { maximumFractionDigits: 1 });
const rate = (n: number): string =>
  n >= 1e6 ? `${fmt.format(n / 1e6)} M` : n >= 1e3 ? `${fmt.format(n / 1e3)} k` : fmt.format(n);
const mib = (bytes: number): string => `${fmt.format(bytes / 2 ** 20)} MiB`;

const map = await SyncMap.create<string, Pod>({ keys: 'string', values: 'json', maxMemoryBytes: 2 ** 32 - 2 ** 16 });

// The informer's initial list: every pod, present.
const versions = new Uint32Array(keys);
const present = new Uint8Array(keys);
const listStart = performance.now();
for (let i = 0; i < keys; i++) {
  map.store(uidOf(i), podOf(i, 1));
  versions[i] = 1;
  present[i] = 1;
}
const listMs = performance.now() - listStart;
console.log(`listed ${fmt.format(keys)} pods into the map in ${fmt.format(listMs)} ms; starting ${threads} reader threads`);

const counters = new SharedArrayBuffer(16 * threads);
const control = new SharedArrayBuffer(4);
const counts = new Float64Array(counters);
const stop = new Int32Array(control);
const readers = Array.from({ length: threads }, (_, index) => {
  const data: ReaderData = { handle: map.handle, keys, index, counters, control };
  return new Worker(new URL('./reader.js', import.meta.url), { workerData: data });
});
await Promise.all(readers.map((w) => new Promise((resolve, reject) => w.once('message', resolve).once('error', reject))));

const totalReads = (): number => {
  let sum = 0;
  for (let i = 0; i < threads; i++) sum += counts[2 * i]!;
  return sum;
};
const totalHits = (): number => {
  let sum = 0;
  for (let i = 0; i < threads; i++) sum += counts[2 * i + 1]!;
  return sum;
};

// The event stream: updates, deletes and adds, paced to the write ratio.
let writes = 0;
let x = 0x2545f491;
const writesPerRead = writeRatio / (1 - writeRatio);
const start = performance.now();
let lastReport = start;
let lastReads = 0;
let lastWrites = 0;
const interactive = process.stdout.isTTY;
for (;;) {
  const now = performance.now();
  if (now - start >= duration * 1000) break;
  if (now - lastReport >= 1000) {
    const reads = totalReads();
    const stats = map.stats();
    const line =
      `[${fmt.format((now - start) / 1000).padStart(4)} s] reads ${rate(((reads - lastReads) * 1000) / (now - lastReport))}/s` +
      ` · writes ${rate(((writes - lastWrites) * 1000) / (now - lastReport))}/s` +
      ` · hit ${fmt.format((100 * totalHits()) / Math.max(1, reads))}%` +
      ` · size ${fmt.format(stats.size)} · map memory ${mib(stats.bytesInUse - stats.scratchBytes)}`;
    process.stdout.write(interactive ? `\r${line}   ` : `${line}\n`);
    lastReport = now;
    lastReads = reads;
    lastWrites = writes;
  }
  const due = totalReads() * writesPerRead - writes;
  if (due < 1) {
    // Ahead of the ratio: give the readers the core for a moment.
    Atomics.wait(stop, 0, 0, 1);
    continue;
  }
  for (let n = Math.min(due, 1000); n > 0; n--) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    const i = (x >>> 0) % keys;
    const r = (x >>> 8) & 255;
    if (!present[i]) {
      map.store(uidOf(i), podOf(i, ++versions[i]!)); // ADDED
      present[i] = 1;
    } else if (r < 216) {
      map.store(uidOf(i), podOf(i, ++versions[i]!)); // MODIFIED
    } else {
      map.delete(uidOf(i)); // DELETED
      present[i] = 0;
    }
    writes++;
  }
}
Atomics.store(stop, 0, 1);
await Promise.all(readers.map((w) => new Promise((resolve) => w.once('exit', resolve))));
const elapsed = (performance.now() - start) / 1000;
if (interactive) process.stdout.write('\n');

const stats = map.stats();
const reads = totalReads();
const rows = [
  ...Array.from({ length: threads }, (_, i) => ({ thread: `reader ${i + 1}`, operations: counts[2 * i]! })),
  { thread: 'writer (main)', operations: writes },
];
console.log();
console.log('thread           operations      per second');
for (const row of rows) {
  console.log(`${row.thread.padEnd(16)} ${fmt.format(row.operations).padStart(12)} ${rate(row.operations / elapsed).padStart(12)}/s`);
}
console.log(`${'total'.padEnd(16)} ${fmt.format(reads + writes).padStart(12)} ${rate((reads + writes) / elapsed).padStart(12)}/s`);
console.log();
console.log(`hit rate        ${fmt.format((100 * totalHits()) / Math.max(1, reads))}% of lookups found their pod`);
console.log(`size            ${fmt.format(stats.size)} pods (exact; ${fmt.format(present.reduce((a, b) => a + b, 0))} expected)`);
// Two figures, two labels: "map memory" leaves out the threads' scratch regions
// (the same figure as the progress line), "memory in use" counts them.
const mapBytes = stats.bytesInUse - stats.scratchBytes;
const podJsonBytes = Buffer.byteLength(JSON.stringify(podOf(1, 1)));
console.log(`map memory      ${mib(mapBytes)}, ${fmt.format(mapBytes / Math.max(1, stats.size))} bytes per pod (a pod is ~${fmt.format(podJsonBytes)} bytes of JSON)`);
console.log(`memory in use   ${mib(stats.bytesInUse)}: map memory + ${mib(stats.scratchBytes)} of scratch of the ${stats.threads} thread(s) still attached`);
console.log(`                (heap high-water ${mib(stats.heapBytes)} of ${mib(stats.maxMemoryBytes)} reserved)`);
console.log(`reclamation     ${fmt.format(stats.epochAdvances)} epoch advances`);
map.close();
