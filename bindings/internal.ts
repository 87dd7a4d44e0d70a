/**
 * Test-only access to the internals (not part of the public API, not exported
 * from the package's entry point): the core's raw exports, the debug build,
 * and the invariant checker.
 */
import {
  SyncMap, abandon, coreOf, kAttachAs, kCreateWithBuild, setRecoverOnTrap, type ConcurrentMap, type SyncMapOptions,
} from './syncmap.js';
import type { SyncMapHandle } from './sharing.js';
import type { CoreBuild, CoreExports } from './instance.js';
import { recordDeathForTest, recordThreadForTest } from './liveness.js';

export { CoreFlag, Status, LAYOUT_VERSION } from './status.js';
export {
  SLOT_CACHE_HITS, SLOT_FOUND_ADVANCES, SLOT_FOUND_BLOCK, SLOT_FOUND_EXPIRY, SLOT_FOUND_READ, SLOT_FOUND_SERIAL,
  SLOT_FOUND_SLOT, SLOT_FOUND_TABLES_WORD, SLOT_FOUND_VALUE_WORD, WORD_ADVANCES, WORD_SLOT,
} from './read-cache.js';
export { errorForStatus, statusError } from './errors.js';
export { coreModuleSync, instantiate, Stat } from './instance.js';
export type { CoreExports, CoreBuild };

/** A map over the given build of the core ('debug' checks its invariants with assertions). */
export function createWithBuild<K, V>(build: CoreBuild, options?: SyncMapOptions<V>): SyncMap<K, V> {
  return SyncMap[kCreateWithBuild]<K, V>(build, options);
}

/** The core instance behind a map (this thread's). */
export function coreOfMap(map: ConcurrentMap<unknown, unknown>): CoreExports {
  return coreOf(map);
}

/** 0 when every invariant of every shard holds, else the number of the rule broken (assembly/map.ts). */
export function verify(map: ConcurrentMap<unknown, unknown>): number {
  return coreOf(map).sm_verify();
}

/**
 * Bytes of the heap neither in use nor free anywhere (a list, a thread's cache,
 * carving chunk or held run): memory lost (negative: counted twice). Exact
 * only while no thread allocates or frees.
 */
export function heapUnaccounted(map: ConcurrentMap<unknown, unknown>): number {
  return coreOf(map).sm_heapUnaccounted();
}

/**
 * Ages the release of every free slot of the map by `seconds`, as if that long
 * had passed (assembly/slots.ts, "released"): its spare is then no longer one
 * the give-back leaves for a restart. A negative count moves the releases
 * ahead. Returns how many slots.
 */
export function ageReleases(map: ConcurrentMap<unknown, unknown>, seconds: number): number {
  return coreOf(map).sm_ageReleases(seconds);
}

/** Frees what reclamation can free now (as far as other threads' pins allow). */
export function collect(map: ConcurrentMap<unknown, unknown>): void {
  coreOf(map).sm_collect();
}

/**
 * Attaches under a made-up thread id: together with abandon() and
 * reapThread(), one thread can play another that died at a chosen instruction.
 */
export function attachAs<K, V>(handle: SyncMapHandle, threadId: number): SyncMap<K, V> {
  recordThreadForTest(threadId);
  return SyncMap[kAttachAs]<K, V>(handle, threadId);
}

/** Records the death of a made-up thread id (attachAs), as the 'exit' event of its Worker would. */
export function recordDeath(threadId: number): void {
  recordDeathForTest(threadId);
}

/**
 * Turns off (or on) the recovery from a trap in `map`'s calls by the catch
 * around them: with it off, a crash point's trap leaves everything as
 * Worker.terminate() would at that instruction, for the reaper to take over
 * (test/helpers.ts, crashAt, under a made-up thread id), or as a catch whose
 * own call overflowed would, for this thread's watch (attachment.ts).
 */
export function recoverOnTrap(map: ConcurrentMap<unknown, unknown>, on: boolean): void {
  setRecoverOnTrap(map, on);
}

/** Forgets a map without detaching: its slot, locks and pin stay as they are. */
export function abandonMap(map: ConcurrentMap<unknown, unknown>): void {
  abandon(map);
}

/** Reaps the slots of `threadId` through `map`; returns how many. */
export function reapThread(map: ConcurrentMap<unknown, unknown>, threadId: number): number {
  return coreOf(map).sm_reapThread(threadId);
}
