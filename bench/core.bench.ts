/**
 * The core alone: Go's cases run inside Wasm (assembly/bench.ts) with 8-byte
 * integer keys and no marshalling, on SyncMap's core and on LockedMap's, at
 * each thread count. Printed in Go's units (ns/op = the window over the total
 * iterations of all threads, as `go test -bench . -cpu T` reports
 * RunParallel), so that the core can be set beside Go's sync.Map run on the
 * same machine: `go test -run '^$' -bench . -cpu 1,2 sync`.
 */
import { fileURLToPath } from 'node:url';
import { LockedMap, SyncMap } from 'syncmap-wasm';
import { CoreBench, createBenchMap } from '../bindings/bench-core.js';
import type { BenchConfig } from './lib/config.js';
import { startRun } from './lib/context.js';
import { GO_CASES, type GoCase } from './lib/go-cases.js';
import { MAX_MEMORY } from './lib/impls.js';
import { Pool } from './lib/pool.js';
import { recordCell, type MeasuredCell } from './lib/quiet.js';
import type { Job } from './lib/protocol.js';

export interface CoreCell extends MeasuredCell {
  case: GoCase;
  impl: 'syncmap' | 'lockedmap';
  threads: number;
  status: 'ok' | 'error';
}

export interface CoreResult {
  threads: number[];
  cells: CoreCell[];
}

/** Case by case, SyncMap's core then LockedMap's, each with its own map and threads throughout. */
export async function runCore(cfg: BenchConfig, log: (line: string) => void): Promise<CoreResult> {
  const started = performance.now();
  const cells: CoreCell[] = [];
  const maxThreads = Math.max(...cfg.threads);
  const sides = [];
  for (const impl of ['syncmap', 'lockedmap'] as const) {
    // 'number' keys: the loop's raw 8-byte integer keys never meet a string codec.
    // Over the benchmark build of the core, the one with Go's loops in it.
    const options = { keys: 'number', values: 'number', maxMemoryBytes: MAX_MEMORY } as const;
    const map = impl === 'syncmap'
      ? createBenchMap<number, number>(SyncMap, options)
      : createBenchMap<number, number>(LockedMap, options);
    sides.push({ impl, map, core: new CoreBench(map), pool: await Pool.start(maxThreads), spec: { kind: impl, id: `${impl}-core`, handle: map.handle } });
  }
  try {
    for (const name of GO_CASES) {
      for (const threads of cfg.threads) {
        for (const side of sides) {
          const cell: CoreCell = { case: name, impl: side.impl, threads, status: 'ok' };
          cells.push(cell);
          await recordCell(cell, (offset) => {
            side.map.clear();
            side.core.setup(name);
            const jobs: Job[] = Array.from({ length: threads }, (_, goroutine) => ({ kind: 'core', spec: side.spec, name, goroutine }));
            return side.pool.cell(jobs, { warmupMs: cfg.coreWarmupMs, measureMs: cfg.coreMeasureMs }, false, offset);
          }, cfg);
          if (!side.pool.alive) side.pool = await Pool.start(maxThreads);
        }
      }
    }
  } finally {
    for (const side of sides) {
      await side.pool.close();
      side.map.close();
    }
  }
  log(`  core loop: done in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  return { threads: cfg.threads, cells };
}

// Run directly (`node build/bench/core.bench.js [--quick] [--out DIR] [--threads 1,2]`): this section alone,
// printed (and written only with --out).
if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const run = startRun(process.argv.slice(2), 'core');
  run.results.core = await run.section('core', () => runCore(run.cfg, run.log));
  run.finish();
}
