/**
 * The small interface every implementation is driven through: Go's mapInterface
 * (src/sync/map_reference_test.go) with string keys and number values. Both
 * SyncMap and LockedMap satisfy it directly; the others through an adapter that
 * composes what they lack (see each adapter for how, and whether it is atomic).
 */
export type Key = string;
export type Value = number | string;

export interface BenchMap {
  load(key: Key): Value | undefined;
  store(key: Key, value: number): void;
  /** True when the key was present (loaded), false when it stored. */
  loadOrStore(key: Key, value: number): boolean;
  /** True when the key was present and is now deleted. */
  loadAndDelete(key: Key): boolean;
  delete(key: Key): void;
  /** True when the key was present. */
  swap(key: Key, value: number): boolean;
  compareAndSwap(key: Key, old: number, value: number): boolean;
  compareAndDelete(key: Key, old: number): boolean;
  /** Calls f for each entry until it returns false. */
  range(f: (key: Key, value: Value) => boolean): void;
  clear(): void;
  close(): void;
}

export type Op = Exclude<keyof BenchMap, 'close'>;

/**
 * What a worker needs to reach an implementation: structured-cloneable, with
 * an id under which the worker keeps what it opened.
 */
export type ImplSpec =
  | { kind: 'syncmap' | 'lockedmap'; id: string; handle: unknown }
  | { kind: 'map' | 'map-fresh'; id: string }
  /** A Map per thread kept in step on the BroadcastChannel named `id` (one per cell). */
  | { kind: 'broadcast'; id: string }
  | { kind: 'owner'; id: string }
  | { kind: 'lmdb'; id: string; path: string }
  | { kind: 'sharedmap'; id: string; map: object }
  | { kind: 'smd'; id: string; buffers: SharedArrayBuffer[] };

export type ImplKind = ImplSpec['kind'];
