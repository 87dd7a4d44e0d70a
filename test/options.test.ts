/**
 * Options are checked by name as well as by value: a misspelt option is an
 * error naming it (never a silent default), and a call refuses the options that
 * do not apply to it (LockedMap's shards, attach()'s creation options).
 */
import { describe, expect, it } from 'vitest';
import { LockedMap, SyncMap, SyncMapArgumentError } from './helpers.js';

function errorOf(fn: () => unknown): SyncMapArgumentError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(SyncMapArgumentError);
    expect((error as SyncMapArgumentError).code).toBe('ERR_SYNCMAP_INVALID_ARGUMENT');
    return error as SyncMapArgumentError;
  }
  throw new Error('no error');
}

describe('unknown option names', () => {
  it('a misspelt option is refused, named, with the known ones listed and the nearest suggested', () => {
    const { message } = errorOf(() => SyncMap.createSync({ maxMemory: 1 } as never));
    expect(message).toBe(
      'SyncMap.createSync: unknown option "maxMemory" (did you mean maxMemoryBytes?); ' +
        'the options are keys, values, maxMemoryBytes, shards, maxKeyBytes, maxValueBytes, lockTimeoutMs, ' +
        'ttlMs, ttlResolutionMs, versioned, readCache, freeze',
    );
  });

  it('is refused beside good options, even when undefined, and by create() too', async () => {
    expect(errorOf(() => SyncMap.createSync({ keys: 'number', colour: 'red' } as never)).message)
      .toMatch(/^SyncMap\.createSync: unknown option "colour"; the options are keys, /);
    expect(errorOf(() => SyncMap.createSync({ lockTimeout: undefined } as never)).message).toMatch(/"lockTimeout" \(did you mean lockTimeoutMs\?\)/);
    await expect(SyncMap.create({ shard: 4 } as never)).rejects.toThrow(/^SyncMap\.create: unknown option "shard" \(did you mean shards\?\)/);
  });

  it('LockedMap refuses shards and the cache features, saying why', async () => {
    const { message } = errorOf(() => LockedMap.createSync({ shards: 4 } as never));
    expect(message).toBe(
      'LockedMap.createSync: options.shards does not apply to a LockedMap: it is one table behind one lock; ' +
        'the options are keys, values, maxMemoryBytes, maxKeyBytes, maxValueBytes, lockTimeoutMs',
    );
    await expect(LockedMap.create({ shards: 1 } as never)).rejects.toThrow(SyncMapArgumentError);
    // SyncMap's cache features, each with its own reason.
    expect(errorOf(() => LockedMap.createSync({ ttlMs: 1000 } as never)).message).toMatch(
      /^LockedMap\.createSync: options\.ttlMs does not apply to a LockedMap: its values never expire /,
    );
    expect(errorOf(() => LockedMap.createSync({ versioned: true } as never)).message).toMatch(
      /^LockedMap\.createSync: options\.versioned does not apply to a LockedMap: it keeps no versions /,
    );
    expect(errorOf(() => LockedMap.createSync({ maxMemory: 1 } as never)).message).toMatch(/^LockedMap\.createSync: unknown option "maxMemory"/);
  });

  it('attach() refuses creation options and unknown names, on both classes', () => {
    const map = SyncMap.createSync();
    const locked = LockedMap.createSync();
    expect(errorOf(() => SyncMap.attach(map.handle, { shards: 4 } as never)).message).toBe(
      'SyncMap.attach: options.shards does not apply to attach(): the map keeps what it was created with; ' +
        'the options are values, lockTimeoutMs, readCache, freeze',
    );
    expect(errorOf(() => SyncMap.attach(map.handle, { keys: 'string' } as never)).message).toMatch(/options\.keys does not apply to attach\(\)/);
    expect(errorOf(() => LockedMap.attach(locked.handle, { lockTimeout: 5 } as never)).message).toMatch(
      /^LockedMap\.attach: unknown option "lockTimeout" \(did you mean lockTimeoutMs\?\); the options are values, lockTimeoutMs$/,
    );
    expect(map.stats().threads).toBe(1); // nothing was attached
    const again = SyncMap.attach(map.handle, { lockTimeoutMs: 100 });
    expect(map.stats().threads).toBe(1); // the same thread: one slot, shared
    expect(again.size).toBe(map.size);
    again.close();
    locked.close();
    map.close();
  });

  it('every documented option is still accepted', () => {
    const map = SyncMap.createSync({
      keys: 'string', values: 'json', maxMemoryBytes: 16 << 20, shards: 4, maxKeyBytes: 64, maxValueBytes: 1024, lockTimeoutMs: 100,
    });
    map.store('k', { ok: true });
    expect(map.load('k')).toEqual({ ok: true });
    expect(map.stats()).toMatchObject({ maxMemoryBytes: 16 << 20, shards: 4 });
    map.close();
    const locked = LockedMap.createSync({ keys: 'number', values: 'number', maxMemoryBytes: 16 << 20, maxKeyBytes: 8, maxValueBytes: 8, lockTimeoutMs: 100 });
    locked.store(1, 2);
    expect(locked.load(1)).toBe(2);
    locked.close();
  });
});

describe('maxMemoryBytes', () => {
  it("says why its least value is what it is: 1 MiB plus one thread's scratch", () => {
    expect(errorOf(() => SyncMap.createSync({ maxMemoryBytes: 2 << 20 })).message).toBe(
      'SyncMap.createSync: options.maxMemoryBytes must be an integer from 2101248 to 4294901760 ' +
        "(the least is 1 MiB for the heap's root and the map, plus one thread's scratch region of " +
        'maxKeyBytes + maxValueBytes = 4096 + 1048576 bytes), got 2097152',
    );
    expect(errorOf(() => SyncMap.createSync({ maxMemoryBytes: 1 << 20, maxKeyBytes: 16, maxValueBytes: 0 })).message).toMatch(
      /from 1048592 to .*maxKeyBytes \+ maxValueBytes = 16 \+ 0 bytes\), got 1048576$/,
    );
    const smallest = SyncMap.createSync({ maxMemoryBytes: (1 << 20) + 16 + 64, maxKeyBytes: 16, maxValueBytes: 64 });
    smallest.store('k', 1);
    expect(smallest.load('k')).toBe(1);
    smallest.close();
  });

  it('names the call and the option in every range message', () => {
    expect(errorOf(() => SyncMap.createSync({ shards: 3 })).message).toBe('SyncMap.createSync: options.shards must be a power of two, got 3');
    expect(errorOf(() => LockedMap.createSync({ lockTimeoutMs: 0 })).message).toBe(
      'LockedMap.createSync: options.lockTimeoutMs must be an integer from 1 to 2147483647, got 0',
    );
    expect(errorOf(() => SyncMap.createSync({ keys: 'object' as never })).message).toBe(
      'SyncMap.createSync: options.keys must be one of string, number, bytes, got "object"',
    );
  });
});

describe("the options of a map's methods", () => {
  it('stats(), changesSince() and startSweeper() refuse a misspelt option as create() does', () => {
    const map = SyncMap.createSync({ versioned: true, ttlMs: 60_000 });
    expect(errorOf(() => map.stats({ shard: true } as never)).message).toBe(
      'SyncMap.stats: unknown option "shard" (did you mean shards?); the options are shards',
    );
    expect(errorOf(() => map.changesSince(0, { limt: 5 } as never)).message).toBe(
      'SyncMap.changesSince: unknown option "limt" (did you mean limit?); the options are limit',
    );
    // A name create() explains (lru-cache's max) is only unknown here.
    expect(errorOf(() => map.changesSince(0, { max: 5 } as never)).message).toBe(
      'SyncMap.changesSince: unknown option "max"; the options are limit',
    );
    expect(errorOf(() => map.startSweeper({ interval: 5 } as never)).message).toBe(
      'SyncMap.startSweeper: unknown option "interval" (did you mean intervalMs?); the options are intervalMs, maxTickMs',
    );
    expect(errorOf(() => map.stats('shards' as never)).message).toBe('SyncMap.stats: options must be an object, got a string');
    expect(errorOf(() => map.stats({ shards: 1 } as never)).message).toBe(
      'SyncMap.stats: options.shards must be a boolean, got a number',
    );
    // Nothing was started, and the good options still work.
    expect(map.stats({ shards: true }).perShard?.length).toBeGreaterThan(0);
    expect(map.changesSince(0, { limit: 5 }).upserts).toEqual([]);
    map.startSweeper({ intervalMs: 50 })();
    map.close();
  });

  it('a number given as a string is quoted in the message, so that "5" does not read as 5', () => {
    expect(errorOf(() => SyncMap.createSync({ lockTimeoutMs: '5' } as never)).message).toBe(
      'SyncMap.createSync: options.lockTimeoutMs must be an integer from 1 to 2147483647, got "5"',
    );
    expect(errorOf(() => SyncMap.createSync({ keys: 'msgpack' } as never)).message).toMatch(/got "msgpack"$/);
    const map = SyncMap.createSync({ versioned: true });
    expect(errorOf(() => map.changesSince('3' as never)).message).toMatch(/got "3"$/);
    expect(errorOf(() => map.changesSince(0, { limit: '5' } as never)).message).toMatch(/options\.limit must be an integer from 1 to Infinity, got "5"$/);
    map.close();
  });
});
