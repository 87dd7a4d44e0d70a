/**
 * Go's sync.Map benchmark suite at the JS level, every implementation side by
 * side, at each of the run's thread counts (1, 2, 4, ... up to
 * availableParallelism(), or --threads: lib/config.ts): what a user of each would
 * see, marshalling included. Each cell runs Go's loop for a fixed window after
 * a shared start (lib/pool.ts) and reports total iterations per second over
 * all threads, and Go's ns/op (the window divided by the total iterations).
 *
 * One pool of threads per implementation, so that no call site in a runner
 * ever sees two implementations (V8 would stop inlining it). A cell that
 * fails records its error and the run goes on.
 */
import { fileURLToPath } from 'node:url';
import type { ImplKind } from './adapters/types.js';
import type { BenchConfig } from './lib/config.js';
import { startRun } from './lib/context.js';
import { GO_CASES, goCase, type GoCase } from './lib/go-cases.js';
import { goImpls, type Impl, type Session } from './lib/impls.js';
import { Pool } from './lib/pool.js';
import { describeError } from './lib/describe-error.js';
import { recordCell, repeatedCell, type MeasuredCell } from './lib/quiet.js';
import type { Job } from './lib/protocol.js';

export type CellStatus = 'ok' | 'error' | 'n/a' | 'unsupported' | 'unsafe' | 'pending';

export interface GoCell extends MeasuredCell {
  case: GoCase;
  impl: ImplKind;
  threads: number;
  status: CellStatus;
}

export interface GoSuiteResult {
  threads: number[];
  impls: { kind: ImplKind; label: string; about: string }[];
  cells: GoCell[];
  /**
   * The machine's own scaling ceiling: LoadMostlyHits over a private JS Map in
   * each thread (nothing shared), total ops/s by thread count. A shared map
   * cannot scale better than this on the same machine.
   */
  ceiling?: { threads: number; opsPerSec: number }[];
}

/** One implementation's threads and main-thread session, kept for the whole suite. */
interface Running {
  impl: Impl;
  pool: Pool;
  session?: Session;
  openError?: string;
}

async function start(impl: Impl, threads: number): Promise<Running> {
  const pool = await Pool.start(threads, impl.owner);
  try {
    return { impl, pool, session: await impl.open(pool) };
  } catch (error) {
    return { impl, pool, openError: describeError(error) };
  }
}

/**
 * Case by case, and within a case every implementation one after the other:
 * this machine's speed drifts over minutes (neighbours on the host), so the
 * figures a row compares are taken within seconds of each other. Every
 * implementation keeps its own pool of threads throughout.
 */
export async function runGoSuite(cfg: BenchConfig, log: (line: string) => void): Promise<GoSuiteResult> {
  const started = performance.now();
  const impls = goImpls(cfg.mode === 'quick' ? 1 << 19 : 1 << 20);
  const cells: GoCell[] = [];
  const maxThreads = Math.max(...cfg.threads);
  const running: Running[] = [];
  for (const impl of impls) running.push(await start(impl, maxThreads));
  let ceiling: { threads: number; opsPerSec: number }[] | undefined;
  try {
    for (const [n, name] of GO_CASES.entries()) {
      const def = goCase(name);
      for (const threads of cfg.threads) {
        for (const r of running) {
          const cell: GoCell = { case: name, impl: r.impl.kind, threads, status: 'ok' };
          cells.push(cell);
          const verdict = r.impl.verdict(def, threads);
          if (verdict) {
            Object.assign(cell, verdict);
            continue;
          }
          const session = r.session;
          if (!session) {
            Object.assign(cell, { status: 'error', note: r.openError });
            continue;
          }
          await recordCell(cell, (offset) => {
            const { spec, setupInWorker } = session.prepare(def);
            const jobs: Job[] = Array.from({ length: threads }, (_, goroutine) => ({ kind: 'go', spec, name, goroutine, setupInWorker }));
            return r.pool.cell(jobs, { warmupMs: cfg.goWarmupMs, measureMs: cfg.goMeasureMs }, setupInWorker, offset);
          }, cfg);
          if (!r.pool.alive) {
            // A hung or crashed cell took the threads with it: start over for the next cells.
            await session.close().catch(() => {});
            Object.assign(r, { session: undefined, openError: undefined }, await start(r.impl, maxThreads));
          }
        }
      }
      if (name === 'LoadMostlyHits') {
        const map = running.find((r) => r.impl.kind === 'map');
        ceiling = map ? await scalingCeiling(cfg, map.pool).catch(() => undefined) : undefined;
      }
      if ((n + 1) % 6 === 0) log(`  go suite: ${n + 1} of ${GO_CASES.length} cases (${((performance.now() - started) / 1000).toFixed(0)} s)`);
    }
  } finally {
    for (const r of running) {
      await r.session?.close().catch(() => {});
      await r.pool.close();
    }
  }
  const errors = cells.filter((c) => c.status === 'error').length;
  if (errors) log(`  go suite: ${errors} cells failed (see the table)`);
  return { threads: cfg.threads, impls: impls.map(({ kind, label, about }: Impl) => ({ kind, label, about })), cells, ...(ceiling ? { ceiling } : {}) };
}

/** LoadMostlyHits over one private Map per thread (each runner sets up its own). */
async function scalingCeiling(cfg: BenchConfig, pool: Pool): Promise<{ threads: number; opsPerSec: number }[]> {
  const rows: { threads: number; opsPerSec: number }[] = [];
  let cells = 0;
  for (const threads of cfg.threads) {
    const { value } = await repeatedCell((offset) => {
      const jobs: Job[] = Array.from({ length: threads }, () => ({
        kind: 'go',
        spec: { kind: 'map', id: `ceiling-${cells++}` },
        name: 'LoadMostlyHits',
        goroutine: 0, // each thread its own map, set up by itself
        setupInWorker: true,
      }));
      return pool.cell(jobs, { warmupMs: cfg.goWarmupMs, measureMs: cfg.goMeasureMs }, true, offset);
    }, cfg);
    if (value.ok) rows.push({ threads, opsPerSec: value.opsPerSec });
  }
  return rows;
}

// Run directly (`node build/bench/go-suite.bench.js [--quick] [--out DIR] [--threads 1,2]`): this section alone,
// printed (and written only with --out).
if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const run = startRun(process.argv.slice(2), 'go');
  run.results.goSuite = await run.section('go', () => runGoSuite(run.cfg, run.log));
  run.finish();
}
