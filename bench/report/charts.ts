/** The run's charts: throughput against threads per implementation, and the inflection table as a plot. */
import { count, percent, siTick } from './format.js';
import type { Results } from './results.js';
import { PALETTE, chart, type Panel, type Series } from './svg.js';

/** The cases drawn in threads.svg: the read path, and the three write-heavy goals. */
const THREAD_CASES = ['LoadMostlyHits', 'LoadOrStoreUnique', 'AdversarialAlloc', 'DeleteCollision'] as const;

export function threadsChart(r: Results): string | undefined {
  const g = r.goSuite;
  if (!g) return undefined;
  const panels: Panel[] = THREAD_CASES.map((name) => ({
    title: name,
    x: { label: 'threads', ticks: g.threads },
    y: { label: 'ops/s (all threads, log scale)', log: true, format: siTick },
    series: g.impls.map(
      (impl, i): Series => ({
        name: impl.label,
        color: PALETTE[i % PALETTE.length]!,
        points: g.threads.flatMap((t): [number, number][] => {
          const c = g.cells.find((x) => x.case === name && x.impl === impl.kind && x.threads === t);
          return c?.status === 'ok' ? [[t, c.opsPerSec!]] : [];
        }),
      }),
    ),
  }));
  return chart(`Throughput against threads (${r.machine.cpu}, ${r.machine.cores} cores, Node ${r.machine.node}, ${r.machine.date.slice(0, 10)})`, panels, 2);
}

export function inflectionChart(r: Results): string | undefined {
  const f = r.inflection;
  if (!f) return undefined;
  const panels: Panel[] = f.threads.map((threads) => ({
    title: `${threads} thread${threads > 1 ? 's' : ''}`,
    x: { label: 'keys in the map (log scale)', log: true, ticks: f.keys, format: count },
    y: { label: 'ops/s (all threads)', format: siTick },
    series: (['syncmap', 'lockedmap'] as const).flatMap((impl) =>
      f.writes.map(
        (writes, i): Series => ({
          name: `${impl === 'syncmap' ? 'SyncMap' : 'LockedMap'}, ${percent(writes)} writes`,
          color: PALETTE[i % PALETTE.length]!,
          dash: impl === 'lockedmap',
          points: f.keys.flatMap((keys): [number, number][] => {
            const c = f.cells.find((x) => x.impl === impl && x.keys === keys && x.writes === writes && x.threads === threads);
            return c?.status === 'ok' ? [[keys, c.opsPerSec!]] : [];
          }),
        }),
      ),
    ),
  }));
  return chart(`SyncMap (solid) against LockedMap (dashed) by key count and share of writes`, panels);
}
