/**
 * Messages between the bench's main thread and its worker threads, and the
 * layout of the shared control words that start and stop a measurement.
 *
 *   control (Int32Array over a SharedArrayBuffer, one per measured cell)
 *   ┌───────┬────┬──────┬────────────┐
 *   │ ready │ go │ stop │ setup done │
 *   └───────┴────┴──────┴────────────┘
 *
 * ready       Each thread adds 1 when it is about to loop (or has failed).
 * go          The main thread sets it once every thread is ready and warmed
 *             up: each thread counts its iterations from the moment it sees it.
 * stop        Set by the main thread when the window closes.
 * setup done  Set by thread 0 after it ran a case's setup in its own thread
 *             (thread-local implementations); the others wait for it.
 */
import type { MessagePort } from 'node:worker_threads';
import type { GoCase } from './go-cases.js';
import type { ImplSpec } from '../adapters/types.js';

export const kReady = 0;
export const kGo = 1;
export const kStop = 2;
export const kSetupDone = 3;
export const CONTROL_WORDS = 4;

/** One thread's part of a measured cell. */
export type Job =
  /** Go's case `name` over the implementation, as goroutine `goroutine`. */
  | { kind: 'go'; spec: ImplSpec; name: GoCase; goroutine: number; setupInWorker: boolean }
  /** The same case inside the Wasm core (assembly/bench.ts), over a SyncMap or LockedMap. */
  | { kind: 'core'; spec: ImplSpec; name: GoCase; goroutine: number }
  /** The inflection mix: uniform keys among the first `keys`, a share `writes` of them stores. */
  | { kind: 'mix'; spec: ImplSpec; keys: number; writes: number; goroutine: number };

export interface JobMessage {
  type: 'job';
  job: Job;
  control: SharedArrayBuffer;
}

/** Gives a worker its end of a channel to the owner thread (the postMessage implementation). */
export interface OwnerPortMessage {
  type: 'owner-port';
  port: MessagePort;
  replies: SharedArrayBuffer;
}

export interface CloseMessage {
  type: 'close';
}

export type ToWorker = JobMessage | OwnerPortMessage | CloseMessage;

export type JobResult =
  | { ok: true; ops: number; seconds: number }
  | { ok: false; error: string };
