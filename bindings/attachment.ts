/**
 * This thread's attachment to a map: one instance of the Wasm core over the
 * map's shared memory, with its slot and scratch region (assembly/abi.ts), and
 * how one is made: by creating a map, or by attaching to another thread's.
 */
import { threadId } from 'node:worker_threads';
import {
  CUSTOM_VALUE_ID,
  keyCodecs,
  valueMarshals,
  type KeyCodec,
  type Scratch,
  type ValueMarshal,
} from './codecs.js';
import { SyncMapArgumentError, SyncMapError, SyncMapFullError, SyncMapInvalidHandleError, statusError } from './errors.js';
import { instantiate, type CoreExports } from './instance.js';
import {
  DEFAULTS,
  LIMITS,
  OPTION_NAMES,
  checkOptionNames,
  expiryOf,
  freezeOption,
  integerOption,
  valueOption,
  type AttachOptions,
  type MapKind,
  type ResolvedOptions,
  type WriteOptions,
} from './options.js';
import { HANDLE_KIND, checkHandle, createMemory, type SyncMapHandle } from './sharing.js';
import { adoptRegistry, processRegistry } from './liveness.js';
import { ReadCache, readCacheOption, type ReadCacheOption } from './read-cache.js';
import { LAYOUT_VERSION, Status } from './status.js';

const END_OF_RECORDS = 0xffffffff;
const RECORD_HEADER_SIZE = 8;
/** A change record's header (assembly/abi.ts, sm_changesNext): lengths, version, deleted flag. */
const CHANGE_HEADER_SIZE = 24;
const align8 = (n: number): number => (n + 7) & ~7;

function fail(status: number, what: string): never {
  throw statusError(status, what);
}

/**
 * This thread's instance of the core over one map's memory: its slot, its
 * scratch region and the views over the memory. Every SyncMap object of this
 * thread for that map shares it (counted), so attaching again in the same
 * thread takes no second slot or scratch region.
 */
class ThreadCore implements Scratch {
  readonly ex: CoreExports;
  readonly module: WebAssembly.Module;
  readonly memory: WebAssembly.Memory;
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
  /**
   * The map objects of this thread that hold it: raised as the last step of a
   * map object's construction and lowered as the first step of its close(),
   * each time with no call in between (a stack overflow, which V8 raises at
   * any call, cannot split either). A core with none is being made or taken
   * apart, or was left so by an overflow: coreFor() never hands one out, and
   * this thread's watch (below) detaches it.
   */
  users = 0;
  /** The thread this core attached as: threadId, or a made-up one in tests that play another thread. */
  readonly asThread: number;
  /**
   * False only in tests (internal.ts): the catch around a core call then gives
   * back nothing, as a thread killed where its call trapped, or one whose
   * handler overflowed too, leaves it. (The watch still does, for threadId.)
   */
  recoverOnTrap = true;
  /** SyncMap or LockedMap, for messages. */
  readonly className: string;
  /** Values carry an expiry (the map was created with ttlMs or versioned). */
  readonly expires: boolean;
  /**
   * Calls left before this thread publishes Date.now() to the map clock again
   * (tick): a countdown, so that a thread busy in a loop keeps the clock fresh
   * too, and reset to -1 by a timer after ttlResolutionMs, so that a thread's
   * first call after it was idle refreshes it. In maps without expiry it
   * counts down from NO_EXPIRY_CALLS and tick() only starts it again: a small
   * integer, which V8 updates in place, where a decrement of Infinity stores
   * a heap number on every load.
   */
  clockCalls = NO_EXPIRY_CALLS;
  #clockTimer: ReturnType<typeof setTimeout> | undefined;
  readonly #resolutionMs: number;

  constructor(
    ex: CoreExports, module: WebAssembly.Module, memory: WebAssembly.Memory, lockTimeoutMs: number, asThread: number,
    what: string, expires: boolean, resolutionMs: number,
  ) {
    this.ex = ex;
    this.asThread = asThread;
    // Known to the watch before it claims anything: should an overflow
    // interrupt what follows, it has no users, and the watch detaches it.
    watchCores();
    coresOfThisThread.add(this);
    ex.sm_stackProbe(STACK_PROBE_FRAMES);
    detachUnused(this); // a close the edge of the stack interrupted: this deep, its detach goes through
    const slot = ex.sm_attach(asThread, 0, lockTimeoutMs);
    if (slot < 0) coresOfThisThread.delete(this); // nothing claimed
    if (slot === Status.FULL) {
      const need = ex.sm_scratchNeeded();
      throw new SyncMapFullError(
        `${what}: the map's memory has no free run of ${need} bytes for this thread's scratch region ` +
          '(maxKeyBytes + maxValueBytes + 64; deleting keys frees memory, but in holes that may each be ' +
          'shorter); attach threads before the map fills, or create it with a larger maxMemoryBytes or a ' +
          'smaller maxValueBytes',
      );
    }
    if (slot < 0) fail(slot, what);
    this.module = module;
    this.memory = memory;
    this.className = what.slice(0, what.indexOf('.'));
    this.expires = expires;
    this.#resolutionMs = resolutionMs;
    if (expires) this.clockCalls = -1;
    this.maxKeyBytes = ex.sm_maxKeyBytes();
    this.maxValueBytes = ex.sm_maxValueBytes();
    this.shards = ex.sm_shards();
    const buffer = memory.buffer;
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
    const base = this.ex.sm_scratch();
    const cap = this.ex.sm_scratchCap();
    // Unmoved, as after most recoveries (every error, and the watch's): no new view.
    if (base === this.base && cap === this.cap) return;
    this.base = base;
    this.cap = cap;
    this.keyView = this.u8.subarray(base, base + cap);
  }

  ensure(bytes: number): void {
    if (bytes <= this.cap) return;
    const status = this.ex.sm_reserve(bytes);
    if (status < 0) fail(status, `${this.className}: growing this thread's scratch region`);
    this.refresh();
  }

  /** Publishes Date.now() as the map clock (if later than what another thread published). */
  tick(): void {
    if (!this.expires) {
      this.clockCalls = NO_EXPIRY_CALLS;
      return;
    }
    this.ex.sm_tick(Date.now());
    this.clockCalls = CALLS_PER_TICK;
    if (this.#clockTimer === undefined) {
      this.#clockTimer = setTimeout(() => {
        this.#clockTimer = undefined;
        this.clockCalls = -1;
      }, this.#resolutionMs);
      this.#clockTimer.unref();
    }
  }

  /**
   * Detaches this core if no map object holds it (the last one closed, or an
   * overflow interrupted its attach or close), else does nothing. Every step
   * can be taken again: an overflow at any of them leaves the core where the
   * watch finds it and finishes.
   */
  detachIfUnused(): void {
    if (this.users > 0) return;
    if (this.#clockTimer !== undefined) clearTimeout(this.#clockTimer);
    this.#clockTimer = undefined;
    this.ex.sm_stackProbe(STACK_PROBE_FRAMES);
    this.ex.sm_detach(); // nothing if it is not attached (any more)
    coresOfThisThread.delete(this); // last: until here the watch finds it
  }

  /**
   * Gives back whatever an interrupted call of this thread left held (its
   * locks, its epoch pin, blocks in flight); nothing if none was. Only when
   * no call of this thread into the core is under way.
   */
  recover(): void {
    // First where the scratch is: a trap after a growth published the new
    // region leaves this thread's view on the old one, which sm_recover frees.
    this.refresh();
    this.ex.sm_recover();
  }

  /** True if `memory` is this core's memory: a map's random hash key, read through both, agrees. */
  holds(memory: WebAssembly.Memory): boolean {
    if (memory === this.memory) return true;
    const at = this.ex.sm_mapKeyAddress();
    if (at <= 0 || at + 16 > memory.buffer.byteLength) return false;
    const other = new Uint8Array(memory.buffer, at, 16);
    for (let i = 0; i < 16; i++) if (other[i] !== this.u8[at + i]) return false;
    return true;
  }
}

/** Calls between two refreshes of the map clock by a thread that never idles (Date.now() ~25 ns, so ~0.1 ns a call). */
const CALLS_PER_TICK = 256;
/** Where a map without expiry counts its calls down from: the largest small integer. */
const NO_EXPIRY_CALLS = 2 ** 30 - 1;

/**
 * Frames of stack sm_stackProbe takes before sm_attach and sm_detach: ~110 KiB
 * here, about twice what an attach and a close take in all at the edge of the
 * stack (~60 KiB: V8 keeps 40 KiB for a compilation a call may start). So at
 * the very edge of the stack the probe overflows, before either call has
 * changed anything, and never halfway through one. (~8 µs.)
 */
const STACK_PROBE_FRAMES = 1024;

/** This thread's cores, one per map it is attached to, and any left half attached or half detached. */
const coresOfThisThread = new Set<ThreadCore>();

/** This thread's core for the map in `memory`, if it has one. */
function coreFor(memory: WebAssembly.Memory, asThread: number): ThreadCore | undefined {
  if (asThread !== threadId) return undefined; // tests playing another thread get their own
  for (const core of coresOfThisThread) if (core.users > 0 && core.holds(memory)) return core;
  return undefined;
}

/**
 * Detaches the cores that no map object holds (but `making`, the one being
 * made): a close the edge of the stack interrupted, or an attach.
 */
function detachUnused(making: ThreadCore | null): void {
  for (const core of coresOfThisThread) {
    if (core === making || core.users > 0) continue;
    try {
      core.detachIfUnused();
    } catch {
      // Still too deep in the stack: at the next look.
    }
  }
}

/** How often this thread's watch looks at its cores. */
const WATCH_MS = 1000;

/**
 * This thread's watch: while it has a core, every WATCH_MS it finishes what a
 * stack overflow at the very edge of the stack left half done when the code
 * it interrupted could not finish it itself (its own handler overflowed too):
 * - a core with no users (an attach or a close interrupted) is detached;
 * - every other core gives back what an interrupted call left held
 *   (sm_recover; nothing if nothing is). The catch around each core call does
 *   that at once (Attachment.trapped), unless even that call overflows; the
 *   thread would then hold its epoch pin, and with it every thread's
 *   reclamation, until its next call into the map.
 * On the event loop no call of this thread into the core is under way, which
 * is what makes both safe. Unref'd: it keeps no process alive, and it stops
 * once the thread has no core. Cores of made-up threads (tests that play
 * another thread) are left as they are.
 */
let watch: ReturnType<typeof setInterval> | undefined;

/** Starts this thread's watch if it is not running (a new core is about to be made). */
function watchCores(): void {
  if (watch !== undefined) return;
  watch = setInterval(lookAtCores, WATCH_MS);
  watch.unref();
}

function lookAtCores(): void {
  detachUnused(null);
  for (const core of coresOfThisThread) {
    if (core.users === 0 || core.asThread !== threadId) continue;
    try {
      core.recover();
    } catch {
      // At the next look.
    }
  }
  if (coresOfThisThread.size === 0) {
    clearInterval(watch);
    watch = undefined;
  }
}

/**
 * One SyncMap object's view of a map: this thread's core for it, and the codecs
 * this object was given. Several can share a core (attach() called again in
 * the same thread); its scratch then serves them all.
 */
export class Attachment<K, V> implements Scratch {
  readonly core: ThreadCore;
  readonly ex: CoreExports;
  readonly handle: SyncMapHandle;
  readonly keys: KeyCodec<K>;
  readonly values: ValueMarshal<V>;
  readonly maxKeyBytes: number;
  readonly maxValueBytes: number;
  readonly shards: number;
  readonly u8: Uint8Array;
  readonly buf: Buffer;
  readonly f64: Float64Array;
  readonly u32: Uint32Array;
  /** The metrics' sampler of loads (prometheus.ts), or null. */
  sampler: LoadSampler | null = null;
  /** This object's cache of decoded values (read-cache.ts), or null. */
  readonly cache: ReadCache<K, V> | null;
  /**
   * Counted in its core's users: from the end of its map object's
   * construction (opened) to the start of its close (see ThreadCore.users).
   */
  open = false;

  constructor(
    core: ThreadCore, handle: SyncMapHandle, keys: KeyCodec<K>, values: ValueMarshal<V>, readCache: ReadCacheOption | undefined,
  ) {
    this.core = core;
    this.ex = core.ex;
    this.handle = handle;
    this.keys = keys;
    this.values = values;
    this.maxKeyBytes = core.maxKeyBytes;
    this.maxValueBytes = core.maxValueBytes;
    this.shards = core.shards;
    this.u8 = core.u8;
    this.buf = core.buf;
    this.f64 = core.f64;
    this.u32 = core.u32;
    this.cache = ReadCache.for(
      readCache, keys, values, core.ex, core.u32, core.f64, handle.versioned, (error) => this.trapped(error),
    );
  }

  /**
   * The last step of its map object's construction: from here the object
   * holds the core. No call in it, so no overflow can split it.
   */
  opened(): void {
    this.open = true;
    this.core.users++;
  }

  // The scratch moves when it grows, for every attachment sharing the core.
  get base(): number {
    return this.core.base;
  }

  get cap(): number {
    return this.core.cap;
  }

  get keyView(): Uint8Array {
    return this.core.keyView;
  }

  ensure(bytes: number): void {
    this.core.ensure(bytes);
  }

  /** Keeps the map clock fresh (see ThreadCore.clockCalls); before any call that compares with it. */
  clock(): void {
    if (--this.core.clockCalls < 0) this.core.tick();
  }

  /** The expiry on the map clock of a write with these options (0: never), checking them. */
  expiry(options: WriteOptions | undefined, what: string): number {
    if (options === undefined && this.defaultTtlMs === undefined) return 0;
    return expiryOf(options, this.defaultTtlMs, this.core.expires, what);
  }

  /** The map's default ttlMs, or undefined when values never expire. */
  get defaultTtlMs(): number | undefined {
    return this.handle.ttlMs ?? undefined;
  }

  /**
   * Reaps every thread of the map that has died (liveness.ts); cheap when none
   * has. Never throws: a reap that traps (a stack overflow can cut one short)
   * is finished at once by the recovery (sm_recover resumes this thread's own
   * reaps), else by this thread's watch or its next call into the map. Its
   * callers (a death listener, stats()) have nothing better to do with it.
   */
  reapDead(): void {
    if (!this.open) return;
    try {
      this.ex.sm_reapDead();
    } catch (error) {
      this.trapped(error);
    }
  }

  /**
   * An exception that escaped a core call. One that is not ours (a stack
   * overflow inside the core, a trap) may have left this thread holding a
   * shard lock or its epoch pin: they are released now, so that other threads
   * do not wait until this thread happens to call again. Ours (a SyncMapError
   * thrown before the call) left nothing, and sm_recover then finds nothing to
   * do: telling them apart would take `instanceof`, a call that can overflow
   * too. Returns the error to rethrow.
   */
  trapped(error: unknown): unknown {
    if (this.core.recoverOnTrap) this.recover();
    return error;
  }

  /**
   * Call when an exception escaped a core call (a stack overflow, a trap; or a
   * SyncMapError, which left nothing): releases any lock or pin the interrupted
   * call left held. If even that call fails (the stack is still nearly full), it is
   * retried from a microtask; if even the catch could not run, this thread's
   * watch does it within WATCH_MS, or this thread's next call into the map.
   */
  recover(): void {
    if (!this.open) return;
    try {
      this.core.recover();
    } catch {
      queueMicrotask(() => this.recover());
    }
  }

  /**
   * Stops holding the core, and detaches it if it was the last holder. Can
   * be called again: an overflow after the first two stores leaves the core
   * with no users, and the next close() or the watch detaches it.
   */
  close(): void {
    if (this.open) {
      this.open = false;
      this.core.users--;
    }
    this.cache?.clear();
    this.core.detachIfUnused();
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

  /**
   * Copies shard `shard`'s changes newer than version `since` into `out`:
   * [version, key, value bytes or null for a deletion]. The shard's lock is
   * held while its records are copied (so that every version its writers took
   * is visible), never while values are decoded.
   */
  collectChanges(shard: number, since: number, out: Change<K>[], what: string): void {
    const status = this.ex.sm_changesBegin(shard);
    if (status < 0) fail(status, what);
    try {
      let from = 0;
      do {
        from = this.ex.sm_changesNext(from, since);
        const { u32, f64, base } = this;
        let at = 0;
        for (;;) {
          const keyLen = u32[(base + at) >>> 2]!;
          if (keyLen === END_OF_RECORDS) break;
          const valueLen = u32[(base + at + 4) >>> 2]!;
          const version = f64[(base + at + 8) >>> 3]!;
          const deleted = u32[(base + at + 16) >>> 2] === 1;
          const keyAt = at + CHANGE_HEADER_SIZE;
          const valueAt = keyAt + align8(keyLen);
          out.push({
            version,
            key: this.keys.read(this, keyAt, keyLen),
            bytes: deleted ? null : this.u8.slice(base + valueAt, base + valueAt + valueLen),
          });
          at = valueAt + align8(valueLen);
        }
      } while (from >= 0);
    } finally {
      this.ex.sm_rangeEnd();
    }
  }

  /**
   * The map at one moment: every write is held off (sm_snapshotBegin) while
   * each shard's records are copied out as raw bytes, then decoded once writes
   * go on again. Pairs key, value into `out`.
   */
  snapshotInto(out: unknown[], what: string): number {
    let status = this.ex.sm_snapshotBegin();
    if (status < 0) fail(status, what);
    const chunks: Uint8Array[] = [];
    let version = 0;
    try {
      version = this.ex.sm_version();
      for (let shard = 0; shard < this.shards; shard++) {
        status = this.ex.sm_snapshotShard(shard);
        if (status < 0) fail(status, what);
        let from = 0;
        do {
          from = this.ex.sm_rangeNext(from);
          const { u32, base } = this;
          let at = 0;
          for (;;) {
            const keyLen = u32[(base + at) >>> 2]!;
            if (keyLen === END_OF_RECORDS) break;
            at += RECORD_HEADER_SIZE + align8(keyLen) + align8(u32[(base + at + 4) >>> 2]!);
          }
          if (at > 0) chunks.push(this.u8.slice(base, base + at + 4)); // with its end marker
        } while (from >= 0);
        this.ex.sm_rangeEnd();
      }
    } finally {
      this.ex.sm_snapshotEnd();
    }
    for (const chunk of chunks) decodeRecords(chunk, this.keys, this.values, out, what);
    return version;
  }
}

/** Times one load in `every` for the metrics: `observe(seconds, hit)`. */
export interface LoadSampler {
  readonly every: number;
  countdown: number;
  observe(seconds: number, hit: boolean): void;
}

/** One change of a versioned map: a key's new value (encoded), or its deletion (null). */
export interface Change<K> {
  readonly version: number;
  readonly key: K;
  readonly bytes: Uint8Array | null;
}

/** Decodes range records copied out of a scratch region into `out` as key, value, key, value… */
function decodeRecords<K, V>(chunk: Uint8Array, keys: KeyCodec<K>, values: ValueMarshal<V>, out: unknown[], what: string): void {
  const u32 = new Uint32Array(chunk.buffer, chunk.byteOffset, chunk.length >>> 2);
  const view: Scratch = {
    base: 0,
    cap: chunk.length,
    u8: chunk,
    u32,
    keyView: chunk,
    buf: Buffer.from(chunk.buffer, chunk.byteOffset, chunk.length),
    f64: new Float64Array(chunk.buffer, chunk.byteOffset, chunk.length >>> 3),
    maxKeyBytes: chunk.length,
    maxValueBytes: chunk.length,
    ensure(): void {
      throw new RangeError('a copied record cannot grow');
    },
  };
  let at = 0;
  for (;;) {
    const keyLen = u32[at >>> 2]!;
    if (keyLen === END_OF_RECORDS) break;
    const valueLen = u32[(at + 4) >>> 2]!;
    const keyAt = at + RECORD_HEADER_SIZE;
    const valueAt = keyAt + align8(keyLen);
    out.push(keys.read(view, keyAt, keyLen), values.read(view, valueAt, valueLen, what));
    at = valueAt + align8(valueLen);
  }
}

// ── creating and attaching ─────────────────────────────────────────────────

const MAP_KIND_IDS: Record<MapKind, number> = { sync: 0, locked: 1 };
// MAP_FLAG_* in assembly/map.ts: values carry metadata (expiry, version); every write takes a version.
const MAP_FLAG_META = 1;
const MAP_FLAG_VERSIONED = 2;
export const CLASS_OF: Record<MapKind, string> = { sync: 'SyncMap', locked: 'LockedMap' };

export function createAttachment<K, V>(
  module: WebAssembly.Module, o: ResolvedOptions<K, V>, kind: MapKind, what = `${CLASS_OF[kind]}.create`,
): Attachment<K, V> {
  const memory = createMemory(o.maxMemoryBytes, what);
  const ex = instantiate(module, memory, processRegistry);
  const seed = crypto.getRandomValues(new Uint32Array(4));
  const status = ex.sm_create(
    seed[0]!, seed[1]!, seed[2]!, seed[3]!,
    kind === 'locked' ? 1 : o.shards, o.maxKeyBytes, o.maxValueBytes, o.keys.id, o.values.id, MAP_KIND_IDS[kind],
    (o.ttlMs !== undefined ? MAP_FLAG_META : 0) | (o.versioned ? MAP_FLAG_VERSIONED : 0),
  );
  if (status < 0) fail(status, what);
  const handle: SyncMapHandle = Object.freeze({
    kind: HANDLE_KIND,
    layout: LAYOUT_VERSION,
    map: kind,
    module,
    memory,
    keys: o.keys.kind,
    values: o.values.kind,
    maxMemoryBytes: o.maxMemoryBytes,
    registry: processRegistry,
    ttlMs: o.ttlMs ?? null,
    ttlResolutionMs: o.ttlResolutionMs,
    versioned: o.versioned,
  });
  const core = new ThreadCore(
    ex, module, memory, o.lockTimeoutMs, threadId, what, o.ttlMs !== undefined || o.versioned, o.ttlResolutionMs,
  );
  return new Attachment(core, handle, o.keys, o.values, o.readCache);
}

/** What to throw when a handle's module did not instantiate: a stack overflow as it is, else why. */
function notACore(error: unknown, what: string): unknown {
  if (error instanceof RangeError) return error;
  return new SyncMapInvalidHandleError(`${what}: handle.module is not a syncmap-wasm core (${(error as Error).message})`);
}

export function attachTo<K, V>(
  handle: SyncMapHandle, options: AttachOptions<V> | undefined, asThread: number, kind: MapKind,
): Attachment<K, V> {
  const what = `${CLASS_OF[kind]}.attach`;
  checkHandle(handle, what);
  if (handle.map !== kind) {
    throw new SyncMapInvalidHandleError(`${what}: handle is a ${CLASS_OF[handle.map]}'s; use ${CLASS_OF[handle.map]}.attach`);
  }
  const o: AttachOptions<V> = options ?? {};
  if (typeof o !== 'object') throw new SyncMapArgumentError(`${what}: options must be an object`);
  checkOptionNames(o, kind === 'locked' ? OPTION_NAMES.attachLocked : OPTION_NAMES.attach, what);
  let values: ValueMarshal<V>;
  if (handle.values === 'custom') {
    if (o.values === undefined) {
      throw new SyncMapArgumentError(`${what}: the map uses a custom value codec; pass it again as options.values`);
    }
    if (typeof o.values === 'string') {
      // A built-in codec would decode the custom codec's bytes as garbage.
      throw new SyncMapArgumentError(
        `${what}: the map uses a custom value codec; options.values must be that { encode, decode } codec, got '${o.values}'`,
      );
    }
    values = valueOption<V>(o.values, what);
  } else {
    if (o.values !== undefined) {
      throw new SyncMapArgumentError(`${what}: options.values is only for custom codecs; this map uses '${handle.values}'`);
    }
    values = valueMarshals[handle.values] as ValueMarshal<V>;
  }
  values = freezeOption(o, values, what);
  const keys = keyCodecs[handle.keys] as unknown as KeyCodec<K>;
  const lockTimeoutMs = integerOption(o, 'lockTimeoutMs', DEFAULTS.lockTimeoutMs, 1, LIMITS.lockTimeoutMs, what);
  const readCache = readCacheOption(o, what);
  adoptRegistry(handle.registry); // before attaching: see liveness.ts
  let core = coreFor(handle.memory, asThread);
  if (core && handle.module !== core.module) {
    // Attached already, maybe through another copy of the module (each
    // structured clone is a new object): the handle's must still be our core,
    // of the same build.
    let stamp: number;
    try {
      stamp = instantiate(handle.module, handle.memory, handle.registry).sm_buildStamp();
    } catch (error) {
      throw notACore(error, what);
    }
    if (stamp !== core.ex.sm_buildStamp()) fail(Status.BUILD_MISMATCH, what);
  }
  if (!core) {
    let ex: CoreExports;
    try {
      ex = instantiate(handle.module, handle.memory, handle.registry);
    } catch (error) {
      throw notACore(error, what);
    }
    core = new ThreadCore(
      ex, handle.module, handle.memory, lockTimeoutMs, asThread, what, handle.ttlMs !== null || handle.versioned,
      handle.ttlResolutionMs,
    );
  }
  const attachment = new Attachment(core, handle, keys, values, readCache);
  const ex = core.ex;
  const expectedValues = handle.values === 'custom' ? CUSTOM_VALUE_ID : values.id;
  if (ex.sm_keyKind() !== keys.id || ex.sm_valueKind() !== expectedValues || ex.sm_mapKind() !== MAP_KIND_IDS[kind]) {
    attachment.close();
    throw new SyncMapInvalidHandleError(`${what}: handle.keys, .values or .map does not match the map in handle.memory`);
  }
  return attachment;
}
