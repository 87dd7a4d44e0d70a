/**
 * A typed driver for the core-only benchmark loop (assembly/bench.ts): Go's
 * sync.Map benchmark cases run inside Wasm, with no key or value marshalling.
 * Benchmark-only: not exported from the package's entry point, not published.
 *
 * The loops live in a build of their own, build/syncmap-bench.wasm
 * (assembly/index-bench.ts), so that the published core holds only the map. A
 * memory is attached only by the build that laid it out, so the map is created
 * here, over that build (createBenchMap); its handle carries the bench module,
 * and workers attach to it as to any map.
 *
 * The map must be private to the benchmark and created with keys 'number' or
 * 'bytes': the loop writes raw 8-byte integer keys, which must never meet a
 * string key codec. Each thread drives its own attached instance:
 *
 *   const map = createBenchMap(SyncMap, { keys: 'number', values: 'number' });
 *   const core = new CoreBench(map);     // map: this thread's SyncMap or LockedMap
 *   core.setup('LoadMostlyHits');        // once, from one thread, on an empty map
 *   core.begin('LoadMostlyHits', g);     // in each thread, as Go's goroutine g
 *   while (!stop) done += core.run(4096);
 */
import { readFileSync } from 'node:fs';
import { createAttachment } from './attachment.js';
import {
  LockedMap, SyncMap, type AttachOptions, type ConcurrentMap, type LockedMapOptions, type SyncMapOptions,
} from './syncmap.js';
import { coreOfMap, type CoreExports } from './internal.js';
import { resolveOptions, type MapKind } from './options.js';
import { statusError } from './errors.js';

/** The benchmark build of the core (scripts/build-wasm.mjs, target `bench`). */
const BENCH_WASM = new URL('../syncmap-bench.wasm', import.meta.url);
let benchModule: WebAssembly.Module | undefined;

/** The compiled benchmark build, compiled once per thread. */
export function benchCoreModule(): WebAssembly.Module {
  benchModule ??= new WebAssembly.Module(readFileSync(BENCH_WASM));
  return benchModule;
}

/**
 * A new map over the benchmark build of the core, attached in this thread:
 * the same map, API and options as `Class.createSync(options)`, with Go's loops
 * in its module. Other threads attach to its handle as usual.
 */
export function createBenchMap<K, V>(Class: typeof SyncMap, options?: SyncMapOptions<V>): SyncMap<K, V>;
export function createBenchMap<K, V>(Class: typeof LockedMap, options?: LockedMapOptions<V>): LockedMap<K, V>;
export function createBenchMap<K, V>(Class: typeof SyncMap | typeof LockedMap, options?: SyncMapOptions<V>): ConcurrentMap<K, V> {
  const kind: MapKind = Class === LockedMap ? 'locked' : 'sync';
  const what = `createBenchMap(${Class.name})`;
  // The creator's own attachment only lays the map out; the map returned is an
  // ordinary attachment to its handle, after which the creator's is released.
  const creator = createAttachment<K, V>(benchCoreModule(), resolveOptions<K, V>(options, what, kind), kind);
  try {
    // A custom codec is not in the handle: attach() must be given it again.
    const again = creator.handle.values === 'custom' ? ({ values: options?.values } as AttachOptions<V>) : undefined;
    return kind === 'locked' ? LockedMap.attach<K, V>(creator.handle, again) : SyncMap.attach<K, V>(creator.handle, again);
  } finally {
    creator.close();
  }
}

/** Go's cases, in the order of src/sync/map_bench_test.go; the index is the core's case id. */
export const GO_CASES = [
  'LoadMostlyHits',
  'LoadMostlyMisses',
  'LoadOrStoreBalanced',
  'LoadOrStoreUnique',
  'LoadOrStoreCollision',
  'LoadAndDeleteBalanced',
  'LoadAndDeleteUnique',
  'LoadAndDeleteCollision',
  'Range',
  'AdversarialAlloc',
  'AdversarialDelete',
  'DeleteCollision',
  'SwapCollision',
  'SwapMostlyHits',
  'SwapMostlyMisses',
  'CompareAndSwapCollision',
  'CompareAndSwapNoExistingKey',
  'CompareAndSwapValueNotEqual',
  'CompareAndSwapMostlyHits',
  'CompareAndSwapMostlyMisses',
  'CompareAndDeleteCollision',
  'CompareAndDeleteMostlyHits',
  'CompareAndDeleteMostlyMisses',
  'Clear',
] as const;

export type GoCase = (typeof GO_CASES)[number];

/** The sm_bench* exports of assembly/bench.ts. */
interface BenchExports {
  sm_benchCaseCount(): number;
  sm_benchSetup(caseId: number): number;
  sm_benchBegin(caseId: number, goroutine: number): number;
  sm_benchRun(iterations: number): number;
  sm_benchSink(): number;
}

/** The core's id of 'string' keys (bindings/codecs.ts). */
const STRING_KEYS_ID = 1;

/** What sm_benchRun returns where Go's loop would call b.Fatalf (BENCH_CHECK_FAILED). */
const CHECK_FAILED = -100;

export class CoreBench {
  readonly #ex: CoreExports & BenchExports;

  constructor(map: ConcurrentMap<unknown, unknown>) {
    const ex = coreOfMap(map) as CoreExports & Partial<BenchExports>;
    if (typeof ex.sm_benchRun !== 'function') {
      throw new TypeError('this map has no benchmark loop: create it with createBenchMap() (build/syncmap-bench.wasm)');
    }
    if (ex.sm_benchCaseCount!() !== GO_CASES.length) {
      throw new TypeError(`the core has ${ex.sm_benchCaseCount!()} benchmark cases, the bindings know ${GO_CASES.length}`);
    }
    if (ex.sm_keyKind() === STRING_KEYS_ID) throw new TypeError("the benchmark loop needs a map created with keys 'number' or 'bytes'");
    this.#ex = ex as CoreExports & BenchExports;
  }

  /** Runs the case's setup (Go's `setup`) through this thread. Call it once, on an empty map. */
  setup(name: GoCase): void {
    check(this.#ex.sm_benchSetup(caseId(name)), `setup of ${name}`);
  }

  /** Starts this thread's loop as Go's goroutine `goroutine` (its keys start at goroutine × 2^40). */
  begin(name: GoCase, goroutine: number): void {
    check(this.#ex.sm_benchBegin(caseId(name), goroutine), `begin of ${name}`);
  }

  /** Runs `iterations` more iterations of the loop; returns how many ran. */
  run(iterations: number): number {
    return check(this.#ex.sm_benchRun(iterations), 'sm_benchRun');
  }

}

function caseId(name: GoCase): number {
  const id = GO_CASES.indexOf(name);
  if (id < 0) throw new RangeError(`unknown benchmark case '${String(name)}'`);
  return id;
}

function check(result: number, what: string): number {
  if (result >= 0) return result;
  if (result === CHECK_FAILED) throw new Error(`${what}: a check of Go's loop failed (a key in the wrong state)`);
  throw statusError(result, what);
}
