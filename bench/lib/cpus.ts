/**
 * Are this machine's CPUs equal? Runs the same short SyncMap load loop pinned
 * to each CPU in turn (`taskset -c N`, Linux), in a child process each. On a
 * virtual machine two vCPUs can differ a lot for memory-bound work (a busy
 * hyperthread sibling on the host, interrupts): on this project's 2-vCPU
 * machines one ran the loop at 95-100 ns and the other at 120-140 ns, and
 * which one was slow changed from one minute to the next. A 1-thread figure
 * then depends on where the scheduler put the thread: the multi-thread
 * harness rotates its runners between repeats for that reason (lib/quiet.ts).
 * Reports nothing where taskset is missing.
 *
 * Run as a script, it is the pinned child: prints the loop's best ns per load.
 */
import { spawnSync } from 'node:child_process';
import { cpus } from 'node:os';
import { fileURLToPath } from 'node:url';
import { SyncMap } from 'syncmap-wasm';
import { keyOf } from './keys.js';

export interface CpuCheck {
  /** Best ns per SyncMap.load (1023 present keys, number values) pinned to each CPU. */
  loadNsByCpu: number[];
  /** Slowest over fastest. */
  asymmetry: number;
}

async function child(): Promise<void> {
  const map = await SyncMap.create<string, number>({ values: 'number' });
  for (let i = 0; i < 1023; i++) map.store(keyOf(i), i);
  let best = Infinity;
  let sink = 0;
  for (let round = 0; round < 6; round++) {
    const start = process.hrtime.bigint();
    for (let i = 0; i < 500_000; i++) sink += map.load(keyOf(i & 1023)) ?? 0;
    best = Math.min(best, Number(process.hrtime.bigint() - start) / 500_000);
  }
  process.stdout.write(`${best} ${sink}\n`);
}

export function checkCpus(): CpuCheck | undefined {
  const script = fileURLToPath(import.meta.url);
  const loadNsByCpu: number[] = [];
  for (let cpu = 0; cpu < cpus().length; cpu++) {
    const run = spawnSync('taskset', ['-c', String(cpu), process.execPath, script, '--child'], { encoding: 'utf8', timeout: 30_000 });
    const ns = run.status === 0 ? Number(run.stdout.split(' ')[0]) : NaN;
    if (!Number.isFinite(ns)) return undefined;
    loadNsByCpu.push(ns);
  }
  return { loadNsByCpu, asymmetry: Math.max(...loadNsByCpu) / Math.min(...loadNsByCpu) };
}

if (process.argv[2] === '--child' && process.argv[1] === fileURLToPath(import.meta.url)) await child();
