/**
 * How long each kind of measurement runs, in the full run (`npm run bench`)
 * and the quick one (`npm run bench:quick`, under a minute on 2 cores). Quick
 * prints the same tables with shorter windows, so its figures are noisier
 * (roughly ±15% against ±5%); the goals are read against a full run.
 */
import { availableParallelism } from 'node:os';

export interface BenchConfig {
  mode: 'full' | 'quick';
  /**
   * Thread counts of the Go suite and the core table (and of the memory rows
   * of the broadcast table): 1, 2, 4, 8, ... up to and including
   * os.availableParallelism(), or what --threads gave. The inflection table
   * keeps its own (inflectionThreads).
   */
  threads: number[];
  /** Go suite: warm-up before the start signal, and the measured window, per cell. */
  goWarmupMs: number;
  goMeasureMs: number;
  /** Core-only loop: the same, per cell. */
  coreWarmupMs: number;
  coreMeasureMs: number;
  /** Inflection table: key counts, write shares, threads, window. */
  inflectionKeys: number[];
  inflectionWrites: number[];
  inflectionThreads: number[];
  inflectionWarmupMs: number;
  inflectionMeasureMs: number;
  /** Single thread: benchmark.js's maxTime and minTime (per sample) in seconds; the tight loop's rounds and passes over the keys per round. */
  benchmarkJsMaxTime: number;
  benchmarkJsMinTime: number;
  loopRounds: number;
  loopPasses: number;
  /** Measurements of each multi-thread cell, rotating runners; the mean is kept (lib/quiet.ts). */
  repeats: number;
  /** Attempts at a measurement that other programs disturbed, and how long to wait for quiet between them (lib/quiet.ts). */
  attempts: number;
  quietWaitMs: number;
  /** GC table: entries held, and operations of the mixed workload run over them. */
  gcEntries: number;
  gcOps: number;
}

/** Powers of two from 1, then the machine's parallelism itself: 1, 2 on 2 cores; 1, 2, 4, 6 on 6; 1, 2, 4, 8, 16 on 16. */
export function threadCounts(parallelism = availableParallelism()): number[] {
  const counts: number[] = [];
  for (let t = 1; t < parallelism; t *= 2) counts.push(t);
  counts.push(parallelism);
  return counts;
}

/** `--threads 1,2,8`: positive whole numbers, deduplicated and sorted. */
export function parseThreads(text: string): number[] {
  const counts = text.split(',').map((part) => Number(part.trim()));
  const bad = counts.find((n) => !Number.isInteger(n) || n < 1 || n > 1024);
  if (bad !== undefined || counts.length === 0) throw new Error(`--threads takes thread counts separated by commas (e.g. 1,2,8), got '${text}'`);
  return [...new Set(counts)].sort((a, b) => a - b);
}

/** The run's configuration; `threads` overrides the default thread counts (--threads). */
export function config(mode: 'full' | 'quick', threads: number[] = threadCounts()): BenchConfig {
  if (mode === 'quick') {
    return {
      mode,
      threads,
      goWarmupMs: 10,
      goMeasureMs: 30,
      coreWarmupMs: 10,
      coreMeasureMs: 30,
      inflectionKeys: [1_000, 10_000, 100_000, 1_000_000],
      inflectionWrites: [0, 0.01, 0.1, 0.5],
      inflectionThreads: [1, 2],
      inflectionWarmupMs: 15,
      inflectionMeasureMs: 40,
      benchmarkJsMaxTime: 0.05,
      benchmarkJsMinTime: 0.01,
      loopRounds: 3,
      loopPasses: 4,
      // No retakes: a window this short cannot tell others' CPU time from the
      // 10 ms ticks of /proc/stat; the section-level share is still reported.
      repeats: 1,
      attempts: 1,
      quietWaitMs: 0,
      gcEntries: 1_000_000,
      gcOps: 300_000,
    };
  }
  return {
    mode,
    threads,
    goWarmupMs: 100,
    goMeasureMs: 250,
    coreWarmupMs: 50,
    coreMeasureMs: 200,
    inflectionKeys: [1_000, 10_000, 100_000, 1_000_000],
    inflectionWrites: [0, 0.01, 0.1, 0.5],
    inflectionThreads: [1, 2],
    inflectionWarmupMs: 100,
    inflectionMeasureMs: 250,
    benchmarkJsMaxTime: 0.5,
    benchmarkJsMinTime: 0.05,
    loopRounds: 7,
    loopPasses: 20,
    repeats: 4,
    attempts: 4,
    quietWaitMs: 10_000,
    gcEntries: 1_000_000,
    gcOps: 2_000_000,
  };
}
