/**
 * One benchmark run: its options, configuration, log and results, and how it
 * ends (goals judged, tables printed, files written). Both ways of running
 * share it: bench/run.ts runs every section, and a section file run alone
 * (`node build/bench/<section>.bench.js`) runs only itself. Sections import
 * this module, never run.ts, so no module imports the one that imports it.
 *
 *   [--quick] [--only single,broadcast,go,core,inflection,gc,codecs] [--out DIR] [--threads 1,2,8]
 *
 * --threads sets the thread counts of the multi-thread tables and of the
 * broadcast memory rows (default 1, 2, 4, ... up to os.availableParallelism(),
 * lib/config.ts); counts beyond the machine's parallelism are allowed, and
 * measure oversubscription.
 *
 * A whole full run writes bench/results/ (latest.json, latest.md and the SVG
 * charts: the committed results the README links to); a whole quick run writes
 * the same files under bench/results/quick/ (ignored by git), so that it never
 * dirties a clone. --out DIR writes to DIR instead, in either mode. With
 * --only (or a section run alone) the tables are printed and nothing is
 * written unless --out is given: a partial run must not replace the results of
 * a whole one.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { inflectionChart, threadsChart } from '../report/charts.js';
import { evaluateGoals } from '../report/goals.js';
import { markdown } from '../report/markdown.js';
import type { Results } from '../report/results.js';
import { config, parseThreads, type BenchConfig } from './config.js';
import { checkCpus } from './cpus.js';
import { describeMachine, interferenceMeter, machine } from './machine.js';

/** The sections, in the order a whole run takes them. */
export const SECTIONS = ['single', 'broadcast', 'go', 'core', 'inflection', 'gc', 'codecs'] as const;
export type Section = (typeof SECTIONS)[number];

/** Above this share of the CPU taken by other programs, a section's figures are flagged. */
const NOISY = 0.03;

export interface BenchRun {
  readonly cfg: BenchConfig;
  /** Filled in by the sections; finish() judges and writes it. */
  readonly results: Results;
  readonly log: (line: string) => void;
  /**
   * Runs a section if this run includes it; one that throws is recorded as
   * missing, and the run goes on. Records how much CPU other programs took
   * meanwhile (lib/machine.ts).
   */
  section<T>(name: Section, run: () => Promise<T>): Promise<T | undefined>;
  /** Judges the goals, prints every table, writes the results if this run may, and exits. */
  finish(): never;
}

function usage(alone: Section | undefined): string {
  const command = alone ? `node build/bench/${alone}.bench.js` : 'npm run bench --';
  return [
    `usage: ${command} [--quick]${alone ? '' : ` [--only ${SECTIONS.join(',')}]`} [--out DIR] [--threads 1,2,8]`,
    '  --quick    one short window per figure (under a minute), written to bench/results/quick/',
    ...(alone ? [] : ['  --only     these sections only: printed, written only with --out']),
    '  --out      write the results to DIR',
    '  --threads  thread counts of the multi-thread tables (default 1, 2, 4, ... up to the cores)',
  ].join('\n');
}

/** Prints what was wrong and the usage, and exits with status 2 (as for any bad command line). */
function usageError(message: string, alone: Section | undefined): never {
  process.stderr.write(`${message}\n${usage(alone)}\n`);
  process.exit(2);
}

function parseOptions(args: string[], alone: Section | undefined) {
  try {
    const { values } = parseArgs({
      args,
      options: {
        quick: { type: 'boolean', default: false },
        only: { type: 'string' },
        out: { type: 'string' },
        threads: { type: 'string' },
        help: { type: 'boolean', short: 'h', default: false },
      },
    });
    if (values.help) {
      process.stdout.write(`${usage(alone)}\n`);
      process.exit(0);
    }
    return values;
  } catch (error) {
    return usageError(error instanceof Error ? error.message : String(error), alone);
  }
}

/**
 * Starts a run from command-line arguments: logs the machine, checks the CPUs.
 * `alone` names the one section a section file runs when started directly.
 */
export function startRun(args: string[], alone?: Section): BenchRun {
  const values = parseOptions(args, alone);
  const only = new Set<Section>(alone ? [alone] : ((values.only?.split(',') ?? SECTIONS) as Section[]));
  for (const s of only) if (!SECTIONS.includes(s)) usageError(`unknown section '${s}' (known: ${SECTIONS.join(', ')})`, alone);
  const partial = only.size < SECTIONS.length || values.only !== undefined;

  let threads: number[] | undefined;
  try {
    threads = values.threads !== undefined ? parseThreads(values.threads) : undefined;
  } catch (error) {
    usageError((error as Error).message, alone);
  }
  const cfg = config(values.quick ? 'quick' : 'full', threads);
  const results: Results = { machine: machine(), config: cfg, seconds: 0, interference: {}, goals: [] };
  const log = (line: string): void => void process.stderr.write(`${line}\n`);
  const started = performance.now();
  log(`syncmap-wasm benchmarks, ${cfg.mode} run: ${describeMachine(results.machine)}; threads ${cfg.threads.join(', ')}`);

  results.cpus = checkCpus();
  if (results.cpus) {
    log(`  CPUs: a SyncMap load loop pinned to each takes ${results.cpus.loadNsByCpu.map((ns) => `${ns.toFixed(0)} ns`).join(', ')}`);
  }

  async function section<T>(name: Section, run: () => Promise<T>): Promise<T | undefined> {
    if (!only.has(name)) return undefined;
    const meter = interferenceMeter();
    try {
      return await run();
    } catch (error) {
      log(`  ${name}: failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
      return undefined;
    } finally {
      const interference = meter();
      const after = results.cpus ? checkCpus() : undefined;
      if (after) (results.cpusAfter ??= {})[name] = after.loadNsByCpu;
      if (interference) {
        results.interference[name] = interference;
        if (interference.foreignShare > NOISY) {
          log(`  ${name}: other programs took ${(interference.foreignShare * 100).toFixed(0)}% of the CPU meanwhile: its figures are low`);
        }
      }
    }
  }

  function finish(): never {
    results.seconds = (performance.now() - started) / 1000;
    results.goals = evaluateGoals(results);
    // A partial run lists only the goals its sections have figures for (judged or, in a quick run, not).
    if (partial) results.goals = results.goals.filter((goal) => goal.met !== null || goal.notJudged !== undefined);

    const text = markdown(results);
    process.stdout.write(`\n${text}`);
    // Only a whole full run refreshes the committed results; a quick one writes beside them, untracked.
    const home = cfg.mode === 'quick' ? '../../../bench/results/quick/' : '../../../bench/results/';
    const outDir = values.out ?? (partial ? undefined : fileURLToPath(new URL(home, import.meta.url)));
    if (outDir) {
      const out = outDir.endsWith('/') ? outDir : `${outDir}/`;
      mkdirSync(out, { recursive: true });
      writeFileSync(`${out}latest.json`, `${JSON.stringify(results, null, 2)}\n`);
      writeFileSync(`${out}latest.md`, text);
      const threads = threadsChart(results);
      if (threads) writeFileSync(`${out}threads.svg`, threads);
      const inflection = inflectionChart(results);
      if (inflection) writeFileSync(`${out}inflection.svg`, inflection);
      log(`wrote ${out}latest.json, latest.md${threads ? ', threads.svg' : ''}${inflection ? ', inflection.svg' : ''} (${results.seconds.toFixed(0)} s)`);
    } else {
      log(`a partial run: nothing written (give --out DIR to write) (${results.seconds.toFixed(0)} s)`);
    }
    // lmdb and worker handles may linger; everything is written.
    process.exit(0);
  }

  return { cfg, results, log, section, finish };
}
