/**
 * The stamp every result carries: which machine, which Node, when, and which
 * mode (full or quick), so that figures from two runs are never mixed up.
 */
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
