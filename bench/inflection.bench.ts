/**
 * The seed's inflection table: SyncMap against LockedMap (map + RWMutex) as
 * the key count grows from 1k to 1M and the share of writes from 0 to 50%, at
 * 1 and 2 threads. Each thread picks keys uniformly among the present ones
 * (36-character UIDs, number values) and stores (overwrites) with the given
 * probability, else loads. Also the memory in use per entry once filled: the
 * map's bytes in use (entries, values, tables; threads' scratch excluded,
 * reclamation drained), both over its size and beyond what the empty map
 * already holds (~126 KiB of slots and reclamation lists, the fixed part),
 * against the key and value bytes.
 */
import { fileURLToPath } from 'node:url';
import { LockedMap, SyncMap } from 'syncmap-wasm';
import { collect } from '../bindings/internal.js';
import type { BenchConfig } from './lib/config.js';
import { startRun } from './lib/context.js';
import { keptKeys } from './lib/keys.js';
import { Pool } from './lib/pool.js';
import { repeatedCell } from './lib/quiet.js';
import type { Job } from './lib/protocol.js';

export interface InflectionCell {
  impl: 'syncmap' | 'lockedmap';
  keys: number;
  writes: number;
  threads: number;
  status: 'ok' | 'error';
  opsPerSec?: number;
  note?: string;
  foreignShare?: number;
  attempts?: number;
  /** The throughput of each repeat (runners rotated); the figure is their mean. */
  repeats?: number[];
}

export interface MemoryRow {
  impl: 'syncmap' | 'lockedmap';
  keys: number;
  /** Bytes in use (scratch excluded) over the size. */
  bytesPerEntry: number;
  /** The same, less the empty map's bytes in use: the cost of an entry, without the fixed part. */
  marginalBytesPerEntry: number;
  /** What the empty map holds. */
  emptyBytes: number;
  keyValueBytes: number;
  /** marginalBytesPerEntry - keyValueBytes: the goal is at most 64. */
  overheadBytes: number;
}

export interface InflectionResult {
  keys: number[];
  writes: number[];
  threads: number[];
  cells: InflectionCell[];
  memory: MemoryRow[];
}

/** 36 bytes of UTF-8 key, 8 bytes of float64 value. */
const KEY_BYTES = 36;
const VALUE_BYTES = 8;

export async function runInflection(cfg: BenchConfig, log: (line: string) => void): Promise<InflectionResult> {
  const started = performance.now();
  const cells: InflectionCell[] = [];
  const memory: MemoryRow[] = [];
  const maxThreads = Math.max(...cfg.inflectionThreads);
  // One pool for both: their runners' call sites see two classes at most (V8 inlines up to four).
  let pool = await Pool.start(maxThreads);
  const allKeys = keptKeys(Math.max(...cfg.inflectionKeys));
  for (const count of cfg.inflectionKeys) {
    // Both maps filled, then every cell of this size SyncMap then LockedMap, so
    // that a row's two figures are taken within a second of each other.
    const sides = [];
    for (const impl of ['syncmap', 'lockedmap'] as const) {
      const Class = impl === 'syncmap' ? SyncMap : LockedMap;
      const map = await Class.create<string, number>({ keys: 'string', values: 'number' });
      const inUse = (): number => {
        collect(map);
        const stats = map.stats();
        return stats.bytesInUse - stats.scratchBytes;
      };
      const emptyBytes = inUse();
      for (let i = 0; i < count; i++) map.store(allKeys[i]!, i);
      const filled = inUse();
      const marginal = (filled - emptyBytes) / count;
      memory.push({
        impl,
        keys: count,
        bytesPerEntry: filled / count,
        marginalBytesPerEntry: marginal,
        emptyBytes,
        keyValueBytes: KEY_BYTES + VALUE_BYTES,
        overheadBytes: marginal - KEY_BYTES - VALUE_BYTES,
      });
      sides.push({ impl, map, spec: { kind: impl, id: `${impl}-inflection-${count}`, handle: map.handle } });
    }
    for (const writes of cfg.inflectionWrites) {
      for (const threads of cfg.inflectionThreads) {
        for (const { impl, spec } of sides) {
          const cell: InflectionCell = { impl, keys: count, writes, threads, status: 'ok' };
          cells.push(cell);
          const jobs: Job[] = Array.from({ length: threads }, (_, goroutine) => ({ kind: 'mix', spec, keys: count, writes, goroutine }));
          const { value: result, foreignShare, attempts, repeats } = await repeatedCell(
            (offset) => pool.cell(jobs, { warmupMs: cfg.inflectionWarmupMs, measureMs: cfg.inflectionMeasureMs }, false, offset),
            cfg,
          );
          Object.assign(cell, { foreignShare, attempts, repeats });
          if (result.ok) cell.opsPerSec = result.opsPerSec;
          else Object.assign(cell, { status: 'error', note: result.error });
          if (!pool.alive) pool = await Pool.start(maxThreads);
        }
      }
    }
    for (const { map } of sides) map.close();
  }
  await pool.close();
  log(`  inflection: done in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  return { keys: cfg.inflectionKeys, writes: cfg.inflectionWrites, threads: cfg.inflectionThreads, cells, memory };
}

// Run directly (`node build/bench/inflection.bench.js [--quick] [--out DIR]`): this section alone,
// printed (and written only with --out).
if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const run = startRun(process.argv.slice(2), 'inflection');
  run.results.inflection = await run.section('inflection', () => runInflection(run.cfg, run.log));
  run.finish();
}
