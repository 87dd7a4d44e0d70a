/**
 * The main thread's side of the multi-thread harness: a pool of runner
 * threads (worker.ts) that start together on a barrier, run for a fixed time,
 * and count iterations.
 *
 * A cell (one case, one implementation, T threads) goes: each of T runners
 * gets its job and reports ready; the main thread lets them warm up, sets
 * `go`, sleeps the window, sets `stop`, and sums the per-thread rates
 * (ops_t / seconds_t, each thread timing its own window). A runner that fails
 * reports the error; one that hangs (a deadlock in an implementation) is
 * terminated with the whole pool, and the cell says so.
 */
import { MessageChannel, Worker } from 'node:worker_threads';
import { setTimeout as sleep } from 'node:timers/promises';
import { CONTROL_WORDS, kGo, kReady, kSetupDone, kStop, type Job, type JobResult, type ToWorker } from './protocol.js';
import type { WorkerRole } from './worker.js';

const WORKER = new URL('./worker.js', import.meta.url);

/** How long a cell may overrun its window before its threads count as hung. */
const HANG_MS = 20_000;

const CRASHED = 'worker crashed';

export interface CellTiming {
  warmupMs: number;
  measureMs: number;
}

export type CellResult =
  | { ok: true; opsPerSec: number; perThread: number[] }
  | { ok: false; error: string };

export class Pool {
  #workers: Worker[] = [];
  #owner: Worker | undefined;

  private constructor(readonly size: number) {}

  /** `size` runners; with `owner`, also the owner thread, every runner connected to it. */
  static async start(size: number, owner = false): Promise<Pool> {
    const pool = new Pool(size);
    pool.#workers = Array.from({ length: size }, () => new Worker(WORKER, { workerData: { role: 'runner' } satisfies WorkerRole }));
    // Each runner says hello once its modules are loaded: a cell must not race
    // with thread start-up (module loading, lmdb's native addon).
    await Promise.all(pool.#workers.map((w) => once(w)));
    if (owner) await pool.#connectOwner();
    return pool;
  }

  /** A channel to the owner thread for the main thread itself (for setups); the runners get theirs at start. */
  ownerChannel(): { port: import('node:worker_threads').MessagePort; replies: Int32Array } {
    const { port1, port2 } = new MessageChannel();
    const replies = new Int32Array(new SharedArrayBuffer(4));
    this.#owner!.postMessage({ type: 'client', port: port1, replies: replies.buffer }, [port1]);
    return { port: port2, replies };
  }

  async #connectOwner(): Promise<void> {
    this.#owner = new Worker(WORKER, { workerData: { role: 'owner' } satisfies WorkerRole });
    await Promise.all(
      this.#workers.map((worker) => {
        const { port1, port2 } = new MessageChannel();
        const replies = new SharedArrayBuffer(4);
        this.#owner!.postMessage({ type: 'client', port: port1, replies }, [port1]);
        const answered = once(worker);
        worker.postMessage({ type: 'owner-port', port: port2, replies } satisfies ToWorker, [port2]);
        return answered;
      }),
    );
  }

  /**
   * Runs one cell: jobs[t] on runner (t + offset) mod size. Rotating the
   * offset between repeats spreads a cell over runners (and so over CPUs).
   * A job whose setup runs in its worker (goroutine 0) keeps that runner's map.
   */
  async cell(jobs: Job[], timing: CellTiming, setupInWorker = false, offset = 0): Promise<CellResult> {
    if (jobs.length > this.size) throw new RangeError(`${jobs.length} jobs for ${this.size} threads`);
    const control = new Int32Array(new SharedArrayBuffer(CONTROL_WORDS * 4));
    if (!setupInWorker) control[kSetupDone] = 1;
    const answers = jobs.map((job, t) => {
      const worker = this.#workers[(t + offset) % this.size]!;
      const answer = once(worker);
      worker.postMessage({ type: 'job', job, control: control.buffer } satisfies ToWorker);
      return answer;
    });
    const deadline = Date.now() + HANG_MS;
    while (Atomics.load(control, kReady) < jobs.length) {
      if (Date.now() > deadline) return this.#hung(control, 'never became ready');
      await sleep(1);
    }
    await sleep(timing.warmupMs);
    Atomics.store(control, kGo, 1);
    await sleep(timing.measureMs);
    Atomics.store(control, kStop, 1);
    const results = await Promise.race([
      Promise.all(answers),
      sleep(HANG_MS).then(() => undefined),
    ]);
    if (!results) return this.#hung(control, `did not stop within ${HANG_MS / 1000} s`);
    const failed = results.find((r) => !r.ok);
    if (failed && !failed.ok) {
      if (failed.error.startsWith(CRASHED)) await this.terminate(); // a dead runner would hang the next cell
      return { ok: false, error: failed.error };
    }
    const perThread = results.map((r) => (r.ok && r.seconds > 0 ? r.ops / r.seconds : 0));
    return { ok: true, opsPerSec: perThread.reduce((a, b) => a + b, 0), perThread };
  }

  /** Terminates every thread of a hung cell; the pool is unusable afterwards. */
  async #hung(control: Int32Array, what: string): Promise<CellResult> {
    Atomics.store(control, kStop, 1);
    await this.terminate();
    return { ok: false, error: `hung: a thread ${what} (deadlock?); threads terminated` };
  }

  get alive(): boolean {
    return this.#workers.length > 0;
  }

  /** Lets the runners close what they opened, then ends every thread. */
  async close(): Promise<void> {
    const exited = this.#workers.map((w) => new Promise((resolve) => w.once('exit', resolve)));
    for (const worker of this.#workers) worker.postMessage({ type: 'close' } satisfies ToWorker);
    await Promise.race([Promise.all(exited), sleep(2000)]);
    await this.terminate();
  }

  async terminate(): Promise<void> {
    const all = [...this.#workers, ...(this.#owner ? [this.#owner] : [])];
    this.#workers = [];
    this.#owner = undefined;
    await Promise.all(all.map((w) => w.terminate()));
  }
}

function once(worker: Worker): Promise<JobResult> {
  return new Promise((resolve) => {
    const onMessage = (result: JobResult): void => {
      worker.off('error', onError);
      resolve(result);
    };
    const onError = (error: Error): void => {
      worker.off('message', onMessage);
      resolve({ ok: false, error: `${CRASHED}: ${error.message}` });
    };
    worker.once('message', onMessage).once('error', onError);
  });
}
