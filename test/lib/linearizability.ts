/**
 * A linearizability checker for histories of completed operations, after
 * Wing & Gong (1993) with Lowe's just-in-time linearization (2017) and the
 * memoization of (linearized set, model state) that Porcupine and Knossos use.
 *
 * A history is a list of operations, each with the key it touched, its input,
 * the output it returned and the interval [call, ret] in which it ran (any
 * totally ordered clock). Operation a precedes b in real time when
 * a.ret < b.call; equal times count as overlapping. The history is linearizable
 * when some total order of its operations respects that precedence and, replayed
 * through the sequential model from its initial state, gives every operation
 * the output it returned.
 *
 * Linearizability is local (Herlihy & Wing), so the history is split by key and
 * each key's sub-history is checked alone (P-compositionality): the search for
 * one key of a few thousand operations, from a handful of concurrent clients,
 * takes milliseconds.
 *
 * When a key fails, a second, independent algorithm (a breadth-first sweep over
 * the events that keeps every "world" the key could be in) finds the FIRST
 * return after which no linearization exists, and the failure names that
 * operation, the worlds the key could be in just before it, and the few
 * operations that explain the rest: a short, readable counterexample in place
 * of thousands of lines. The two algorithms must agree, or the checker throws.
 */

/** What a model's step returns for an operation whose output the state cannot give. */
export const ILLEGAL: unique symbol = Symbol('illegal');

export interface Model<S, I, O> {
  /** The state of a key before any operation. */
  readonly init: S;
  /** The state after `input` if, from `state`, it returns `output`; otherwise ILLEGAL. Must not mutate `state`. */
  step(state: S, input: I, output: O): S | typeof ILLEGAL;
  /** A key that identifies the state: equal states, and only those, have equal keys. */
  key(state: S): string | number;
  describeState?(state: S): string;
  describeOperation?(input: I, output: O): string;
}

export interface Operation<I, O> {
  /** The partition key: operations on different keys are checked independently. */
  readonly key: unknown;
  readonly input: I;
  readonly output: O;
  /** Invocation time. */
  readonly call: number;
  /** Response time, >= call. */
  readonly ret: number;
  /** Who ran it (a thread): only for messages, and to check that each client's operations do not overlap. */
  readonly client?: number | string;
}

export interface CheckOptions {
  /** Give up on a key (verdict 'unknown') after this many search steps. Default 20 million. */
  readonly maxSteps?: number;
  /** Completed operations shown before the failing one. Default 4. */
  readonly context?: number;
  /** Worlds shown in a failure message. Default 12. */
  readonly maxWorlds?: number;
  /** Worlds the sweep that explains a failure keeps at most before it gives up naming the first failing return. Default 200,000. */
  readonly sweepLimit?: number;
}

/** One state the key could be in, and which of the pending operations had taken effect to get there. */
export interface World<S> {
  readonly state: S;
  readonly applied: readonly number[];
}

export interface Failure<S, I, O> {
  readonly key: unknown;
  /** The key's operations, as indices into the history given to check(). */
  readonly keyOperations: number;
  /** The first operation whose return no linearization of the key's history reaches. */
  readonly stuck: number;
  /** How many of the key's operations had returned, with a linearization, before it. */
  readonly explainedReturns: number;
  /** The operations running when it returned (it among them). */
  readonly pending: readonly number[];
  /** The latest operations that completed before it returned and are not pending. */
  readonly before: readonly number[];
  /** Every world the key could be in just before the stuck return (pending operations either applied or not). */
  readonly worlds: readonly World<S>[];
  /** The readable account of all of the above. */
  readonly message: string;
  readonly operations: readonly Operation<I, O>[];
}

export type CheckResult<S, I, O> =
  | { readonly ok: true; readonly verdict: 'linearizable'; readonly keys: number; readonly operations: number; readonly steps: number }
  | {
      readonly ok: false;
      readonly verdict: 'not linearizable';
      readonly keys: number;
      readonly operations: number;
      readonly steps: number;
      readonly failure: Failure<S, I, O>;
      readonly message: string;
    }
  | {
      readonly ok: false;
      readonly verdict: 'unknown';
      readonly keys: number;
      readonly operations: number;
      readonly steps: number;
      readonly key: unknown;
      readonly message: string;
    };

const DEFAULT_MAX_STEPS = 20_000_000;

/**
 * Checks a whole history, key by key (in order of first appearance). Stops at
 * the first key that is not linearizable and explains it.
 */
export function check<S, I, O>(
  model: Model<S, I, O>,
  history: readonly Operation<I, O>[],
  options: CheckOptions = {},
): CheckResult<S, I, O> {
  validate(history);
  const byKey = partition(history);
  let steps = 0;
  let unknown: { key: unknown; message: string } | undefined;
  for (const [key, indices] of byKey) {
    const ops = indices.map((i) => history[i]!);
    const r = checkKey(model, ops, options.maxSteps ?? DEFAULT_MAX_STEPS);
    steps += r.steps;
    if (r.verdict === 'unknown') {
      // Go on: another key may still fail for certain.
      unknown ??= {
        key,
        message:
          `key ${show(key)}: gave up after ${r.steps} search steps on ${ops.length} operations ` +
          `(raise maxSteps, or shorten the history): linearizability unknown`,
      };
      continue;
    }
    if (r.verdict === 'not linearizable') {
      const failure = explain(model, history, key, indices, options, true);
      if (failure === undefined) {
        throw new Error(`linearizability checker: the search rejects key ${show(key)} but the sweep accepts it (a checker bug)`);
      }
      return {
        ok: false,
        verdict: 'not linearizable',
        keys: byKey.size,
        operations: history.length,
        steps,
        failure,
        message: failure.message,
      };
    }
  }
  if (unknown) return { ok: false, verdict: 'unknown', keys: byKey.size, operations: history.length, steps, ...unknown };
  return { ok: true, verdict: 'linearizable', keys: byKey.size, operations: history.length, steps };
}

/** The indices of the history's operations, by key, keys in order of first appearance. */
function partition(history: readonly Operation<unknown, unknown>[]): Map<unknown, number[]> {
  const byKey = new Map<unknown, number[]>();
  history.forEach((op, i) => {
    const list = byKey.get(op.key);
    if (list) list.push(i);
    else byKey.set(op.key, [i]);
  });
  return byKey;
}

/** Throws on a malformed history: a response before its call, or one client running two operations at once. */
function validate(history: readonly Operation<unknown, unknown>[]): void {
  const byClient = new Map<unknown, number[]>();
  history.forEach((op, i) => {
    if (!(op.call <= op.ret)) throw new Error(`history[${i}]: returns (${op.ret}) before it is called (${op.call})`);
    if (op.client === undefined) return;
    const list = byClient.get(op.client);
    if (list) list.push(i);
    else byClient.set(op.client, [i]);
  });
  for (const [client, indices] of byClient) {
    indices.sort((a, b) => history[a]!.call - history[b]!.call);
    for (let j = 1; j < indices.length; j++) {
      const a = history[indices[j - 1]!]!;
      const b = history[indices[j]!]!;
      if (!(a.ret < b.call)) {
        throw new Error(`history: client ${show(client)} runs history[${indices[j - 1]}] and history[${indices[j]}] at once`);
      }
    }
  }
}

/**
 * The events of a sub-history in time order: event e < 2n; op = e >> 1,
 * a call when e is even. At equal times calls come first (equal times overlap).
 */
function events(ops: readonly Operation<unknown, unknown>[]): Int32Array {
  const n = ops.length;
  const ev = new Int32Array(2 * n);
  for (let i = 0; i < 2 * n; i++) ev[i] = i;
  const time = (e: number): number => (e & 1 ? ops[e >> 1]!.ret : ops[e >> 1]!.call);
  ev.sort((a, b) => time(a) - time(b) || (a & 1) - (b & 1) || a - b);
  return ev;
}

/**
 * Wing & Gong's search with Lowe's just-in-time linearization: walk a linked
 * list of the pending events; try to linearize each call met before the first
 * return; a return met means its operation could not be placed, so backtrack.
 * Each (set of linearized operations, state) is explored once.
 */
export function checkKey<S, I, O>(
  model: Model<S, I, O>,
  ops: readonly Operation<I, O>[],
  maxSteps = DEFAULT_MAX_STEPS,
): { verdict: 'linearizable' | 'not linearizable' | 'unknown'; steps: number } {
  const n = ops.length;
  if (n === 0) return { verdict: 'linearizable', steps: 0 };
  // A doubly linked list over the events, node 0 the head, event e at node e + 1; -1 ends it.
  const NIL = -1;
  const ev = events(ops);
  const next = new Int32Array(2 * n + 1);
  const prev = new Int32Array(2 * n + 1);
  let last = 0;
  for (let i = 0; i < ev.length; i++) {
    const node = ev[i]! + 1;
    next[last] = node;
    prev[node] = last;
    last = node;
  }
  next[last] = NIL;

  // The linearized set as a bitset, with a Zobrist hash kept alongside.
  const words = (n + 31) >>> 5;
  const bits = new Uint32Array(words);
  const zobrist = new Int32Array(n);
  let seed = 0x9e3779b9 | 0;
  for (let i = 0; i < n; i++) {
    seed ^= seed << 13;
    seed ^= seed >>> 17;
    seed ^= seed << 5;
    zobrist[i] = seed;
  }
  let hash = 0;
  interface Seen {
    bits: Uint32Array;
    state: string | number;
  }
  const cache = new Map<number, Seen[]>();
  const seen = (h: number, stateKey: string | number): boolean => {
    const list = cache.get(h);
    if (!list) {
      cache.set(h, [{ bits: bits.slice(), state: stateKey }]);
      return false;
    }
    outer: for (const s of list) {
      if (s.state !== stateKey) continue;
      for (let w = 0; w < words; w++) if (s.bits[w] !== bits[w]) continue outer;
      return true;
    }
    list.push({ bits: bits.slice(), state: stateKey });
    return false;
  };

  const stackOp = new Int32Array(n);
  const stackState: S[] = [];
  let depth = 0;
  let state = model.init;
  let steps = 0;
  let node = next[0]!;
  while (next[0] !== NIL) {
    if (++steps > maxSteps) return { verdict: 'unknown', steps };
    const e = node - 1;
    const op = e >> 1;
    if ((e & 1) === 0) {
      const o = ops[op]!;
      const after = model.step(state, o.input, o.output);
      if (after !== ILLEGAL) {
        bits[op >>> 5]! |= 1 << (op & 31);
        const h = hash ^ zobrist[op]!;
        const afterKey = model.key(after);
        if (!seen(Math.imul(h ^ hashKey(afterKey), 0x85ebca6b) | 0, afterKey)) {
          stackOp[depth] = op;
          stackState[depth++] = state;
          state = after;
          hash = h;
          // Lift the call and its return out of the list.
          const call = node;
          const ret = 2 * op + 2;
          next[prev[call]!] = next[call]!;
          prev[next[call]!] = prev[call]!;
          next[prev[ret]!] = next[ret]!;
          if (next[ret] !== NIL) prev[next[ret]!] = prev[ret]!;
          node = next[0]!;
          continue;
        }
        bits[op >>> 5]! &= ~(1 << (op & 31));
      }
      node = next[node]!;
    } else {
      // A return reached before its operation was linearized: undo the last choice.
      if (depth === 0) return { verdict: 'not linearizable', steps };
      const back = stackOp[--depth]!;
      state = stackState[depth]!;
      bits[back >>> 5]! &= ~(1 << (back & 31));
      hash ^= zobrist[back]!;
      const call = 2 * back + 1;
      const ret = 2 * back + 2;
      next[prev[ret]!] = ret;
      if (next[ret] !== NIL) prev[next[ret]!] = ret;
      next[prev[call]!] = call;
      prev[next[call]!] = call;
      node = next[call]!;
    }
  }
  return { verdict: 'linearizable', steps };
}

function hashKey(k: string | number): number {
  if (typeof k === 'number') return Math.imul(k | 0, 0x27d4eb2d) ^ ((k * 1e-9) | 0);
  let h = 0x811c9dc5 | 0;
  for (let i = 0; i < k.length; i++) h = Math.imul(h ^ k.charCodeAt(i), 0x01000193);
  return h;
}

/**
 * The sweep: events in time order, keeping every world (state, and which of the
 * pending operations have taken effect). At a return, worlds extend by the
 * pending operations in every order the model accepts, and only those where the
 * returning operation took effect survive. No survivor: that return is the
 * first one the history cannot explain. Exact, but exponential in the number of
 * operations pending at once, so it runs only on a key the search rejected.
 */
function explain<S, I, O>(
  model: Model<S, I, O>,
  history: readonly Operation<I, O>[],
  key: unknown,
  indices: readonly number[],
  options: CheckOptions,
  known: boolean,
): Failure<S, I, O> | undefined {
  const ops = indices.map((i) => history[i]!);
  const ev = events(ops);
  const pending: number[] = []; // local op indices
  interface W {
    state: S;
    applied: number[]; // sorted local op indices, all pending
  }
  const id = (w: W): string => `${model.key(w.state)}|${w.applied.join(',')}`;
  let worlds = new Map<string, W>([[id({ state: model.init, applied: [] }), { state: model.init, applied: [] }]]);
  let returns = 0;
  const completed: number[] = []; // local ops in order of return
  for (const e of ev) {
    const op = e >> 1;
    if ((e & 1) === 0) {
      pending.push(op);
      continue;
    }
    // Extend by the pending operations, breadth first.
    const all = new Map(worlds);
    let frontier = [...worlds.values()];
    while (frontier.length > 0) {
      const grown: W[] = [];
      for (const w of frontier) {
        for (const p of pending) {
          if (w.applied.includes(p)) continue;
          const o = ops[p]!;
          const after = model.step(w.state, o.input, o.output);
          if (after === ILLEGAL) continue;
          const x = { state: after, applied: [...w.applied, p].sort((a, b) => a - b) };
          const k = id(x);
          if (!all.has(k)) {
            all.set(k, x);
            grown.push(x);
          }
          if (all.size > (options.sweepLimit ?? MAX_WORLDS)) {
            // Only reached once the search has rejected the key: say so without the account.
            if (known) return tooWide(model, history, key, indices, indices[op]!, returns);
            throw new Error(`linearizability sweep: over ${options.sweepLimit ?? MAX_WORLDS} worlds on key ${show(key)}`);
          }
        }
      }
      frontier = grown;
    }
    const survivors = new Map<string, W>();
    for (const w of all.values()) {
      if (!w.applied.includes(op)) continue;
      const x = { state: w.state, applied: w.applied.filter((p) => p !== op) };
      survivors.set(id(x), x);
    }
    if (survivors.size === 0) {
      const context = options.context ?? 4;
      const stillPending = pending.slice().sort((a, b) => ops[a]!.call - ops[b]!.call || a - b);
      const before = completed.slice(-context);
      const toHistory = (local: number): number => indices[local]!;
      const shown = [...worlds.values()].map((w) => ({ state: w.state, applied: w.applied.map(toHistory) }));
      const failure = {
        key,
        keyOperations: ops.length,
        stuck: toHistory(op),
        explainedReturns: returns,
        pending: stillPending.map(toHistory),
        before: before.map(toHistory),
        worlds: shown,
        operations: history,
        message: '',
      };
      failure.message = describeFailure(model, history, failure, options.maxWorlds ?? 12);
      return failure;
    }
    worlds = survivors;
    pending.splice(pending.indexOf(op), 1);
    completed.push(op);
    returns++;
  }
  return undefined;
}

/**
 * The sweep alone, over a whole history: undefined when every key is
 * linearizable, else the first failing key's failure. Exponential in the
 * number of operations running at once (it throws past options.sweepLimit worlds); for
 * cross-checking the search in tests.
 */
export function sweep<S, I, O>(
  model: Model<S, I, O>,
  history: readonly Operation<I, O>[],
  options: CheckOptions = {},
): Failure<S, I, O> | undefined {
  validate(history);
  const byKey = partition(history);
  for (const [key, indices] of byKey) {
    const failure = explain(model, history, key, indices, options, false);
    if (failure) return failure;
  }
  return undefined;
}

/** Worlds the sweep keeps at most by default (each operation running at once may double them). */
const MAX_WORLDS = 200_000;

function tooWide<S, I, O>(
  model: Model<S, I, O>,
  history: readonly Operation<I, O>[],
  key: unknown,
  indices: readonly number[],
  at: number,
  returns: number,
): Failure<S, I, O> {
  const m = model as unknown as Model<unknown, I, O>;
  return {
    key,
    keyOperations: indices.length,
    stuck: at,
    explainedReturns: returns,
    pending: [],
    before: [],
    worlds: [],
    operations: history,
    message:
      `key ${show(key)} is not linearizable (${indices.length} operations on it), but too many of them run at once ` +
      `for the sweep to name the first return that nothing explains: it stopped at ${returns} returns, at\n` +
      `    ${describeOperation(m, history, at)}`,
  };
}

function show(key: unknown): string {
  return typeof key === 'string' ? JSON.stringify(key) : String(key);
}

/** One line per operation: its index in the history, client, interval, call and result. */
export function describeOperation<I, O>(model: Model<unknown, I, O>, history: readonly Operation<I, O>[], i: number): string {
  const o = history[i]!;
  const what = model.describeOperation ? model.describeOperation(o.input, o.output) : `${JSON.stringify(o.input)} → ${JSON.stringify(o.output)}`;
  const who = o.client === undefined ? '' : ` client ${String(o.client)}`;
  return `#${i}${who} [${o.call} … ${o.ret}] ${what}`;
}

function describeFailure<S, I, O>(
  model: Model<S, I, O>,
  history: readonly Operation<I, O>[],
  f: Omit<Failure<S, I, O>, 'message'>,
  maxWorlds: number,
): string {
  const m = model as unknown as Model<unknown, I, O>;
  const line = (i: number): string => `    ${describeOperation(m, history, i)}`;
  const state = (s: S): string => (model.describeState ? model.describeState(s) : JSON.stringify(s));
  const others = f.pending.filter((i) => i !== f.stuck);
  const out = [
    `key ${show(f.key)} is not linearizable (${f.keyOperations} operations on it; ` +
      `${f.explainedReturns} of them returned consistently before this one). No order explains:`,
    line(f.stuck),
    `Just before it returned, the key could only be in these states (with these running operations already applied):`,
    ...f.worlds.slice(0, maxWorlds).map((w) => `    ${state(w.state)}${w.applied.length ? `   after #${w.applied.join(', #')}` : ''}`),
  ];
  if (f.worlds.length > maxWorlds) out.push(`    … and ${f.worlds.length - maxWorlds} more`);
  out.push(
    others.length
      ? `Running at the same time (each may take effect before it, or not, but never in an order that gives its result):`
      : `Nothing else on this key was running at the same time.`,
    ...others.map(line),
  );
  if (f.before.length) out.push(`The last operations on this key that completed before that:`, ...f.before.map(line));
  return out.join('\n');
}
