/**
 * SyncMap: Go's sync.Map for JavaScript threads, over one shared memory.
 *
 * The public class is a thin shell: it checks its arguments, encodes keys and
 * values into this thread's scratch region (codecs.ts), makes one call into the
 * Wasm core (assembly/abi.ts), and decodes the answer. All state shared between
 * threads lives in the core's memory; `Attachment` (attachment.ts) is this
 * thread's view of it.
 */
import { threadId } from 'node:worker_threads';
import { SyncMapArgumentError, SyncMapClosedError, statusError } from './errors.js';
import { Stat, coreModule, coreModuleSync, type CoreBuild, type CoreExports } from './instance.js';
import { registerOpen, unregisterOpen, type SyncMapHandle } from './sharing.js';
import { Status } from './status.js';
import { Attachment, attachTo, createAttachment } from './attachment.js';
import {
  resolveOptions,
  type AttachOptions,
  type InferredKey,
  type InferredValue,
  type LockedMapOptions,
  type NoExtraOptions,
  type OptionsFor,
  type RangeCallback,
  type SyncMapOptions,
  type SyncMapStats,
} from './options.js';

export type {
  AttachOptions,
  InferredKey,
  InferredValue,
  KeyKindFor,
  LockedMapOptions,
  NoExtraOptions,
  OptionsFor,
  RangeCallback,
  SyncMapOptions,
  SyncMapStats,
  ValueKindFor,
} from './options.js';

const ABSENT = Status.ABSENT;
const align8 = (n: number): number => (n + 7) & ~7;

/** @internal Lets bindings/internal.ts create maps over the debug build of the core. */
export const kCreateWithBuild = Symbol('syncmap-wasm.createWithBuild');
/** @internal Lets bindings/internal.ts attach under a made-up thread id. */
export const kAttachAs = Symbol('syncmap-wasm.attachAs');

function closed(what: string): never {
  throw new SyncMapClosedError(`${what}: the map is closed`);
}

function fail(status: number, what: string): never {
  throw statusError(status, what);
}

const finalizer = new FinalizationRegistry<Attachment<unknown, unknown>>((attachment) => {
  unregisterOpen(attachment);
  attachment.close();
});

// ── the public classes ─────────────────────────────────────────────────────

/** @internal The core's exports behind a map, for bindings/internal.ts (set by the class below). */
export let coreOf: (map: ConcurrentMap<unknown, unknown>) => CoreExports;
/** @internal Drops a map without detaching it, as if its thread had died (set by the class below). */
export let abandon: (map: ConcurrentMap<unknown, unknown>) => void;

/**
 * What SyncMap and LockedMap share: every method. One object is one thread's
 * attachment to a map that lives in a shared memory.
 */
export abstract class ConcurrentMap<K, V> implements Iterable<[K, V]> {
  #a: Attachment<K, V> | null;

  /**
   * Use the subclasses' create, createSync and attach. Protected rather than
   * marked internal: stripped from the .d.ts, it would give SyncMap a public
   * constructor.
   */
  protected constructor(attachment: object) {
    const a = attachment as Attachment<K, V>;
    this.#a = a;
    registerOpen(a, a.handle.registry);
    finalizer.register(this, a as Attachment<unknown, unknown>, a);
  }

  /** What another thread passes to attach() to reach this map. */
  get handle(): SyncMapHandle {
    return (this.#a ?? closed('SyncMap.handle')).handle;
  }

  /** The value for the key, or undefined. */
  load(key: K): V | undefined {
    const a = this.#a ?? closed('SyncMap.load');
    const r = a.ex.sm_load(a.keys.write(key, a, 'SyncMap.load'));
    if (r >= 0) return a.values.read(a, 0, r, 'SyncMap.load');
    if (r === ABSENT) return undefined;
    return fail(r, 'SyncMap.load');
  }

  /** Sets the value for the key. */
  store(key: K, value: V): void {
    const a = this.#a ?? closed('SyncMap.store');
    const keyLen = a.keys.write(key, a, 'SyncMap.store');
    const at = align8(keyLen);
    const r = a.ex.sm_swap(keyLen, at, a.values.write(value, a, at, 'SyncMap.store'), 0, 0);
    if (r < ABSENT) fail(r, 'SyncMap.store');
  }

  /** The present value if there is one (loaded); otherwise stores `value` and returns it. */
  loadOrStore(key: K, value: V): { value: V; loaded: boolean } {
    const a = this.#a ?? closed('SyncMap.loadOrStore');
    const keyLen = a.keys.write(key, a, 'SyncMap.loadOrStore');
    const at = align8(keyLen);
    const r = a.ex.sm_loadOrStore(keyLen, at, a.values.write(value, a, at, 'SyncMap.loadOrStore'), 0);
    if (r >= 0) return { value: a.values.read(a, 0, r, 'SyncMap.loadOrStore'), loaded: true };
    if (r === ABSENT) return { value, loaded: false };
    return fail(r, 'SyncMap.loadOrStore');
  }

  /** Deletes the key, returning the value it had. */
  loadAndDelete(key: K): { value: V | undefined; loaded: boolean } {
    const a = this.#a ?? closed('SyncMap.loadAndDelete');
    const r = a.ex.sm_delete(a.keys.write(key, a, 'SyncMap.loadAndDelete'), 1);
    if (r >= 0) return { value: a.values.read(a, 0, r, 'SyncMap.loadAndDelete', 'delete'), loaded: true };
    if (r === ABSENT) return { value: undefined, loaded: false };
    return fail(r, 'SyncMap.loadAndDelete');
  }

  /** Deletes the key; true if it was present. */
  delete(key: K): boolean {
    const a = this.#a ?? closed('SyncMap.delete');
    const r = a.ex.sm_delete(a.keys.write(key, a, 'SyncMap.delete'), 0);
    if (r >= 0) return true;
    if (r === ABSENT) return false;
    return fail(r, 'SyncMap.delete');
  }

  /** Sets the value for the key, returning the previous one. */
  swap(key: K, value: V): { previous: V | undefined; loaded: boolean } {
    const a = this.#a ?? closed('SyncMap.swap');
    const keyLen = a.keys.write(key, a, 'SyncMap.swap');
    const at = align8(keyLen);
    const r = a.ex.sm_swap(keyLen, at, a.values.write(value, a, at, 'SyncMap.swap'), 1, 0);
    if (r >= 0) return { previous: a.values.read(a, 0, r, 'SyncMap.swap', 'swap'), loaded: true };
    if (r === ABSENT) return { previous: undefined, loaded: false };
    return fail(r, 'SyncMap.swap');
  }

  /**
   * Replaces the key's value with `value` if it is `old`, compared as encoded
   * bytes (for 'json', the same JSON text: key order matters). A missing key is
   * never stored.
   */
  compareAndSwap(key: K, old: V, value: V): boolean {
    const a = this.#a ?? closed('SyncMap.compareAndSwap');
    const keyLen = a.keys.write(key, a, 'SyncMap.compareAndSwap');
    const oldAt = align8(keyLen);
    const oldLen = a.values.write(old, a, oldAt, 'SyncMap.compareAndSwap (old)');
    const newAt = align8(oldAt + oldLen);
    const newLen = a.values.write(value, a, newAt, 'SyncMap.compareAndSwap (new)');
    const r = a.ex.sm_compareAndSwap(keyLen, oldAt, oldLen, newAt, newLen, 0);
    return r >= 0 ? r === 1 : fail(r, 'SyncMap.compareAndSwap');
  }

  /** Deletes the key if its value is `old` (compared as encoded bytes). */
  compareAndDelete(key: K, old: V): boolean {
    const a = this.#a ?? closed('SyncMap.compareAndDelete');
    const keyLen = a.keys.write(key, a, 'SyncMap.compareAndDelete');
    const oldAt = align8(keyLen);
    const r = a.ex.sm_compareAndDelete(keyLen, oldAt, a.values.write(old, a, oldAt, 'SyncMap.compareAndDelete (old)'));
    return r >= 0 ? r === 1 : fail(r, 'SyncMap.compareAndDelete');
  }

  /**
   * Calls `f` for each key and value; `f` returning false stops. As in Go, no
   * consistent snapshot: no key is visited twice, and a key stored or deleted
   * during the call may or may not be seen. `f` may call any method of the map.
   * Shard by shard, the present entries are copied out before `f` sees them.
   */
  range(f: RangeCallback<K, V>): void {
    if (typeof f !== 'function') throw new SyncMapArgumentError('SyncMap.range: f must be a function');
    const a = this.#a ?? closed('SyncMap.range');
    const batch: unknown[] = [];
    for (let shard = 0; shard < a.shards; shard++) {
      batch.length = 0;
      (this.#a ?? closed('SyncMap.range')).collectShard(shard, batch, 'SyncMap.range');
      for (let i = 0; i < batch.length; i += 2) {
        if (f(batch[i] as K, batch[i + 1] as V) === false) return;
      }
    }
  }

  /** Deletes every key. */
  clear(): void {
    const a = this.#a ?? closed('SyncMap.clear');
    const r = a.ex.sm_clear();
    if (r < 0) fail(r, 'SyncMap.clear');
  }

  /** The number of present keys, exact at the moment it is read. */
  get size(): number {
    const a = this.#a ?? closed('SyncMap.size');
    const r = a.ex.sm_size();
    return r >= 0 ? r : fail(r, 'SyncMap.size');
  }

  // ── Map ergonomics ──

  get(key: K): V | undefined {
    return this.load(key);
  }

  set(key: K, value: V): this {
    this.store(key, value);
    return this;
  }

  has(key: K): boolean {
    const a = this.#a ?? closed('SyncMap.has');
    const r = a.ex.sm_has(a.keys.write(key, a, 'SyncMap.has'));
    return r >= 0 ? r === 1 : fail(r, 'SyncMap.has');
  }

  forEach(callback: (value: V, key: K, map: this) => void, thisArg?: unknown): void {
    if (typeof callback !== 'function') throw new SyncMapArgumentError('SyncMap.forEach: callback must be a function');
    this.range((key, value) => {
      callback.call(thisArg, value, key, this);
    });
  }

  /** Entries, shard by shard, weakly consistent as range() is. */
  *entries(): IterableIterator<[K, V]> {
    const shards = (this.#a ?? closed('SyncMap.entries')).shards;
    const batch: unknown[] = [];
    for (let shard = 0; shard < shards; shard++) {
      batch.length = 0;
      (this.#a ?? closed('SyncMap.entries')).collectShard(shard, batch, 'SyncMap.entries');
      for (let i = 0; i < batch.length; i += 2) yield [batch[i] as K, batch[i + 1] as V];
    }
  }

  *keys(): IterableIterator<K> {
    for (const [key] of this.entries()) yield key;
  }

  *values(): IterableIterator<V> {
    for (const [, value] of this.entries()) yield value;
  }

  [Symbol.iterator](): IterableIterator<[K, V]> {
    return this.entries();
  }

  // ── lifecycle and introspection ──

  /** Counters of the whole map (all threads). */
  stats(): SyncMapStats {
    const a = this.#a ?? closed('SyncMap.stats');
    a.reapDead(); // so that `threads` counts only live ones
    return {
      size: this.size,
      bytesInUse: a.ex.sm_stat(Stat.BYTES_IN_USE),
      scratchBytes: a.ex.sm_stat(Stat.SCRATCH_BYTES),
      heapBytes: a.ex.sm_stat(Stat.HEAP_BYTES),
      maxMemoryBytes: a.handle.maxMemoryBytes,
      threads: a.ex.sm_stat(Stat.THREADS),
      shards: a.shards,
      epochAdvances: a.ex.sm_stat(Stat.EPOCH_ADVANCES),
      locksRecovered: a.ex.sm_stat(Stat.LOCKS_RECOVERED),
    };
  }

  /** True once close() has been called. */
  get closed(): boolean {
    return this.#a === null;
  }

  /**
   * Detaches this thread from the map and frees its slot and scratch. The map
   * lives on for the other threads. Further calls on this object throw
   * ERR_SYNCMAP_CLOSED; close() itself may be called again.
   */
  close(): void {
    const a = this.#a;
    if (a === null) return;
    this.#a = null;
    finalizer.unregister(a);
    unregisterOpen(a);
    a.close();
  }

  static {
    coreOf = (map) => (map.#a ?? closed('coreOf')).ex;
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
 * Reads (load, get, has) take no lock and copy nothing between threads. A write
 * is visible to every thread as soon as the call that made it returns.
 */
export class SyncMap<K = string, V = unknown> extends ConcurrentMap<K, V> {
  /**
   * Creates a new map (compiling the core off the critical path on first use).
   * K and V follow from `keys` and `values` (string and unknown by default),
   * or are given: create<string, Pod>({ values: 'json' }).
   */
  static create<O extends SyncMapOptions = {}>(options?: NoExtraOptions<O, SyncMapOptions>): Promise<SyncMap<InferredKey<O>, InferredValue<O>>>;
  static create<K = string, V = unknown>(options?: OptionsFor<SyncMapOptions<V>, K, V>): Promise<SyncMap<K, V>>;
  static async create<K, V>(options?: SyncMapOptions<V>): Promise<SyncMap<K, V>> {
    const resolved = resolveOptions<K, V>(options, 'SyncMap.create', 'sync');
    return new SyncMap<K, V>(createAttachment(await coreModule(), resolved, 'sync'));
  }

  /** Creates a new map synchronously; K and V as in create(). */
  static createSync<O extends SyncMapOptions = {}>(options?: NoExtraOptions<O, SyncMapOptions>): SyncMap<InferredKey<O>, InferredValue<O>>;
  static createSync<K = string, V = unknown>(options?: OptionsFor<SyncMapOptions<V>, K, V>): SyncMap<K, V>;
  static createSync<K, V>(options?: SyncMapOptions<V>): SyncMap<K, V> {
    return new SyncMap<K, V>(createAttachment(coreModuleSync(), resolveOptions<K, V>(options, 'SyncMap.createSync', 'sync'), 'sync'));
  }

  /**
   * Attaches to the map behind `handle` (from another thread's `map.handle`).
   * Synchronous; the result reads and writes the very same map.
   */
  static attach<K = string, V = unknown>(handle: SyncMapHandle, options?: AttachOptions<V>): SyncMap<K, V> {
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
    return 'SyncMap';
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
  static create<K = string, V = unknown>(options?: OptionsFor<LockedMapOptions<V>, K, V>): Promise<LockedMap<K, V>>;
  static async create<K, V>(options?: LockedMapOptions<V>): Promise<LockedMap<K, V>> {
    const resolved = resolveOptions<K, V>(options, 'LockedMap.create', 'locked');
    return new LockedMap<K, V>(createAttachment(await coreModule(), resolved, 'locked'));
  }

  /** Creates a new map synchronously; K and V as in SyncMap.create(). */
  static createSync<O extends LockedMapOptions = {}>(options?: NoExtraOptions<O, LockedMapOptions>): LockedMap<InferredKey<O>, InferredValue<O>>;
  static createSync<K = string, V = unknown>(options?: OptionsFor<LockedMapOptions<V>, K, V>): LockedMap<K, V>;
  static createSync<K, V>(options?: LockedMapOptions<V>): LockedMap<K, V> {
    return new LockedMap<K, V>(createAttachment(coreModuleSync(), resolveOptions<K, V>(options, 'LockedMap.createSync', 'locked'), 'locked'));
  }

  static attach<K = string, V = unknown>(handle: SyncMapHandle, options?: AttachOptions<V>): LockedMap<K, V> {
    return new LockedMap<K, V>(attachTo<K, V>(handle, options, threadId, 'locked'));
  }

  get [Symbol.toStringTag](): string {
    return 'LockedMap';
  }
}
