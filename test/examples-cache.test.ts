/**
 * The cache examples run as their npm scripts do, in well under 10 s each, and
 * print what they promise: examples/controller-cache (TTL, sweeper, reader
 * workers, Prometheus metrics) and examples/xds-delta (versions, deltas,
 * long-poll, compaction watermark, a client that falls behind and resyncs).
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('..', import.meta.url));
const scripts: Record<string, string> = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')).scripts;

/** Runs `npm run <script>`'s command (node <file>) and times it. */
function run(script: string) {
  const [command, file] = scripts[script]!.split(' ');
  expect(command).toBe('node');
  const start = Date.now();
  const { status, stdout, stderr } = spawnSync(process.execPath, [file!], { cwd: root, encoding: 'utf8', timeout: 30_000 });
  return { status, stdout, stderr, ms: Date.now() - start };
}

/** The numbers a line matching `pattern` captured. */
function numbers(stdout: string, pattern: RegExp): number[] {
  const match = pattern.exec(stdout);
  if (match === null) throw new Error(`no line matches ${pattern}:\n${stdout}`);
  return match.slice(1).map(Number);
}

describe('cache examples', () => {
  it('controller-cache: the cache ends equal to the cluster, missed deletes expire, metrics count the readers', () => {
    const { status, stdout, stderr, ms } = run('example:controller-cache');
    expect(stderr).toBe('');
    expect(status).toBe(0);
    expect(ms).toBeLessThan(10_000);
    const [listed, adds, updates, deletes, missed] = numbers(
      stdout, /^informer: (\d+) pods listed, then (\d+) adds, (\d+) updates, (\d+) deletes \((\d+) missed by the watch\)$/m,
    );
    expect(listed).toBe(2000);
    expect(adds! + updates! + deletes!).toBeGreaterThan(100);
    const [lookups, found] = numbers(stdout, /^readers: 2 workers, (\d+) lookups by UID, (\d+) found \(\d+%\)$/m);
    expect(lookups).toBeGreaterThan(0);
    expect(stdout).toMatch(/^by phase, as a reader last counted: Pending \d+, Running \d+, Succeeded \d+, Failed \d+$/m);
    const [expired] = numbers(stdout, /^expired by TTL and swept: (\d+) \(the pods whose delete was missed\)$/m);
    expect(expired).toBe(missed);
    const [pods] = numbers(stdout, /^cache matches the cluster: yes \((\d+) pods\)$/m);
    expect(pods).toBe(listed! + adds! - deletes!);
    // The metrics: the readers' loads are all the loads there were.
    const metric = (name: string) => numbers(stdout, new RegExp(`^  syncmap_${name} (\\d+)$`, 'm'))[0];
    expect(metric('hit_total\\{op="load"\\}')).toBe(found);
    expect(metric('miss_total\\{op="load"\\}')).toBe(lookups! - found!);
    expect(metric('entries')).toBe(pods);
    expect(metric('expirations_total')).toBe(missed);
    expect(metric('read_latency_seconds_count\\{result="hit"\\}')).toBeGreaterThan(0);
  });

  it('xds-delta: every client ends equal to the snapshot; the stalled one was reset and resynced', () => {
    const { status, stdout, stderr, ms } = run('example:xds-delta');
    expect(stderr).toBe('');
    expect(status).toBe(0);
    expect(ms).toBeLessThan(10_000);
    const [initial, changes, version, compacted] = numbers(
      stdout, /^writer: (\d+) configurations, then (\d+) changes: version (\d+); (\d+) tombstones compacted$/m,
    );
    expect(initial).toBe(120);
    expect(version).toBe(initial! + changes!);
    expect(compacted).toBeGreaterThan(0);
    for (const client of [1, 2, 3]) {
      const [deltas, , , resets, at] = numbers(
        stdout,
        new RegExp(
          `^client ${client}: (\\d+) deltas \\((\\d+) upserts, (\\d+) deletes\\), (\\d+) full resyncs?; ` +
            'at version (\\d+): equals the snapshot$',
          'm',
        ),
      );
      expect(deltas).toBeGreaterThan(0);
      expect(at).toBe(version);
      // Client 1 stalls for 400 ms while compaction moves on: it must come back through a reset.
      if (client === 1) expect(resets).toBeGreaterThanOrEqual(1);
    }
    expect(stdout).toMatch(/^every client's state equals the map's snapshot \(\d+ configurations\)$/m);
  });
});
