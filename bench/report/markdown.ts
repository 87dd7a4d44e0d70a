/**
 * The run as Markdown (latest.md: bench/results/ for a full run, bench/results/quick/
 * for a quick one; and what the console prints):
 * the goals first, then one table per question.
 */
import { codecTable } from '../codecs.bench.js';
import type { GoCell } from '../go-suite.bench.js';
import { GO_CASES } from '../lib/go-cases.js';
import { REPLICAS } from '../lib/isolated-loads.js';
import { describeMachine } from '../lib/machine.js';
import { bytes, count, ns, percent, ratio, si } from './format.js';
import type { Results } from './results.js';
import { RETAKE_ABOVE } from '../lib/quiet.js';

/** How far the pinned loop may move from its start before the report says the host's speed moved. */
const HOST_MOVED = 0.1;

function table(header: string[], rows: string[][], align?: ('l' | 'r')[]): string {
  const a = align ?? header.map((_, i) => (i === 0 ? 'l' : 'r'));
  return [
    `| ${header.join(' | ')} |`,
    `|${a.map((x) => (x === 'l' ? ':---' : '---:')).join('|')}|`,
    ...rows.map((r) => `| ${r.join(' | ')} |`),
  ].join('\n');
}

/** Footnotes for cells without a figure, numbered in order of first use. */
class Notes {
  #notes: string[] = [];
  ref(note: string): string {
    let i = this.#notes.indexOf(note);
    if (i < 0) i = this.#notes.push(note) - 1;
    return `[${i + 1}]`;
  }
  render(): string {
    return this.#notes.map((n, i) => `${i + 1}. ${n.replace(/\|/g, '\\|')}`).join('\n');
  }
  get size(): number {
    return this.#notes.length;
  }
}

/** `~figure`: taken while other programs took more than RETAKE_ABOVE of the CPU, on every attempt (likely low). */
function mark(text: string, foreignShare: number | undefined): string {
  return foreignShare !== undefined && foreignShare > RETAKE_ABOVE ? `~${text}` : text;
}

function cellText(c: GoCell | undefined, notes: Notes): string {
  if (!c) return '';
  if (c.status === 'ok') return mark(si(c.opsPerSec!), c.foreignShare);
  return `${c.status} ${notes.ref(c.note ?? c.status)}`;
}

export function markdown(r: Results): string {
  const out: string[] = [];
  const m = r.machine;
  out.push(`# syncmap-wasm benchmarks`);
  out.push('');
  out.push(
    `${r.config.mode === 'quick' ? 'Quick run (`npm run bench:quick`: short windows, one each, so figures move by ±15% or more between runs)' : 'Full run (`npm run bench`)'} on ${describeMachine(m)} (${m.os}, V8 ${m.v8}), ${m.date}, ${r.seconds.toFixed(0)} s.`,
  );
  out.push('');
  const shares = Object.entries(r.interference);
  if (shares.length) {
    const noisy = shares.filter(([, i]) => i.foreignShare > 0.03);
    out.push(
      `CPU taken by other programs while each section ran: ${shares.map(([name, i]) => `${name} ${(i.foreignShare * 100).toFixed(1)}%`).join(', ')}.` +
        (noisy.length ? ` The machine was not quiet during ${noisy.map(([n]) => n).join(', ')}.` : ' The machine was quiet.') +
        (r.config.attempts > 1
          ? ` A measurement disturbed by more than ${RETAKE_ABOVE * 100}% is taken again after a quiet spell (up to ${r.config.attempts} attempts); \`~\` marks a figure disturbed on every attempt (likely low).`
          : ' A quick run takes each figure once.'),
    );
    out.push('');
  }

  if (r.cpus) {
    out.push(
      `The same SyncMap load loop pinned to each CPU (\`taskset\`): ${r.cpus.loadNsByCpu.map((ns, i) => `cpu${i} ${ns.toFixed(0)} ns`).join(', ')}` +
        (r.cpus.asymmetry > 1.15
          ? `: the CPUs are not equal (${ratio(r.cpus.asymmetry)}), so a 1-thread figure depends on where the thread runs.` +
            (r.config.repeats > 1
              ? ' Multi-thread cells rotate their threads over the runners between windows and report the mean.'
              : ' A quick run measures each cell once, wherever it lands: read its 1-thread figures with that in mind.')
          : '.'),
    );
    const after = Object.entries(r.cpusAfter ?? {});
    if (after.length) {
      const start = Math.min(...r.cpus.loadNsByCpu);
      const moved = after.filter(([, ns]) => Math.abs(Math.min(...ns) / start - 1) > HOST_MOVED);
      out.push(
        '',
        `The same loop after each section: ${after.map(([name, ns]) => `${name} ${ns.map((n) => n.toFixed(0)).join('/')} ns`).join(', ')}.` +
          (moved.length
            ? ` The host's speed moved during the run (the fastest CPU more than ${HOST_MOVED * 100}% off its start after ${moved.map(([n]) => n).join(', ')}): ratios measured side by side hold better than absolute figures there.`
            : ' The host kept its speed.'),
      );
    }
    out.push('');
  }

  if (r.goals.length) {
    out.push('## Goals');
    out.push('');
    if (r.goals.some((g) => g.notJudged === 'quick run')) {
      out.push('A quick run judges no timing ratio: one short window per figure cannot tell a miss from noise. Its figures are shown; `npm run bench` judges them.');
      out.push('');
    }
    out.push(
      table(
        ['goal', 'target', 'figure', 'met'],
        r.goals.map((g) => [g.goal, g.target, g.figure + (g.note ? `; ${g.note}` : ''), g.notJudged ? `not judged (${g.notJudged})` : g.met === null ? '—' : g.met ? 'yes' : '**no**']),
        ['l', 'l', 'l', 'l'],
      ),
    );
    out.push('');
  }

  if (r.singleThread) {
    const s = r.singleThread;
    const mapKept = s.rows.find((row) => row.op === 'load' && row.impl === 'Map' && row.keys === 'kept')?.loopNs;
    out.push(`## One thread: how much slower than a Map`);
    out.push('');
    out.push(
      `${s.keys.toLocaleString('en')} present 36-character keys, ${s.valueBytes}-byte string values. "tight loop" is the best of several passes over all keys in-process; benchmark.js adds its own per-call cost (about 2 ns). Kept keys: strings V8 has already hashed; fresh: built for each call (\`a + b\`), as from a request.`,
    );
    out.push('');
    out.push(
      table(
        ['operation', 'implementation', 'keys', 'tight loop ns/op', 'benchmark.js ns/op', 'vs Map.get (kept)'],
        s.rows.map((row) => [
          row.op,
          row.impl,
          row.keys,
          mark(ns(row.loopNs), row.foreignShare),
          'error' in row.benchmarkJs ? `error: ${row.benchmarkJs.error}` : `${ns(row.benchmarkJs.nsPerOp)} ±${row.benchmarkJs.rme.toFixed(1)}%`,
          row.op === 'load' && mapKept ? ratio(row.loopNs / mapKept) : '',
        ]),
        ['l', 'l', 'l', 'r', 'r', 'r'],
      ),
    );
    out.push('');
    out.push(
      `"SyncMap, ttlMs", "versioned" and "metrics" load from maps with those features on ("metrics": \`registerMetrics(map, { registry })\` active, which times one load in 256, its default, into its latency histogram). The stats() counters are always on, in every SyncMap row.`,
    );
    out.push('');
    if (s.isolated) {
      const rows = s.isolated;
      const find = (impl: string, op: string, keys: string): number | undefined =>
        rows.find((row) => row.impl === impl && row.op === op && row.keys === keys)?.loopNs;
      const alone = find('SyncMap', 'load', 'kept');
      out.push(
        `The goals' rows again, each in a thread of its own (a fresh V8 isolate per row, ${REPLICAS} per row, the rows a goal compares taking turns): in one process the rows share the bindings' code, which V8 specialises for whatever ran through it first, so a row's figure there depends on the rows measured before it. The one-thread goals are read from these. The store rows read their keys twice first, as a service reads the keys it updates (each shard's table promoted, the read cache filled); "readCache: false" stores through an attachment without the cache, by key.`,
      );
      out.push('');
      out.push(
        table(
          ['operation', 'implementation', 'keys', 'tight loop ns/op', 'vs Map (same operation and keys)', 'vs the plain load'],
          rows.map((row) => {
            const feature = row.impl === 'SyncMap, ttlMs' || row.impl === 'SyncMap, metrics';
            const peerImpl = row.impl.includes('number keys') ? 'Map, number keys' : 'Map';
            const peer = row.impl.startsWith('SyncMap') && !feature ? find(peerImpl, row.op, row.keys) : undefined;
            return [
              row.op,
              row.impl,
              row.keys,
              ns(row.loopNs),
              peer ? ratio(row.loopNs / peer) : '',
              feature && alone ? ratio(row.loopNs / alone) : '',
            ];
          }),
          ['l', 'l', 'l', 'r', 'r', 'r'],
        ),
      );
      out.push('');
    }
    if (s.changes) {
      const c = s.changes;
      out.push(
        `Deltas on a versioned map of ${c.keys.toLocaleString('en')} keys, ${c.changed.toLocaleString('en')} of them updated since the version asked from: \`changesSince(v)\` takes ${ns(c.changesSinceNs / 1000)} µs, **${ns(c.nsPerChange)} ns per change** returned (a call that finds no change, \`changesSince(version)\`, takes ${ns(c.noChangesNs / 1000)} µs); \`snapshot()\` of the same map takes ${ns(c.snapshotNs / 1000)} µs, ${ns(c.nsPerEntry)} ns per entry (best of ${r.config.loopRounds} calls each).`,
      );
      out.push('');
    }
    if (s.contention) {
      const c = s.contention;
      out.push(`### ${c.threads} threads, ${c.case}: lock acquisitions per load`);
      out.push('');
      out.push(
        `Go's ${c.case} in ${c.threads} worker threads over one map ('number' values, as in the Go suite); stats() read before and after one measured cell (warm-up included; the threads attached and warmed up in a cell before). SyncMap's loads of present keys read without a lock; LockedMap takes its read lock once per load.`,
      );
      out.push('');
      out.push(
        table(
          ['implementation', 'ops/s (both threads)', 'loads', 'lock acquisitions', 'per load', 'contended', 'waited ms', 'slow-path loads'],
          c.rows.map((row) =>
            row.error !== undefined
              ? [row.impl, `error: ${row.error}`, '', '', '', '', '', '']
              : [
                  row.impl,
                  si(row.opsPerSec!),
                  row.loads!.toLocaleString('en'),
                  row.locks!.toLocaleString('en'),
                  row.locksPerLoad!.toFixed(row.locksPerLoad! < 0.01 ? 6 : 3),
                  row.contended!.toLocaleString('en'),
                  row.waitMs!.toFixed(1),
                  row.slowLoads!.toLocaleString('en'),
                ],
          ),
        ),
      );
      out.push('');
    }
  }

  if (r.broadcast) {
    const b = r.broadcast;
    out.push(`## A Map per thread kept in step by BroadcastChannel, against SyncMap`);
    out.push('');
    out.push(
      `The baseline users build instead of a shared map: every thread holds its own Map, and each write is applied to the writer's copy and posted on a BroadcastChannel, which the other threads apply when their event loop turns. Load, one thread: the one-thread table's tight loop over the same ${b.keys.toLocaleString('en')} keys and ${b.valueBytes}-byte string values, measured side by side with SyncMap.`,
    );
    out.push('');
    out.push(
      table(
        ['load', 'kept keys ns/op', 'fresh keys ns/op'],
        (['SyncMap', 'Map + BroadcastChannel'] as const).map((impl) => [
          impl,
          ...(['kept', 'fresh'] as const).map((keys) => {
            const row = b.load.find((x) => x.impl === impl && x.keys === keys);
            return row ? mark(ns(row.loopNs), b.foreignShare) : '';
          }),
        ]),
      ),
    );
    out.push('');
    const limits = (m: (typeof b.memory.syncMap)[number]): string =>
      m.maxValueBytes === 1 << 20 && m.maxKeyBytes === 4096 ? 'default limits' : `maxKeyBytes, maxValueBytes ${m.maxKeyBytes}`;
    out.push(
      `Memory for the ${b.keys.toLocaleString('en')} entries: each thread's copy takes ${bytes(b.memory.copyBytes)} of its JS heap (filled from messages, after a full GC). SyncMap holds one set in shared memory (bytes in use: ${b.memory.syncMap.map((m) => `${bytes(m.sharedBytes)} with ${limits(m)}`).join(', ')}, the empty map's fixed part included) plus a scratch region per attached thread (maxKeyBytes + maxValueBytes: ${b.memory.syncMap.map((m) => `${bytes(m.scratchBytesPerThread)} with ${limits(m)}`).join(', ')}). Neither counts what a worker itself costs (its isolate, and for SyncMap its Wasm instance).`,
    );
    out.push('');
    out.push(
      table(
        ['threads', 'Map + BroadcastChannel (copies)', ...b.memory.syncMap.map((m) => `SyncMap, ${limits(m)}`)],
        b.memory.rows.map((row) => [String(row.threads), bytes(row.copiesBytes), ...row.syncMapBytes.map((x) => `${bytes(x)} (${ratio(x / row.copiesBytes)})`)]),
      ),
    );
    out.push('');
    out.push(
      `How long a write takes to be seen by another thread: the main thread writes a new key, a worker looks for it and stamps when it first sees it (${b.visibility[0]?.writes ?? 0} writes, one at a time). "each turn": one look per event-loop turn, as a server between requests; "busy loop": a thread in the middle of synchronous work, where a BroadcastChannel copy sees nothing until the work ends.`,
    );
    out.push('');
    out.push(
      table(
        ['implementation', 'the reader looks', 'median µs', 'p99 µs', 'max µs'],
        b.visibility.map((v) => [v.impl, v.polling === 'turn' ? 'each turn' : 'busy loop', v.medianUs.toFixed(1), v.p99Us.toFixed(1), v.maxUs.toFixed(0)]),
        ['l', 'l', 'r', 'r', 'r'],
      ),
    );
    out.push('');
  }

  if (r.goSuite) {
    const g = r.goSuite;
    const notes = new Notes();
    out.push(`## Go's sync.Map suite, every implementation, by threads`);
    out.push('');
    out.push(
      `The cases of Go's \`src/sync/map_bench_test.go\` with the same names and key/operation mix; keys are 36-character strings (key i), values Go's ints. Total iterations per second over all threads (one iteration is one \`pb.Next()\` of Go's loop); each thread runs for a fixed window after a shared start. Go's ns/op is 1e9 over these.${r.config.repeats > 1 ? ` Each figure is the mean of ${r.config.repeats} windows, the threads moved to other runners each time (see the CPU check above); each window is in latest.json.` : ''}`,
    );
    out.push('');
    for (const impl of g.impls) out.push(`- **${impl.label}**: ${impl.about}`);
    out.push('');
    for (const threads of g.threads) {
      out.push(`### ${threads} thread${threads > 1 ? 's' : ''} (ops/s)`);
      out.push('');
      const rows = GO_CASES.map((name) => [
        name,
        ...g.impls.map((impl) => cellText(g.cells.find((c) => c.case === name && c.impl === impl.kind && c.threads === threads), notes)),
      ]);
      out.push(table(['case', ...g.impls.map((i) => i.label)], rows));
      out.push('');
    }
    if (g.ceiling?.length) {
      out.push(
        `The machine's own scaling ceiling, LoadMostlyHits over a private Map in each thread (nothing shared): ${g.ceiling.map((c) => `${c.threads} thread${c.threads > 1 ? 's' : ''} ${si(c.opsPerSec)}`).join(', ')} ops/s.`,
      );
      out.push('');
    }
    if (notes.size) {
      out.push('Cells without a figure:');
      out.push('');
      out.push(notes.render());
      out.push('');
    }
  }

  if (r.core) {
    const c = r.core;
    out.push(`## The core alone, in Go's units`);
    out.push('');
    out.push(
      `Go's cases run inside Wasm (assembly/bench.ts) over the core's map with 8-byte integer keys and values, no marshalling. ns/op as \`go test -bench . -cpu T\` reports RunParallel: the window over the total iterations of all threads. Compare with \`go test -run '^$' -bench . -cpu ${c.threads.join(',')} sync\` on the same machine (its \`*sync.Map\` and \`*sync_test.RWMutexMap\` rows).`,
    );
    out.push('');
    const header = ['case', ...c.threads.map((t) => `SyncMap -cpu ${t}`), ...c.threads.map((t) => `LockedMap -cpu ${t}`)];
    const rows = GO_CASES.map((name) => [
      name,
      ...(['syncmap', 'lockedmap'] as const).flatMap((impl) =>
        c.threads.map((t) => {
          const cell = c.cells.find((x) => x.case === name && x.impl === impl && x.threads === t);
          return cell?.status === 'ok' ? mark(ns(cell.nsPerOp!), cell.foreignShare) : `error: ${cell?.note ?? '?'}`;
        }),
      ),
    ]);
    out.push(table(header, rows));
    out.push('');
  }

  if (r.inflection) {
    const f = r.inflection;
    out.push(`## The seed's inflection table: SyncMap against LockedMap by key count and writes`);
    out.push('');
    out.push(
      `Uniform random keys among the present ones (36-character UIDs, number values); a share of the operations are stores (overwrites), the rest loads. Total ops/s over all threads.`,
    );
    out.push('');
    const find = (impl: string, keys: number, writes: number, threads: number) =>
      f.cells.find((c) => c.impl === impl && c.keys === keys && c.writes === writes && c.threads === threads);
    const get = (impl: string, keys: number, writes: number, threads: number): number | undefined => {
      const cell = find(impl, keys, writes, threads);
      return cell?.status === 'ok' ? cell.opsPerSec : undefined;
    };
    const header = ['keys', 'writes', ...f.threads.flatMap((t) => [`SyncMap ${t}T`, `LockedMap ${t}T`, `ratio ${t}T`])];
    const rows: string[][] = [];
    for (const keys of f.keys) {
      for (const writes of f.writes) {
        rows.push([
          count(keys),
          percent(writes),
          ...f.threads.flatMap((t) => {
            const s = get('syncmap', keys, writes, t);
            const l = get('lockedmap', keys, writes, t);
            return [
              s ? mark(si(s), find('syncmap', keys, writes, t)?.foreignShare) : 'error',
              l ? mark(si(l), find('lockedmap', keys, writes, t)?.foreignShare) : 'error',
              s && l ? ratio(s / l) : '',
            ];
          }),
        ]);
      }
    }
    out.push(table(header, rows));
    out.push('');
    const empty = f.memory[0]?.emptyBytes ?? 0;
    out.push(
      `Memory in use per entry once filled (bytes in use, threads' scratch excluded, reclamation drained), over the size and beyond the ${bytes(empty)} the empty map already holds (slots, reclamation lists: the fixed part). Key 36 B + value 8 B = 44 B; the overhead is the second figure less 44.`,
    );
    out.push('');
    out.push(
      table(
        ['keys', 'SyncMap B/entry', 'beyond empty', 'overhead', 'LockedMap B/entry', 'beyond empty', 'overhead'],
        f.keys.map((keys) => {
          const row = (impl: string): string[] => {
            const x = f.memory.find((m) => m.impl === impl && m.keys === keys);
            return x ? [x.bytesPerEntry.toFixed(1), x.marginalBytesPerEntry.toFixed(1), x.overheadBytes.toFixed(1)] : ['', '', ''];
          };
          return [count(keys), ...row('syncmap'), ...row('lockedmap')];
        }),
      ),
    );
    out.push('');
  }

  if (r.gc) {
    const g = r.gc;
    out.push(`## Garbage collection with ${count(g.entries)} entries held`);
    out.push('');
    out.push(
      `Each side in a process of its own: ${count(g.entries)} small objects (\`{ uid, name, phase, restarts }\`) under 36-character keys, a full GC, then ${count(g.ops)} operations (90% load, 10% store of a new object under a present key; keys built per call) while perf_hooks records every V8 GC pause. SyncMap stores the objects as JSON in its shared memory, outside the JS heap. "one full GC" is a mark-compact forced after the workload with the entries still held.`,
    );
    out.push('');
    const label = { syncmap: 'SyncMap (json values)', map: 'Map', none: 'no map (the workload alone)' } as const;
    out.push(
      table(
        ['implementation', 'GC pauses', 'total ms', 'longest ms', 'by kind', 'one full GC ms', 'JS heap used', 'held off the JS heap', 'workload ops/s'],
        g.rows.map((row) =>
          'error' in row
            ? [label[row.impl], `error: ${row.error}`, '', '', '', '', '', '', '']
            : [
                label[row.impl],
                String(row.gcCount),
                mark(row.gcMs.toFixed(1), row.foreignShare),
                row.maxPauseMs.toFixed(1),
                Object.entries(row.byKind)
                  .map(([k, v]) => `${k} ${v.count}× ${v.ms.toFixed(1)} ms`)
                  .join(', '),
                row.fullGcMs.toFixed(1),
                bytes(row.heapUsedBytes),
                row.offHeapBytes !== undefined ? bytes(row.offHeapBytes) : '—',
                si(row.ops / row.seconds),
              ],
        ),
      ),
    );
    out.push('');
  }
  if (r.codecs) {
    out.push('## Value codecs');
    out.push('');
    out.push(codecTable(r.codecs));
  }
  out.push(
    `Rerun: \`npm run bench\` (full: 4 windows per figure, about 13 minutes on 2 cores) or \`npm run bench:quick\` (one short window per figure, under a minute, written to \`bench/results/quick/\`). A whole run writes every figure and window to \`${r.config.mode === 'quick' ? 'bench/results/quick/' : 'bench/results/'}latest.json\`.`,
  );
  out.push('');
  return out.join('\n');
}
