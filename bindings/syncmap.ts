/**
 * SyncMap: Go's sync.Map for JavaScript threads, over one shared memory.
 *
 * The public class is a thin shell: it checks its arguments, encodes keys and
 * values into this thread's scratch region (codecs.ts), makes one call into the
 * Wasm core (assembly/abi.ts), and decodes the answer. All state shared between
 * threads lives in the core's memory; the private `Attachment` below is this
 * thread's view of it.
 */
import { threadId } from 'node:worker_threads';
import {
  CUSTOM_VALUE_ID,
  customValues,
  keyCodecs,
  valueMarshals,
  type KeyCodec,
  type KeyKind,
  type KeyOf,
  type Scratch,
  type ValueCodec,
  type ValueKind,
  type ValueMarshal,
  type ValueOf,
} from './codecs.js';
import {
  SyncMapArgumentError,
  SyncMapClosedError,
  SyncMapInvalidHandleError,
  statusError,
} from './errors.js';
import { Stat, coreModule, coreModuleSync, instantiate, type CoreBuild, type CoreExports } from './instance.js';
import {
  HANDLE_KIND,
  MAX_MEMORY_BYTES,
  checkHandle,
  createMemory,
  registerOpen,
  unregisterOpen,
  type SyncMapHandle,
} from './sharing.js';
import { LAYOUT_VERSION, Status } from './status.js';

/** Options of SyncMap.create() and SyncMap.createSync(). */
export interface SyncMapOptions<V = unknown> {
  /** How keys are encoded: 'string' (UTF-8, the default), 'number' (float64) or 'bytes' (Uint8Array). */
  keys?: KeyKind;
  /**
   * How values are encoded: 'json' (the default), 'string', 'bytes', 'number',
   * 'v8' (structured clone, node:v8), or a codec of your own, which every
   * attach() must be given again.
   */
  values?: ValueKind | ValueCodec<V>;
  /** The most memory the map may use, shared by all threads. Default 1 GiB, at most 4 GiB - 64 KiB. */
  maxMemoryBytes?: number;
  /** Independent shards (a power of two, 1 to 1024). Default 32. */
  shards?: number;
  /** The longest key, encoded. Default 4096, at most 1 MiB. */
  maxKeyBytes?: number;
  /** The longest value, encoded. Default 1 MiB, at most 64 MiB. Each attached thread reserves this much scratch. */
  maxValueBytes?: number;
  /** How long this thread waits on a lock whose holder does not move before giving up. Default 5000. */
  lockTimeoutMs?: number;
}

/** Options of LockedMap.create() and LockedMap.createSync(): SyncMap's, but for shards. */
export type LockedMapOptions<V = unknown> = Omit<SyncMapOptions<V>, 'shards'>;

// ── the types create() infers from its options ──

/** The key type of a map created with options of type O: KeyOf its `keys`, string when absent. */
export type InferredKey<O> = O extends { readonly keys?: infer Kind }
  ? unknown extends Kind ? string : KeyOf<Exclude<Kind, undefined> & KeyKind> | (undefined extends Kind ? string : never)
  : string;

/** The value type of a map created with options of type O: ValueOf its `values`, its codec's V, unknown when absent. */
export type InferredValue<O> = O extends { readonly values?: infer Kind }
  ? unknown extends Kind ? unknown : Kind extends ValueKind ? ValueOf<Kind> : Kind extends ValueCodec<infer V> ? V : unknown
  : unknown;

/** True when T and U overlap as one contains the other (never a contradiction such as number and Uint8Array). */
type Nested<T, U> = [T] extends [U] ? true : [U] extends [T] ? true : false;

/** The `keys` options a map of K may be created with: those whose keys are K, or wider, or narrower. */
export type KeyKindFor<K> = { [Kind in KeyKind]: Nested<K, KeyOf<Kind>> extends true ? Kind : never }[KeyKind];

/** The `values` options a map of V may be created with ('json' and 'v8' hold any V). */
export type ValueKindFor<V> = { [Kind in ValueKind]: Nested<V, ValueOf<Kind>> extends true ? Kind : never }[ValueKind];

/** Options O as create<K, V>() takes them: `keys` and `values` that agree with K and V. */
export type OptionsFor<O, K, V> = Omit<O, 'keys' | 'values'> & { keys?: KeyKindFor<K>; values?: ValueKindFor<V> | ValueCodec<V> };

/**
 * O with no property that Known does not name (a misspelt option is a compile
 * error too). Mapped over all of O's keys, not only the unknown ones, so that
 * a codec's decode(bytes) still gets its parameter's type from the context.
 */
export type NoExtraOptions<O, Known> = O & { readonly [P in keyof O]: P extends keyof Known ? unknown : never };

/** Options of SyncMap.attach() and LockedMap.attach(). */
export interface AttachOptions<V = unknown> {
  /** The map's custom value codec; required when it was created with one. */
  values?: ValueCodec<V>;
  /** As in SyncMapOptions. */
  lockTimeoutMs?: number;
}

/** A snapshot of the map's counters. Every figure covers all threads. */
export interface SyncMapStats {
  /** Present keys. */
  size: number;
  /** Bytes allocated and not yet freed: entries, values, tables, scratch regions, blocks awaiting reclamation. */
  bytesInUse: number;
  /** The part of bytesInUse that is the attached threads' scratch regions (maxKeyBytes + maxValueBytes each). */
  scratchBytes: number;
  /**
   * Bytes the allocator has ever taken from the memory: its high-water mark,
   * and about as much of the memory as the OS has had to commit.
   */
  heapBytes: number;
  /** The size of the map's shared memory, reserved whole when the map was created. */
  maxMemoryBytes: number;
  /** Threads (SyncMap objects) attached right now. */
  threads: number;
  shards: number;
  /** How many times the reclamation epoch has advanced. */
  epochAdvances: number;
  /** Shard locks taken back from threads that were terminated while holding them. */
  locksRecovered: number;
}

export type RangeCallback<K, V> = (key: K, value: V) => boolean | void;

const DEFAULTS = {
  keys: 'string',
  values: 'json',
  maxMemoryBytes: 1 << 30,
  shards: 32,
  maxKeyBytes: 4096,
  maxValueBytes: 1 << 20,
  lockTimeoutMs: 5000,
} as const;

const LIMITS = {
  maxKeyBytes: 1 << 20,
  maxValueBytes: 64 << 20,
  shards: 1024,
  lockTimeoutMs: 2 ** 31 - 1,
} as const;

const ABSENT = Status.ABSENT;
const END_OF_RECORDS = 0xffffffff;
const RECORD_HEADER_SIZE = 8;
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

// ── option checking ────────────────────────────────────────────────────────

/** The options each call takes, in the order messages list them. */
const OPTION_NAMES = {
  sync: ['keys', 'values', 'maxMemoryBytes', 'shards', 'maxKeyBytes', 'maxValueBytes', 'lockTimeoutMs'],
  locked: ['keys', 'values', 'maxMemoryBytes', 'maxKeyBytes', 'maxValueBytes', 'lockTimeoutMs'],
  attach: ['values', 'lockTimeoutMs'],
} as const;

/** Refuses an option `known` does not name: a typo must not pass for a default. */
function checkOptionNames(options: object, known: readonly string[], what: string): void {
  for (const name of Object.keys(options)) {
    if (known.includes(name)) continue;
    let reason: string;
    if ((OPTION_NAMES.sync as readonly string[]).includes(name)) {
      reason = what.endsWith('.attach')
        ? `options.${name} does not apply to attach(): the map keeps what it was created with`
        : `options.${name} does not apply to a LockedMap: it is one table behind one lock`;
    } else {
      const near = known.find((k) => k.toLowerCase().includes(name.toLowerCase()) || name.toLowerCase().includes(k.toLowerCase()));
      reason = `unknown option ${JSON.stringify(name)}${near === undefined ? '' : ` (did you mean ${near}?)`}`;
    }
    throw new SyncMapArgumentError(`${what}: ${reason}; the options are ${known.join(', ')}`);
  }
}

function integerOption(
  options: object, name: string, fallback: number, min: number, max: number, what: string, why = '',
): number {
  const value = (options as Record<string, unknown>)[name];
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new SyncMapArgumentError(`${what}: options.${name} must be an integer from ${min} to ${max}${why}, got ${String(value)}`);
  }
  return value;
}

function valueOption<V>(values: unknown, what: string): ValueMarshal<V> {
  if (typeof values === 'string' && values in valueMarshals) return valueMarshals[values as ValueKind] as ValueMarshal<V>;
  if (typeof values === 'object' && values !== null) {
    const codec = values as Partial<ValueCodec<V>>;
    if (typeof codec.encode === 'function' && typeof codec.decode === 'function') {
      return customValues(codec as ValueCodec<V>);
    }
  }
  throw new SyncMapArgumentError(
    `${what}: options.values must be one of ${Object.keys(valueMarshals).join(', ')} or an { encode, decode } codec`,
  );
}

interface ResolvedOptions<K, V> {
  keys: KeyCodec<K>;
  values: ValueMarshal<V>;
  maxMemoryBytes: number;
  shards: number;
  maxKeyBytes: number;
  maxValueBytes: number;
  lockTimeoutMs: number;
}

/** What the memory holds besides the threads' scratch regions, at the least: the heap's root and the map. */
const FIXED_MEMORY_BYTES = 1 << 20;

function resolveOptions<K, V>(options: object | undefined, what: string, kind: MapKind): ResolvedOptions<K, V> {
  if (options !== undefined && (typeof options !== 'object' || options === null)) {
    throw new SyncMapArgumentError(`${what}: options must be an object`);
  }
  const o: SyncMapOptions<V> = options ?? {};
  checkOptionNames(o, OPTION_NAMES[kind], what);
  const keyKind = o.keys ?? DEFAULTS.keys;
  if (typeof keyKind !== 'string' || !(keyKind in keyCodecs)) {
    throw new SyncMapArgumentError(`${what}: options.keys must be one of ${Object.keys(keyCodecs).join(', ')}, got ${String(keyKind)}`);
  }
  const shards = integerOption(o, 'shards', DEFAULTS.shards, 1, LIMITS.shards, what);
  if (shards & (shards - 1)) throw new SyncMapArgumentError(`${what}: options.shards must be a power of two, got ${shards}`);
  const maxKeyBytes = integerOption(o, 'maxKeyBytes', DEFAULTS.maxKeyBytes, 1, LIMITS.maxKeyBytes, what);
  const maxValueBytes = integerOption(o, 'maxValueBytes', DEFAULTS.maxValueBytes, 0, LIMITS.maxValueBytes, what);
  // Room for the fixed part and one thread's scratch region.
  const minMemory = FIXED_MEMORY_BYTES + maxKeyBytes + maxValueBytes;
  const why =
    ` (the least is 1 MiB for the heap's root and the map, plus one thread's scratch region of` +
    ` maxKeyBytes + maxValueBytes = ${maxKeyBytes} + ${maxValueBytes} bytes)`;
  const maxMemoryBytes = integerOption(
    o, 'maxMemoryBytes', Math.max(DEFAULTS.maxMemoryBytes, minMemory), minMemory, MAX_MEMORY_BYTES, what, why,
  );
  return {
    keys: keyCodecs[keyKind as KeyKind] as unknown as KeyCodec<K>,
    values: valueOption<V>(o.values ?? DEFAULTS.values, what),
    maxMemoryBytes,
    shards,
    maxKeyBytes,
    maxValueBytes,
    lockTimeoutMs: integerOption(o, 'lockTimeoutMs', DEFAULTS.lockTimeoutMs, 1, LIMITS.lockTimeoutMs, what),
  };
}

// ── this thread's attachment to a map ──────────────────────────────────────

/** One thread's instance of the core over a map's memory, with its scratch views. */
class Attachment<K, V> implements Scratch {
  readonly ex: CoreExports;
  readonly handle: SyncMapHandle;
  readonly keys: KeyCodec<K>;
  readonly values: ValueMarshal<V>;
  readonly maxKeyBytes: number;
  readonly maxValueBytes: number;
  readonly shards: number;
  base = 0;
  cap = 0;
  readonly u8: Uint8Array;
  keyView: Uint8Array;
  readonly buf: Buffer;
  readonly f64: Float64Array;
  readonly u32: Uint32Array;
  #open = true;

  constructor(
    ex: CoreExports, handle: SyncMapHandle, keys: KeyCodec<K>, values: ValueMarshal<V>, lockTimeoutMs: number,
    asThread: number = threadId,
  ) {
    const slot = ex.sm_attach(asThread, 0, lockTimeoutMs);
    if (slot < 0) fail(slot, 'SyncMap.attach');
    this.ex = ex;
    this.handle = handle;
    this.keys = keys;
    this.values = values;
    this.maxKeyBytes = ex.sm_maxKeyBytes();
    this.maxValueBytes = ex.sm_maxValueBytes();
    this.shards = ex.sm_shards();
    const buffer = handle.memory.buffer;
    this.u8 = new Uint8Array(buffer);
    this.keyView = this.u8;
    this.buf = Buffer.from(buffer);
    this.f64 = new Float64Array(buffer);
    this.u32 = new Uint32Array(buffer);
    this.refresh();
  }

  /**
   * Re-reads where the scratch is. The views over the memory never need
   * remaking: it is created at its maximum and never grows (createMemory).
   */
  refresh(): void {
    this.base = this.ex.sm_scratch();
    this.cap = this.ex.sm_scratchCap();
    this.keyView = this.u8.subarray(this.base, this.base + this.cap);
  }

  ensure(bytes: number): void {
    if (bytes <= this.cap) return;
    const status = this.ex.sm_reserve(bytes);
    if (status < 0) fail(status, 'SyncMap');
    this.refresh();
  }

  reapThread(id: number): void {
    if (this.#open && id !== threadId) this.ex.sm_reapThread(id);
  }

  close(): void {
    if (!this.#open) return;
    this.#open = false;
    this.ex.sm_detach();
  }

  /**
   * Copies shard `shard`'s present entries into `out` as key, value, key, value…
   * The thread is pinned only across the core's copy calls and our own decoding;
   * a custom codec's decode() runs after the pin is released.
   */
  collectShard(shard: number, out: unknown[], what: string): void {
    const status = this.ex.sm_rangeBegin(shard);
    if (status < 0) fail(status, what);
    const deferred = this.values.userCode;
    const first = out.length;
    try {
      let from = 0;
      do {
        from = this.ex.sm_rangeNext(from);
        const { u32, base } = this;
        let at = 0;
        for (;;) {
          const keyLen = u32[(base + at) >>> 2]!;
          if (keyLen === END_OF_RECORDS) break;
          const valueLen = u32[(base + at + 4) >>> 2]!;
          const keyAt = at + RECORD_HEADER_SIZE;
          const valueAt = keyAt + align8(keyLen);
          out.push(
            this.keys.read(this, keyAt, keyLen),
            deferred ? this.u8.slice(base + valueAt, base + valueAt + valueLen) : this.values.read(this, valueAt, valueLen, what),
          );
          at = valueAt + align8(valueLen);
        }
      } while (from >= 0);
    } finally {
      this.ex.sm_rangeEnd();
    }
    if (deferred) {
      for (let i = first + 1; i < out.length; i += 2) out[i] = this.values.decode(out[i] as Uint8Array, what);
    }
  }
}

const finalizer = new FinalizationRegistry<Attachment<unknown, unknown>>((attachment) => {
  unregisterOpen(attachment);
  attachment.close();
});

// ── creating and attaching ─────────────────────────────────────────────────

/** Which map design a memory holds (MAP_KIND_* in assembly/map.ts). */
type MapKind = 'sync' | 'locked';
const MAP_KIND_IDS: Record<MapKind, number> = { sync: 0, locked: 1 };
const CLASS_OF: Record<MapKind, string> = { sync: 'SyncMap', locked: 'LockedMap' };

function createAttachment<K, V>(module: WebAssembly.Module, o: ResolvedOptions<K, V>, kind: MapKind): Attachment<K, V> {
  const memory = createMemory(o.maxMemoryBytes);
  const ex = instantiate(module, memory);
  const seed = crypto.getRandomValues(new Uint32Array(4));
  const status = ex.sm_create(
    seed[0]!, seed[1]!, seed[2]!, seed[3]!,
    kind === 'locked' ? 1 : o.shards, o.maxKeyBytes, o.maxValueBytes, o.keys.id, o.values.id, MAP_KIND_IDS[kind],
  );
  if (status < 0) fail(status, `${CLASS_OF[kind]}.create`);
  const handle: SyncMapHandle = Object.freeze({
    kind: HANDLE_KIND,
    layout: LAYOUT_VERSION,
    map: kind,
    module,
    memory,
    keys: o.keys.kind,
    values: o.values.kind,
    maxMemoryBytes: o.maxMemoryBytes,
  });
  return new Attachment(ex, handle, o.keys, o.values, o.lockTimeoutMs);
}

function attachTo<K, V>(
  handle: SyncMapHandle, options: AttachOptions<V> | undefined, asThread: number, kind: MapKind,
): Attachment<K, V> {
  const what = `${CLASS_OF[kind]}.attach`;
  checkHandle(handle);
  if (handle.map !== kind) {
    throw new SyncMapInvalidHandleError(`${what}: handle is a ${CLASS_OF[handle.map]}'s; use ${CLASS_OF[handle.map]}.attach`);
  }
  const o: AttachOptions<V> = options ?? {};
  if (typeof o !== 'object') throw new SyncMapArgumentError(`${what}: options must be an object`);
  checkOptionNames(o, OPTION_NAMES.attach, what);
  let values: ValueMarshal<V>;
  if (handle.values === 'custom') {
    if (o.values === undefined) {
      throw new SyncMapArgumentError(`${what}: the map uses a custom value codec; pass it again as options.values`);
    }
    values = valueOption<V>(o.values, what);
  } else {
    if (o.values !== undefined) {
      throw new SyncMapArgumentError(`${what}: options.values is only for custom codecs; this map uses '${handle.values}'`);
    }
    values = valueMarshals[handle.values] as ValueMarshal<V>;
  }
  const keys = keyCodecs[handle.keys] as unknown as KeyCodec<K>;
  const lockTimeoutMs = integerOption(o, 'lockTimeoutMs', DEFAULTS.lockTimeoutMs, 1, LIMITS.lockTimeoutMs, what);
  let ex: CoreExports;
  try {
    ex = instantiate(handle.module, handle.memory);
  } catch (error) {
    throw new SyncMapInvalidHandleError(`${what}: handle.module is not a syncmap-wasm core (${(error as Error).message})`);
  }
  const attachment = new Attachment(ex, handle, keys, values, lockTimeoutMs, asThread);
  const expectedValues = handle.values === 'custom' ? CUSTOM_VALUE_ID : values.id;
  if (ex.sm_keyKind() !== keys.id || ex.sm_valueKind() !== expectedValues || ex.sm_mapKind() !== MAP_KIND_IDS[kind]) {
    attachment.close();
    throw new SyncMapInvalidHandleError(`${what}: handle.keys, .values or .map does not match the map in handle.memory`);
  }
  return attachment;
}

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
    registerOpen(a);
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
    const r = a.ex.sm_swap(keyLen, at, a.values.write(value, a, at, 'SyncMap.store'), 0);
    if (r < ABSENT) fail(r, 'SyncMap.store');
  }

  /** The present value if there is one (loaded); otherwise stores `value` and returns it. */
  loadOrStore(key: K, value: V): { value: V; loaded: boolean } {
    const a = this.#a ?? closed('SyncMap.loadOrStore');
    const keyLen = a.keys.write(key, a, 'SyncMap.loadOrStore');
    const at = align8(keyLen);
    const r = a.ex.sm_loadOrStore(keyLen, at, a.values.write(value, a, at, 'SyncMap.loadOrStore'));
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
    const r = a.ex.sm_swap(keyLen, at, a.values.write(value, a, at, 'SyncMap.swap'), 1);
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
    const r = a.ex.sm_compareAndSwap(keyLen, oldAt, oldLen, newAt, newLen);
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
