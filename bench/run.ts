/**
 * The benchmark run: `npm run bench` (full, a few minutes) or
 * `npm run bench:quick` (the same tables with shorter windows, under a minute
 * on 2 cores). Prints every table and writes bench/results/latest.json (every
 * figure, stamped with the machine), latest.md and the SVG charts.
 *
 *   node build/bench/run.js [--quick] [--only single,go,core,inflection,gc] [--out DIR]
 *
 * With --only, the tables are printed and nothing is written unless --out is
 * given (a partial run must not replace the results of a whole one). Each
 * section also runs alone: node build/bench/<section>.bench.js [--quick].
 *
 * Sections, in order: one thread against a Map (load-hits.bench.ts), Go's
 * suite over every implementation by threads (go-suite.bench.ts), the core
 * alone in Go's units (core.bench.ts), the seed's inflection table
 * (inflection.bench.ts), the GC table (gc.bench.ts).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { runCore } from './core.bench.js';
import { runGc } from './gc.bench.js';
import { runGoSuite } from './go-suite.bench.js';
import { runInflection } from './inflection.bench.js';
import { runSingle } from './load-hits.bench.js';
import { config } from './lib/config.js';
import { checkCpus } from './lib/cpus.js';
import { describeMachine, interferenceMeter, machine } from './lib/machine.js';
import { inflectionChart, threadsChart } from './report/charts.js';
import { evaluateGoals } from './report/goals.js';
import { markdown } from './report/markdown.js';
import type { Results } from './report/results.js';

const SECTIONS = ['single', 'go', 'core', 'inflection', 'gc', 'codecs'] as const;
type Section = (typeof SECTIONS)[number];

const { values } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    only: { type: 'string' },
    out: { type: 'string' },
  },
});
const only = new Set((values.only?.split(',') ?? SECTIONS) as Section[]);
for (const s of only) if (!SECTIONS.includes(s)) throw new Error(`unknown section '${s}' (known: ${SECTIONS.join(', ')})`);

const cfg = config(values.quick ? 'quick' : 'full');
const results: Results = { machine: machine(), config: cfg, seconds: 0, interference: {}, goals: [] };

/** Above this share of the CPU taken by other programs, a section's figures are flagged. */
const NOISY = 0.03;
const log = (line: string): void => void process.stderr.write(`${line}\n`);
const started = performance.now();
log(`syncmap-wasm benchmarks, ${cfg.mode} run: ${describeMachine(results.machine)}; threads ${cfg.threads.join(', ')}`);

/**
 * Runs a section; one that throws is recorded as missing, and the run goes on.
 * Records how much CPU other programs took meanwhile (lib/machine.ts).
 */
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
    if (interference) {
      results.interference[name] = interference;
      if (interference.foreignShare > NOISY) {
        log(`  ${name}: other programs took ${(interference.foreignShare * 100).toFixed(0)}% of the CPU meanwhile: its figures are low`);
      }
    }
  }
}

results.cpus = checkCpus();
if (results.cpus) {
  log(`  CPUs: a SyncMap load loop pinned to each takes ${results.cpus.loadNsByCpu.map((ns) => `${ns.toFixed(0)} ns`).join(', ')}`);
}
results.singleThread = await section('single', () => runSingle(cfg, log));
results.goSuite = await section('go', () => runGoSuite(cfg, log));
results.core = await section('core', () => runCore(cfg, log));
results.inflection = await section('inflection', () => runInflection(cfg, log));
results.gc = await section('gc', () => runGc(cfg, log));
await section('codecs', async () => { const c = await import('./codecs.bench.js'); log(`\n${c.codecTable(await c.runCodecs(cfg, log))}`); });
results.seconds = (performance.now() - started) / 1000;
results.goals = evaluateGoals(results);
// A partial run judges only the goals its sections have figures for.
if (values.only) results.goals = results.goals.filter((goal) => goal.met !== null);

const text = markdown(results);
process.stdout.write(`\n${text}`);
const outDir = values.out ?? (values.only ? undefined : fileURLToPath(new URL('../../bench/results/', import.meta.url)));
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
