/**
 * sharedmap (npm): a fixed-capacity hash map in a SharedArrayBuffer with
 * per-line locks, string keys and string values (numbers are stored as their
 * decimal text). It has get, set, delete and clear; the rest is composed the
 * way its README shows: under lockWrite() for loadOrStore, swap and
 * compareAndSwap (other writers wait, readers go on), under lockExclusive() for
 * loadAndDelete and compareAndDelete (its delete needs that lock anyway, and
 * throws on a missing key). Range walks keys(), which holds no lock between keys.
 */
import SharedMapModule from 'sharedmap';
import type { BenchMap, Key, Value } from './types.js';

/** The package's class (a UMD default export). */
interface SharedMapInstance {
  set(key: string, value: string | number, opt?: { lockWrite?: boolean; lockExclusive?: boolean }): void;
  get(key: string, opt?: { lockWrite?: boolean; lockExclusive?: boolean }): string | undefined;
  delete(key: string, opt?: { lockWrite?: boolean; lockExclusive?: boolean }): void;
  keys(): Iterable<string>;
  clear(): void;
  lockWrite(): void;
  unlockWrite(): void;
  lockExclusive(): void;
  unlockExclusive(): void;
  readonly length: number;
}
type SharedMapClass = new (maxSize: number, keySize: number, objSize: number) => SharedMapInstance;

const SharedMap = ((SharedMapModule as unknown as { default?: SharedMapClass }).default ??
  (SharedMapModule as unknown as SharedMapClass));

const WRITE = { lockWrite: true };
const EXCLUSIVE = { lockExclusive: true };

export function createSharedMap(capacity: number, keyChars: number, valueChars: number): SharedMapInstance {
  return new SharedMap(capacity, keyChars, valueChars);
}

export class SharedMapAdapter implements BenchMap {
  readonly map: SharedMapInstance;

  /** Over a map made in this thread, or one received from another (its prototype is restored). */
  constructor(map: object) {
    if (!(map instanceof SharedMap)) Object.setPrototypeOf(map, SharedMap.prototype);
    this.map = map as SharedMapInstance;
  }

  load(key: Key): Value | undefined {
    return this.map.get(key);
  }
  store(key: Key, value: number): void {
    this.map.set(key, value);
  }
  loadOrStore(key: Key, value: number): boolean {
    this.map.lockWrite();
    try {
      if (this.map.get(key, WRITE) !== undefined) return true;
      this.map.set(key, value, WRITE);
      return false;
    } finally {
      this.map.unlockWrite();
    }
  }
  loadAndDelete(key: Key): boolean {
    this.map.lockExclusive();
    try {
      if (this.map.get(key, EXCLUSIVE) === undefined) return false;
      this.map.delete(key, EXCLUSIVE);
      return true;
    } finally {
      this.map.unlockExclusive();
    }
  }
  delete(key: Key): void {
    this.loadAndDelete(key);
  }
  swap(key: Key, value: number): boolean {
    this.map.lockWrite();
    try {
      const loaded = this.map.get(key, WRITE) !== undefined;
      this.map.set(key, value, WRITE);
      return loaded;
    } finally {
      this.map.unlockWrite();
    }
  }
  compareAndSwap(key: Key, old: number, value: number): boolean {
    this.map.lockWrite();
    try {
      if (this.map.get(key, WRITE) !== String(old)) return false;
      this.map.set(key, value, WRITE);
      return true;
    } finally {
      this.map.unlockWrite();
    }
  }
  compareAndDelete(key: Key, old: number): boolean {
    this.map.lockExclusive();
    try {
      if (this.map.get(key, EXCLUSIVE) !== String(old)) return false;
      this.map.delete(key, EXCLUSIVE);
      return true;
    } finally {
      this.map.unlockExclusive();
    }
  }
  range(f: (key: Key, value: Value) => boolean): void {
    for (const key of this.map.keys()) {
      const value = this.map.get(key);
      if (value !== undefined && !f(key, value)) return;
    }
  }
  clear(): void {
    this.map.clear();
  }
  close(): void {}
}
