/**
 * The only place that compiles and instantiates the Wasm core.
 *
 * The module is compiled once per thread and cached; workers usually skip even
 * that, because a map's handle carries its compiled module (a WebAssembly.Module
 * is structured-cloneable). Each SyncMap object is one instance of the module
 * over the map's shared memory: Wasm globals are per instance, so each instance
 * is one thread's private view (its slot, its scratch region), while everything
 * the threads share lives in the memory.
 *
 * Plain `new WebAssembly.Instance` with a hand-written import object, not
 * @assemblyscript/loader: the core exchanges only integers and bytes in its
 * own scratch region, so the loader's string and array helpers (which allocate
 * through the per-instance AssemblyScript runtime, unsafe over a shared memory)
 * would add nothing but risk.
 */
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { processRegistry, registryView, threadIsDead, type ThreadRegistry } from './liveness.js';

/** The core's exports (assembly/abi.ts). Results >= 0 are values, < 0 statuses. */
export interface CoreExports {
  readonly memory: WebAssembly.Memory;
  sm_create(
    k0lo: number, k0hi: number, k1lo: number, k1hi: number,
    shards: number, maxKeyBytes: number, maxValueBytes: number, keyKind: number, valueKind: number, mapKind: number,
    mapFlags: number,
  ): number;
  sm_attach(threadId: number, scratchBytes: number, lockPatienceMs: number): number;
  sm_detach(): void;
  sm_scratchNeeded(): number;
  sm_recover(): void;
  sm_stackProbe(frames: number): number;
  sm_slotsReaping(): number;
  sm_reapThread(threadId: number): number;
  sm_reapDead(): number;
  sm_reserve(bytes: number): number;
  sm_scratch(): number;
  sm_scratchCap(): number;
  sm_load(keyLen: number): number;
  sm_has(keyLen: number): number;
  sm_swap(keyLen: number, valueAt: number, valueLen: number, wantPrevious: number, expiry: number): number;
  sm_swapFound(
    tablesWord: number, read: number, serial: number, index: number, valueLen: number, wantPrevious: number, expiry: number,
  ): number;
  sm_revalidate(tablesWord: number, read: number, serial: number, index: number, block: number, since: number): number;
  sm_loadOrStore(keyLen: number, valueAt: number, valueLen: number, expiry: number): number;
  sm_delete(keyLen: number, wantValue: number): number;
  sm_compareAndSwap(keyLen: number, oldAt: number, oldLen: number, newAt: number, newLen: number, expiry: number): number;
  sm_compareAndDelete(keyLen: number, oldAt: number, oldLen: number): number;
  sm_clear(): number;
  sm_size(): number;
  sm_rangeBegin(shard: number): number;
  sm_rangeNext(from: number): number;
  sm_rangeEnd(): void;
  sm_tick(now: number): number;
  sm_sweep(budget: number, untombed?: number): number;
  sm_remainingMs(keyLen: number): number;
  sm_add(keyLen: number, delta: number, expiry: number): number;
  sm_version(): number;
  sm_watermark(): number;
  sm_tombstones(): number;
  sm_versionWord(): number;
  sm_compact(watermark: number, waits: number): number;
  sm_setLowWatermark(low: number): number;
  sm_shardSize(index: number): number;
  sm_shardLockTakes(index: number): number;
  sm_changesBegin(shard: number): number;
  sm_changesNext(from: number, since: number): number;
  sm_snapshotBegin(): number;
  sm_snapshotShard(shard: number): number;
  sm_snapshotEnd(): void;
  sm_layoutVersion(): number;
  sm_buildStamp(): number;
  sm_mapKeyAddress(): number;
  sm_shards(): number;
  sm_maxKeyBytes(): number;
  sm_maxValueBytes(): number;
  sm_keyKind(): number;
  sm_valueKind(): number;
  sm_mapKind(): number;
  sm_stat(which: number): number;
  sm_collect(): void;
  sm_verify(): number;
  sm_slotIndex(): number;
  sm_ageReleases(seconds: number): number;
  sm_readCacheWord(which: number): number;
  sm_sizeClassOf(size: number): number;
  sm_classSize(c: number): number;
  sm_debugFaultAfter(crashPoints: number): void;
  sm_debugFaultFired(): number;
  sm_debugFailAllocation(n: number): void;
  /** Wasm bool: 0 or 1. */
  sm_debugCoalesce(): number;
  sm_deferredFrees(): number;
  sm_heapUnaccounted(): number;
  sm_shardLockWord(index: number): number;
  sm_clearLockWord(): number;
  sm_sipHash13(k0: bigint, k1: bigint, at: number, len: number): bigint;
}

/** Which statistic sm_stat returns (STAT_* in assembly/abi.ts). */
export const Stat = {
  BYTES_IN_USE: 0, HEAP_BYTES: 1, MEMORY_BYTES: 2, THREADS: 3, EPOCH_ADVANCES: 4, LOCKS_RECOVERED: 5, SCRATCH_BYTES: 6,
  COALESCES: 7,
  // Per-thread counters, summed (assembly/stats.ts).
  MISSES: 8, HITS: 9, SLOW_LOADS: 10, PROMOTIONS: 11, LOCKS: 12, CONTENDED: 13, WAIT_MICROS: 14, EXPIRED: 15,
  COMPACTED: 16, WRITES: 17,
  // The read caches' hits (bindings/read-cache.ts), a part of HITS.
  CACHE_HITS: 18,
  // The spare scratch regions of free slots (assembly/slots.ts, "scratch").
  SPARE_SCRATCH_BYTES: 19,
} as const;

/**
 * The builds of the core: 'release' is the one the package ships; 'debug' (with
 * assertions, crash points and the allocation fault switch) exists only in a
 * clone, for the tests (bindings/internal.ts).
 */
export type CoreBuild = 'release' | 'debug';

const FILES: Record<CoreBuild, URL> = {
  release: new URL('../syncmap.wasm', import.meta.url),
  debug: new URL('../syncmap.debug.wasm', import.meta.url),
};

const compiled = new Map<CoreBuild, WebAssembly.Module>();
const compiling = new Map<CoreBuild, Promise<WebAssembly.Module>>();

/** The compiled core, compiling it synchronously on first use. */
export function coreModuleSync(build: CoreBuild = 'release'): WebAssembly.Module {
  let module = compiled.get(build);
  if (!module) {
    module = new WebAssembly.Module(readFileSync(FILES[build]));
    compiled.set(build, module);
  }
  return module;
}

/** The compiled core, compiling it off the main thread's critical path on first use. */
export function coreModule(build: CoreBuild = 'release'): Promise<WebAssembly.Module> {
  const ready = compiled.get(build);
  if (ready) return Promise.resolve(ready);
  let pending = compiling.get(build);
  if (!pending) {
    pending = readFile(FILES[build])
      .then((bytes) => WebAssembly.compile(bytes))
      .then((module) => {
        compiled.set(build, module);
        return module;
      })
      .finally(() => compiling.delete(build));
    compiling.set(build, pending);
  }
  return pending;
}

const TIMED_OUT = 2;
const WAIT_RESULTS: Record<string, number> = { ok: 0, 'not-equal': 1, 'timed-out': TIMED_OUT };

/**
 * A new instance of the core over `memory`, which asks `registry` whether a
 * thread has died (liveness.ts). Throws a TypeError if `module` is not this
 * package's core (missing imports or exports).
 */
export function instantiate(
  module: WebAssembly.Module, memory: WebAssembly.Memory, registry: ThreadRegistry = processRegistry,
): CoreExports {
  // One view for good: the memory is created at its maximum and never grows (sharing.ts, createMemory).
  const words = new Int32Array(memory.buffer);
  const futexWait = (ptr: number, expected: number, timeoutMs: number): number =>
    WAIT_RESULTS[Atomics.wait(words, ptr >>> 2, expected, timeoutMs)] ?? TIMED_OUT;
  const threads = registryView(registry);
  const threadDead = (id: number): number => (threadIsDead(threads, id) ? 1 : 0);
  // Epoch milliseconds at sub-millisecond resolution, comparable between threads (assembly/clock.ts).
  const nowMs = (): number => performance.timeOrigin + performance.now();
  const instance = new WebAssembly.Instance(module, { env: { memory, futexWait, threadDead, nowMs } });
  const exports = instance.exports as unknown as CoreExports;
  if (typeof exports.sm_attach !== 'function' || typeof exports.sm_layoutVersion !== 'function') {
    throw new TypeError('not a syncmap-wasm core module');
  }
  return exports;
}
