/**
 * The baseline users build instead of a shared map: a JS Map in every thread,
 * each write applied to the writer's copy and posted on a BroadcastChannel,
 * and applied to every other copy when that thread's event loop delivers the
 * message. Loads are a Map.get on the thread's own copy. What it costs
 * instead: a copy of every key and value per thread, a structured clone per
 * write and per reader, and writes that another thread sees only once its
 * event loop turns (never while it runs a synchronous loop). Composed
 * operations (loadOrStore, swap, CAS, loadAndDelete) are atomic within one
 * copy only: two threads can both "store first", and copies that took
 * conflicting writes in different orders stay different.
 *
 * ReplicatedMap is the map a user would write; BroadcastAdapter drives it as
 * a BenchMap in the Go suite (lib/impls.ts), where every thread seeds its own
 * copy with the case's setup, as if it had received those writes.
 */
import { BroadcastChannel } from 'node:worker_threads';
import type { BenchMap, Key, Value } from './types.js';

/** A write as posted: store, delete, clear. */
type Message = ['s', string, unknown] | ['d', string] | ['c'];

export class ReplicatedMap<V> {
  readonly map = new Map<string, V>();
  readonly #channel: BroadcastChannel;
  /** Off while a copy is seeded (as if it had received those writes): nothing is posted. */
  posting = true;

  /** Joins the copies kept in step on the channel `name`. */
  constructor(name: string) {
    this.#channel = new BroadcastChannel(name);
    this.#channel.onmessage = (event) => this.#apply((event as unknown as { data: Message }).data);
    // An open channel must not keep a thread alive by itself.
    this.#channel.unref();
  }

  #apply(message: Message): void {
    switch (message[0]) {
      case 's':
        this.map.set(message[1], message[2] as V);
        break;
      case 'd':
        this.map.delete(message[1]);
        break;
      case 'c':
        this.map.clear();
        break;
    }
  }

  #post(message: Message): void {
    if (this.posting) this.#channel.postMessage(message);
  }

  get(key: string): V | undefined {
    return this.map.get(key);
  }
  set(key: string, value: V): void {
    this.map.set(key, value);
    this.#post(['s', key, value]);
  }
  /** Posts the delete even when this copy lacks the key: another copy may have it. */
  delete(key: string): boolean {
    const had = this.map.delete(key);
    this.#post(['d', key]);
    return had;
  }
  clear(): void {
    this.map.clear();
    this.#post(['c']);
  }
  close(): void {
    this.#channel.close();
    this.map.clear();
  }
}

export class BroadcastAdapter implements BenchMap {
  readonly copy: ReplicatedMap<number>;

  constructor(channel: string) {
    this.copy = new ReplicatedMap<number>(channel);
  }

  /** Runs `fill` on this thread's copy without posting: the case's setup, seeded in every thread. */
  seed(fill: () => void): void {
    this.copy.posting = false;
    try {
      fill();
    } finally {
      this.copy.posting = true;
    }
  }

  load(key: Key): Value | undefined {
    return this.copy.get(key);
  }
  store(key: Key, value: number): void {
    this.copy.set(key, value);
  }
  loadOrStore(key: Key, value: number): boolean {
    if (this.copy.get(key) !== undefined) return true;
    this.copy.set(key, value);
    return false;
  }
  loadAndDelete(key: Key): boolean {
    return this.copy.delete(key);
  }
  delete(key: Key): void {
    this.copy.delete(key);
  }
  swap(key: Key, value: number): boolean {
    const loaded = this.copy.get(key) !== undefined;
    this.copy.set(key, value);
    return loaded;
  }
  compareAndSwap(key: Key, old: number, value: number): boolean {
    if (this.copy.get(key) !== old) return false;
    this.copy.set(key, value);
    return true;
  }
  compareAndDelete(key: Key, old: number): boolean {
    if (this.copy.get(key) !== old) return false;
    return this.copy.delete(key);
  }
  range(f: (key: Key, value: Value) => boolean): void {
    for (const [key, value] of this.copy.map) if (!f(key, value)) return;
  }
  clear(): void {
    this.copy.clear();
  }
  close(): void {
    this.copy.close();
  }
}
