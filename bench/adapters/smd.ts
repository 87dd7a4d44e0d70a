/**
 * shared-memory-datastructures (npm): ShareableMap, a Map whose entries live in
 * two SharedArrayBuffers that other threads adopt with setBuffers(). It has no
 * locks at all, and a write that outgrows its buffers allocates new ones that
 * only the writing thread sees; set() of a present key appends a second entry
 * (get() keeps returning the first) and delete() throws. So it runs only the
 * cases whose loop never changes the map once another thread has adopted it,
 * and on one thread those that only add new keys; the table says why for the rest.
 */
import smdModule from 'shared-memory-datastructures';
import type { BenchMap, Key, Value } from './types.js';

interface ShareableMapInstance {
  get(key: Key): number | undefined;
  set(key: Key, value: number): unknown;
  has(key: Key): boolean;
  clear(): void;
  entries(): IterableIterator<[Key, number]>;
  getBuffers(): SharedArrayBuffer[];
  setBuffers(index: SharedArrayBuffer, data: SharedArrayBuffer): void;
}
type ShareableMapClass = new (expectedSize?: number, averageBytesPerValue?: number) => ShareableMapInstance;

const { ShareableMap } = smdModule as unknown as { ShareableMap: ShareableMapClass };

export function createShareableMap(): ShareableMapInstance {
  return new ShareableMap(1024, 16);
}

export class SmdAdapter implements BenchMap {
  readonly map: ShareableMapInstance;

  constructor(map: ShareableMapInstance | SharedArrayBuffer[]) {
    if (Array.isArray(map)) {
      this.map = new ShareableMap(8, 8);
      this.map.setBuffers(map[0]!, map[1]!);
    } else {
      this.map = map;
    }
  }

  load(key: Key): Value | undefined {
    return this.map.get(key);
  }
  store(key: Key, value: number): void {
    this.map.set(key, value);
  }
  loadOrStore(key: Key, value: number): boolean {
    if (this.map.get(key) !== undefined) return true;
    this.map.set(key, value);
    return false;
  }
  loadAndDelete(): boolean {
    throw new Error('ShareableMap.delete() is not supported');
  }
  delete(): void {
    throw new Error('ShareableMap.delete() is not supported');
  }
  swap(): boolean {
    throw new Error('ShareableMap cannot change the value of a present key');
  }
  compareAndSwap(key: Key, old: number): boolean {
    if (this.map.get(key) !== old) return false;
    throw new Error('ShareableMap cannot change the value of a present key');
  }
  compareAndDelete(key: Key, old: number): boolean {
    if (this.map.get(key) !== old) return false;
    throw new Error('ShareableMap.delete() is not supported');
  }
  range(f: (key: Key, value: Value) => boolean): void {
    for (const [key, value] of this.map.entries()) if (!f(key, value)) return;
  }
  clear(): void {
    this.map.clear();
  }
  close(): void {}
}
