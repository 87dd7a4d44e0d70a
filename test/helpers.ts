/**
 * Shared test helpers: worker orchestration, and access to the built package
 * (tests run against build/, the same files a user installs).
 */
import { Worker } from 'node:worker_threads';

export { SyncMap } from '../build/bindings/index.js';
export * from '../build/bindings/index.js';
export * as internal from '../build/bindings/internal.js';

const fixtures = new URL('./fixtures/', import.meta.url);

/** A worker running test/fixtures/<name>, with `data` as workerData. */
export function startWorker(name: string, data: unknown): Worker {
  return new Worker(new URL(name, fixtures), { workerData: data });
}

/** Resolves with the worker's first message; rejects on error or early exit. */
export function firstMessage<T>(worker: Worker): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    worker.once('message', resolve);
    worker.once('error', reject);
    worker.once('exit', (code) => reject(new Error(`worker exited (${code}) before answering`)));
  });
}

/** Runs a fixture to completion and returns its (single) message. */
export async function runWorker<T>(name: string, data: unknown): Promise<T> {
  const worker = startWorker(name, data);
  const result = await firstMessage<T>(worker);
  await exited(worker);
  return result;
}

export function exited(worker: Worker): Promise<number> {
  return new Promise((resolve) => {
    if (worker.threadId === -1) resolve(0);
    else worker.once('exit', resolve);
  });
}

/** A small shared control block: [0] start flag, [1] stop flag, further words free. */
export function controlBlock(words = 16): Int32Array {
  return new Int32Array(new SharedArrayBuffer(words * 4));
}
