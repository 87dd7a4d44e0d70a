/**
 * Sharing one map across threads.
 *
 * A map is one shared WebAssembly.Memory. Its handle is a plain object holding
 * that memory and the compiled core module, both structured-cloneable, so it
 * travels to a worker through `workerData` or `postMessage`; `SyncMap.attach`
 * then makes a new instance of the core over the same memory. Nothing is copied
 * between threads after that: every thread reads and writes the same bytes.
 *
 * Threads that exit: a worker that ends normally closes its maps from its
 * process 'exit' event. A worker stopped by `Worker.terminate()` runs no code at
 * all, possibly in the middle of an operation, holding a shard lock and an
 * epoch pin. Its death is recorded in the process's thread registry
 * (liveness.ts), whatever thread learns of it, and every thread with the map
 * open reaps it: at once if its event loop is free, or as soon as it waits
 * for a lock the dead thread held (the core asks the registry then).
 */
import { isMainThread } from 'node:worker_threads';
import { SyncMapArgumentError, SyncMapInvalidHandleError, SyncMapLayoutMismatchError } from './errors.js';
import { LAYOUT_VERSION } from './status.js';
import { describe, keyCodecs, valueMarshals, type KeyKind, type ValueKind } from './codecs.js';
import { isRegistry, onDeath, type ThreadRegistry } from './liveness.js';

/**
 * What another thread needs to attach to a map. Pass it to a worker through
 * `workerData` or `postMessage`; it is structured-cloneable, never JSON.
 */
export interface SyncMapHandle {
  readonly kind: 'syncmap-wasm';
  /** The layout version of the shared memory. */
  readonly layout: number;
  /** Which class's map it is: 'sync' for SyncMap, 'locked' for LockedMap. */
  readonly map: 'sync' | 'locked';
  /** The compiled core (the same build must be used by every thread). */
  readonly module: WebAssembly.Module;
  /** The map's shared memory. */
  readonly memory: WebAssembly.Memory;
  readonly keys: KeyKind;
  /** 'custom' when the map was created with a codec of its own, which attach() must be given again. */
  readonly values: ValueKind | 'custom';
  /** The memory's maximum, as created. */
  readonly maxMemoryBytes: number;
  /** The registry of the process's threads that the map's threads share (liveness.ts). */
  readonly registry: SharedArrayBuffer;
  /** The map's default time to live (ms; 0: none but per write), or null when values never expire. */
  readonly ttlMs: number | null;
  /** How fresh the map clock is kept while a thread is busy, in ms. */
  readonly ttlResolutionMs: number;
  /** Whether every write takes a version. */
  readonly versioned: boolean;
}

export const HANDLE_KIND = 'syncmap-wasm';

const PAGE_BYTES = 65536;
/** 65535 pages: just under 4 GiB, so that every address plus length fits in 32 bits. */
export const MAX_MEMORY_BYTES = 65535 * PAGE_BYTES;

/**
 * A new shared memory for a map of at most `maxMemoryBytes`, created at that
 * size from the start.
 *
 * Why not grow it on demand: when one thread grows a shared memory, V8 updates
 * the other threads' instances only when each next handles an interrupt. Until
 * then their bulk-memory instructions (memory.copy, memory.fill) check bounds
 * against the old size, so a reader copying a value that a writer had just
 * allocated in the new pages trapped out of bounds (seen here: Node 20.20,
 * two readers and a writer, within seconds). Created whole, the memory never
 * grows: it is address space until touched, and the OS commits pages only as
 * the core's allocator reaches them (a 1 GiB map costs no resident memory).
 */
export function createMemory(maxMemoryBytes: number, what: string): WebAssembly.Memory {
  const pages = Math.ceil(maxMemoryBytes / PAGE_BYTES);
  try {
    return new WebAssembly.Memory({ initial: pages, maximum: pages, shared: true });
  } catch (error) {
    throw new SyncMapArgumentError(
      `${what}: options.maxMemoryBytes (${maxMemoryBytes}) could not be reserved (${(error as Error).message})`,
    );
  }
}

/** Throws unless `handle` has the shape of a handle of this layout version. */
export function checkHandle(handle: unknown, caller: string): asserts handle is SyncMapHandle {
  const what = `${caller}: handle`;
  if (typeof handle !== 'object' || handle === null) {
    throw new SyncMapInvalidHandleError(`${what} must be a SyncMap's \`handle\`, got ${describe(handle)}`);
  }
  const h = handle as Partial<Record<keyof SyncMapHandle, unknown>>;
  if (h.kind !== HANDLE_KIND) {
    throw new SyncMapInvalidHandleError(`${what} is not a SyncMap handle (kind is ${String(h.kind)})`);
  }
  if (h.layout !== LAYOUT_VERSION) {
    throw new SyncMapLayoutMismatchError(
      `${what} has layout version ${String(h.layout)}; this syncmap-wasm reads version ${LAYOUT_VERSION}`,
    );
  }
  if (h.map !== 'sync' && h.map !== 'locked') {
    throw new SyncMapInvalidHandleError(`${what}.map is not a map kind (${String(h.map)})`);
  }
  if (!(h.module instanceof WebAssembly.Module)) {
    throw new SyncMapInvalidHandleError(`${what}.module must be a WebAssembly.Module`);
  }
  if (!(h.memory instanceof WebAssembly.Memory) || !(h.memory.buffer instanceof SharedArrayBuffer)) {
    throw new SyncMapInvalidHandleError(`${what}.memory must be a shared WebAssembly.Memory`);
  }
  if (typeof h.keys !== 'string' || !(h.keys in keyCodecs)) {
    throw new SyncMapInvalidHandleError(`${what}.keys is not a key kind (${String(h.keys)})`);
  }
  if (typeof h.values !== 'string' || (h.values !== 'custom' && !(h.values in valueMarshals))) {
    throw new SyncMapInvalidHandleError(`${what}.values is not a value kind (${String(h.values)})`);
  }
  if (typeof h.maxMemoryBytes !== 'number') {
    throw new SyncMapInvalidHandleError(`${what}.maxMemoryBytes must be a number`);
  }
  if (h.ttlMs !== null && (typeof h.ttlMs !== 'number' || !Number.isInteger(h.ttlMs) || h.ttlMs < 0)) {
    throw new SyncMapInvalidHandleError(`${what}.ttlMs must be null or a whole number of ms`);
  }
  if (typeof h.ttlResolutionMs !== 'number' || !(h.ttlResolutionMs >= 1)) {
    throw new SyncMapInvalidHandleError(`${what}.ttlResolutionMs must be a number of ms`);
  }
  if (typeof h.versioned !== 'boolean') throw new SyncMapInvalidHandleError(`${what}.versioned must be a boolean`);
  if (!isRegistry(h.registry)) {
    throw new SyncMapInvalidHandleError(`${what}.registry must be the thread registry a map's handle carries`);
  }
}

// ── threads that exit ──────────────────────────────────────────────────────

/** A map open in this thread. */
export interface OpenMap {
  /** Reaps every thread of the map that the registry says has died. */
  reapDead(): void;
  /** Detaches this thread. */
  close(): void;
}

const openInThisThread = new Map<OpenMap, () => void>();
let closingAtExit = false;

/**
 * Tracks a map open in this thread: it reaps dead threads whenever a death is
 * recorded in `registry` (liveness.ts), and, in a worker, is closed when the
 * worker ends on its own, so that it holds nothing by then.
 */
export function registerOpen(map: OpenMap, registry: ThreadRegistry): void {
  if (openInThisThread.has(map)) return;
  openInThisThread.set(map, onDeath(registry, () => map.reapDead()));
  if (!isMainThread && !closingAtExit) {
    closingAtExit = true;
    process.once('exit', () => {
      for (const open of [...openInThisThread.keys()]) open.close();
    });
  }
}

export function unregisterOpen(map: OpenMap): void {
  const stop = openInThisThread.get(map);
  if (!stop) return;
  openInThisThread.delete(map);
  stop();
}
