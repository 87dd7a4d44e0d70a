/**
 * Measuring on a machine that other programs share. On 2 cores, one busy
 * process elsewhere halves a 2-thread figure, so each measurement is taken
 * when the machine looks quiet and repeated when another program took more
 * than a tenth of the CPU while it ran (interferenceMeter, machine.ts). The
 * share that remained is recorded with the figure.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { BenchConfig } from './config.js';
import { interferenceMeter } from './machine.js';
import { describeError } from './describe-error.js';
import type { CellResult } from './pool.js';

/** A measurement is retaken when other programs took more than this share of the CPU. */
export const RETAKE_ABOVE = 0.1;
/** Before measuring, wait (up to a limit) for a 100 ms sample below this share. */
const QUIET_BELOW = 0.05;

export interface Steady<T> {
  value: T;
  /** Share of the CPU other programs took during the kept attempt (undefined off Linux). */
  foreignShare?: number;
  attempts: number;
}

/** Waits until the machine is quiet, at most `maxMs`. */
export async function waitQuiet(maxMs: number): Promise<void> {
  const deadline = performance.now() + maxMs;
  while (performance.now() < deadline) {
    const meter = interferenceMeter();
    await sleep(100);
    const sample = meter();
    if (!sample || sample.foreignShare < QUIET_BELOW) return;
  }
}

/**
 * Runs `measure`; when another program took more than RETAKE_ABOVE of the CPU
 * meanwhile, waits for quiet and runs it again, up to `attempts` in all.
 */
export async function steady<T>(measure: () => Promise<T>, attempts: number, maxWaitMs: number): Promise<Steady<T>> {
  // One attempt (quick runs): nothing to decide, and windows too short to measure others' share.
  if (attempts <= 1) return { value: await measure(), attempts: 1 };
  let last: Steady<T> | undefined;
  for (let attempt = 1; attempt <= attempts; attempt++) {
    if (attempt > 1) await waitQuiet(maxWaitMs);
    const meter = interferenceMeter();
    const value = await measure();
    const share = meter()?.foreignShare;
    last = { value, attempts: attempt, ...(share !== undefined ? { foreignShare: share } : {}) };
    if (share === undefined || share <= RETAKE_ABOVE) return last;
  }
  return last!;
}

export interface RepeatedCell extends Steady<CellResult> {
  /** The throughput of each repeat; the figure is their mean. */
  repeats?: number[];
}

/**
 * A pool cell measured `cfg.repeats` times, each one steady(), keeping the
 * mean throughput. Repeat k hands thread t's job to runner (t + k) mod size:
 * the two vCPUs of this project's machines are not equal (a SyncMap load loop
 * pinned with taskset ran at 95-100 ns/op on one and 120-140 on the other,
 * which one changing over minutes: lib/cpus.ts), so a 1-thread figure taken
 * on one runner alone measures wherever the scheduler put it.
 * `measure` gets the runner offset and must set the case up again each time.
 * A failure ends the repeats.
 */
export async function repeatedCell(measure: (offset: number) => Promise<CellResult>, cfg: BenchConfig): Promise<RepeatedCell> {
  const runs: Steady<CellResult>[] = [];
  let attempts = 0;
  for (let k = 0; k < cfg.repeats; k++) {
    const run = await steady(() => measure(k), cfg.attempts, cfg.quietWaitMs);
    attempts += run.attempts;
    if (!run.value.ok) return { ...run, attempts };
    runs.push(run);
  }
  const rates = runs.map((r) => (r.value.ok ? r.value.opsPerSec : 0));
  const mean = rates.reduce((a, b) => a + b, 0) / rates.length;
  const perThread = runs[0]!.value.ok ? runs[0]!.value.perThread : [];
  const shares = runs.map((r) => r.foreignShare).filter((x): x is number => x !== undefined);
  return {
    value: { ok: true, opsPerSec: mean, perThread },
    attempts,
    ...(shares.length ? { foreignShare: Math.max(...shares) } : {}),
    ...(rates.length > 1 ? { repeats: rates } : {}),
  };
}

/** The fields a table cell gets from a measurement. */
export interface MeasuredCell {
  status: string;
  opsPerSec?: number;
  /** Go's unit: the window over the total iterations of all threads. */
  nsPerOp?: number;
  note?: string;
  /** Share of the CPU other programs took while the kept attempt ran, and how many attempts it took. */
  foreignShare?: number;
  attempts?: number;
  /** The throughput of each repeat (runners rotated); the figure is their mean. */
  repeats?: number[];
}

/**
 * Measures a cell with repeatedCell and writes the outcome on it: the figure
 * (ops/s and Go's ns/op), or status 'error' with what failed, whether the pool
 * reported it or `measure` threw.
 */
export async function recordCell(
  cell: MeasuredCell,
  measure: (offset: number) => Promise<CellResult>,
  cfg: BenchConfig,
): Promise<void> {
  try {
    const { value: result, foreignShare, attempts, repeats } = await repeatedCell(measure, cfg);
    Object.assign(cell, { foreignShare, attempts, repeats });
    if (result.ok) {
      cell.opsPerSec = result.opsPerSec;
      cell.nsPerOp = 1e9 / result.opsPerSec;
    } else {
      Object.assign(cell, { status: 'error', note: result.error });
    }
  } catch (error) {
    Object.assign(cell, { status: 'error', note: describeError(error) });
  }
}
