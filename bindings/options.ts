/**
 * The options of SyncMap and LockedMap: their types, their defaults and limits,
 * and how they are checked at the boundary (every message names the option).
 */
import {
  customValues,
  describe,
  frozen,
  keyCodecs,
  valueMarshals,
  type JsonCompatible,
  type KeyCodec,
  type KeyKind,
  type KeyOf,
  type ValueCodec,
  type ValueKind,
  type ValueMarshal,
  type ValueOf,
} from './codecs.js';
import { SyncMapArgumentError } from './errors.js';
import { MAX_MEMORY_BYTES } from './sharing.js';
import { readCacheOption, type ReadCacheOption } from './read-cache.js';

/** Options of SyncMap.create() and SyncMap.createSync(). */
export interface SyncMapOptions<V = unknown> {
  /** How keys are encoded: 'string' (UTF-8, the default), 'number' (float64) or 'bytes' (Uint8Array). */
  keys?: KeyKind;
  /**
   * How values are encoded:
   * - 'structured' (the default): what postMessage carries (Date, Map, Set,
   *   RegExp, typed arrays and Buffer, BigInt, NaN, -0, undefined, cycles…),
   *   given back as it was stored; what it cannot give back (a function, a
   *   symbol, an instance of a class) is refused with ERR_SYNCMAP_VALUE_ENCODING;
   * - 'json': JSON values only (JsonValue): a Date comes back as a string,
   *   NaN as null, an undefined member is dropped;
   * - 'string', 'number', 'bytes' (Uint8Array): values of that one type;
   * - 'v8': structured clone by node:v8 (v8.serialize), slower than 'structured';
   * - a codec of your own, `{ encode(value): Uint8Array, decode(bytes) }`,
   *   which every attach() must be given again.
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
  /**
   * Makes values expire: the time to live, in ms, of every write that does not
   * give its own (`store(k, v, { ttlMs })`); 0 for none but the writes' own.
   * An expired value is absent at once to every read, `size` counts it until
   * it is removed (by a write that meets it, or the sweeper: startSweeper()).
   * Without this option (and without `versioned`), writes take no `ttlMs`.
   */
  ttlMs?: number;
  /**
   * How fresh the time is that reads compare expiry with, in ms (default 10):
   * each thread publishes Date.now() to the map's clock at most this often
   * while it is busy, and on its next call after it was idle, so that a read
   * calls nothing to learn the time.
   */
  ttlResolutionMs?: number;
  /**
   * Versions: every write (store, swap, compareAndSwap, delete, expiry, add)
   * takes the next map-wide version and stamps it on the key, deletes leave
   * tombstones, and `changesSince(version)` gives what changed since, for
   * incremental updates (Delta xDS style). Writes to a versioned map all take
   * their shard's lock. Default false.
   */
  versioned?: boolean;
  /**
   * This thread's cache of decoded values (read-cache.ts), for maps of 'string'
   * or 'number' values, 'json' values under `freeze`, or a custom codec's that
   * declares them immutable, with 'string' or 'number' keys: a load of a key
   * this thread has read before checks three words of the shared memory instead
   * of encoding, calling the core and decoding. A hit is exactly as fresh as a
   * load through the core. Default on, { maxEntries: 16384, maxBytes: 4 MiB };
   * false for none. One cache per map object: each create() and attach() has
   * its own, with its own option.
   */
  readCache?: ReadCacheOption;
  /**
   * Hands out 'json' values deeply frozen (Object.freeze on every object and
   * array in them), so that this thread's read cache can keep them: a load of a
   * key this thread has read before, whose value has not changed since, returns
   * the very same object, without decoding (no JSON.parse, no garbage). Every
   * value this map object hands out is then frozen: loads, loadOrStore, swap,
   * loadAndDelete, iteration, snapshot, changesSince and the `current` that
   * compute() passes to its function (which must return a new object; compute()
   * returns that object, the caller's own, as it always does). Only for 'json'
   * values ('string' and 'number' values are immutable already, and so are a
   * custom codec's that declares them so, which `freeze` leaves as decode()
   * returns them; other kinds can hold what freezing does not fix, such as a
   * Map or a typed array). Per map object, like readCache: the map and other
   * threads are not affected. Default false.
   */
  freeze?: boolean;
}

/** Options of LockedMap.create() and LockedMap.createSync(): SyncMap's, but for shards, expiry, versions and the read cache. */
export type LockedMapOptions<V = unknown> = Omit<
  SyncMapOptions<V>, 'shards' | 'ttlMs' | 'ttlResolutionMs' | 'versioned' | 'readCache' | 'freeze'
>;

/** The options of a write: store, set, swap, loadOrStore, compareAndSwap, add, compute. */
export interface WriteOptions {
  /**
   * This value's time to live, in ms (0: it never expires); default the map's
   * `ttlMs`. Only for maps created with `ttlMs` or `versioned`.
   */
  ttlMs?: number;
}

// ── the types create() infers from its options ──

/** The key type of a map created with options of type O: KeyOf its `keys`, string when absent. */
export type InferredKey<O> = O extends { readonly keys?: infer Kind }
  ? unknown extends Kind ? string : KeyOf<Exclude<Kind, undefined> & KeyKind> | (undefined extends Kind ? string : never)
  : string;

/** The value type of a map created with options of type O: ValueOf its `values`, its codec's V, unknown when absent ('structured'). */
export type InferredValue<O> = O extends { readonly values?: infer Kind }
  ? unknown extends Kind ? unknown : Kind extends ValueKind ? ValueOf<Kind> : Kind extends ValueCodec<infer V> ? V : unknown
  : unknown;

/** True when T and U overlap as one contains the other (never a contradiction such as number and Uint8Array). */
type Nested<T, U> = [T] extends [U] ? true : [U] extends [T] ? true : false;

/** The `keys` options a map of K may be created with: those whose keys are K, or wider, or narrower. */
export type KeyKindFor<K> = { [Kind in KeyKind]: Nested<K, KeyOf<Kind>> extends true ? Kind : never }[KeyKind];

/** True when V may be stored as JSON: JSON-compatible (JsonCompatible), or unknown (the caller checks). */
type JsonFits<V> = unknown extends V ? true : [V] extends [JsonCompatible<V>] ? true : false;

/**
 * The `values` options a map of V may be created with: 'structured' and 'v8'
 * hold any V, 'json' a V that JSON keeps, the others a V that contains or is
 * contained in their type.
 */
export type ValueKindFor<V> = {
  [Kind in ValueKind]: Kind extends 'structured' | 'v8'
    ? Kind
    : Kind extends 'json'
      ? JsonFits<V> extends true ? Kind : never
      : Nested<V, ValueOf<Kind>> extends true ? Kind : never;
}[ValueKind];

/**
 * Options O as create<K, V>() takes them: `keys` and `values` that agree with
 * K and V, and `keys` required unless K is string (the default). A K that is
 * not a string cannot be had from the default.
 */
export type OptionsFor<O, K, V> = Omit<O, 'keys' | 'values'> &
  ([K] extends [string] ? { keys?: KeyKindFor<K> } : { keys: KeyKindFor<K> }) & {
    values?: ValueKindFor<V> | ValueCodec<V>;
  };

/** The parameter list of create<K, V>(options): options may be left out only when nothing in them is required. */
export type OptionsArgument<T> = {} extends T ? [options?: T] : [options: T];

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
  /** As in SyncMapOptions: this thread's read cache (SyncMap only: a LockedMap has none). */
  readCache?: ReadCacheOption;
  /** As in SyncMapOptions: 'json' values handed out deeply frozen, and kept by the read cache (SyncMap only). */
  freeze?: boolean;
}

/** Options of LockedMap.attach(): SyncMap.attach()'s but the read cache's (a LockedMap has none). */
export type LockedAttachOptions<V = unknown> = Omit<AttachOptions<V>, 'readCache' | 'freeze'>;

/** A snapshot of the map's counters. Every figure covers all threads, those that have ended too. */
export interface SyncMapStats {
  /** Keys, as `size` counts them (an expired value counts until it is removed). */
  size: number;
  /** Bytes allocated and not yet freed: entries, values, tables, scratch regions, blocks awaiting reclamation. */
  bytesInUse: number;
  /**
   * The part of bytesInUse that is the attached threads' scratch regions
   * (maxKeyBytes + maxValueBytes each, as the allocator rounds it: up to an
   * eighth more).
   */
  scratchBytes: number;
  /**
   * The part of bytesInUse kept for threads that attach later: the scratch
   * regions of threads that closed the map or died, each kept in its slot for
   * the next thread that attaches, which would otherwise need a free run that
   * long in a map that may have filled meanwhile. At most one per thread that
   * was ever attached at the same time as the others; a write that finds the
   * map full frees all of them but one for entries.
   */
  spareScratchBytes: number;
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
  /** Loads and has() calls, and of those, hits and misses. */
  loads: number;
  hits: number;
  misses: number;
  /**
   * Of the hits, those a thread's read cache answered (readCache): no key
   * encoded, nothing decoded; after an epoch advance the core checks the
   * record once (a call without the key), which counts here too.
   */
  cacheHits: number;
  /** Loads that had to take a shard's lock (a key not yet in the read table, Go's miss path). */
  slowLoads: number;
  /** Dirty tables promoted to read. */
  promotions: number;
  /** Shard locks taken; of those, taken after waiting; and the time waited, in ms. */
  lockAcquisitions: number;
  lockContentions: number;
  lockWaitMs: number;
  /**
   * Writes that changed the map (stores, swaps, deletes, loadAndDelete that deleted, loadOrStore that
   * stored, compareAndSwap that swapped, compareAndDelete that deleted, adds).
   */
  writes: number;
  /** Values removed because they had expired (maps with ttlMs). */
  expirations: number;
  /** Tombstones held, and tombstones compacted away (versioned maps). */
  tombstones: number;
  compactions: number;
  /** The map's version (versioned maps; 0 otherwise). */
  version: number;
  /** Times free memory was coalesced to serve a write. */
  coalesces: number;
  /** Per shard: its keys and how many times its lock was taken (with stats({ shards: true })). */
  perShard?: { size: number; lockAcquisitions: number }[];
}

/** range()'s callback: the key first, as in Go's Range (forEach takes the value first, as Map's); returning false stops. */
export type RangeCallback<K, V> = (key: K, value: V) => boolean | void;

export const DEFAULTS = {
  keys: 'string',
  values: 'structured',
  maxMemoryBytes: 1 << 30,
  shards: 32,
  maxKeyBytes: 4096,
  maxValueBytes: 1 << 20,
  lockTimeoutMs: 5000,
  ttlResolutionMs: 10,
} as const;

export const LIMITS = {
  maxKeyBytes: 1 << 20,
  maxValueBytes: 64 << 20,
  shards: 1024,
  lockTimeoutMs: 2 ** 31 - 1,
  /** About 35 years: an expiry stays a whole number of ms below 2^53 on the map clock. */
  ttlMs: 2 ** 40,
  ttlResolutionMs: 60_000,
} as const;

// ── option checking ────────────────────────────────────────────────────────

/** The options each call takes, in the order messages list them. */
export const OPTION_NAMES = {
  sync: [
    'keys', 'values', 'maxMemoryBytes', 'shards', 'maxKeyBytes', 'maxValueBytes', 'lockTimeoutMs', 'ttlMs',
    'ttlResolutionMs', 'versioned', 'readCache', 'freeze',
  ],
  locked: ['keys', 'values', 'maxMemoryBytes', 'maxKeyBytes', 'maxValueBytes', 'lockTimeoutMs'],
  attach: ['values', 'lockTimeoutMs', 'readCache', 'freeze'],
  attachLocked: ['values', 'lockTimeoutMs'],
} as const;

/**
 * Options of other maps' APIs that people bring along, and what bounds this
 * map instead. lru-cache's `max` and `maxSize` count entries or sizes and
 * evict; this map evicts nothing.
 */
const FOREIGN_OPTIONS: Readonly<Record<string, string>> = {
  max:
    'this map holds no count of entries and evicts nothing: what bounds it is its memory, maxMemoryBytes ' +
    '(bytes, all threads together), and a write that does not fit throws ERR_SYNCMAP_FULL',
  maxSize:
    'this map evicts nothing: what bounds it is its memory, maxMemoryBytes (bytes, all threads together), ' +
    'and a write that does not fit throws ERR_SYNCMAP_FULL; maxValueBytes bounds one value',
};

/** SyncMap's options that a LockedMap does not take, and why (the rest: it is one table behind one lock). */
const SYNCMAP_ONLY_OPTIONS: Readonly<Record<string, string>> = {
  readCache: 'it keeps no read cache (every load takes its read lock)',
  freeze: 'it keeps no read cache, which frozen values are for',
  ttlMs: 'its values never expire (expiry is one of SyncMap\'s cache features)',
  ttlResolutionMs: 'its values never expire (expiry is one of SyncMap\'s cache features)',
  versioned: 'it keeps no versions (changesSince and the rest are SyncMap\'s)',
};

/** Suffixes that name a unit, which a misspelt option often has another of (maxKeySize for maxKeyBytes). */
const UNIT_SUFFIX = /(?:bytes|size|length|len|ms|millis|milliseconds)$/;

/**
 * The edit distance of a and b (optimal string alignment: insertions,
 * deletions, substitutions and swaps of two neighbours each cost one).
 */
export function editDistance(a: string, b: string): number {
  const rows = a.length + 1;
  const cols = b.length + 1;
  const d: number[] = new Array<number>(rows * cols).fill(0);
  for (let i = 0; i < rows; i++) d[i * cols] = i;
  for (let j = 0; j < cols; j++) d[j] = j;
  for (let i = 1; i < rows; i++) {
    for (let j = 1; j < cols; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let best = Math.min(d[(i - 1) * cols + j]! + 1, d[i * cols + j - 1]! + 1, d[(i - 1) * cols + j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) best = Math.min(best, d[(i - 2) * cols + j - 2]! + 1);
      d[i * cols + j] = best;
    }
  }
  return d[rows * cols - 1]!;
}

/**
 * The option among `known` that `name` most likely misspells, if one is close:
 * within an edit distance of about a quarter of its length (one edit for short
 * names), compared case-blind, or the same once a unit suffix is set aside
 * (maxMemory, maxKeySize: maxMemoryBytes, maxKeyBytes). Never a name that
 * merely contains the other (maxKeySize is not keys).
 */
export function nearestOption(name: string, known: readonly string[]): string | undefined {
  const lower = name.toLowerCase();
  const stem = lower.replace(UNIT_SUFFIX, '');
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const option of known) {
    const candidate = option.toLowerCase();
    const candidateStem = candidate.replace(UNIT_SUFFIX, '');
    const distance = stem.length >= 3 && stem === candidateStem ? 0.5 : editDistance(lower, candidate);
    const allowed = Math.max(1, Math.floor(Math.max(lower.length, candidate.length) / 4));
    if (distance <= allowed && distance < bestDistance) {
      best = option;
      bestDistance = distance;
    }
  }
  return best;
}

/** Refuses an option `known` does not name: a typo must not pass for a default. */
export function checkOptionNames(options: object, known: readonly string[], what: string): void {
  for (const name of Object.keys(options)) {
    if (known.includes(name)) continue;
    let reason: string;
    if (what.startsWith('LockedMap') && Object.hasOwn(SYNCMAP_ONLY_OPTIONS, name)) {
      reason = `options.${name} does not apply to a LockedMap: ${SYNCMAP_ONLY_OPTIONS[name]}`;
    } else if ((OPTION_NAMES.sync as readonly string[]).includes(name)) {
      reason = what.endsWith('.attach')
        ? `options.${name} does not apply to attach(): the map keeps what it was created with`
        : `options.${name} does not apply to a LockedMap: it is one table behind one lock`;
    } else if (Object.hasOwn(FOREIGN_OPTIONS, name) && !what.endsWith('.attach')) {
      reason = `unknown option ${JSON.stringify(name)}: ${FOREIGN_OPTIONS[name]}`;
    } else {
      reason = unknownOption(name, known);
    }
    throw new SyncMapArgumentError(`${what}: ${reason}; the options are ${known.join(', ')}`);
  }
}

/** Why `name` is refused when nothing more is known of it: unknown, with the nearest of `known` if one is close. */
function unknownOption(name: string, known: readonly string[]): string {
  const near = nearestOption(name, known);
  return `unknown option ${JSON.stringify(name)}${near === undefined ? '' : ` (did you mean ${near}?)`}`;
}

/**
 * The options object of a method that takes one (`known` its names): an
 * empty one for undefined; refuses anything else that is not an object, and
 * names it does not take, as create() does (without create()'s explanations,
 * which are about a map's options).
 */
export function methodOptions<O extends object>(options: O | undefined, known: readonly (keyof O & string)[], what: string): O {
  if (options === undefined) return {} as O;
  if (typeof options !== 'object' || options === null) {
    throw new SyncMapArgumentError(`${what}: options must be an object, got ${describe(options)}`);
  }
  for (const name of Object.keys(options)) {
    if ((known as readonly string[]).includes(name)) continue;
    throw new SyncMapArgumentError(`${what}: ${unknownOption(name, known)}; the options are ${known.join(', ')}`);
  }
  return options;
}

/** How a wrong argument is quoted in a message: a number as is, a string in quotes (so that '5' does not read as 5), else its type. */
export function shown(value: unknown): string {
  if (typeof value === 'number') return String(value);
  if (typeof value === 'string') return JSON.stringify(value);
  return describe(value);
}

export function integerOption(
  options: object, name: string, fallback: number, min: number, max: number, what: string, why = '',
): number {
  const value = (options as Record<string, unknown>)[name];
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new SyncMapArgumentError(`${what}: options.${name} must be an integer from ${min} to ${max}${why}, got ${shown(value)}`);
  }
  return value;
}

export function valueOption<V>(values: unknown, what: string): ValueMarshal<V> {
  if (typeof values === 'string' && values in valueMarshals) return valueMarshals[values as ValueKind] as ValueMarshal<V>;
  if (typeof values === 'object' && values !== null) {
    const codec = values as Partial<ValueCodec<V>>;
    if (typeof codec.encode === 'function' && typeof codec.decode === 'function') {
      if (codec.immutable !== undefined && typeof codec.immutable !== 'boolean') {
        throw new SyncMapArgumentError(`${what}: options.values.immutable must be a boolean, got ${describe(codec.immutable)}`);
      }
      return customValues(codec as ValueCodec<V>);
    }
  }
  throw new SyncMapArgumentError(
    `${what}: options.values must be one of ${Object.keys(valueMarshals).join(', ')} or an { encode, decode } codec, got ${
      typeof values === 'string' ? JSON.stringify(values) : describe(values)
    }`,
  );
}

export interface ResolvedOptions<K, V> {
  keys: KeyCodec<K>;
  values: ValueMarshal<V>;
  maxMemoryBytes: number;
  shards: number;
  maxKeyBytes: number;
  maxValueBytes: number;
  lockTimeoutMs: number;
  /** undefined: values never expire (and writes take no ttlMs). */
  ttlMs: number | undefined;
  ttlResolutionMs: number;
  versioned: boolean;
  readCache: ReadCacheOption | undefined;
}

/** What the memory holds besides the threads' scratch regions, at the least: the heap's root and the map. */
const FIXED_MEMORY_BYTES = 1 << 20;

export function resolveOptions<K, V>(options: object | undefined, what: string, kind: MapKind): ResolvedOptions<K, V> {
  if (options !== undefined && (typeof options !== 'object' || options === null)) {
    throw new SyncMapArgumentError(`${what}: options must be an object`);
  }
  const o: SyncMapOptions<V> = options ?? {};
  checkOptionNames(o, OPTION_NAMES[kind], what);
  const keyKind = o.keys ?? DEFAULTS.keys;
  if (typeof keyKind !== 'string' || !(keyKind in keyCodecs)) {
    throw new SyncMapArgumentError(`${what}: options.keys must be one of ${Object.keys(keyCodecs).join(', ')}, got ${shown(keyKind)}`);
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
    values: freezeOption(o, valueOption<V>(o.values ?? DEFAULTS.values, what), what),
    maxMemoryBytes,
    shards,
    maxKeyBytes,
    maxValueBytes,
    lockTimeoutMs: integerOption(o, 'lockTimeoutMs', DEFAULTS.lockTimeoutMs, 1, LIMITS.lockTimeoutMs, what),
    ttlMs: o.ttlMs === undefined ? undefined : integerOption(o, 'ttlMs', 0, 0, LIMITS.ttlMs, what),
    ttlResolutionMs: integerOption(o, 'ttlResolutionMs', DEFAULTS.ttlResolutionMs, 1, LIMITS.ttlResolutionMs, what),
    versioned: booleanOption(o, 'versioned', what),
    readCache: readCacheOption(o, what),
  };
}

/** `values` as the `freeze` option of create() or attach() asks: frozen (see SyncMapOptions.freeze), or as they are. */
export function freezeOption<V>(options: object, values: ValueMarshal<V>, what: string): ValueMarshal<V> {
  if (!booleanOption(options, 'freeze', what)) return values;
  const frozenValues = frozen(values);
  if (frozenValues === null) {
    throw new SyncMapArgumentError(
      `${what}: options.freeze applies to 'json' values ('string' and 'number' values, and a custom codec's ` +
        "declared immutable, are immutable already); " +
        `this map's values are ${values.kind === 'custom' ? 'a custom codec\'s' : `'${values.kind}'`}, which freezing cannot make immutable` +
        (values.kind === 'custom' ? " (a codec whose decode() returns frozen values can say so: { encode, decode, immutable: true })" : ''),
    );
  }
  return frozenValues;
}

export function booleanOption(options: object, name: string, what: string): boolean {
  const value = (options as Record<string, unknown>)[name];
  if (value === undefined) return false;
  if (typeof value !== 'boolean') throw new SyncMapArgumentError(`${what}: options.${name} must be a boolean, got ${describe(value)}`);
  return value;
}

/**
 * The expiry of a write on the map clock (0: never), from its options and the
 * map's default ttlMs; throws for a ttlMs a map without expiry cannot take.
 */
export function expiryOf(options: WriteOptions | undefined, defaultTtlMs: number | undefined, expires: boolean, what: string): number {
  let ttl = defaultTtlMs ?? 0;
  if (options !== undefined) {
    if (typeof options !== 'object' || options === null) {
      throw new SyncMapArgumentError(`${what}: options must be an object, got ${describe(options)}`);
    }
    for (const name of Object.keys(options)) {
      if (name !== 'ttlMs') throw new SyncMapArgumentError(`${what}: unknown option ${JSON.stringify(name)}; a write takes only ttlMs`);
    }
    const given = options.ttlMs;
    if (given !== undefined) {
      if (!expires) {
        throw new SyncMapArgumentError(`${what}: options.ttlMs needs a map created with ttlMs (or versioned: true)`);
      }
      if (typeof given !== 'number' || !Number.isInteger(given) || given < 0 || given > LIMITS.ttlMs) {
        throw new SyncMapArgumentError(`${what}: options.ttlMs must be an integer from 0 to ${LIMITS.ttlMs}, got ${shown(given)}`);
      }
      ttl = given;
    }
  }
  return ttl === 0 ? 0 : Date.now() + ttl;
}

/** Which map design a memory holds (MAP_KIND_* in assembly/map.ts). */
export type MapKind = 'sync' | 'locked';
