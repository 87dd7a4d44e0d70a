/**
 * The owner thread: one worker holds a JS Map and serves every other thread
 * over postMessage, the usual way to share a Map between worker threads.
 *
 * Each client has its own MessageChannel to the owner and makes synchronous
 * round trips: it posts a request, then blocks (Atomics.wait on a word the
 * owner bumps after replying) and takes the reply with receiveMessageOnPort.
 * That is the fastest form a caller can use (an `await` per request adds an
 * event-loop turn on top). The owner runs requests one at a time, so every
 * composed operation is atomic.
 */
import { receiveMessageOnPort, type MessagePort } from 'node:worker_threads';
import { JsMapAdapter } from './jsmap.js';
import type { BenchMap, Key, Op, Value } from './types.js';

type Request = [op: Op, key?: Key, a?: number, b?: number];

/** The word a client waits on: the owner adds 1 after each reply it posts. */
const REPLIES = 0;

export class OwnerClient implements BenchMap {
  constructor(
    readonly port: MessagePort,
    readonly replies: Int32Array,
  ) {}

  #call(request: Request): unknown {
    const seen = Atomics.load(this.replies, REPLIES);
    this.port.postMessage(request);
    for (;;) {
      const reply = receiveMessageOnPort(this.port);
      if (reply) return reply.message;
      Atomics.wait(this.replies, REPLIES, seen, 1000);
    }
  }

  load(key: Key): Value | undefined {
    return this.#call(['load', key]) as Value | undefined;
  }
  store(key: Key, value: number): void {
    this.#call(['store', key, value]);
  }
  loadOrStore(key: Key, value: number): boolean {
    return this.#call(['loadOrStore', key, value]) as boolean;
  }
  loadAndDelete(key: Key): boolean {
    return this.#call(['loadAndDelete', key]) as boolean;
  }
  delete(key: Key): void {
    this.#call(['delete', key]);
  }
  swap(key: Key, value: number): boolean {
    return this.#call(['swap', key, value]) as boolean;
  }
  compareAndSwap(key: Key, old: number, value: number): boolean {
    return this.#call(['compareAndSwap', key, old, value]) as boolean;
  }
  compareAndDelete(key: Key, old: number): boolean {
    return this.#call(['compareAndDelete', key, old]) as boolean;
  }
  range(f: (key: Key, value: Value) => boolean): void {
    // One round trip copies every entry out, as a client of an owner would.
    for (const [key, value] of this.#call(['range']) as [Key, number][]) if (!f(key, value)) return;
  }
  clear(): void {
    this.#call(['clear']);
  }
  close(): void {
    this.port.close();
  }
}

/** The owner's side: serves one client port over `map`. */
export function serveClient(map: JsMapAdapter, port: MessagePort, replies: Int32Array): void {
  port.on('message', (request: Request) => {
    port.postMessage(execute(map, request));
    Atomics.add(replies, REPLIES, 1);
    Atomics.notify(replies, REPLIES);
  });
}

/** Runs a client's request on the owner's Map, through the same adapter as the one-thread Map column. */
function execute(map: JsMapAdapter, [op, key, a, b]: Request): unknown {
  const k = key!;
  switch (op) {
    case 'load':
      return map.load(k);
    case 'store':
      return map.store(k, a!);
    case 'loadOrStore':
      return map.loadOrStore(k, a!);
    case 'loadAndDelete':
      return map.loadAndDelete(k);
    case 'delete':
      return map.delete(k);
    case 'swap':
      return map.swap(k, a!);
    case 'compareAndSwap':
      return map.compareAndSwap(k, a!, b!);
    case 'compareAndDelete':
      return map.compareAndDelete(k, a!);
    case 'range':
      return [...map.map];
    case 'clear':
      return map.clear();
  }
}
