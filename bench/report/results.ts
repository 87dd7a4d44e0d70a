/** The whole run, as written to bench/results/latest.json. */
import type { BroadcastResult } from '../broadcast.bench.js';
import type { CodecResult } from '../codecs.bench.js';
import type { CoreResult } from '../core.bench.js';
import type { GcResult } from '../gc.bench.js';
import type { GoSuiteResult } from '../go-suite.bench.js';
import type { InflectionResult } from '../inflection.bench.js';
import type { SingleResult } from '../load-hits.bench.js';
import type { BenchConfig } from '../lib/config.js';
import type { CpuCheck } from '../lib/cpus.js';
import type { Interference, Machine } from '../lib/machine.js';

export interface Goal {
  id: string;
  goal: string;
  target: string;
  figure: string;
  /**
   * null when not judged: the figures to judge it are missing (a failed or
   * skipped cell), or the run is quick and the goal is a timing ratio (then
   * `notJudged` says so and `figure` still holds the figure).
   */
  met: boolean | null;
  /** Why a goal with a figure was not judged: 'quick run' (report/goals.ts, QUICK_JUDGES). */
  notJudged?: 'quick run';
  /** How far from the target, in words, when missed. */
  note?: string;
}

export interface Results {
  machine: Machine;
  config: BenchConfig;
  seconds: number;
  /** Per section: the share of the CPU other programs took while it ran (a quiet machine shows ~0). */
  interference: Record<string, Interference>;
  /** The same load loop pinned to each CPU (lib/cpus.ts); absent without taskset. */
  cpus?: CpuCheck;
  /**
   * The same loop again after each section, ns per load by CPU: the host's
   * own speed can move during a run (other guests of the VM's host) where the
   * CPU share other programs take here does not show it.
   */
  cpusAfter?: Record<string, number[]>;
  singleThread?: SingleResult;
  /** A Map per thread kept in step by BroadcastChannel, beside SyncMap. */
  broadcast?: BroadcastResult;
  goSuite?: GoSuiteResult;
  core?: CoreResult;
  inflection?: InflectionResult;
  gc?: GcResult;
  /** Value codecs, one thread: store and load through a SyncMap under each. */
  codecs?: CodecResult;
  goals: Goal[];
}
