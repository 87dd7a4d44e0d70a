/**
 * The stamp every result carries: which machine, which Node, when, and which
 * mode (full or quick), so that figures from two runs are never mixed up.
 */
import { readFileSync } from 'node:fs';
import { availableParallelism, cpus, platform, release, totalmem, arch } from 'node:os';

export interface Machine {
  date: string;
  node: string;
  v8: string;
  cpu: string;
  cores: number;
  availableParallelism: number;
  os: string;
  memoryGiB: number;
}

export function machine(): Machine {
  const list = cpus();
  return {
    date: new Date().toISOString(),
    node: process.version,
    v8: process.versions.v8,
    cpu: list[0]?.model.trim() ?? 'unknown',
    cores: list.length,
    availableParallelism: availableParallelism(),
    os: `${platform()} ${release()} ${arch()}`,
    memoryGiB: Math.round(totalmem() / 2 ** 30),
  };
}

/** One line for table captions: "AMD EPYC, 2 cores, Node v20.20.2, 2026-11-26". */
export function describeMachine(m: Machine): string {
  return `${m.cpu}, ${m.cores} cores, Node ${m.node}, ${m.date.slice(0, 10)}`;
}

/**
 * CPU time the rest of the machine took while a section ran: busy time of all
 * CPUs (/proc/stat) less this process's own and its waited children's
 * (/proc/self/stat), as a share of the section's wall time × cores. Anything
 * above a few percent means another program competed with the measurement
 * (on 2 cores, one busy process halves a 2-thread figure). Linux only;
 * elsewhere it reports nothing.
 */
export interface Interference {
  wallSeconds: number;
  /** Other programs' CPU time over wall time × cores. */
  foreignShare: number;
}

const TICK = 100; // USER_HZ on Linux

function busyTicks(): number | undefined {
  try {
    const fields = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!.trim().split(/\s+/).slice(1).map(Number);
    const idle = (fields[3] ?? 0) + (fields[4] ?? 0);
    return fields.reduce((a, b) => a + b, 0) - idle;
  } catch {
    return undefined;
  }
}

/** This process's CPU time (all its threads, µs precision) plus its waited children's (ticks), in ticks. */
function ownTicks(): number | undefined {
  try {
    const stat = readFileSync('/proc/self/stat', 'utf8');
    // Fields after the command name (which may hold spaces): cutime and cstime are the 16th and 17th overall.
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ').map(Number);
    const { user, system } = process.cpuUsage();
    return ((user + system) / 1e6) * TICK + rest[13]! + rest[14]!;
  } catch {
    return undefined;
  }
}

export function interferenceMeter(): () => Interference | undefined {
  const busy0 = busyTicks();
  const own0 = ownTicks();
  const start = performance.now();
  return () => {
    const busy1 = busyTicks();
    const own1 = ownTicks();
    if (busy0 === undefined || own0 === undefined || busy1 === undefined || own1 === undefined) return undefined;
    const wallSeconds = (performance.now() - start) / 1000;
    const foreign = Math.max(0, busy1 - busy0 - (own1 - own0)) / TICK;
    return { wallSeconds, foreignShare: foreign / (wallSeconds * cpus().length) };
  };
}
