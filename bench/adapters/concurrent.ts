/** SyncMap and LockedMap: the package's own classes satisfy BenchMap as they are. */
import { LockedMap, SyncMap, type ConcurrentMap, type SyncMapHandle } from 'syncmap-wasm';
import type { BenchMap, Key, Value } from './types.js';

export class ConcurrentAdapter implements BenchMap {
  constructor(readonly map: ConcurrentMap<Key, number>) {}

  static attach(kind: 'syncmap' | 'lockedmap', handle: SyncMapHandle): ConcurrentAdapter {
    return new ConcurrentAdapter(kind === 'syncmap' ? SyncMap.attach<Key, number>(handle) : LockedMap.attach<Key, number>(handle));
  }

  load(key: Key): Value | undefined {
    return this.map.load(key);
  }
  store(key: Key, value: number): void {
    this.map.store(key, value);
  }
  loadOrStore(key: Key, value: number): boolean {
    return this.map.loadOrStore(key, value).loaded;
  }
  loadAndDelete(key: Key): boolean {
    return this.map.loadAndDelete(key).loaded;
  }
  delete(key: Key): void {
    this.map.delete(key);
  }
  swap(key: Key, value: number): boolean {
    return this.map.swap(key, value).loaded;
  }
  compareAndSwap(key: Key, old: number, value: number): boolean {
    return this.map.compareAndSwap(key, old, value);
  }
  compareAndDelete(key: Key, old: number): boolean {
    return this.map.compareAndDelete(key, old);
  }
  range(f: (key: Key, value: Value) => boolean): void {
    this.map.range(f);
  }
  clear(): void {
    this.map.clear();
  }
  close(): void {
    this.map.close();
  }
}
