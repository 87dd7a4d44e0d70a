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

export interface MedianCell extends Steady<CellResult> {
  /** The lowest and highest throughput of the repeats (when more than one succeeded). */
  spread?: [number, number];
}

/**
 * A pool cell measured `cfg.repeats` times, each one steady(), keeping the
 * median by throughput: on a shared 2-vCPU machine one window can land on a
 * slow spell (a neighbour, a migration) that a median of three ignores.
 * `measure` must set the case up again each time. A failure ends the repeats.
 */
export async function medianCell(measure: () => Promise<CellResult>, cfg: BenchConfig): Promise<MedianCell> {
  const runs: Steady<CellResult>[] = [];
  let attempts = 0;
  for (let k = 0; k < cfg.repeats; k++) {
    const run = await steady(measure, cfg.attempts, cfg.quietWaitMs);
    attempts += run.attempts;
    if (!run.value.ok) return { ...run, attempts };
    runs.push(run);
  }
  const rate = (r: Steady<CellResult>): number => (r.value.ok ? r.value.opsPerSec : 0);
  runs.sort((a, b) => rate(a) - rate(b));
  const median = runs[Math.floor(runs.length / 2)]!;
  return { ...median, attempts, ...(runs.length > 1 ? { spread: [rate(runs[0]!), rate(runs[runs.length - 1]!)] as [number, number] } : {}) };
}
