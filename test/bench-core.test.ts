/**
 * The benchmark build (build/syncmap-bench.wasm): Go's in-Wasm loops live
 * there and not in the published core, and maps created for them work.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { LockedMap, SyncMap } from 'syncmap-wasm';
import { CoreBench, GO_CASES, createBenchMap } from '../build/bindings/bench-core.js';

function exportsOf(file: string): string[] {
  const module = new WebAssembly.Module(readFileSync(new URL(`../build/${file}`, import.meta.url)));
  return WebAssembly.Module.exports(module).map((e) => e.name).sort();
}

describe('the benchmark build', () => {
  it('holds the published core ABI plus the sm_bench* loops, which the published core lacks', () => {
    const core = exportsOf('syncmap.wasm');
    const bench = exportsOf('syncmap-bench.wasm');
    expect(core.filter((name) => name.startsWith('sm_bench'))).toEqual([]);
    expect(bench.filter((name) => !core.includes(name)).every((name) => name.startsWith('sm_bench'))).toBe(true);
    expect(core.every((name) => bench.includes(name))).toBe(true);
    expect(bench).toContain('sm_benchRun');
  });

  it('runs every case on a SyncMap and a LockedMap made by createBenchMap', () => {
    for (const Class of [SyncMap, LockedMap] as const) {
      const options = { keys: 'number', values: 'number', maxMemoryBytes: 64 * 2 ** 20 } as const;
      const map = Class === SyncMap ? createBenchMap<number, number>(SyncMap, options) : createBenchMap<number, number>(LockedMap, options);
      expect(map).toBeInstanceOf(Class);
      const core = new CoreBench(map);
      for (const name of GO_CASES) {
        map.clear();
        core.setup(name);
        core.begin(name, 0);
        expect(core.run(64)).toBe(64);
      }
      // The ordinary API over the same memory, and another attachment to it.
      map.clear();
      map.store(1, 2);
      const other = Class === SyncMap ? SyncMap.attach<number, number>(map.handle) : LockedMap.attach<number, number>(map.handle);
      expect(other.load(1)).toBe(2);
      other.close();
      map.close();
    }
  });

  it('refuses a map over the published core, saying how to make one', () => {
    const map = SyncMap.createSync({ keys: 'number', values: 'number' });
    expect(() => new CoreBench(map)).toThrow(/createBenchMap/);
    map.close();
  });
});
