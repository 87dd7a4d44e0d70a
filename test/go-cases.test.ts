/**
 * The single-threaded cases of Go's src/sync/map_test.go, ported: each keeps
 * Go's name and checks what Go's checks.
 */
import { describe, expect, it } from 'vitest';
import { internal, SyncMap } from './helpers.js';

describe("Go's map_test.go", () => {
  it('TestMapRangeNestedCall (golang/go#46399): range callbacks may call every method', () => {
    const m = SyncMap.createSync<number, string>({ keys: 'number', values: 'string' });
    ['hello', 'world', 'Go'].forEach((v, i) => m.store(i, v));
    m.range((key, value) => {
      m.range((innerKey, innerValue) => {
        // The key offered in the callback can be loaded: nothing deletes it concurrently.
        expect(m.load(innerKey)).toBe(innerValue);
        // 42 was never stored, so this stores.
        expect(m.loadOrStore(42, 'dummy').loaded).toBe(false);
        // Store then LoadAndDelete 42: gone again, so no later range sees it.
        m.store(42, 'sync.Map');
        expect(m.loadAndDelete(42)).toEqual({ value: 'sync.Map', loaded: true });
        return true;
      });
      // Remove the key on the fly.
      m.delete(key);
      expect(typeof value).toBe('string');
      return true;
    });
    let length = 0;
    m.range(() => {
      length++;
    });
    expect(length).toBe(0);
    expect(m.size).toBe(0);
    expect(internal.verify(m)).toBe(0);
    m.close();
  });

  it('TestCompareAndSwap_NonExistingKey: compareAndSwap of a missing key stores nothing', () => {
    const m = SyncMap.createSync<string, unknown>();
    expect(m.compareAndSwap('missing', null, 42)).toBe(false);
    expect(m.has('missing')).toBe(false);
    expect(m.size).toBe(0);
    // Nor with a dirty table around (the locked path).
    m.store('other', 1);
    expect(m.compareAndSwap('missing', null, 42)).toBe(false);
    expect(m.compareAndDelete('missing', null)).toBe(false);
    expect(m.has('missing')).toBe(false);
    m.close();
  });

  it('TestMapDelete', () => {
    const m = SyncMap.createSync<string, number>({ values: 'number' });
    m.store('go', 1.22);
    expect(m.load('go')).toBe(1.22);
    m.delete('go');
    expect(m.load('go')).toBeUndefined();
    expect(m.has('go')).toBe(false);
    m.close();
  });

  it('TestMapClear', () => {
    const m = SyncMap.createSync<string, number>({ values: 'number' });
    m.store('go', 1.21);
    expect(m.load('go')).toBe(1.21);
    m.clear();
    expect(m.load('go')).toBeUndefined();
    m.store('go', 1.21);
    expect(m.load('go')).toBe(1.21);
    m.close();
  });

  it('TestIssue40999: keys stored and deleted over and over are not leaked', () => {
    const m = SyncMap.createSync<string, string>({ values: 'string', shards: 1 });
    // Bias the dirty table's length above the miss count, as Go's test does.
    m.store('anchor', 'x');
    const baseline = m.stats().bytesInUse;
    for (let i = 0; i < 200_000; i++) {
      const key = `key-${i}`;
      m.store(key, 'value');
      m.delete(key);
    }
    internal.collect(m);
    // Deleted keys are dropped at promotion and reclaimed; what remains is the
    // tables' current size and at most a few epochs of limbo.
    expect(m.stats().bytesInUse - baseline).toBeLessThan(64 << 10);
    expect(m.size).toBe(1);
    m.close();
  });

  it('promotion: loads that miss in read end up copying dirty into read', () => {
    const m = SyncMap.createSync<string, number>({ values: 'number', shards: 1 });
    for (let i = 0; i < 1000; i++) m.store(`k${i}`, i);
    // Enough misses to pay for a copy of the 1000-entry dirty table.
    for (let round = 0; round < 2; round++) for (let i = 0; i < 1000; i++) expect(m.load(`k${i}`)).toBe(i);
    expect(internal.verify(m)).toBe(0);
    m.close();
  });
});
