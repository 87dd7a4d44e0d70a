/**
 * Issue 8, section 4: allocation failure at every allocation site. With the
 * debug build's fault switch, the n-th allocation an operation makes fails as
 * if memory were full (sm_debugFailAllocation(n)); for n = 1, 2, 3, … until
 * the operation runs through without reaching it, the operation must either
 * complete, or fail with ERR_SYNCMAP_FULL and leave the map exactly as it was:
 * the same keys and values (range), the same size, every invariant (verify),
 * and no block leaked (after each attempt, the map emptied by clear() and
 * reclamation holds exactly the bytes it held before any fault).
 *
 * Each operation starts from a freshly built state (the map cleared and
 * refilled by the same script), so that every attempt meets the same
 * allocation sites: maps of 0 to 2000 keys in one shard, with every key in
 * the read table ('promoted': a new key makes a dirty table from read), with a
 * dirty table as well ('amended': a new key goes into dirty, which may have to
 * grow), or with half the keys deleted ('deleted': the new dirty table leaves
 * them out); values short and chunked (over 4 KiB).
 */
import { describe, expect, it } from 'vitest';
import { internal, settle, type SyncMap } from './helpers.js';

type Flavour = 'promoted' | 'amended' | 'deleted';
type Model = Map<string, string>;

const SIZES = [0, 1, 5, 6, 7, 40, 380, 381, 382, 383, 1000, 2000];
const FLAVOURS: Flavour[] = ['promoted', 'amended', 'deleted'];
const SHORT = 'value-0123456789';
const LARGE = 'L'.repeat(10_000); // a head block and chunks
const NEW_KEY = 'new-key';

/** Builds `size` keys in `flavour` into the (empty) map and the model. */
function build(map: SyncMap<string, string>, size: number, flavour: Flavour): Model {
  const model: Model = new Map();
  for (let i = 0; i < size; i++) {
    map.store(`k${i}`, `v${i}`);
    model.set(`k${i}`, `v${i}`);
  }
  map.range(() => {}); // promotes: every key in read, no dirty table
  if (flavour === 'amended') {
    for (let i = 0; i < 5; i++) {
      map.store(`a${i}`, `w${i}`);
      model.set(`a${i}`, `w${i}`);
    }
  } else if (flavour === 'deleted') {
    for (let i = 0; i < size; i += 2) {
      map.delete(`k${i}`);
      model.delete(`k${i}`);
    }
  }
  return model;
}

type Op = { name: string; run(map: SyncMap<string, string>, model: Model): void };

/** A present key of the model, if any. */
const present = (model: Model): string | undefined => model.keys().next().value;

const OPS: Op[] = [
  { name: 'store of a new key', run: (m, model) => (m.store(NEW_KEY, SHORT), model.set(NEW_KEY, SHORT)) },
  { name: 'store of a new key, chunked value', run: (m, model) => (m.store(NEW_KEY, LARGE), model.set(NEW_KEY, LARGE)) },
  {
    name: 'store of an existing key', run: (m, model) => {
      const key = present(model) ?? NEW_KEY;
      m.store(key, SHORT);
      model.set(key, SHORT);
    },
  },
  {
    name: 'store of an existing key, chunked value', run: (m, model) => {
      const key = present(model) ?? NEW_KEY;
      m.store(key, LARGE);
      model.set(key, LARGE);
    },
  },
  {
    name: 'loadOrStore of a new key', run: (m, model) => {
      expect(m.loadOrStore(NEW_KEY, SHORT)).toEqual({ value: SHORT, loaded: false });
      model.set(NEW_KEY, SHORT);
    },
  },
  {
    name: 'loadOrStore of an existing key', run: (m, model) => {
      const key = present(model);
      if (key === undefined) return;
      expect(m.loadOrStore(key, SHORT)).toEqual({ value: model.get(key), loaded: true });
    },
  },
  {
    name: 'swap of a new key', run: (m, model) => {
      expect(m.swap(NEW_KEY, SHORT)).toEqual({ previous: undefined, loaded: false });
      model.set(NEW_KEY, SHORT);
    },
  },
  {
    name: 'swap of an existing key', run: (m, model) => {
      const key = present(model);
      if (key === undefined) return;
      expect(m.swap(key, LARGE)).toEqual({ previous: model.get(key), loaded: true });
      model.set(key, LARGE);
    },
  },
  {
    name: 'compareAndSwap', run: (m, model) => {
      const key = present(model);
      if (key === undefined) return;
      expect(m.compareAndSwap(key, model.get(key)!, SHORT)).toBe(true);
      model.set(key, SHORT);
    },
  },
  {
    name: 'compareAndDelete', run: (m, model) => {
      const key = present(model);
      if (key === undefined) return;
      expect(m.compareAndDelete(key, model.get(key)!)).toBe(true);
      model.delete(key);
    },
  },
  {
    name: 'loadAndDelete', run: (m, model) => {
      const key = present(model);
      if (key === undefined) return;
      expect(m.loadAndDelete(key)).toEqual({ value: model.get(key), loaded: true });
      model.delete(key);
    },
  },
];

/** The map's contents, sorted: what range sees. */
function contents(map: SyncMap<string, string>): [string, string][] {
  const all: [string, string][] = [];
  map.range((key, value) => {
    all.push([key, value]);
  });
  return all.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
}

const sorted = (model: Model): [string, string][] => [...model].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));

describe('issue 8 §4: allocation failure at every allocation site', () => {
  it.each(OPS.map((op) => [op.name, op] as const))('%s: completes, or fails with ERR_SYNCMAP_FULL leaving the map as it was, at every size', (_, op) => {
    const map = internal.createWithBuild<string, string>('debug', {
      shards: 1, values: 'string', maxKeyBytes: 64, maxValueBytes: 16 << 10, maxMemoryBytes: 16 << 20,
    });
    const core = internal.coreOfMap(map);
    settle(map);
    const baseline = map.stats().bytesInUse;
    const sites: string[] = [];
    let failures = 0;
    let previous = 'no attempt yet';
    for (const size of SIZES) {
      for (const flavour of FLAVOURS) {
        const where = `${op.name}, ${size} keys, ${flavour}`;
        let lastFailure = 0;
        for (let n = 1; n <= lastFailure + 4; n++) {
          // Emptied, the map holds what it held before any fault: a failed attempt leaked nothing.
          map.clear();
          settle(map);
          expect(map.stats().bytesInUse - baseline, `bytes leaked in all, checked before ${where}, allocation ${n}: ${previous}`).toBe(0);
          const model = build(map, size, flavour);
          const before = sorted(model);
          core.sm_debugFailAllocation(n);
          let code: string | undefined;
          try {
            op.run(map, model);
          } catch (error) {
            code = (error as { code?: string }).code;
            if (code === undefined) throw error;
          } finally {
            core.sm_debugFailAllocation(0);
          }
          if (code !== undefined) {
            expect(code, `${where}, allocation ${n} failed`).toBe('ERR_SYNCMAP_FULL');
            lastFailure = n;
            failures++;
            expect(contents(map), `${where}, allocation ${n} failed: the contents`).toEqual(before);
          } else {
            expect(contents(map), `${where}, allocation ${n} armed: the contents after the operation`).toEqual(sorted(model));
          }
          expect(map.size, `${where}, allocation ${n}`).toBe(code === undefined ? model.size : before.length);
          expect(internal.verify(map), `${where}, allocation ${n}`).toBe(0);
          // And the map works on: a write that allocates succeeds.
          map.store('after', SHORT);
          previous = `after ${where}, allocation ${n} ${code === undefined ? 'armed (completed)' : 'failed'}`;
        }
        sites.push(`${size}/${flavour[0]}:${lastFailure}`);
      }
    }
    map.clear();
    settle(map);
    const leaked = map.stats().bytesInUse - baseline;
    console.log(`${op.name}: ${failures} failed allocations; sites per state (keys/flavour:count) ${sites.join(' ')}; ${leaked} bytes not returned`);
    expect(leaked).toBe(0);
    map.close();
  });
});
