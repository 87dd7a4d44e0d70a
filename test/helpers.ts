/**
 * Shared test helpers: worker orchestration, and access to the built package
 * (tests run against build/, the same files a user installs).
 */
import { Worker } from 'node:worker_threads';
import { expect } from 'vitest';
import type { SyncMap, SyncMapHandle } from '../build/bindings/index.js';
import * as internal from '../build/bindings/internal.js';

export { SyncMap } from '../build/bindings/index.js';
export * from '../build/bindings/index.js';
export * as internal from '../build/bindings/internal.js';

const fixtures = new URL('./fixtures/', import.meta.url);

/** A worker running test/fixtures/<name>, with `data` as workerData. */
export function startWorker(name: string, data: unknown): Worker {
  return new Worker(new URL(name, fixtures), { workerData: data });
}

/** Resolves with the worker's first message; rejects on error or early exit. */
export function firstMessage<T>(worker: Worker): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    worker.once('message', resolve);
    worker.once('error', reject);
    worker.once('exit', (code) => reject(new Error(`worker exited (${code}) before answering`)));
  });
}

/** Runs a fixture to completion and returns its (single) message. */
export async function runWorker<T>(name: string, data: unknown): Promise<T> {
  const worker = startWorker(name, data);
  const result = await firstMessage<T>(worker);
  await exited(worker);
  return result;
}

export function exited(worker: Worker): Promise<number> {
  return new Promise((resolve) => {
    if (worker.threadId === -1) resolve(0);
    else worker.once('exit', resolve);
  });
}

/**
 * How a crashAt thread dies at its crash point: 'trapped', its call traps and
 * the bindings recover what they can at once (sm_recover) before the thread is
 * abandoned; 'terminated', nothing runs after the trap, as when
 * Worker.terminate() stops a thread there, and its reaper alone cleans up.
 */
export type Death = 'trapped' | 'terminated';

/**
 * Plays a thread that dies at its `n`th crash point (debug build): attaches to
 * `handle` as `deadThread`, runs `work` with a fault armed after `n` crash
 * points, and if it faulted, abandons the attachment as a terminated thread
 * would leave it (its slot, locks and pin as they were) and returns true. If
 * `work` ran to its end, disarms the fault, closes and returns false: there
 * are no more crash points to stop at.
 */
export function crashAt<K, V>(
  handle: SyncMapHandle, deadThread: number, n: number, work: (victim: SyncMap<K, V>) => void,
  death: Death = 'trapped',
): boolean {
  const victim = internal.attachAs<K, V>(handle, deadThread);
  if (death === 'terminated') internal.recoverOnTrap(victim, false);
  internal.coreOfMap(victim).sm_debugFaultAfter(n);
  try {
    work(victim);
  } catch (error) {
    // Only the armed crash point's trap stands for a death: any other (a
    // failed assertion of the debug build) is a bug the test must report.
    if (!(error instanceof WebAssembly.RuntimeError) || !internal.coreOfMap(victim).sm_debugFaultFired()) throw error;
    internal.abandonMap(victim);
    return true;
  }
  internal.coreOfMap(victim).sm_debugFaultAfter(0);
  victim.close();
  return false;
}

/**
 * For n = 1, 2, …: thread `firstThread + n` runs `work` and dies at its n-th
 * crash point (crashAt), and this thread reaps it: exactly one slot, and every
 * invariant holds after (verify). Then `check(n)`. Ends when `work` runs to its
 * end; returns how many crash points it stopped at.
 */
export function reapAtEveryCrashPoint<K, V>(
  map: SyncMap<K, V>, firstThread: number, work: (victim: SyncMap<K, V>) => void, check: (n: number) => void,
  death: Death = 'trapped',
): number {
  let crashes = 0;
  for (let n = 1; ; n++) {
    const deadThread = firstThread + n;
    if (!crashAt(map.handle, deadThread, n, work, death)) return crashes;
    crashes++;
    expect(internal.reapThread(map, deadThread)).toBe(1);
    internal.recordDeath(deadThread); // as its Worker's 'exit' would: the process's registry reuses its record
    // Consistent: every invariant, and no lock left behind (verify takes them all).
    expect(internal.verify(map)).toBe(0);
    check(n);
  }
}

/**
 * Fills `map` with 200-byte values until it refuses (ERR_SYNCMAP_FULL), then
 * deletes every other key and frees what that retired: free memory in holes
 * all over the heap, none as long as a thread's scratch region (checked: this
 * thread's cannot grow by one line), as churn at the limit leaves it.
 */
export function fillWithHoles(map: SyncMap<string, string>): void {
  let n = 0;
  try {
    for (;;) map.store(`key-${n++}`, 'v'.repeat(200));
  } catch (error) {
    expect((error as { code?: string }).code).toBe('ERR_SYNCMAP_FULL');
  }
  for (let i = 0; i < n; i += 2) map.delete(`key-${i}`);
  internal.collect(map);
  const core = internal.coreOfMap(map);
  expect(core.sm_reserve(core.sm_scratchCap() + 64)).toBe(internal.Status.FULL);
}

/** A small shared control block: [0] start flag, [1] stop flag, further words free. */
export function controlBlock(words = 16): Int32Array {
  return new Int32Array(new SharedArrayBuffer(words * 4));
}

// ── issue 9 (TTL, versions, snapshots, add/compute, stats) ──

/** Resolves after `ms` (a wait with margin, never a timing assertion). */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Resolves on the next turn of the event loop's check phase (after pending setImmediate callbacks). */
export function nextImmediate(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/**
 * Polls `condition` every `stepMs` until it holds; rejects after `limitMs`
 * with `what` (a bound on a hang, not a speed requirement).
 */
export async function until(condition: () => boolean, what: string, limitMs = 20_000, stepMs = 5): Promise<void> {
  const deadline = Date.now() + limitMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`gave up waiting (${limitMs} ms) for: ${what}`);
    await sleep(stepMs);
  }
}

/** Sets word `index` of a control block and wakes its waiters. */
export function signal(control: Int32Array, index: number, value = 1): void {
  Atomics.store(control, index, value);
  Atomics.notify(control, index);
}

/** Blocks (Atomics.wait, 50 ms steps) until word `index` of a control block reaches `atLeast`. */
export function awaitWord(control: Int32Array, index: number, atLeast: number, limitMs = 20_000): void {
  const deadline = Date.now() + limitMs;
  for (let seen; (seen = Atomics.load(control, index)) < atLeast; ) {
    if (Date.now() > deadline) throw new Error(`control word ${index} stayed at ${seen} < ${atLeast}`);
    Atomics.wait(control, index, seen, 50);
  }
}

// ── issue 8 (seeded randomness, settling reclamation, error codes) ─────────

/**
 * The seed a randomized test runs with: SYNCMAP_TEST_SEED when set (to replay
 * a failure), else `fallback`. Tests print it in every failure message.
 */
export function testSeed(fallback: number): number {
  const fromEnv = process.env.SYNCMAP_TEST_SEED;
  return fromEnv === undefined || fromEnv === '' ? fallback : Number(fromEnv) >>> 0;
}

export { randomFrom, xorshift32 } from './fixtures/random.mjs';

/** Runs `body`, adding `seed` to the message of anything it throws. */
export async function withSeed<T>(seed: number, body: () => T | Promise<T>): Promise<T> {
  try {
    return await body();
  } catch (error) {
    if (error instanceof Error) error.message = `[seed ${seed}; replay with SYNCMAP_TEST_SEED=${seed}] ${error.message}`;
    throw error;
  }
}

/** The `code` of what `body` throws, or undefined when it returns. */
export function codeOf(body: () => unknown): string | undefined {
  try {
    body();
    return undefined;
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    if (typeof code !== 'string') throw error;
    return code;
  }
}

/** The index of the shard holding `key` (stored for the purpose, then deleted). */
export function shardOf(map: SyncMap<string, number>, key: string): number {
  const before = map.stats({ shards: true }).perShard!.map((s) => s.size);
  map.store(key, 0);
  const after = map.stats({ shards: true }).perShard!.map((s) => s.size);
  map.delete(key);
  return after.findIndex((size, i) => size !== before[i]);
}

/**
 * Lets reclamation free everything retired so far, as far as other threads'
 * pins allow: each collect() advances the epoch up to three times.
 */
export function settle(map: object, rounds = 2): void {
  for (let i = 0; i < rounds; i++) internalForHelpers.collect(map as never);
}

import * as internalForHelpers from '../build/bindings/internal.js';
