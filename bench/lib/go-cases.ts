/**
 * Go's sync.Map benchmark suite (src/sync/map_bench_test.go, Go 1.24): the same
 * case names, setups and loop bodies, over BenchMap. One call of `loop` is one
 * pb.Next() iteration of Go's (some iterations make two map calls, as in Go),
 * and `s.i` starts where Go's goroutine g starts: at g × 2^40 here, since the
 * run is timed rather than given b.N.
 *
 * `ops` lists the map operations a case uses, and `mutates` says whether its
 * loop can change the map (LoadOrStoreCollision, CompareAndSwapNoExistingKey
 * and CompareAndSwapValueNotEqual only read, whatever the names say): the
 * harness uses both to tell which implementation can run which case.
 */
import { GO_CASES, type GoCase } from '../../bindings/bench-core.js';
import type { BenchMap, Op } from '../adapters/types.js';
import type { KeyFn } from './keys.js';

export { GO_CASES, type GoCase };

export interface LoopState {
  i: number;
  /** AdversarialAlloc's counters. */
  stores: number;
  loadsSinceStore: number;
}

export interface GoCaseDef {
  name: GoCase;
  setup?: (m: BenchMap, key: KeyFn) => void;
  loop: (m: BenchMap, key: KeyFn, s: LoopState) => void;
  ops: readonly Op[];
  mutates: boolean;
}

/** Go starts goroutine g at g × b.N; a fixed stride keeps key ranges disjoint. */
export const GOROUTINE_STRIDE = 2 ** 40;

export function loopState(goroutine: number): LoopState {
  return { i: goroutine * GOROUTINE_STRIDE, stores: 0, loadsSinceStore: 0 };
}

const MOSTLY = 1023;
const BALANCED = 128;
const RANGE_SIZE = 1 << 10;

/** Go's "hits, misses" setup: LoadOrStore the hits, then prime the map with loads. */
function setupHits(hits: number) {
  return (m: BenchMap, key: KeyFn): void => {
    for (let i = 0; i < hits; i++) m.loadOrStore(key(i), i);
    // Prime the map to get it into a steady state.
    for (let i = 0; i < hits * 2; i++) m.load(key(i % hits));
  };
}

function setupStored(count: number) {
  return (m: BenchMap, key: KeyFn): void => {
    for (let i = 0; i < count; i++) m.store(key(i), i);
  };
}

const collisionSetup = (m: BenchMap, key: KeyFn): void => {
  m.loadOrStore(key(0), 0);
};

class GoCheckFailed extends Error {}

const defs: GoCaseDef[] = [
  {
    name: 'LoadMostlyHits',
    setup: setupHits(MOSTLY),
    loop: (m, key, s) => {
      m.load(key(s.i++ % (MOSTLY + 1)));
    },
    ops: ['loadOrStore', 'load'],
    mutates: false,
  },
  {
    name: 'LoadMostlyMisses',
    setup: setupHits(1),
    loop: (m, key, s) => {
      m.load(key(s.i++ % (1 + MOSTLY)));
    },
    ops: ['loadOrStore', 'load'],
    mutates: false,
  },
  {
    name: 'LoadOrStoreBalanced',
    setup: setupHits(BALANCED),
    loop: (m, key, s) => {
      const i = s.i++;
      const j = i % (BALANCED * 2);
      if (j < BALANCED) {
        if (!m.loadOrStore(key(j), i)) throw new GoCheckFailed(`unexpected miss for ${j}`);
      } else if (m.loadOrStore(key(i), i)) {
        throw new GoCheckFailed(`failed to store ${i}: existing value`);
      }
    },
    ops: ['loadOrStore', 'load'],
    mutates: true,
  },
  {
    name: 'LoadOrStoreUnique',
    loop: (m, key, s) => {
      const i = s.i++;
      m.loadOrStore(key(i), i);
    },
    ops: ['loadOrStore'],
    mutates: true,
  },
  {
    name: 'LoadOrStoreCollision',
    setup: collisionSetup,
    loop: (m, key, s) => {
      s.i++;
      m.loadOrStore(key(0), 0);
    },
    ops: ['loadOrStore'],
    mutates: false,
  },
  {
    name: 'LoadAndDeleteBalanced',
    setup: setupHits(BALANCED),
    loop: (m, key, s) => {
      const i = s.i++;
      const j = i % (BALANCED * 2);
      m.loadAndDelete(key(j < BALANCED ? j : i));
    },
    ops: ['loadOrStore', 'load', 'loadAndDelete'],
    mutates: true,
  },
  {
    name: 'LoadAndDeleteUnique',
    loop: (m, key, s) => {
      m.loadAndDelete(key(s.i++));
    },
    ops: ['loadAndDelete'],
    mutates: true,
  },
  {
    name: 'LoadAndDeleteCollision',
    setup: collisionSetup,
    loop: (m, key, s) => {
      s.i++;
      if (m.loadAndDelete(key(0))) m.store(key(0), 0);
    },
    ops: ['loadOrStore', 'loadAndDelete', 'store'],
    mutates: true,
  },
  {
    name: 'Range',
    setup: setupStored(RANGE_SIZE),
    loop: (m, _key, s) => {
      s.i++;
      m.range(() => true);
    },
    ops: ['store', 'range'],
    mutates: false,
  },
  {
    // Stores a new value whenever the map was promoted, else loads a unique
    // missing key: the loads always take the map's mutex.
    name: 'AdversarialAlloc',
    loop: (m, key, s) => {
      const i = s.i++;
      m.load(key(i));
      if (++s.loadsSinceStore > s.stores) {
        m.loadOrStore(key(i), s.stores);
        s.loadsSinceStore = 0;
        s.stores++;
      }
    },
    ops: ['load', 'loadOrStore'],
    mutates: true,
  },
  {
    // Periodically deletes one key and adds another in a 1024-key map: loads
    // take the mutex, and each change copies the map.
    name: 'AdversarialDelete',
    setup: setupStored(RANGE_SIZE),
    loop: (m, key, s) => {
      const i = s.i++;
      m.load(key(i));
      if (i % RANGE_SIZE === 0) {
        let first: string | undefined;
        m.range((k) => {
          first = k;
          return false;
        });
        if (first !== undefined) m.delete(first);
        m.store(key(i), i);
      }
    },
    ops: ['store', 'load', 'range', 'delete'],
    mutates: true,
  },
  {
    name: 'DeleteCollision',
    setup: collisionSetup,
    loop: (m, key, s) => {
      s.i++;
      m.delete(key(0));
    },
    ops: ['loadOrStore', 'delete'],
    mutates: true,
  },
  {
    name: 'SwapCollision',
    setup: collisionSetup,
    loop: (m, key, s) => {
      s.i++;
      m.swap(key(0), 0);
    },
    ops: ['loadOrStore', 'swap'],
    mutates: true,
  },
  {
    name: 'SwapMostlyHits',
    setup: setupHits(MOSTLY),
    loop: (m, key, s) => swapMostly(m, key, s, MOSTLY),
    ops: ['loadOrStore', 'load', 'swap', 'delete'],
    mutates: true,
  },
  {
    name: 'SwapMostlyMisses',
    setup: setupHits(1),
    loop: (m, key, s) => swapMostly(m, key, s, 1),
    ops: ['loadOrStore', 'load', 'swap', 'delete'],
    mutates: true,
  },
  {
    name: 'CompareAndSwapCollision',
    setup: collisionSetup,
    loop: (m, key, s) => {
      s.i++;
      if (m.compareAndSwap(key(0), 0, 42)) m.compareAndSwap(key(0), 42, 0);
    },
    ops: ['loadOrStore', 'compareAndSwap'],
    mutates: true,
  },
  {
    name: 'CompareAndSwapNoExistingKey',
    loop: (m, key, s) => {
      const i = s.i++;
      if (m.compareAndSwap(key(i), 0, 0)) m.delete(key(i));
    },
    ops: ['compareAndSwap'],
    mutates: false,
  },
  {
    name: 'CompareAndSwapValueNotEqual',
    setup: setupStored(1),
    loop: (m, key, s) => {
      s.i++;
      m.compareAndSwap(key(0), 1, 2);
    },
    ops: ['store', 'compareAndSwap'],
    mutates: false,
  },
  {
    name: 'CompareAndSwapMostlyHits',
    setup: setupHits(MOSTLY),
    loop: (m, key, s) => {
      const i = s.i++;
      const v = i % (MOSTLY + 1) < MOSTLY ? i % (MOSTLY + 1) : i;
      m.compareAndSwap(key(v), v, v);
    },
    ops: ['loadOrStore', 'load', 'compareAndSwap'],
    mutates: true,
  },
  {
    name: 'CompareAndSwapMostlyMisses',
    setup: setupHits(1),
    loop: (m, key, s) => {
      const i = s.i++;
      const v = i % (MOSTLY + 1) < 1 ? i % (MOSTLY + 1) : i;
      m.compareAndSwap(key(v), v, v);
    },
    ops: ['loadOrStore', 'load', 'compareAndSwap'],
    mutates: true,
  },
  {
    name: 'CompareAndDeleteCollision',
    setup: collisionSetup,
    loop: (m, key, s) => {
      s.i++;
      if (m.compareAndDelete(key(0), 0)) m.store(key(0), 0);
    },
    ops: ['loadOrStore', 'compareAndDelete', 'store'],
    mutates: true,
  },
  {
    name: 'CompareAndDeleteMostlyHits',
    setup: setupHits(MOSTLY),
    loop: (m, key, s) => compareAndDeleteMostly(m, key, s, MOSTLY),
    ops: ['loadOrStore', 'load', 'compareAndDelete', 'store'],
    mutates: true,
  },
  {
    name: 'CompareAndDeleteMostlyMisses',
    setup: setupHits(1),
    loop: (m, key, s) => compareAndDeleteMostly(m, key, s, 1),
    ops: ['loadOrStore', 'load', 'compareAndDelete', 'store'],
    mutates: true,
  },
  {
    name: 'Clear',
    loop: (m, key, s) => {
      const i = s.i++;
      m.clear();
      m.store(key(i % 256), i % 256);
    },
    ops: ['clear', 'store'],
    mutates: true,
  },
];

function swapMostly(m: BenchMap, key: KeyFn, s: LoopState, hits: number): void {
  const i = s.i++;
  if (i % (MOSTLY + 1) < hits) {
    const v = i % (MOSTLY + 1);
    m.swap(key(v), v);
  } else {
    m.swap(key(i), i);
    m.delete(key(i));
  }
}

function compareAndDeleteMostly(m: BenchMap, key: KeyFn, s: LoopState, hits: number): void {
  const i = s.i++;
  const v = i % (MOSTLY + 1) < hits ? i % (MOSTLY + 1) : i;
  if (m.compareAndDelete(key(v), v)) m.store(key(v), v);
}

if (defs.map((d) => d.name).join() !== GO_CASES.join()) throw new Error('go-cases.ts and GO_CASES disagree');

export const GO_CASE_DEFS: ReadonlyMap<GoCase, GoCaseDef> = new Map(defs.map((d) => [d.name, d]));

export function goCase(name: GoCase): GoCaseDef {
  return GO_CASE_DEFS.get(name)!;
}
