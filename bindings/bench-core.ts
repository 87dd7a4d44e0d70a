/**
 * A typed driver for the core-only benchmark loop (assembly/bench.ts): Go's
 * sync.Map benchmark cases run inside Wasm, with no key or value marshalling.
 * Benchmark-only: not exported from the package's entry point.
 *
 * The map must be private to the benchmark and created with keys 'number' or
 * 'bytes': the loop writes raw 8-byte integer keys, which must never meet a
 * string key codec. Each thread drives its own attached instance:
 *
 *   const core = new CoreBench(map);     // map: this thread's SyncMap or LockedMap
 *   core.setup('LoadMostlyHits');        // once, from one thread, on an empty map
 *   core.begin('LoadMostlyHits', g);     // in each thread, as Go's goroutine g
 *   while (!stop) done += core.run(4096);
 */
import type { ConcurrentMap } from './syncmap.js';
import { coreOfMap, type CoreExports } from './internal.js';
import { statusError } from './errors.js';

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
    if (typeof ex.sm_benchRun !== 'function') throw new TypeError('this build of the core has no benchmark loop');
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
