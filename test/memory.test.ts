/**
 * The shared memory is created at its maximum and never grows (see
 * bindings/sharing.ts: other threads' bulk-memory bounds checks would lag a
 * grow), while the allocator's heap grows on demand inside it and running out
 * is an error.
 */
import { describe, expect, it } from 'vitest';
import { SyncMap } from './helpers.js';

describe('the shared memory', () => {
  it('is reserved whole at creation, and the heap grows inside it on demand', () => {
    const map = SyncMap.createSync<string, string>({ values: 'string', maxMemoryBytes: 64 << 20 });
    const memory = map.handle.memory;
    expect(memory.buffer.byteLength).toBe(64 << 20);
    const before = map.stats().heapBytes;
    for (let i = 0; i < 20_000; i++) map.store(`key-${i}`, 'v'.repeat(200));
    expect(map.stats().heapBytes).toBeGreaterThan(before + 20_000 * 200);
    expect(memory.buffer.byteLength).toBe(64 << 20); // never grown
    map.close();
  });

  it('rounds maxMemoryBytes up to whole 64 KiB pages', () => {
    const map = SyncMap.createSync({ maxMemoryBytes: (3 << 20) + 1 });
    expect(map.handle.memory.buffer.byteLength).toBe((3 << 20) + 65536);
    expect(map.stats().maxMemoryBytes).toBe((3 << 20) + 1);
    map.close();
  });
});
