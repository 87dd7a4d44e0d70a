/**
 * LockedMap is not crash-safe (its reader-writer lock records no owner, so
 * nobody can repair it), but a thread that died holding the lock must not hang
 * the others: every operation that needs the lock gives up after lockTimeoutMs
 * with ERR_SYNCMAP_LOCK_TIMEOUT, as SyncMap's shard locks do.
 */
import { describe, expect, it } from 'vitest';
import { LockedMap, type SyncMapError, exited, firstMessage, startWorker } from './helpers.js';

const TIMEOUT_MS = 200;

/** The default patience: a map that ignored lockTimeoutMs would wait this long. */
const DEFAULT_TIMEOUT_MS = 5000;

/** Asserts that `run` gives up with ERR_SYNCMAP_LOCK_TIMEOUT after lockTimeoutMs: not sooner, nor at the default. */
function expectLockTimeout(run: () => unknown): void {
  let code: string | undefined;
  const started = performance.now();
  try {
    run();
  } catch (error) {
    code = (error as SyncMapError).code;
  }
  const waited = performance.now() - started;
  expect(code).toBe('ERR_SYNCMAP_LOCK_TIMEOUT');
  expect(waited).toBeGreaterThanOrEqual(TIMEOUT_MS * 0.9);
  expect(waited).toBeLessThan(DEFAULT_TIMEOUT_MS / 2);
}

async function mapWithDeadHolder(hold: 'read' | 'write'): Promise<LockedMap<string, number>> {
  const map = await LockedMap.create<string, number>({ values: 'number', lockTimeoutMs: TIMEOUT_MS });
  map.store('present', 1);
  const worker = startWorker('dead-rwlock-holder.mjs', { handle: map.handle, hold });
  expect(await firstMessage<{ held: string }>(worker)).toEqual({ held: hold });
  await worker.terminate();
  await exited(worker);
  return map;
}

describe('LockedMap, a thread terminated while holding its lock', () => {
  it('holding the write lock: reads, writes, range and clear time out instead of hanging', async () => {
    const map = await mapWithDeadHolder('write');
    const before = map.stats().bytesInUse;
    expectLockTimeout(() => map.load('present'));
    expectLockTimeout(() => map.store('present', 2));
    expectLockTimeout(() => map.loadOrStore('new', 3));
    expectLockTimeout(() => map.delete('present'));
    expectLockTimeout(() => map.compareAndSwap('present', 1, 2));
    expectLockTimeout(() => map.range(() => true));
    expectLockTimeout(() => map.clear());
    // A refused store keeps nothing: the value block it had made is freed.
    expect(map.size).toBe(1);
    expect(map.stats().bytesInUse).toBe(before);
    map.close();
  });

  it('holding a read lock: readers go on, a writer times out, then readers behind it do too', async () => {
    const map = await mapWithDeadHolder('read');
    expect(map.load('present')).toBe(1);
    const before = map.stats().bytesInUse;
    expectLockTimeout(() => map.store('present', 2));
    expect(map.stats().bytesInUse).toBe(before);
    // The writer that gave up left its claim (writer-preferring lock): the lock is lost for everyone.
    expectLockTimeout(() => map.load('present'));
    map.close();
  });
});
