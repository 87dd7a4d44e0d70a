/**
 * SyncMap: Go's sync.Map for JavaScript threads, over one shared memory.
 *
 * The public class is a thin shell: it checks its arguments, encodes keys and
 * values into this thread's scratch region (codecs.ts), makes one call into the
 * Wasm core (assembly/abi.ts), and decodes the answer. All state shared between
 * threads lives in the core's memory; `Attachment` (attachment.ts) is this
 * thread's view of it.
 *
 * Every write follows one order (codecs.ts): first the value is prepared, which
 * runs whatever user code encoding it needs (a toJSON, a getter, a custom
 * encode()) and may call this map or another; only then are the key and the
 * value's bytes written into the scratch, and the core called, with no user
 * code in between.
 *
 * Every core call sits in a try/catch (free in V8 while nothing throws): an
 * exception that is not a SyncMapError (a stack overflow inside the core, a
 * trap) may have left this thread holding a shard lock or its epoch pin, and
 * is released at once (Attachment.trapped) rather than at this thread's next
 * call, so that other threads do not wait; if even that handler's call
 * overflows, by this thread's watch within a second (attachment.ts).
 */
import { inspect } from 'node:util';
import { threadId } from 'node:worker_threads';
import {
  SyncMapArgumentError,
  SyncMapClosedError,
  SyncMapInvalidHandleError,
  statusError,
} from './errors.js';
import { Stat, coreModule, coreModuleSync, type CoreBuild, type CoreExports } from './instance.js';
import { registerOpen, unregisterOpen, type SyncMapHandle } from './sharing.js';
import type { Prepared, ValueMarshal } from './codecs.js';
import { CoreFlag, Status } from './status.js';
import { Attachment, attachTo, createAttachment, type Change, type LoadSampler } from './attachment.js';
import {
  booleanOption,
  methodOptions,
  resolveOptions,
  shown,
  type AttachOptions,
  type LockedAttachOptions,
  type InferredKey,
  type InferredValue,
  type LockedMapOptions,
  type MapKind,
  type NoExtraOptions,
  type OptionsArgument,
  type OptionsFor,
  type RangeCallback,
  type SyncMapOptions,
  type SyncMapStats,
  type WriteOptions,
} from './options.js';

export type {
  WriteOptions,
  AttachOptions,
  LockedAttachOptions,
  InferredKey,
  InferredValue,
  KeyKindFor,
  LockedMapOptions,
  NoExtraOptions,
  OptionsArgument,
  OptionsFor,
  RangeCallback,
  SyncMapOptions,
  SyncMapStats,
  ValueKindFor,
} from './options.js';

const ABSENT = Status.ABSENT;
const MOVED = Status.MOVED;
const align8 = (n: number): number => (n + 7) & ~7;

/** @internal Lets bindings/internal.ts create maps over the debug build of the core. */
export const kCreateWithBuild = Symbol('syncmap-wasm.createWithBuild');
/** @internal Lets bindings/internal.ts attach under a made-up thread id. */
export const kAttachAs = Symbol('syncmap-wasm.attachAs');

// ── names in messages ──────────────────────────────────────────────────────

/**
 * What each public member is called in messages, for one class: an error
 * names the class and the method the caller used ("LockedMap.get", not the
 * "SyncMap.load" that get() runs on).
 */
interface Names {
  /** The class: 'SyncMap' or 'LockedMap'. */
  readonly cls: string;
  readonly load: string;
  readonly get: string;
  readonly store: string;
  readonly set: string;
  readonly loadOrStore: string;
  readonly loadAndDelete: string;
  readonly delete: string;
  readonly swap: string;
  readonly compareAndSwap: string;
  readonly compareAndSwapOld: string;
  readonly compareAndSwapNew: string;
  readonly compareAndDelete: string;
  readonly compareAndDeleteOld: string;
  readonly range: string;
  readonly forEach: string;
  readonly has: string;
  readonly clear: string;
  readonly size: string;
  readonly entries: string;
  readonly keys: string;
  readonly values: string;
  readonly iterator: string;
  readonly stats: string;
  readonly handle: string;
  readonly add: string;
  readonly compute: string;
  readonly getRemainingTtl: string;
  readonly startSweeper: string;
  readonly version: string;
  readonly changesSince: string;
  readonly waitForChange: string;
  readonly waitForChangeAsync: string;
  readonly compact: string;
  readonly setLowWatermark: string;
  readonly snapshot: string;
}

function namesOf(cls: string): Names {
  const m = (method: string): string => `${cls}.${method}`;
  return Object.freeze({
    cls,
    load: m('load'),
    get: m('get'),
    store: m('store'),
    set: m('set'),
    loadOrStore: m('loadOrStore'),
    loadAndDelete: m('loadAndDelete'),
    delete: m('delete'),
    swap: m('swap'),
    compareAndSwap: m('compareAndSwap'),
    compareAndSwapOld: m('compareAndSwap (old)'),
    compareAndSwapNew: m('compareAndSwap (new)'),
    compareAndDelete: m('compareAndDelete'),
    compareAndDeleteOld: m('compareAndDelete (old)'),
    range: m('range'),
    forEach: m('forEach'),
    has: m('has'),
    clear: m('clear'),
    size: m('size'),
    entries: m('entries'),
    keys: m('keys'),
    values: m('values'),
    iterator: `${cls}[Symbol.iterator]`,
    stats: m('stats'),
    handle: m('handle'),
    add: m('add'),
    compute: m('compute'),
    getRemainingTtl: m('getRemainingTtl'),
    startSweeper: m('startSweeper'),
    version: m('version'),
    changesSince: m('changesSince'),
    waitForChange: m('waitForChange'),
    waitForChangeAsync: m('waitForChangeAsync'),
    compact: m('compact'),
    setLowWatermark: m('setLowWatermark'),
    snapshot: m('snapshot'),
  });
}

const NAMES: Record<MapKind, Names> = { sync: namesOf('SyncMap'), locked: namesOf('LockedMap') };

// ── failures ───────────────────────────────────────────────────────────────

function closed(what: string): never {
  throw new SyncMapClosedError(`${what}: the map is closed`);
}

function fail(status: number, what: string): never {
  throw statusError(status, what);
}

/** The TypeError `new SyncMap()` throws: maps are made by the static methods. */
function noConstructor(target: unknown): TypeError {
  const cls = target === LockedMap || (typeof target === 'function' && target.prototype instanceof LockedMap) ? 'LockedMap' : 'SyncMap';
  return new TypeError(
    `${cls} has no public constructor: create a map with ${cls}.create(options) or ${cls}.createSync(options), ` +
      `or attach to one created elsewhere with ${cls}.attach(handle)`,
  );
}

/**
 * Refuses what is surely not a handle with a message that says what to pass:
 * a map object itself (its state is private, so postMessage, workerData and
 * structuredClone deliver it as `{}`).
 */
function checkHandleArgument(handle: unknown, what: string): void {
  if (handle instanceof ConcurrentMap) {
    throw new SyncMapInvalidHandleError(`${what}: got a map, not its handle; pass map.handle`);
  }
  if (typeof handle === 'object' && handle !== null && !('kind' in handle)) {
    throw new SyncMapInvalidHandleError(
      Object.keys(handle).length === 0
        ? `${what}: handle is an empty object, which is what a map object becomes through postMessage, ` +
            'workerData or structuredClone; pass map.handle instead'
        : `${what}: handle is not a map's handle (it has no kind); pass map.handle`,
    );
  }
}

const finalizer = new FinalizationRegistry<Attachment<unknown, unknown>>((attachment) => {
  unregisterOpen(attachment);
  attachment.close();
});

/** Slots a sweep call visits: a few µs of work, checked against the tick's time box. */
const SWEEP_SLOTS = 4096;

/** Automatic compaction: once tombstones pass this many, or this share of the keys. */
const COMPACT_TOMBSTONES = 1024;
const COMPACT_SHARE = 0.05;

/** Atomics.waitAsync on a BigInt64Array (ES2024; in V8 since Node 16), typed for the ES2023 lib. */
const waitAsync64 = (Atomics as unknown as {
  waitAsync(view: BigInt64Array, index: number, value: bigint, timeout?: number):
    { async: false; value: string } | { async: true; value: Promise<string> };
}).waitAsync;

/** An integer argument within [min, max], or `fallback` when undefined. */
function integerArgument(value: unknown, fallback: number, min: number, max: number, what: string): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !(Number.isInteger(value) || value === Infinity) || value < min || value > max) {
    throw new SyncMapArgumentError(`${what} must be an integer from ${min} to ${max}, got ${shown(value)}`);
  }
  return value;
}

/**
 * Whether a value of the map can be undefined. Where none can ('json',
 * 'string', 'number', 'bytes'), an `old` of undefined, what load() returns
 * for an absent key, equals no stored value: compareAndSwap and
 * compareAndDelete answer false, as Go's do for a key that is absent, rather
 * than refuse to encode it. A custom codec's encode() decides for itself.
 */
function holdsUndefined(values: ValueMarshal<unknown>): boolean {
  return values.kind === 'structured' || values.kind === 'v8' || values.kind === 'custom';
}

/** @internal The metrics' sampler of loads (prometheus.ts). */
export const kSampleLoads = Symbol('syncmap-wasm.sampleLoads');

/** What changesSince() returns. */
export interface SyncMapChanges<K, V> {
  /** Ask from this version next time. */
  readonly version: number;
  /** True when `since` was below the compaction watermark: take the whole map (snapshot()) instead. */
  readonly reset: boolean;
  /** False when `limit` cut the changes short: ask again from `version`. */
  readonly complete: boolean;
  /** Keys stored since, with their values, in version order. */
  readonly upserts: [K, V][];
  /** Keys deleted (or expired) since, in version order. */
  readonly deletes: K[];
}

/** A point-in-time copy of a map (snapshot()): a plain Map, and the version it was taken at. */
export class SyncMapSnapshot<K, V> extends Map<K, V> {
  /** The map's version when the copy was taken (0 for a map without versions). */
  readonly version: number;

  constructor(version: number) {
    super();
    this.version = version;
  }
}

/** What an iterator of the map yields. */
const enum Yield { Entries, Keys, Values }

/** Above this many entries, inspect() shows the first ones and a count of the rest (util.inspect's default). */
const INSPECT_MAX_ENTRIES = 100;

/**
 * What util.inspect hands a custom inspector, the parts read here. Declared
 * here rather than imported: @types/node named it InspectOptionsStylized up to
 * major 25 and dropped that name in 26, which broke the shipped types under
 * skipLibCheck off.
 */
export interface InspectorOptions {
  readonly depth?: number | null;
  readonly maxArrayLength?: number | null;
  readonly breakLength?: number;
  stylize(text: string, styleType: string): string;
}

// ── the public classes ─────────────────────────────────────────────────────

/** @internal The core's exports behind a map, for bindings/internal.ts (set by the class below). */
export let coreOf: (map: ConcurrentMap<unknown, unknown>) => CoreExports;
/** @internal Drops a map without detaching it, as if its thread had died (set by the class below). */
export let abandon: (map: ConcurrentMap<unknown, unknown>) => void;
/** @internal Tests: whether a trap in this map's calls is recovered from at once (bindings/internal.ts). */
export let setRecoverOnTrap: (map: ConcurrentMap<unknown, unknown>, on: boolean) => void;

/**
 * What SyncMap and LockedMap share: every method. One object is one thread's
 * attachment to a map that lives in a shared memory; `handle` reaches the same
 * map from another thread.
 *
 * Where it differs from a Map:
 * - keys and values are copied in and out (encoded by the map's `keys` and
 *   `values` options): a loaded object is a copy, and changing it does not
 *   change the map;
 * - iteration (range, forEach, the iterators) goes in hash order, which differs
 *   between maps and between runs, as Go's Range does, not in insertion order;
 *   and it is no snapshot: see range();
 * - range() takes (key, value) as Go's Range does; forEach() (value, key, map)
 *   as Map's does;
 * - errors are SyncMapErrors with a stable `code`; one that crosses threads
 *   (postMessage) arrives as a plain Error: rely on its `code`, not its class.
 */
export abstract class ConcurrentMap<K, V> implements Iterable<[K, V]>, Disposable {
  #a: Attachment<K, V> | null;
  readonly #n: Names;

  /**
   * There is no public constructor: create() and createSync() make a map,
   * attach() reaches one from another thread. Called otherwise (from plain
   * JavaScript), it throws a TypeError and registers nothing. Protected rather
   * than marked internal: stripped from the .d.ts, it would give SyncMap a
   * public constructor.
   */
  protected constructor(attachment: object) {
    if (!(attachment instanceof Attachment)) throw noConstructor(new.target);
    const a = attachment as Attachment<K, V>;
    this.#a = a;
    this.#n = NAMES[a.handle.map];
    registerOpen(a, a.handle.registry);
    finalizer.register(this, a as Attachment<unknown, unknown>, a);
    a.opened(); // last (see ThreadCore.users): an overflow before it leaves the core to be detached
  }

  /**
   * What another thread passes to attach() to reach this map: a plain,
   * structured-cloneable object holding the map's memory and the compiled
   * core. Send it in `workerData` or by `postMessage`; the map object itself
   * does not survive that trip (it arrives as `{}`).
   */
  get handle(): SyncMapHandle {
    return (this.#a ?? closed(this.#n.handle)).handle;
  }

  /**
   * The value stored for `key`, decoded (a copy), or undefined when the key is
   * absent. A read: takes no lock. Throws for a key of the wrong type or over
   * maxKeyBytes, as every method does.
   */
  load(key: K): V | undefined {
    return this.#load(key, this.#n.load);
  }

  /** As load(): Map's name for it. */
  get(key: K): V | undefined {
    return this.#load(key, this.#n.get);
  }

  #load(key: K, what: string): V | undefined {
    const a = this.#a ?? closed(what);
    const sampler = a.sampler;
    if (sampler !== null && --sampler.countdown <= 0) return this.#loadSampled(a, sampler, key, what);
    a.clock();
    const cached = a.cache?.get(key);
    if (cached !== undefined) return cached.value;
    const r = this.#coreLoad(a, key, what);
    if (r >= 0) return this.#decoded(a, key, r, what);
    if (r === ABSENT) return undefined;
    return fail(r, what);
  }

  /** A load through the core: the value's length (copied to scratch offset 0), or a status. */
  #coreLoad(a: Attachment<K, V>, key: K, what: string): number {
    try {
      return a.ex.sm_load(a.keys.write(key, a, what));
    } catch (error) {
      throw a.trapped(error);
    }
  }

  /**
   * The value a core load of `key` (or a loadOrStore that found it) just copied
   * out (`len` bytes), decoded, and given to the read cache.
   */
  #decoded(a: Attachment<K, V>, key: K, len: number, what: string): V {
    const cache = a.cache;
    if (cache !== null && a.values.userCode) {
      // A custom codec's decode() may call the map, which rewrites the found words.
      const found = cache.foundWords();
      const value = a.values.read(a, 0, len, what);
      if (found !== undefined) cache.fillFound(found, key, value, len, this.#a === a); // decode() may close it
      return value;
    }
    const value = a.values.read(a, 0, len, what);
    cache?.fill(key, value, len);
    return value;
  }

  /** A load timed for the metrics (prometheus.ts): one in `sampler.every`. */
  #loadSampled(a: Attachment<K, V>, sampler: LoadSampler, key: K, what: string): V | undefined {
    sampler.countdown = sampler.every;
    const start = process.hrtime.bigint();
    a.clock();
    const cached = a.cache?.get(key);
    if (cached !== undefined) {
      sampler.observe(Number(process.hrtime.bigint() - start) / 1e9, true);
      return cached.value;
    }
    const r = this.#coreLoad(a, key, what);
    const value = r >= 0 ? this.#decoded(a, key, r, what) : undefined;
    sampler.observe(Number(process.hrtime.bigint() - start) / 1e9, r >= 0);
    if (r >= 0 || r === ABSENT) return value;
    return fail(r, what);
  }

  /**
   * Sets the value for `key`. A write, visible to every thread once it returns.
   * A value the codec cannot give back as it was is refused
   * (ERR_SYNCMAP_VALUE_ENCODING), the map unchanged. `options.ttlMs` gives
   * this value its own time to live (maps created with ttlMs or versioned).
   */
  store(key: K, value: V, options?: WriteOptions): void {
    this.#store(key, value, this.#n.store, options);
  }

  /** As store(), returning the map: Map's name for it. */
  set(key: K, value: V, options?: WriteOptions): this {
    this.#store(key, value, this.#n.set, options);
    return this;
  }

  #store(key: K, value: V, what: string, options: WriteOptions | undefined): void {
    const a = this.#a ?? closed(what);
    const expiry = a.expiry(options, what);
    const values = a.values;
    const prepared = values.prepare(value, what); // user code, before anything is written
    if (this.#a !== a) closed(what); // that code closed the map
    const r = this.#swap(a, key, value, prepared, what, 0, expiry);
    if (r < ABSENT) fail(r, what);
  }

  /**
   * The write of store() and swap(), after prepare(): the core's result. A key
   * this thread found before in its shard's read table (by a load or such a
   * store: read-cache.ts, placeOf) is stored at that place, without encoding
   * or hashing the key; the core checks that the place still holds the key
   * (sm_swapFound), and otherwise the key is stored by key.
   */
  #swap(a: Attachment<K, V>, key: K, value: V, prepared: Prepared, what: string, wantPrevious: number, expiry: number): number {
    const values = a.values;
    const cache = a.cache;
    let r: number;
    try {
      const place = cache?.placeOf(key);
      if (place !== undefined) {
        const len = values.put(value, prepared, a, 0, what);
        r = cache!.storeAt(place, key, values.stored(value, a, 0, len, what), len, wantPrevious, expiry);
        if (r !== MOVED) return r;
      }
      const keyLen = a.keys.write(key, a, what);
      const at = align8(keyLen);
      const len = values.put(value, prepared, a, at, what);
      // What a load would give back, taken before the core may copy the previous value over it.
      const takes = cache !== null && cache.takesStores;
      const stored = takes ? values.stored(value, a, at, len, what) : value;
      r = a.ex.sm_swap(keyLen, at, len, wantPrevious, expiry);
      if (r >= ABSENT && takes) cache!.fillStored(key, stored, len);
    } catch (error) {
      throw a.trapped(error);
    }
    return r;
  }

  /**
   * Returns the present value for `key` (`loaded: true`); otherwise stores
   * `value` and returns it (`loaded: false`). Either way `value` is what a load
   * would return, a decoded copy, never the caller's own object. A write only
   * when it stores. An expired value counts as absent: it is replaced.
   */
  loadOrStore(key: K, value: V, options?: WriteOptions): { value: V; loaded: boolean } {
    const what = this.#n.loadOrStore;
    const a = this.#a ?? closed(what);
    const expiry = a.expiry(options, what);
    a.clock();
    const values = a.values;
    const prepared = values.prepare(value, what);
    if (this.#a !== a) closed(what);
    // A key this thread has read before, still holding that value: found, a read as a load's hit.
    const cached = a.cache?.found(key);
    if (cached !== undefined) return { value: cached.value, loaded: true };
    let r: number;
    let at: number;
    let len: number;
    try {
      const keyLen = a.keys.write(key, a, what);
      at = align8(keyLen);
      len = values.put(value, prepared, a, at, what);
      r = a.ex.sm_loadOrStore(keyLen, at, len, expiry);
    } catch (error) {
      throw a.trapped(error);
    }
    if (r >= 0) return { value: this.#decoded(a, key, r, what), loaded: true };
    // Stored: the bytes just written are still in the scratch.
    if (r === ABSENT) return { value: values.stored(value, a, at, len, what), loaded: false };
    return fail(r, what);
  }

  /** Deletes `key`, returning the value it had (`loaded: true`) or undefined (`loaded: false`). A write. */
  loadAndDelete(key: K): { value: V | undefined; loaded: boolean } {
    const what = this.#n.loadAndDelete;
    const a = this.#a ?? closed(what);
    a.clock();
    let r: number;
    try {
      r = a.ex.sm_delete(a.keys.write(key, a, what), 1);
    } catch (error) {
      throw a.trapped(error);
    }
    if (r >= 0) {
      this.#compactIfDue(a);
      return { value: a.values.read(a, 0, r, what, 'delete'), loaded: true };
    }
    if (r === ABSENT) return { value: undefined, loaded: false };
    return fail(r, what);
  }

  /**
   * Deletes `key`; true if it was present. A write (in a versioned map, it
   * leaves a tombstone, or, when memory for one cannot be had, raises the
   * compaction watermark past it: see changesSince()).
   */
  delete(key: K): boolean {
    const what = this.#n.delete;
    const a = this.#a ?? closed(what);
    a.clock();
    let r: number;
    try {
      r = a.ex.sm_delete(a.keys.write(key, a, what), 0);
    } catch (error) {
      throw a.trapped(error);
    }
    if (r >= 0) {
      this.#compactIfDue(a);
      return true;
    }
    if (r === ABSENT) return false;
    return fail(r, what);
  }

  /** Sets the value for `key`, returning the previous one (decoded) and whether there was one. A write. */
  swap(key: K, value: V, options?: WriteOptions): { previous: V | undefined; loaded: boolean } {
    const what = this.#n.swap;
    const a = this.#a ?? closed(what);
    const expiry = a.expiry(options, what);
    a.clock();
    const values = a.values;
    const prepared = values.prepare(value, what);
    if (this.#a !== a) closed(what);
    const r = this.#swap(a, key, value, prepared, what, 1, expiry);
    if (r >= 0) return { previous: values.read(a, 0, r, what, 'swap'), loaded: true };
    if (r === ABSENT) return { previous: undefined, loaded: false };
    return fail(r, what);
  }

  /**
   * Replaces the value of `key` with `value` if it is `old`, compared as encoded
   * bytes: for 'structured' and 'json', objects with the same properties in the
   * same order; numbers as Object.is compares them under 'structured' and
   * 'number' (NaN equals NaN, 0 and -0 differ). A missing key is never stored.
   * A write when it swaps.
   */
  compareAndSwap(key: K, old: V, value: V, options?: WriteOptions): boolean {
    const n = this.#n;
    const what = n.compareAndSwap;
    const a = this.#a ?? closed(what);
    const expiry = a.expiry(options, what);
    a.clock();
    const values = a.values;
    if (old === undefined && !holdsUndefined(values)) {
      values.prepare(value, n.compareAndSwapNew); // a new value that cannot be stored is still refused
      if (this.#a !== a) closed(what); // a toJSON() it ran closed the map
      a.keys.write(key, a, what); // and a key that cannot be
      return false;
    }
    const preparedOld = values.keep(values.prepare(old, n.compareAndSwapOld));
    const preparedNew = values.prepare(value, n.compareAndSwapNew);
    if (this.#a !== a) closed(what);
    let r: number;
    try {
      const keyLen = a.keys.write(key, a, what);
      const oldAt = align8(keyLen);
      const oldLen = values.put(old, preparedOld, a, oldAt, n.compareAndSwapOld);
      const newAt = align8(oldAt + oldLen);
      const newLen = values.put(value, preparedNew, a, newAt, n.compareAndSwapNew);
      r = a.ex.sm_compareAndSwap(keyLen, oldAt, oldLen, newAt, newLen, expiry);
    } catch (error) {
      throw a.trapped(error);
    }
    return r >= 0 ? r === 1 : fail(r, what);
  }

  /** Deletes `key` if its value is `old` (compared as compareAndSwap compares). A write when it deletes. */
  compareAndDelete(key: K, old: V): boolean {
    const n = this.#n;
    const what = n.compareAndDelete;
    const a = this.#a ?? closed(what);
    a.clock();
    const values = a.values;
    if (old === undefined && !holdsUndefined(values)) {
      a.keys.write(key, a, what); // a key that cannot be stored is still refused
      return false;
    }
    const prepared = values.prepare(old, n.compareAndDeleteOld);
    if (this.#a !== a) closed(what);
    let r: number;
    try {
      const keyLen = a.keys.write(key, a, what);
      const oldAt = align8(keyLen);
      r = a.ex.sm_compareAndDelete(keyLen, oldAt, values.put(old, prepared, a, oldAt, n.compareAndDeleteOld));
    } catch (error) {
      throw a.trapped(error);
    }
    if (r === 1) this.#compactIfDue(a);
    return r >= 0 ? r === 1 : fail(r, what);
  }

  /**
   * Calls `f(key, value)` for each entry, key first as in Go's Range; `f`
   * returning false stops. Order: hash order, which differs between maps and
   * runs (not insertion order). As in Go, no consistent snapshot: no key is
   * visited twice, and a key stored or deleted during the call may or may not
   * be seen. Shard by shard, the present entries are copied out before `f`
   * sees them, so `f` may call any method of the map and holds nothing shared.
   */
  range(f: RangeCallback<K, V>): void {
    const what = this.#n.range;
    if (typeof f !== 'function') throw new SyncMapArgumentError(`${what}: f must be a function`);
    this.#each(f, what);
  }

  /**
   * Calls `callback(value, key, map)` for each entry, value first as Map's
   * forEach does (range() takes the key first). Order and consistency as in
   * range(); there is no stopping early.
   */
  forEach(callback: (value: V, key: K, map: this) => void, thisArg?: unknown): void {
    const what = this.#n.forEach;
    if (typeof callback !== 'function') throw new SyncMapArgumentError(`${what}: callback must be a function`);
    this.#each((key, value) => {
      callback.call(thisArg, value, key, this);
    }, what);
  }

  #each(f: RangeCallback<K, V>, what: string): void {
    const shards = (this.#a ?? closed(what)).shards;
    const batch: unknown[] = [];
    for (let shard = 0; shard < shards; shard++) {
      batch.length = 0;
      this.#collect(shard, batch, what);
      for (let i = 0; i < batch.length; i += 2) {
        if (f(batch[i] as K, batch[i + 1] as V) === false) return;
      }
    }
  }

  /** One shard's entries, decoded, into `batch`; the map may have been closed by a callback meanwhile. */
  #collect(shard: number, batch: unknown[], what: string): void {
    const a = this.#a ?? closed(what);
    a.clock();
    try {
      a.collectShard(shard, batch, what);
    } catch (error) {
      throw a.trapped(error);
    }
  }

  /**
   * Deletes every key, as one step to every thread that writes (see the README's
   * guarantees). Throws SyncMapLockTimeoutError, the map unchanged, if a lock
   * it needs, or an operation under way in another thread, does not move for
   * `lockTimeoutMs`.
   */
  clear(): void {
    const what = this.#n.clear;
    const a = this.#a ?? closed(what);
    let r: number;
    try {
      r = a.ex.sm_clear();
    } catch (error) {
      throw a.trapped(error);
    }
    if (r < 0) fail(r, what);
  }

  /**
   * The number of keys, exact at the moment it is read. In a map with ttlMs, a
   * key whose value has expired counts until it is removed: by a write that
   * meets it, or by the sweeper (startSweeper()); reads never see it.
   */
  get size(): number {
    return this.#size(this.#n.size);
  }

  #size(what: string): number {
    const a = this.#a ?? closed(what);
    let r: number;
    try {
      r = a.ex.sm_size();
    } catch (error) {
      throw a.trapped(error);
    }
    return r >= 0 ? r : fail(r, what);
  }

  /** True if `key` is present. A read: takes no lock and decodes nothing. */
  has(key: K): boolean {
    const what = this.#n.has;
    const a = this.#a ?? closed(what);
    a.clock();
    if (a.cache !== null && a.cache.get(key) !== undefined) return true;
    let r: number;
    try {
      r = a.ex.sm_has(a.keys.write(key, a, what));
    } catch (error) {
      throw a.trapped(error);
    }
    return r >= 0 ? r === 1 : fail(r, what);
  }

  /** The entries as [key, value] pairs; order and consistency as in range(). Throws at once on a closed map. */
  entries(): IterableIterator<[K, V]> {
    return this.#iterate(Yield.Entries, this.#n.entries) as IterableIterator<[K, V]>;
  }

  /** The keys; order and consistency as in range(). */
  keys(): IterableIterator<K> {
    return this.#iterate(Yield.Keys, this.#n.keys) as IterableIterator<K>;
  }

  /** The values, decoded; order and consistency as in range(). */
  values(): IterableIterator<V> {
    return this.#iterate(Yield.Values, this.#n.values) as IterableIterator<V>;
  }

  /** As entries(): `for (const [key, value] of map)`, `new Map(map)`, `[...map]`. */
  [Symbol.iterator](): IterableIterator<[K, V]> {
    return this.#iterate(Yield.Entries, this.#n.iterator) as IterableIterator<[K, V]>;
  }

  #iterate(kind: Yield, what: string): IterableIterator<unknown> {
    const shards = (this.#a ?? closed(what)).shards; // a closed map fails at the call, not at the first next()
    return this.#walk(shards, kind, what);
  }

  *#walk(shards: number, kind: Yield, what: string): Generator<unknown, void, undefined> {
    const batch: unknown[] = [];
    for (let shard = 0; shard < shards; shard++) {
      batch.length = 0;
      this.#collect(shard, batch, what);
      for (let i = 0; i < batch.length; i += 2) {
        yield kind === Yield.Entries ? [batch[i], batch[i + 1]] : kind === Yield.Keys ? batch[i] : batch[i + 1];
      }
    }
  }

  // ── counters and read-modify-write ──

  /**
   * Adds `delta` to the number stored for `key` (or stores `delta` if the key
   * is absent) and returns the new value: atomic, so counters shared by threads
   * need no compareAndSwap loop. For maps with `values: 'number'`. A write.
   */
  add(key: K, delta: number, options?: WriteOptions): number {
    const what = this.#n.add;
    const a = this.#a ?? closed(what);
    if (a.values.kind !== 'number') {
      throw new SyncMapArgumentError(`${what}: add() needs a map created with values: 'number' (this one has '${a.values.kind}')`);
    }
    if (typeof delta !== 'number') throw new SyncMapArgumentError(`${what}: delta must be a number, got ${typeof delta}`);
    const expiry = a.expiry(options, what);
    a.clock();
    if (a.handle.map === 'locked') {
      // The baseline has no add in its core: a compareAndSwap loop, as users of a map + lock would write.
      const add = (current: V | undefined): V => ((((current as unknown as number | undefined) ?? 0) + delta) as unknown as V);
      return this.compute(key, add, options) as unknown as number;
    }
    let r: number;
    try {
      r = a.ex.sm_add(a.keys.write(key, a, what), delta, expiry);
    } catch (error) {
      throw a.trapped(error);
    }
    if (r < 0) fail(r, what);
    return a.f64[a.base >>> 3]!;
  }

  /**
   * Sets `key` to `fn(current)`, atomically: `fn` gets the present value (or
   * undefined, and `present` false) and returns the new one, or undefined to
   * delete the key. If another thread changed the key meanwhile, `fn` runs
   * again with the newer value: it may run more than once, so keep it free of
   * side effects. In particular `fn` must not write `key` itself: its own write
   * changes the key under it, and it would run again, without end. Returns
   * what `fn` returned last. A write.
   */
  compute(key: K, fn: (current: V | undefined, present: boolean) => V | undefined, options?: WriteOptions): V | undefined {
    const what = this.#n.compute;
    if (typeof fn !== 'function') throw new SyncMapArgumentError(`${what}: fn must be a function`);
    for (;;) {
      const a = this.#a ?? closed(what);
      a.clock();
      // The present value's bytes, kept to compare with: compareAndSwap compares encoded bytes.
      let r: number;
      try {
        r = a.ex.sm_load(a.keys.write(key, a, what));
      } catch (error) {
        throw a.trapped(error);
      }
      if (r < ABSENT) fail(r, what);
      const present = r >= 0;
      const oldBytes = present ? a.u8.slice(a.base, a.base + r) : null;
      const current = present ? a.values.decode(oldBytes!, what) : undefined;
      const next = fn(current, present);
      if (next === undefined) {
        if (!present || this.#compareAndDeleteBytes(key, oldBytes!, what)) return undefined;
        continue;
      }
      if (!present) {
        const { loaded } = this.loadOrStore(key, next, options);
        if (!loaded) return next;
        continue;
      }
      if (this.#compareAndSwapBytes(key, oldBytes!, next, what, options)) return next;
    }
  }

  /** compareAndSwap() with the old value as the bytes a load gave. */
  #compareAndSwapBytes(key: K, old: Uint8Array, value: V, what: string, options: WriteOptions | undefined): boolean {
    const a = this.#a ?? closed(what);
    const expiry = a.expiry(options, what);
    const values = a.values;
    const prepared = values.prepare(value, what);
    if (this.#a !== a) closed(what);
    let r: number;
    try {
      const keyLen = a.keys.write(key, a, what);
      const oldAt = align8(keyLen);
      a.ensure(oldAt + old.length);
      a.u8.set(old, a.base + oldAt);
      const newAt = align8(oldAt + old.length);
      const newLen = values.put(value, prepared, a, newAt, what);
      r = a.ex.sm_compareAndSwap(keyLen, oldAt, old.length, newAt, newLen, expiry);
    } catch (error) {
      throw a.trapped(error);
    }
    return r >= 0 ? r === 1 : fail(r, what);
  }

  /** compareAndDelete() with the old value as the bytes a load gave. */
  #compareAndDeleteBytes(key: K, old: Uint8Array, what: string): boolean {
    const a = this.#a ?? closed(what);
    let r: number;
    try {
      const keyLen = a.keys.write(key, a, what);
      const oldAt = align8(keyLen);
      a.ensure(oldAt + old.length);
      a.u8.set(old, a.base + oldAt);
      r = a.ex.sm_compareAndDelete(keyLen, oldAt, old.length);
    } catch (error) {
      throw a.trapped(error);
    }
    if (r === 1) this.#compactIfDue(a);
    return r >= 0 ? r === 1 : fail(r, what);
  }

  // ── expiry ──

  /**
   * Milliseconds the value of `key` has left to live: Infinity if it never
   * expires, 0 if the key is absent (or has expired), as lru-cache's
   * getRemainingTTL answers. A read.
   */
  getRemainingTtl(key: K): number {
    const what = this.#n.getRemainingTtl;
    const a = this.#a ?? closed(what);
    if (a.handle.map === 'locked') return this.has(key) ? Infinity : 0;
    a.core.tick(); // the time now, not as of the last tick: the answer is a duration
    let r: number;
    try {
      r = a.ex.sm_remainingMs(a.keys.write(key, a, what));
    } catch (error) {
      throw a.trapped(error);
    }
    if (r === -1) return Infinity;
    if (r === -2) return 0;
    return r >= 0 ? r : fail(r, what);
  }

  /**
   * Removes expired values in the background, from this thread: every
   * `intervalMs` (default a third of the map's ttlMs, at least 10 ms; 1 s for a
   * map without a default ttlMs), for at most about `maxTickMs` (default 1) of
   * this thread's time per tick, going on where the last tick stopped. The
   * timer is unref'd: it does not keep the process alive. Expired values are
   * invisible to reads at once; the sweeper only gives their memory back (as
   * does any write that meets one). One thread's sweeper serves every thread.
   * Returns a function that stops it; close() stops it too.
   */
  startSweeper(options?: { intervalMs?: number; maxTickMs?: number }): () => void {
    const what = this.#n.startSweeper;
    const a = this.#a ?? closed(what);
    if (!a.core.expires) throw new SyncMapArgumentError(`${what}: the map was created without ttlMs: nothing expires`);
    const o = methodOptions(options, ['intervalMs', 'maxTickMs'], what);
    const ttl = a.defaultTtlMs ?? 0;
    const intervalMs = integerArgument(o.intervalMs, ttl > 0 ? Math.max(10, Math.floor(ttl / 3)) : 1000, 1, 2 ** 31 - 1, `${what}: options.intervalMs`);
    const maxTickMs = integerArgument(o.maxTickMs, 1, 1, 1000, `${what}: options.maxTickMs`);
    this.#stopSweeper?.();
    const timer = setInterval(() => {
      const now = this.#a;
      if (now === null) return;
      now.clock();
      const start = performance.now();
      try {
        // Versioned: once a sweep found no memory for a tombstone, the rest of the tick tries for none.
        let untombed = 0;
        for (;;) {
          const r = now.ex.sm_sweep(SWEEP_SLOTS, untombed);
          // Detached, a pass over the whole map done, or stopped for a merge of free memory under way.
          if (r < 0 || r & (CoreFlag.SWEEP_WRAPPED | CoreFlag.SWEEP_SHORT) || performance.now() - start >= maxTickMs) break;
          if (r & CoreFlag.SWEEP_UNRECORDED) untombed = 1;
        }
      } catch (error) {
        now.trapped(error);
      }
      this.#compactIfDue(now);
    }, intervalMs);
    timer.unref();
    const stop = (): void => {
      clearInterval(timer);
      if (this.#stopSweeper === stop) this.#stopSweeper = undefined;
    };
    this.#stopSweeper = stop;
    return stop;
  }

  #stopSweeper: (() => void) | undefined;

  // ── versions ──

  /**
   * The map's version: the last version a write took (a safe integer: at a
   * million writes a second it stays exact for 285 years). 0 before the first
   * write, and always 0 in a map created without `versioned`.
   */
  get version(): number {
    const a = this.#a ?? closed(this.#n.version);
    return a.handle.versioned ? a.ex.sm_version() : 0;
  }

  /**
   * What changed after version `since`: the keys stored since (`upserts`, with
   * their values) and deleted or expired since (`deletes`), each key once, with
   * its latest change, in version order. `version` is what to ask from next
   * time; `complete` is false when `limit` cut the list short (ask again from
   * `version`). If a deletion after `since` may have left no tombstone
   * (`since` is below the compaction watermark: tombstones compacted away, a
   * clear(), or a delete or expiry that found no memory for its tombstone),
   * the answer is `reset: true` and no changes: take the whole map instead
   * (snapshot()), as an xDS server falls back to the state of the world.
   * Versioned maps only. A read; each shard's lock is held while its changes
   * are copied out.
   */
  changesSince(since: number, options?: { limit?: number }): SyncMapChanges<K, V> {
    const what = this.#n.changesSince;
    const a = this.#a ?? closed(what);
    this.#needVersions(a, what);
    if (typeof since !== 'number' || !Number.isInteger(since) || since < 0) {
      throw new SyncMapArgumentError(`${what}: since must be a version (a whole number from 0), got ${shown(since)}`);
    }
    const limit = integerArgument(methodOptions(options, ['limit'], what).limit, Infinity, 1, Infinity, `${what}: options.limit`);
    const ex = a.ex;
    const version = ex.sm_version();
    // No change to give: a reset (the client takes the whole state), or none since `since`.
    const nothing = (reset: boolean): SyncMapChanges<K, V> => ({ version, reset, complete: !reset, upserts: [], deletes: [] });
    if (since < ex.sm_watermark()) return nothing(true);
    // Nothing has taken a version since `since`: what the walk would find (none
    // at or below `version`), without walking every shard. A client polling with
    // the version it was last given is answered in O(1).
    if (since >= version) return nothing(false);
    a.clock();
    const changes: Change<K>[] = [];
    try {
      for (let shard = 0; shard < a.shards; shard++) a.collectChanges(shard, since, changes, what);
    } catch (error) {
      throw a.trapped(error);
    }
    // A compaction that began after the check above may have removed tombstones
    // this walk would have reported: then this delta is not whole either.
    if (since < ex.sm_watermark()) return nothing(true);
    // Versions taken after `version` was read may show up: leave them for next time.
    const wanted = changes.filter((c) => c.version <= version).sort((x, y) => x.version - y.version);
    const complete = wanted.length <= limit;
    const taken = complete ? wanted : wanted.slice(0, limit);
    const upserts: [K, V][] = [];
    const deletes: K[] = [];
    for (const change of taken) {
      if (change.bytes === null) deletes.push(change.key);
      else upserts.push([change.key, a.values.decode(change.bytes, what)]);
    }
    return { version: complete ? version : taken[taken.length - 1]!.version, reset: false, complete, upserts, deletes };
  }

  /**
   * Blocks this thread until the map's version passes `since`, or `timeoutMs`
   * passes (default: forever); returns the version then (still `since` on a
   * timeout). For workers (long-poll, streaming): on the main thread it blocks
   * the event loop, so use waitForChangeAsync there. Versioned maps only.
   */
  waitForChange(since: number, timeoutMs?: number): number {
    const what = this.#n.waitForChange;
    const a = this.#a ?? closed(what);
    this.#needVersions(a, what);
    const word = this.#versionWord(a);
    const deadline = timeoutMs === undefined ? Infinity : performance.now() + timeoutMs;
    for (;;) {
      const version = Number(Atomics.load(word.view, word.index));
      if (version !== since) return version;
      const left = deadline - performance.now();
      if (left <= 0) return version;
      Atomics.wait(word.view, word.index, BigInt(since), left === Infinity ? undefined : left);
    }
  }

  /** As waitForChange(), without blocking: resolves when the version passes `since` or `timeoutMs` passes. */
  async waitForChangeAsync(since: number, timeoutMs?: number): Promise<number> {
    const what = this.#n.waitForChangeAsync;
    const a = this.#a ?? closed(what);
    this.#needVersions(a, what);
    const word = this.#versionWord(a);
    const deadline = timeoutMs === undefined ? Infinity : performance.now() + timeoutMs;
    for (;;) {
      const version = Number(Atomics.load(word.view, word.index));
      if (version !== since) return version;
      const left = deadline - performance.now();
      if (left <= 0) return version;
      const wait = waitAsync64(word.view, word.index, BigInt(since), left === Infinity ? undefined : left);
      if (!wait.async) continue;
      // A pending Atomics.waitAsync holds nothing on Node's event loop: a timer
      // keeps the process alive until the timeout, as a caller awaiting it expects.
      const alive = left === Infinity ? undefined : setTimeout(() => {}, left + 100);
      try {
        await wait.value;
      } finally {
        if (alive !== undefined) clearTimeout(alive);
      }
    }
  }

  #versionWord(a: Attachment<K, V>): { view: BigInt64Array; index: number } {
    const at = a.ex.sm_versionWord();
    return { view: new BigInt64Array(a.handle.memory.buffer), index: at >>> 3 };
  }

  /**
   * Removes the tombstones of versions up to `lowWatermark` (deletions every
   * client has seen), which becomes the map's watermark: a delta asked from
   * below it answers `reset: true`. Returns how many it removed. The map also
   * compacts by itself, up to setLowWatermark()'s version, once tombstones pass
   * 1024 or 5% of its keys. A write (it holds each shard's lock in turn).
   */
  compact(lowWatermark: number): number {
    const what = this.#n.compact;
    const a = this.#a ?? closed(what);
    this.#needVersions(a, what);
    if (typeof lowWatermark !== 'number' || !Number.isInteger(lowWatermark) || lowWatermark < 0) {
      throw new SyncMapArgumentError(`${what}: lowWatermark must be a version (a whole number from 0), got ${shown(lowWatermark)}`);
    }
    let r: number;
    try {
      r = a.ex.sm_compact(lowWatermark, 1);
    } catch (error) {
      throw a.trapped(error);
    }
    return r >= 0 ? r : fail(r, what);
  }

  /**
   * Records that every client has seen the changes up to `version` (it only
   * ever rises): the map's own compaction, when tombstones pile up, removes
   * those at or below it, from this thread's event loop if they are due.
   * Returns the low watermark in force.
   */
  setLowWatermark(version: number): number {
    const what = this.#n.setLowWatermark;
    const a = this.#a ?? closed(what);
    this.#needVersions(a, what);
    if (typeof version !== 'number' || !Number.isInteger(version) || version < 0) {
      throw new SyncMapArgumentError(`${what}: version must be a whole number from 0, got ${shown(version)}`);
    }
    const low = a.ex.sm_setLowWatermark(version);
    this.#compactIfDue(a);
    return low;
  }

  #needVersions(a: Attachment<K, V>, what: string): void {
    if (!a.handle.versioned) throw new SyncMapArgumentError(`${what}: the map was created without versioned: true`);
  }

  /**
   * After a delete, an expiry or a raise of the low watermark in a versioned
   * map: once tombstones pass 1024 or 5% of the keys, compact up to the low
   * watermark, off this call's path (on this thread's event loop: a thread that
   * deletes in a loop that never yields leaves it to the one raising the low
   * watermark).
   */
  #compactIfDue(a: Attachment<K, V>): void {
    if (!a.handle.versioned || this.#compactionQueued) return;
    const tombstones = a.ex.sm_tombstones();
    if (tombstones < COMPACT_TOMBSTONES && tombstones < COMPACT_SHARE * a.ex.sm_size()) return;
    // Nothing it could remove that the last one left (see #compactedFor).
    // (It walked every shard under its lock once per event-loop turn with a
    // delete while clients lagged: 1.9 ms a turn at 100k keys.)
    if (a.ex.sm_setLowWatermark(0) === this.#compactedFor) return; // reads it: it never falls
    this.#compactionQueued = true;
    setImmediate(() => {
      this.#compactionQueued = false;
      const now = this.#a;
      if (now === null) return;
      try {
        const version = now.ex.sm_version(); // before: a tombstone made during the walk is newer
        const upTo = now.ex.sm_setLowWatermark(0);
        const r = now.ex.sm_compact(upTo, 0); // skips a busy shard (assembly/map.ts, mapCompact)
        if (r >= 0) this.#compactedFor = (r & CoreFlag.COMPACT_SKIPPED) === 0 && upTo <= version ? upTo : -1;
      } catch (error) {
        now.trapped(error);
      }
    }).unref();
  }

  #compactionQueued = false;
  /**
   * A low watermark at which this object's last automatic compaction left
   * nothing for another to remove, or -1. Set when it passed no shard over and
   * went up to a low watermark no higher than the map's version just before:
   * every tombstone made since has a newer version, above that watermark, so
   * until the low watermark rises another walk would find nothing.
   */
  #compactedFor = -1;

  // ── snapshot ──

  /**
   * A copy of the whole map at one moment, as a plain Map (with the map's
   * `version` at that moment, 0 when not versioned): unlike range(), a
   * linearizable read of every key together. Every write, in every thread,
   * waits while the entries are copied out (not while they are decoded).
   * Throws SyncMapLockTimeoutError, the map unchanged, if a shard's lock or an
   * operation under way in another thread does not move for `lockTimeoutMs`
   * (its thread may have died, its death not yet recorded).
   */
  snapshot(): SyncMapSnapshot<K, V> {
    const what = this.#n.snapshot;
    const a = this.#a ?? closed(what);
    a.clock();
    const pairs: unknown[] = [];
    let version: number;
    try {
      version = a.snapshotInto(pairs, what);
    } catch (error) {
      throw a.trapped(error);
    }
    const copy = new SyncMapSnapshot<K, V>(a.handle.versioned ? version : 0);
    for (let i = 0; i < pairs.length; i += 2) copy.set(pairs[i] as K, pairs[i + 1] as V);
    return copy;
  }

  /** @internal The metrics' hook (prometheus.ts): times one load in `every`, passing seconds and hit. */
  static [kSampleLoads](map: ConcurrentMap<unknown, unknown>, sampler: LoadSampler | null): void {
    const a = map.#a ?? closed(map.#n.load);
    a.sampler = sampler;
  }

  // ── lifecycle and introspection ──

  /**
   * Counters of the whole map, every thread's (each thread counts its own
   * operations in its own slot, so counting costs a load no shared write).
   * With `{ shards: true }`, also each shard's keys and lock acquisitions.
   */
  stats(options?: { shards?: boolean }): SyncMapStats {
    const what = this.#n.stats;
    const a = this.#a ?? closed(what);
    const perShard = booleanOption(methodOptions(options, ['shards'], what), 'shards', what);
    a.reapDead(); // so that `threads` counts only live ones
    const size = this.#size(what);
    const ex = a.ex;
    try {
      // Counters only grow: reading the part (cache hits) before the whole (hits) keeps it the smaller.
      const cacheHits = ex.sm_stat(Stat.CACHE_HITS);
      const misses = ex.sm_stat(Stat.MISSES);
      const hits = ex.sm_stat(Stat.HITS);
      const stats: SyncMapStats = {
        size,
        bytesInUse: ex.sm_stat(Stat.BYTES_IN_USE),
        scratchBytes: ex.sm_stat(Stat.SCRATCH_BYTES),
        spareScratchBytes: ex.sm_stat(Stat.SPARE_SCRATCH_BYTES),
        heapBytes: ex.sm_stat(Stat.HEAP_BYTES),
        maxMemoryBytes: a.handle.maxMemoryBytes,
        threads: ex.sm_stat(Stat.THREADS),
        shards: a.shards,
        epochAdvances: ex.sm_stat(Stat.EPOCH_ADVANCES),
        locksRecovered: ex.sm_stat(Stat.LOCKS_RECOVERED),
        loads: hits + misses,
        hits,
        misses,
        cacheHits,
        slowLoads: ex.sm_stat(Stat.SLOW_LOADS),
        promotions: ex.sm_stat(Stat.PROMOTIONS),
        lockAcquisitions: ex.sm_stat(Stat.LOCKS),
        lockContentions: ex.sm_stat(Stat.CONTENDED),
        lockWaitMs: ex.sm_stat(Stat.WAIT_MICROS) / 1000,
        writes: ex.sm_stat(Stat.WRITES),
        expirations: ex.sm_stat(Stat.EXPIRED),
        tombstones: Math.max(0, ex.sm_tombstones()),
        compactions: ex.sm_stat(Stat.COMPACTED),
        version: a.handle.versioned ? ex.sm_version() : 0,
        coalesces: ex.sm_stat(Stat.COALESCES),
      };
      if (perShard) {
        stats.perShard = Array.from({ length: a.shards }, (_, i) => ({
          size: ex.sm_shardSize(i),
          lockAcquisitions: ex.sm_shardLockTakes(i),
        }));
      }
      return stats;
    } catch (error) {
      throw a.trapped(error);
    }
  }

  /** True once close() has been called on this object (the map itself lives on for other threads). */
  get closed(): boolean {
    return this.#a === null;
  }

  /**
   * Detaches this thread from the map and frees its slot and scratch. The map
   * lives on for the other threads, and its handle still attaches. Further calls
   * on this object throw ERR_SYNCMAP_CLOSED; close() itself may be called again.
   */
  close(): void {
    const a = this.#a;
    if (a === null) return;
    this.#stopSweeper?.();
    try {
      a.close();
      finalizer.unregister(a);
      unregisterOpen(a);
    } catch (error) {
      if (a.open) throw error; // before anything changed (a stack overflow): still open
      this.#a = null;
      // At the very edge of the stack, an overflow after the attachment let go
      // of its core: this thread's watch detaches the core (attachment.ts).
      // Not `instanceof`, which calls Symbol.hasInstance and can overflow too.
      if ((error as object | null)?.constructor !== RangeError) throw error;
      return;
    }
    this.#a = null;
  }

  /** close(), for `using map = SyncMap.createSync()`: the attachment is closed when the block ends. */
  [Symbol.dispose](): void {
    this.close();
  }

  /**
   * How util.inspect and console.log show the map: as a Map, with its size and
   * its first entries (util.inspect's depth and maxArrayLength apply), e.g.
   * `SyncMap(2) { 'a' => 1, 'b' => 2 }`; a closed one as `SyncMap { <closed> }`.
   */
  [inspect.custom](depth: number, options: InspectorOptions, show: typeof inspect = inspect): string {
    if (!(#a in this)) return 'ConcurrentMap {}'; // the prototype
    const n = this.#n;
    const cls = n.cls;
    if (this.#a === null) return `${cls} { ${options.stylize('<closed>', 'special')} }`;
    if (depth < 0) return options.stylize(`[${cls}]`, 'special');
    const size = this.#size(n.size);
    const start = `${cls}(${size})`;
    const inner = { ...options, depth: options.depth === null || options.depth === undefined ? options.depth : depth - 1 };
    const max = Math.max(0, options.maxArrayLength ?? INSPECT_MAX_ENTRIES);
    const lines: string[] = [];
    let shown = 0;
    try {
      for (const [key, value] of this.#walk(this.#a.shards, Yield.Entries, n.entries) as Iterable<[K, V]>) {
        if (shown === max) break;
        lines.push(`${show(key, inner)} => ${show(value, inner)}`);
        shown++;
      }
    } catch (error) {
      lines.push(options.stylize(`<entries not shown: ${error instanceof Error ? error.message : String(error)}>`, 'special'));
    }
    if (size > shown && shown === max) lines.push(`... ${size - shown} more item${size - shown === 1 ? '' : 's'}`);
    if (lines.length === 0) return `${start} {}`;
    const oneLine = `${start} { ${lines.join(', ')} }`;
    const breakLength = options.breakLength ?? 80;
    if (oneLine.length <= breakLength && !oneLine.includes('\n')) return oneLine;
    return `${start} {\n  ${lines.map((line) => line.replaceAll('\n', '\n  ')).join(',\n  ')}\n}`;
  }

  static {
    coreOf = (map) => (map.#a ?? closed('coreOf')).ex;
    setRecoverOnTrap = (map, on) => {
      (map.#a ?? closed('setRecoverOnTrap')).core.recoverOnTrap = on;
    };
    abandon = (map) => {
      const a = map.#a;
      if (a === null) return;
      map.#a = null;
      finalizer.unregister(a);
      unregisterOpen(a);
    };
  }
}

/**
 * A concurrent map with the semantics of Go's sync.Map, shared by any number of
 * threads: create it in one, pass `handle` to others, `attach` there.
 *
 * Use it for hot state that several threads read far more often than they
 * write. Reads (load, get, has) take no lock and copy nothing between threads.
 * A write is visible to every thread as soon as the call that made it returns.
 * See ConcurrentMap for where it differs from a Map.
 */
export class SyncMap<K = string, V = unknown> extends ConcurrentMap<K, V> {
  /**
   * Creates a new map, compiling the core off the main thread's critical path on
   * first use. K and V follow from the `keys` and `values` options (string keys
   * and 'structured' values, typed unknown, by default), or are given:
   * `create<string, Pod>()`. Type arguments that the defaults cannot hold need
   * their option: `create<number, string>({ keys: 'number' })`.
   */
  static create<O extends SyncMapOptions = {}>(options?: NoExtraOptions<O, SyncMapOptions>): Promise<SyncMap<InferredKey<O>, InferredValue<O>>>;
  static create<K = string, V = unknown>(...options: OptionsArgument<OptionsFor<SyncMapOptions<V>, K, V>>): Promise<SyncMap<K, V>>;
  static async create<K, V>(options?: SyncMapOptions<V>): Promise<SyncMap<K, V>> {
    const resolved = resolveOptions<K, V>(options, 'SyncMap.create', 'sync');
    return new SyncMap<K, V>(createAttachment(await coreModule(), resolved, 'sync'));
  }

  /** Creates a new map synchronously (compiling the core on first use); K and V as in create(). */
  static createSync<O extends SyncMapOptions = {}>(options?: NoExtraOptions<O, SyncMapOptions>): SyncMap<InferredKey<O>, InferredValue<O>>;
  static createSync<K = string, V = unknown>(...options: OptionsArgument<OptionsFor<SyncMapOptions<V>, K, V>>): SyncMap<K, V>;
  static createSync<K, V>(options?: SyncMapOptions<V>): SyncMap<K, V> {
    return new SyncMap<K, V>(createAttachment(coreModuleSync(), resolveOptions<K, V>(options, 'SyncMap.createSync', 'sync'), 'sync', 'SyncMap.createSync'));
  }

  /**
   * Attaches this thread to the map behind `handle` (another thread's
   * `map.handle`, received through workerData or postMessage). Synchronous;
   * the result reads and writes the very same map. A map created with a codec
   * of its own needs it again in `options.values`. Close it (or let the worker
   * exit) when done: each attachment holds a thread slot.
   */
  static attach<K = string, V = unknown>(handle: SyncMapHandle, options?: AttachOptions<V>): SyncMap<K, V> {
    checkHandleArgument(handle, 'SyncMap.attach');
    return new SyncMap<K, V>(attachTo<K, V>(handle, options, threadId, 'sync'));
  }

  /** @internal */
  static [kCreateWithBuild]<K, V>(build: CoreBuild, options?: SyncMapOptions<V>): SyncMap<K, V> {
    return new SyncMap<K, V>(createAttachment(coreModuleSync(build), resolveOptions<K, V>(options, 'SyncMap.create', 'sync'), 'sync'));
  }

  /** @internal Attaches under another thread's id, so that tests can play a thread that dies. */
  static [kAttachAs]<K, V>(handle: SyncMapHandle, asThread: number): SyncMap<K, V> {
    return new SyncMap<K, V>(attachTo<K, V>(handle, undefined, asThread, 'sync'));
  }

  get [Symbol.toStringTag](): string {
    return NAMES.sync.cls;
  }
}

/**
 * The baseline SyncMap is measured against: the same hash table, entries and
 * allocator behind one reader-writer lock, as a Go map + sync.RWMutex (Go's
 * reference RWMutexMap). Loads take the read lock; every other operation takes
 * the write lock. Same API and options as SyncMap (`shards` does not apply).
 * Not crash-safe: a thread terminated while holding the lock blocks the map.
 */
export class LockedMap<K = string, V = unknown> extends ConcurrentMap<K, V> {
  /** Creates a new map; K and V as in SyncMap.create(). */
  static create<O extends LockedMapOptions = {}>(options?: NoExtraOptions<O, LockedMapOptions>): Promise<LockedMap<InferredKey<O>, InferredValue<O>>>;
  static create<K = string, V = unknown>(...options: OptionsArgument<OptionsFor<LockedMapOptions<V>, K, V>>): Promise<LockedMap<K, V>>;
  static async create<K, V>(options?: LockedMapOptions<V>): Promise<LockedMap<K, V>> {
    const resolved = resolveOptions<K, V>(options, 'LockedMap.create', 'locked');
    return new LockedMap<K, V>(createAttachment(await coreModule(), resolved, 'locked'));
  }

  /** Creates a new map synchronously; K and V as in SyncMap.create(). */
  static createSync<O extends LockedMapOptions = {}>(options?: NoExtraOptions<O, LockedMapOptions>): LockedMap<InferredKey<O>, InferredValue<O>>;
  static createSync<K = string, V = unknown>(...options: OptionsArgument<OptionsFor<LockedMapOptions<V>, K, V>>): LockedMap<K, V>;
  static createSync<K, V>(options?: LockedMapOptions<V>): LockedMap<K, V> {
    return new LockedMap<K, V>(createAttachment(coreModuleSync(), resolveOptions<K, V>(options, 'LockedMap.createSync', 'locked'), 'locked', 'LockedMap.createSync'));
  }

  /** Attaches this thread to the LockedMap behind `handle`, as SyncMap.attach() does. */
  static attach<K = string, V = unknown>(handle: SyncMapHandle, options?: LockedAttachOptions<V>): LockedMap<K, V> {
    checkHandleArgument(handle, 'LockedMap.attach');
    return new LockedMap<K, V>(attachTo<K, V>(handle, options, threadId, 'locked'));
  }

  get [Symbol.toStringTag](): string {
    return NAMES.locked.cls;
  }
}
