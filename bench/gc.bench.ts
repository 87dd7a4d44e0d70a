/**
 * The seed's GC table in Node's terms: with 1M entries held and a fixed mixed
 * workload running, the V8 garbage-collection pauses (count and total ms, from
 * perf_hooks 'gc' entries) and the heap, for SyncMap (whose entries live
 * outside the JS heap) against a JS Map holding the same objects, and the
 * workload alone with no map as the floor. Each runs in a child process of
 * its own (lib/gc-child.ts).
 */
import { fork } from 'node:child_process';
import type { BenchConfig } from './lib/config.js';
import type { GcImpl, GcReport, GcRequest } from './lib/gc-child.js';

export type GcRow = GcReport | { impl: GcImpl; error: string };

export interface GcResult {
  entries: number;
  ops: number;
  rows: GcRow[];
}

const CHILD = new URL('./lib/gc-child.js', import.meta.url);

function child(request: GcRequest): Promise<GcRow> {
  return new Promise((resolve) => {
    const proc = fork(CHILD, [], { execArgv: ['--expose-gc'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    let done = false;
    proc.once('message', (message: { ok: true; report: GcReport } | { ok: false; error: string }) => {
      done = true;
      resolve(message.ok ? message.report : { impl: request.impl, error: message.error });
    });
    proc.once('exit', (code) => {
      if (!done) resolve({ impl: request.impl, error: `the child exited with code ${code}` });
    });
    proc.send(request);
  });
}

export async function runGc(cfg: BenchConfig, log: (line: string) => void): Promise<GcResult> {
  const started = performance.now();
  const rows: GcRow[] = [];
  for (const impl of ['syncmap', 'map', 'none'] as const) rows.push(await child({ impl, entries: cfg.gcEntries, ops: cfg.gcOps }));
  log(`  gc: done in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  return { entries: cfg.gcEntries, ops: cfg.gcOps, rows };
}
