/**
 * The demo's command line (npm run demo): a bad flag prints the reason and the
 * usage and exits 2, with no stack trace; a short run prints its summary.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const DEMO = fileURLToPath(new URL('../build/demo/controller-cache.js', import.meta.url));

function demo(...args: string[]) {
  const { status, stdout, stderr } = spawnSync(process.execPath, [DEMO, ...args], { encoding: 'utf8', timeout: 20_000 });
  return { status, stdout, stderr };
}

describe('npm run demo', () => {
  it.each([
    [['--bogus'], "unknown option '--bogus'"],
    [['--keys', '-5'], "--keys must be an integer from 1 to 5000000, got '-5'"],
    [['--keys=-5'], "--keys must be an integer from 1 to 5000000, got '-5'"],
    [['--keys'], '--keys needs a value'],
    [['--duration', '--keys', '10'], '--duration needs a value'],
    [['--keys', 'many'], "--keys must be an integer from 1 to 5000000, got 'many'"],
    [['--write-ratio', '2'], "--write-ratio must be a number from 0 to 0.9, got '2'"],
    [['--threads', '1.5'], "--threads must be an integer from 1 to 64, got '1.5'"],
    [['pods'], "unexpected argument 'pods'"],
  ])('%j: the reason and the usage, exit 2, no stack trace', (args, reason) => {
    const { status, stdout, stderr } = demo(...args);
    expect(status).toBe(2);
    expect(stdout).toBe('');
    expect(stderr.split('\n')[0]).toBe(reason);
    expect(stderr).toContain('usage: npm run demo -- [--threads N]');
    expect(stderr).not.toMatch(/^\s+at /m);
  });

  it('--help: the usage on stdout, exit 0', () => {
    const { status, stdout } = demo('--help');
    expect(status).toBe(0);
    expect(stdout).toMatch(/^usage: npm run demo --/);
  });

  it('a one-second run: map memory leaves scratch out, memory in use counts it', () => {
    const { status, stdout, stderr } = demo('--duration', '1', '--keys', '2000', '--threads', '1');
    expect(stderr).toBe('');
    expect(status).toBe(0);
    expect(stdout).toMatch(/size +[\d,]+ pods \(exact; [\d,]+ expected\)/);
    const mapMemory = /^map memory +([\d.,]+) MiB/m.exec(stdout);
    const inUse = /^memory in use +([\d.,]+) MiB: map memory \+ ([\d.,]+) MiB of scratch/m.exec(stdout);
    expect(mapMemory).not.toBeNull();
    expect(inUse).not.toBeNull();
    const [map, total, scratch] = [mapMemory![1]!, inUse![1]!, inUse![2]!].map((n) => Number(n.replace(/,/g, '')));
    expect(Math.abs(map! + scratch! - total!)).toBeLessThanOrEqual(0.2); // rounded to 0.1 MiB each
  });
});
