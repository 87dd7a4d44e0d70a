/**
 * The seed's GC table in Node's terms: with 1M entries held and a fixed mixed
 * workload running, the V8 garbage-collection pauses (count and total ms, from
 * perf_hooks 'gc' entries) and the heap, for SyncMap (whose entries live
 * outside the JS heap) against a JS Map holding the same objects, and the
 * workload alone with no map as the floor. Each runs in a child process of
 * its own (lib/gc-child.ts).
 */
import { fileURLToPath } from 'node:url';
import { fork } from 'node:child_process';
import type { BenchConfig } from './lib/config.js';
import { startRun } from './lib/context.js';
import type { GcImpl, GcReport, GcRequest } from './lib/gc-child.js';
import { steady } from './lib/quiet.js';

export type GcRow = (GcReport | { impl: GcImpl; error: string }) & { foreignShare?: number; attempts?: number };

export interface GcResult {
  entries: number;
  ops: number;
  rows: GcRow[];
}

const CHILD = new URL('./lib/gc-child.js', import.meta.url);

/** Runs one side in a child process; resolves once the child has exited (so that its CPU time counts as this run's). */
function child(request: GcRequest): Promise<GcRow> {
  return new Promise((resolve) => {
    const proc = fork(CHILD, [], { execArgv: ['--expose-gc'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    let answer: GcRow | undefined;
    proc.once('message', (message: { ok: true; report: GcReport } | { ok: false; error: string }) => {
      answer = message.ok ? message.report : { impl: request.impl, error: message.error };
    });
    proc.once('exit', (code) => resolve(answer ?? { impl: request.impl, error: `the child exited with code ${code}` }));
    proc.send(request);
  });
}

export async function runGc(cfg: BenchConfig, log: (line: string) => void): Promise<GcResult> {
  const started = performance.now();
  const rows: GcRow[] = [];
  for (const impl of ['syncmap', 'map', 'none'] as const) {
    const { value, foreignShare, attempts } = await steady(() => child({ impl, entries: cfg.gcEntries, ops: cfg.gcOps }), cfg.attempts, cfg.quietWaitMs);
    rows.push({ ...value, foreignShare, attempts });
  }
  log(`  gc: done in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  return { entries: cfg.gcEntries, ops: cfg.gcOps, rows };
}

// Run directly (`node build/bench/gc.bench.js [--quick] [--out DIR]`): this section alone,
// printed (and written only with --out).
if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const run = startRun(process.argv.slice(2), 'gc');
  run.results.gc = await run.section('gc', () => runGc(run.cfg, run.log));
  run.finish();
}
