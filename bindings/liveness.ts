/**
 * Which threads of this process have died: the knowledge the core's reaper
 * needs (assembly/reaper.ts asks `threadDead`) and cannot get for itself.
 *
 * A worker stopped by `Worker.terminate()` runs no code at all, possibly in the
 * middle of a map operation. Node tells one thread: the one that created the
 * worker, through the Worker's 'exit' event. That thread may have no map open,
 * or may never have seen the map the dead worker was using, so the news goes
 * into a *registry* shared by every thread of the process: a SharedArrayBuffer
 * that each new worker inherits through worker_threads' environment data, and
 * that every map's handle carries as well, so that a thread that attaches to a
 * map knows the registry its threads use.
 *
 *   registry (Int32Array)
 *   ┌───────┬─────────┬──────────┬────────────┬─────────────────────────────┐
 *   │ magic │ version │ capacity │ generation │ records: capacity × 4 words │
 *   └───────┴─────────┴──────────┴────────────┴─────────────────────────────┘
 *   record: [state, threadId, parentThreadId (-1: unknown), —]
 *   state:  EMPTY → CLAIMING → ALIVE → DEAD → CLAIMING → …  (each step a CAS
 *           or a store by the thread that made the CAS; lock-free, because a
 *           thread can be terminated between any two instructions)
 *   generation: bumped (and notified) after every death is recorded, so that
 *           threads with open maps reap at once (Atomics.waitAsync).
 *
 * The rules that make it safe:
 *   - A thread registers itself before it attaches to a map (and in the map's
 *     registry if that is another one), so a slot's owner that the registry
 *     does not know has died, and its record been reused. Only DEAD records
 *     are ever reused.
 *   - A thread is recorded DEAD only from its creator's 'exit' event, which
 *     Node emits after the thread and every worker it started have stopped.
 *     The same event marks its descendants DEAD (each worker's parent is
 *     recorded when it is created): terminating a worker stops the workers it
 *     started, and their own 'exit' events are lost with it.
 *   - A thread that ends on its own closes its maps first (sharing.ts), so it
 *     holds nothing by the time anyone learns of its death.
 *
 * Workers created before syncmap-wasm was imported in their creator are
 * announced to nobody; `Worker.prototype.terminate` is wrapped when this
 * module loads, so that terminating one still records it.
 */
import dc from 'node:diagnostics_channel';
import { Worker, getEnvironmentData, setEnvironmentData, threadId } from 'node:worker_threads';

/** The environment data keys: the process's registry, and the id of the thread a worker was created by. */
const REGISTRY_KEY = 'syncmap-wasm:threads';
const PARENT_KEY = 'syncmap-wasm:parent';

const MAGIC = 0x54484d53; // "SMHT"
const VERSION = 1;
/** Records: threads alive at once plus recent deaths. 16 KiB. */
const CAPACITY = 1024;

// Header words.
const H_MAGIC = 0;
const H_VERSION = 1;
const H_CAPACITY = 2;
const H_GENERATION = 3;
const HEADER_WORDS = 4;
// Record words.
const R_STATE = 0;
const R_THREAD = 1;
const R_PARENT = 2;
const RECORD_WORDS = 4;
// Record states.
const EMPTY = 0;
const CLAIMING = 1;
const ALIVE = 2;
const DEAD = 3;

const UNKNOWN_PARENT = -1;

/** A registry's memory (what handles carry). */
export type ThreadRegistry = SharedArrayBuffer;

function newRegistry(): ThreadRegistry {
  const sab = new SharedArrayBuffer((HEADER_WORDS + CAPACITY * RECORD_WORDS) * 4);
  const words = new Int32Array(sab);
  words[H_MAGIC] = MAGIC;
  words[H_VERSION] = VERSION;
  words[H_CAPACITY] = CAPACITY;
  return sab;
}

/** True if `value` is a registry this version can use. */
export function isRegistry(value: unknown): value is ThreadRegistry {
  if (!(value instanceof SharedArrayBuffer) || value.byteLength < HEADER_WORDS * 4) return false;
  const words = new Int32Array(value);
  const capacity = words[H_CAPACITY]!;
  return words[H_MAGIC] === MAGIC && words[H_VERSION] === VERSION &&
    value.byteLength === (HEADER_WORDS + capacity * RECORD_WORDS) * 4;
}

// ── this thread's view ─────────────────────────────────────────────────────

/** Every registry this thread knows of; deaths it learns of go into each. */
const known = new Map<ThreadRegistry, Int32Array>();

/** The id of the thread that created this one, if it had syncmap-wasm loaded then. */
const parentOfThisThread: number = (() => {
  const parent = getEnvironmentData(PARENT_KEY);
  return typeof parent === 'number' ? parent : UNKNOWN_PARENT;
})();

/** The process's registry as this thread sees it: inherited, or made here (and passed on). */
export const processRegistry: ThreadRegistry = (() => {
  const inherited = getEnvironmentData(REGISTRY_KEY);
  const registry = isRegistry(inherited) ? inherited : newRegistry();
  setEnvironmentData(REGISTRY_KEY, registry);
  setEnvironmentData(PARENT_KEY, threadId);
  return registry;
})();

/**
 * Makes `registry` known to this thread and registers this thread in it.
 * Call before attaching to a map whose handle carries it.
 */
export function adoptRegistry(registry: ThreadRegistry): void {
  if (known.has(registry)) return;
  const words = new Int32Array(registry);
  known.set(registry, words);
  record(words, threadId, parentOfThisThread);
}

adoptRegistry(processRegistry);

/** True if thread `id` has exited, as far as `registry` knows (see the rules above). */
export function threadIsDead(registry: Int32Array, id: number): boolean {
  if (id === threadId) return false;
  const capacity = registry[H_CAPACITY]!;
  let dead = true; // not found: its record was reused after it died
  for (let r = 0; r < capacity; r++) {
    const at = HEADER_WORDS + r * RECORD_WORDS;
    if (Atomics.load(registry, at + R_THREAD) !== id) continue;
    const state = Atomics.load(registry, at + R_STATE);
    if (state === ALIVE) return false;
    if (state === CLAIMING) dead = false; // being registered right now
  }
  return dead;
}

/** A view of `registry` for threadIsDead. */
export function registryView(registry: ThreadRegistry): Int32Array {
  return known.get(registry) ?? new Int32Array(registry);
}

/**
 * Records thread `id` (with its parent, when known) as ALIVE, unless a record
 * of it exists: then fills in an unknown parent, or, from the thread that
 * created it (`creator`), sets it. A worker started before its creator had
 * imported this module inherits its grandparent's environment, and records
 * that thread as its parent; only its creator knows better.
 */
function record(words: Int32Array, id: number, parent: number, creator = false): void {
  const capacity = words[H_CAPACITY]!;
  for (let r = 0; r < capacity; r++) {
    const at = HEADER_WORDS + r * RECORD_WORDS;
    if (Atomics.load(words, at + R_THREAD) === id && Atomics.load(words, at + R_STATE) !== EMPTY) {
      if (creator) Atomics.store(words, at + R_PARENT, parent);
      else if (parent !== UNKNOWN_PARENT) Atomics.compareExchange(words, at + R_PARENT, UNKNOWN_PARENT, parent);
      return;
    }
  }
  for (let r = 0; r < capacity; r++) {
    const at = HEADER_WORDS + r * RECORD_WORDS;
    const state = Atomics.load(words, at + R_STATE);
    if (state !== EMPTY && state !== DEAD) continue;
    if (Atomics.compareExchange(words, at + R_STATE, state, CLAIMING) !== state) continue;
    Atomics.store(words, at + R_THREAD, id);
    Atomics.store(words, at + R_PARENT, parent);
    Atomics.store(words, at + R_STATE, ALIVE);
    return;
  }
  // Full of live threads (over CAPACITY at once): this one goes unrecorded, and
  // so reads as dead to reapers. Refuse rather than risk that.
  throw new RangeError(`syncmap-wasm: more than ${capacity} threads of this process use it at once`);
}

/** Records thread `id`, and every thread it started (transitively), as DEAD in every known registry. */
function recordDeath(id: number): void {
  for (const words of known.values()) {
    const capacity = words[H_CAPACITY]!;
    const dying = [id];
    while (dying.length > 0) {
      const next = dying.pop()!;
      for (let r = 0; r < capacity; r++) {
        const at = HEADER_WORDS + r * RECORD_WORDS;
        if (Atomics.load(words, at + R_STATE) !== ALIVE) continue;
        const thread = Atomics.load(words, at + R_THREAD);
        if (thread === next || Atomics.load(words, at + R_PARENT) === next) {
          if (Atomics.compareExchange(words, at + R_STATE, ALIVE, DEAD) === ALIVE && thread !== next) dying.push(thread);
        }
      }
    }
    Atomics.add(words, H_GENERATION, 1);
    Atomics.notify(words, H_GENERATION);
  }
  for (const listener of deathListeners) listener();
}

/** @internal Tests: records a made-up thread id as alive, started by this thread (bindings/internal.ts). */
export function recordThreadForTest(id: number): void {
  for (const words of known.values()) record(words, id, threadId);
}

/** @internal Tests: records the death of a made-up thread id, as a Worker's 'exit' event would. */
export function recordDeathForTest(id: number): void {
  recordDeath(id);
}

// ── learning of deaths ─────────────────────────────────────────────────────

const watched = new WeakSet<Worker>();

/** Records a worker this thread created (or is about to terminate), and its death when it comes. */
function watch(worker: Worker): void {
  if (watched.has(worker)) return;
  const id = worker.threadId; // reads -1 once the worker has exited
  if (id < 0) return;
  watched.add(worker);
  // This thread made the Worker (a Worker object never leaves its creator), so
  // it is the parent: if it dies before this 'exit' runs, the death it records
  // for its own creator covers this worker too.
  for (const words of known.values()) record(words, id, threadId, true);
  worker.once('exit', () => recordDeath(id));
}

// Every Worker this thread creates from now on is announced here.
dc.subscribe('worker_threads', (message) => {
  const worker = (message as { worker?: Worker }).worker;
  if (worker) watch(worker);
});

// A worker created before this module loaded was not announced: watch it when
// it is terminated, which is how it could die holding a lock.
const kWrapped = Symbol.for('syncmap-wasm.terminate');
const proto = Worker.prototype as Worker & { [kWrapped]?: true };
if (!proto[kWrapped]) {
  const terminate = proto.terminate;
  Object.defineProperty(proto, 'terminate', {
    configurable: true,
    writable: true,
    value: function (this: Worker): Promise<number> {
      watch(this);
      return terminate.call(this);
    },
  });
  Object.defineProperty(proto, kWrapped, { value: true });
}

// ── telling the maps ───────────────────────────────────────────────────────

type DeathListener = () => void;

/** Atomics.waitAsync (ES2024; in V8 since Node 16), typed here for the ES2023 lib we compile against. */
const waitAsync = (Atomics as unknown as {
  waitAsync(view: Int32Array, index: number, value: number): { async: false } | { async: true; value: Promise<string> };
}).waitAsync;

/** Listeners of deaths this thread records itself, from a Worker's 'exit' event. */
const deathListeners = new Set<DeathListener>();

/** Per registry: who to tell, and whether a wait for its next generation is pending. */
const watchers = new Map<ThreadRegistry, { listeners: Set<DeathListener>; pending: boolean }>();

/**
 * Calls `listener` whenever a death is recorded in `registry` by any thread
 * (on this thread's event loop, through Atomics.waitAsync, which does not keep
 * the process alive), and at once when this thread records one itself; until
 * the returned function is called.
 */
export function onDeath(registry: ThreadRegistry, listener: DeathListener): () => void {
  let watcher = watchers.get(registry);
  if (!watcher) {
    watcher = { listeners: new Set(), pending: false };
    watchers.set(registry, watcher);
  }
  watcher.listeners.add(listener);
  deathListeners.add(listener);
  arm(registry, watcher);
  const w = watcher;
  return () => {
    w.listeners.delete(listener);
    deathListeners.delete(listener);
  };
}

function arm(registry: ThreadRegistry, watcher: { listeners: Set<DeathListener>; pending: boolean }): void {
  if (watcher.pending || watcher.listeners.size === 0) return;
  const words = registryView(registry);
  const seen = Atomics.load(words, H_GENERATION);
  const wait = waitAsync(words, H_GENERATION, seen);
  watcher.pending = true;
  const woken = (): void => {
    watcher.pending = false;
    // Waiting again first: a listener that throws must not end this thread's listening.
    arm(registry, watcher);
    for (const listener of watcher.listeners) listener();
  };
  if (wait.async) void wait.value.then(woken);
  else queueMicrotask(woken);
}
