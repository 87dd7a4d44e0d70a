/**
 * The benchmark run: `npm run bench` (full, a few minutes) or
 * `npm run bench:quick` (the same tables with shorter windows, under a minute
 * on 2 cores). Prints every table and writes latest.json (every figure,
 * stamped with the machine), latest.md and the SVG charts: a full run to
 * bench/results/ (the committed results), a quick run to bench/results/quick/
 * (ignored by git), --out DIR to DIR.
 *
 *   node build/bench/run.js [--quick] [--only single,broadcast,go,core,inflection,gc,codecs] [--out DIR] [--threads 1,2,8]
 *
 * The multi-thread tables run at 1, 2, 4, ... up to os.availableParallelism()
 * threads unless --threads says otherwise; the Go suite reports the machine's
 * own scaling ceiling (a private Map per thread) at the same counts.
 *
 * With --only, the tables are printed and nothing is written unless --out is
 * given (a partial run must not replace the results of a whole one). Each
 * section also runs alone: node build/bench/<section>.bench.js [--quick].
 * What a run shares (options, configuration, results, writing them) is in
 * lib/context.ts, which the sections import; nothing imports this file.
 *
 * Sections, in order: one thread against a Map, with the cache features'
 * costs and 2-thread lock counts (load-hits.bench.ts, 'single'); the Map
 * per thread kept in step by BroadcastChannel against SyncMap: load, memory,
 * time until a write is seen (broadcast.bench.ts, 'broadcast'); Go's suite
 * over every implementation by threads (go-suite.bench.ts, 'go'); the core
 * alone in Go's units (core.bench.ts, 'core'); SyncMap against LockedMap by
 * key count and share of writes (inflection.bench.ts, 'inflection'); the GC
 * table (gc.bench.ts, 'gc'); the value codecs (codecs.bench.ts, 'codecs').
 */
import { runBroadcast } from './broadcast.bench.js';
import { codecTable, runCodecs } from './codecs.bench.js';
import { runCore } from './core.bench.js';
import { runGc } from './gc.bench.js';
import { runGoSuite } from './go-suite.bench.js';
import { runInflection } from './inflection.bench.js';
import { runSingle } from './load-hits.bench.js';
import { startRun } from './lib/context.js';

const run = startRun(process.argv.slice(2));
const { cfg, log, results } = run;
results.singleThread = await run.section('single', () => runSingle(cfg, log));
results.broadcast = await run.section('broadcast', () => runBroadcast(cfg, log));
results.goSuite = await run.section('go', () => runGoSuite(cfg, log));
results.core = await run.section('core', () => runCore(cfg, log));
results.inflection = await run.section('inflection', () => runInflection(cfg, log));
results.gc = await run.section('gc', () => runGc(cfg, log));
results.codecs = await run.section('codecs', async () => {
  const codecs = await runCodecs(cfg, log);
  log(`\n${codecTable(codecs)}`);
  return codecs;
});
run.finish();
