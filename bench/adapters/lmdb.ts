/**
 * lmdb (lmdb-js): the established store that worker threads and processes
 * already share, through a memory-mapped file. Reads are synchronous lookups
 * in the map; every write is a synchronous transaction (putSync, removeSync,
 * transactionSync), since a map's write must be visible when it returns.
 * Durability is off (noSync): the comparison is with in-memory maps, and an
 * fsync per write would only measure the disk. Composed operations
 * (loadOrStore, swap, compareAndSwap, …) run inside one transactionSync,
 * which LMDB serializes across threads and processes: atomic.
 */
import { open, type Database, type RootDatabase } from 'lmdb';
import type { BenchMap, Key, Value } from './types.js';

export function openLmdb(path: string): RootDatabase<number, Key> {
  return open<number, Key>({ path, noSync: true, compression: false });
}

export class LmdbAdapter implements BenchMap {
  constructor(readonly db: Database<number, Key>) {}

  load(key: Key): Value | undefined {
    return this.db.get(key);
  }
  store(key: Key, value: number): void {
    this.db.putSync(key, value);
  }
  loadOrStore(key: Key, value: number): boolean {
    return this.db.transactionSync(() => {
      if (this.db.get(key) !== undefined) return true;
      this.db.putSync(key, value);
      return false;
    });
  }
  loadAndDelete(key: Key): boolean {
    return this.db.transactionSync(() => this.db.get(key) !== undefined && this.db.removeSync(key));
  }
  delete(key: Key): void {
    this.db.removeSync(key);
  }
  swap(key: Key, value: number): boolean {
    return this.db.transactionSync(() => {
      const loaded = this.db.get(key) !== undefined;
      this.db.putSync(key, value);
      return loaded;
    });
  }
  compareAndSwap(key: Key, old: number, value: number): boolean {
    return this.db.transactionSync(() => {
      if (this.db.get(key) !== old) return false;
      this.db.putSync(key, value);
      return true;
    });
  }
  compareAndDelete(key: Key, old: number): boolean {
    return this.db.transactionSync(() => this.db.get(key) === old && this.db.removeSync(key));
  }
  range(f: (key: Key, value: Value) => boolean): void {
    for (const { key, value } of this.db.getRange()) if (!f(key, value)) return;
  }
  clear(): void {
    this.db.clearSync();
  }
  close(): void {
    // The environment is shared by every thread of the process; the run closes it once at the end.
  }
}
