/**
 * A JS Map on one thread: what a user picks when nothing is shared. Every
 * composed operation is trivially atomic (one thread). Not shareable: a Map
 * cannot be reached from another thread, only copied to it.
 */
import type { BenchMap, Key, Value } from './types.js';

export class JsMapAdapter implements BenchMap {
  readonly map = new Map<Key, number>();

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
  loadAndDelete(key: Key): boolean {
    return this.map.delete(key);
  }
  delete(key: Key): void {
    this.map.delete(key);
  }
  swap(key: Key, value: number): boolean {
    const loaded = this.map.get(key) !== undefined;
    this.map.set(key, value);
    return loaded;
  }
  compareAndSwap(key: Key, old: number, value: number): boolean {
    if (this.map.get(key) !== old) return false;
    this.map.set(key, value);
    return true;
  }
  compareAndDelete(key: Key, old: number): boolean {
    if (this.map.get(key) !== old) return false;
    return this.map.delete(key);
  }
  range(f: (key: Key, value: Value) => boolean): void {
    for (const [key, value] of this.map) if (!f(key, value)) return;
  }
  clear(): void {
    this.map.clear();
  }
  close(): void {
    this.map.clear();
  }
}
