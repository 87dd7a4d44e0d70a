/**
 * The implementations of the Go suite, side by side: what each is, which
 * cells it can run and why not the others, and how the main thread sets up a
 * case on it before the runners start.
 *
 * Shared implementations are set up from the main thread (its own attachment
 * or client) and the runners reach the same map; the JS Map variants live in
 * runner 0 and are set up there; the BroadcastChannel baseline gets a new
 * channel per cell, and every runner seeds its own copy with the setup;
 * ShareableMap gets a new map per cell, set up here and adopted by the runners.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LockedMap, SyncMap } from 'syncmap-wasm';
import { ConcurrentAdapter } from '../adapters/concurrent.js';
import { LmdbAdapter, openLmdb } from '../adapters/lmdb.js';
import { OwnerClient } from '../adapters/owner.js';
import { SharedMapAdapter, createSharedMap } from '../adapters/sharedmap.js';
import { SmdAdapter, createShareableMap } from '../adapters/smd.js';
import type { ImplKind, ImplSpec } from '../adapters/types.js';
import type { GoCaseDef } from './go-cases.js';
import { keyOf } from './keys.js';
import type { Pool } from './pool.js';

/** Why a cell has no figure. */
export interface Verdict {
  status: 'n/a' | 'unsupported' | 'unsafe' | 'pending';
  note: string;
}

export interface Prepared {
  spec: ImplSpec;
  setupInWorker: boolean;
}

export interface Session {
  /** Empties the map and runs the case's setup; what the runners open. */
  prepare(def: GoCaseDef): Prepared;
  close(): Promise<void>;
}

export interface Impl {
  kind: ImplKind;
  /** Column header. */
  label: string;
  /** One line for the table's legend. */
  about: string;
  /** The pool needs the owner thread. */
  owner?: boolean;
  verdict(def: GoCaseDef, threads: number): Verdict | undefined;
  open(pool: Pool): Promise<Session>;
}

/** The largest memory a map may have: address space only, committed as the heap reaches it. */
export const MAX_MEMORY = 4 * 2 ** 30 - 65536;

const deletes = (def: GoCaseDef): boolean => def.ops.some((op) => op === 'delete' || op === 'loadAndDelete' || op === 'compareAndDelete');

/** Cases whose loop changes the value of a present key. */
const OVERWRITES = new Set<string>([
  'SwapCollision',
  'SwapMostlyHits',
  'SwapMostlyMisses',
  'CompareAndSwapCollision',
  'CompareAndSwapMostlyHits',
  'CompareAndSwapMostlyMisses',
]);

function concurrent(kind: 'syncmap' | 'lockedmap'): Impl {
  const Class = kind === 'syncmap' ? SyncMap : LockedMap;
  return {
    kind,
    label: kind === 'syncmap' ? 'SyncMap' : 'LockedMap',
    about:
      kind === 'syncmap'
        ? 'this package: Go\'s sync.Map design, 32 shards, lock-free loads'
        : 'the same Wasm table and allocator behind one reader-writer lock (Go\'s RWMutexMap, the seed\'s map + RWMutex)',
    verdict: () => undefined,
    async open() {
      const map = await Class.create<string, number>({ keys: 'string', values: 'number', maxMemoryBytes: MAX_MEMORY });
      const adapter = new ConcurrentAdapter(map);
      const spec: ImplSpec = { kind, id: `${kind}-go`, handle: map.handle };
      return {
        prepare(def) {
          adapter.clear();
          def.setup?.(adapter, keyOf);
          return { spec, setupInWorker: false };
        },
        async close() {
          map.close();
        },
      };
    },
  };
}

function jsMap(kind: 'map' | 'map-fresh'): Impl {
  return {
    kind,
    label: kind === 'map' ? 'Map (kept keys)' : 'Map (fresh keys)',
    about:
      kind === 'map'
        ? 'a JS Map on one thread, keys V8 has already hashed (beyond the 4096 kept keys, keys are built per call, as for every column)'
        : 'a JS Map on one thread, every key string built fresh for the call (as keys parsed from a request): V8 hashes it each time',
    verdict: (_def, threads) =>
      threads > 1 ? { status: 'n/a', note: 'one thread only: a Map cannot be reached from another thread' } : undefined,
    async open() {
      return {
        prepare(def) {
          return { spec: { kind, id: `${kind}-${def.name}` }, setupInWorker: true };
        },
        async close() {},
      };
    },
  };
}

const broadcast: Impl = {
  kind: 'broadcast',
  label: 'Map + BroadcastChannel',
  about:
    'a JS Map in every thread, each write also posted on a BroadcastChannel and applied by the other threads when their event loop turns (the baseline users build); each thread seeds its own copy with the setup. At 1 thread a write still posts its message, with no one else listening',
  verdict: (def, threads) =>
    threads > 1 && def.mutates
      ? {
          status: 'n/a',
          note: "a thread applies the others' writes only when its event loop turns, never inside Go's loop, so a figure would leave that work out; and loadOrStore, swap, CAS and delete are atomic only within one thread's copy",
        }
      : undefined,
  async open() {
    let cells = 0;
    return {
      prepare() {
        return { spec: { kind: 'broadcast', id: `syncmap-bench-broadcast-${process.pid}-${cells++}` }, setupInWorker: true };
      },
      async close() {},
    };
  },
};

const owner: Impl = {
  kind: 'owner',
  label: 'postMessage owner',
  about: 'one owner thread holds a JS Map; the others make synchronous postMessage round trips (Atomics.wait + receiveMessageOnPort)',
  owner: true,
  verdict: () => undefined,
  async open(pool) {
    const { port, replies } = pool.ownerChannel();
    const client = new OwnerClient(port, replies);
    return {
      prepare(def) {
        client.clear();
        def.setup?.(client, keyOf);
        return { spec: { kind: 'owner', id: 'owner' }, setupInWorker: false };
      },
      async close() {
        client.close();
      },
    };
  },
};

const lmdb: Impl = {
  kind: 'lmdb',
  label: 'lmdb',
  about: 'lmdb-js 3.5 on a temporary file, noSync; sync writes, composed ops in one transactionSync',
  verdict: () => undefined,
  async open() {
    const path = mkdtempSync(join(tmpdir(), 'syncmap-bench-lmdb-'));
    const db = openLmdb(path);
    const adapter = new LmdbAdapter(db);
    return {
      prepare(def) {
        adapter.clear();
        def.setup?.(adapter, keyOf);
        return { spec: { kind: 'lmdb', id: 'lmdb', path }, setupInWorker: false };
      },
      async close() {
        await db.close();
        rmSync(path, { recursive: true, force: true });
      },
    };
  },
};

function sharedmap(capacity: number): Impl {
  return {
    kind: 'sharedmap',
    label: 'sharedmap',
    about: `sharedmap 1.2 (SharedArrayBuffer, line locks), a fixed capacity of ${capacity / 2 ** 20} Mi entries, which its Range and Clear walk whole; loadOrStore/swap/CAS composed under its lockWrite(), deletes under lockExclusive()`,
    verdict: () => undefined,
    async open() {
      // Keys of 36 UTF-16 units, values of up to 16 (Go's int values as decimal text).
      const map = createSharedMap(capacity, 36, 16);
      const adapter = new SharedMapAdapter(map);
      return {
        prepare(def) {
          adapter.clear();
          def.setup?.(adapter, keyOf);
          return { spec: { kind: 'sharedmap', id: 'sharedmap', map }, setupInWorker: false };
        },
        async close() {},
      };
    },
  };
}

const smd: Impl = {
  kind: 'smd',
  label: 'ShareableMap',
  about: 'shared-memory-datastructures 0.1.9 (two SharedArrayBuffers, no locks); runs where it can, see the notes',
  verdict(def, threads) {
    if (deletes(def)) return { status: 'unsupported', note: 'its delete() throws "not supported"' };
    if (OVERWRITES.has(def.name)) {
      return { status: 'unsupported', note: 'set() of a present key appends a duplicate and get() keeps the old value' };
    }
    if (threads > 1 && def.mutates) {
      return { status: 'unsafe', note: 'no locks, and a write that outgrows its buffers replaces them in the writing thread only' };
    }
    return undefined;
  },
  async open() {
    let cells = 0;
    return {
      prepare(def) {
        const map = createShareableMap();
        def.setup?.(new SmdAdapter(map), keyOf);
        return { spec: { kind: 'smd', id: `smd-${cells++}`, buffers: map.getBuffers() }, setupInWorker: false };
      },
      async close() {},
    };
  },
};

export function goImpls(sharedMapCapacity: number): Impl[] {
  return [concurrent('syncmap'), concurrent('lockedmap'), jsMap('map'), jsMap('map-fresh'), broadcast, owner, lmdb, sharedmap(sharedMapCapacity), smd];
}
