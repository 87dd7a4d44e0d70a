/**
 * The linearizability checker (test/lib/linearizability.ts) and the model of one
 * key of sync.Map (test/lib/sync-map-model.ts), on hand-made histories, against
 * a brute-force checker, on simulated concurrent maps (correct ones, and broken
 * ones it must catch), and on the real SyncMap driven from one thread.
 * test/linearizability.workers.test.ts runs it over real worker threads.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { check, checkKey, ILLEGAL, sweep, type Operation } from './lib/linearizability.js';
import {
  ABSENT,
  apply,
  callOp,
  formatOp,
  OP_NAMES,
  syncMapModel,
  type KeyState,
  type SyncMapLike,
  type SyncMapOp,
  type Value,
} from './lib/sync-map-model.js';
import { LockedMap, SyncMap } from './helpers.js';

type Op = Operation<SyncMapOp, unknown>;

/** An operation on `key`, running from `call` to `ret`. */
function op(key: string, call: number, ret: number, input: SyncMapOp, output: unknown, client?: number): Op {
  return client === undefined ? { key, call, ret, input, output } : { key, call, ret, input, output, client };
}
const load = { name: 'load' } as const;
const store = (value: Value) => ({ name: 'store', value }) as const;
const loadOrStore = (value: Value) => ({ name: 'loadOrStore', value }) as const;
const loadAndDelete = { name: 'loadAndDelete' } as const;
const del = { name: 'delete' } as const;
const swap = (value: Value) => ({ name: 'swap', value }) as const;
const cas = (old: Value, value: Value) => ({ name: 'compareAndSwap', old, value }) as const;
const cad = (old: Value) => ({ name: 'compareAndDelete', old }) as const;

const verdict = (history: Op[]) => check(syncMapModel, history).verdict;

describe('the model of one key of sync.Map', () => {
  it.each<[string, KeyState, SyncMapOp, KeyState, unknown]>([
    ['Load of an absent key', ABSENT, load, ABSENT, undefined],
    ['Load', 1, load, 1, 1],
    ['Store into an absent key', ABSENT, store(2), 2, undefined],
    ['Store over a value', 1, store(2), 2, undefined],
    ['LoadOrStore stores into an absent key', ABSENT, loadOrStore(3), 3, { value: 3, loaded: false }],
    ['LoadOrStore loads a present value', 1, loadOrStore(3), 1, { value: 1, loaded: true }],
    ['LoadAndDelete of an absent key', ABSENT, loadAndDelete, ABSENT, { value: undefined, loaded: false }],
    ['LoadAndDelete', 1, loadAndDelete, ABSENT, { value: 1, loaded: true }],
    ['Delete of an absent key', ABSENT, del, ABSENT, false],
    ['Delete', 1, del, ABSENT, true],
    ['Swap into an absent key', ABSENT, swap(2), 2, { previous: undefined, loaded: false }],
    ['Swap', 1, swap(2), 2, { previous: 1, loaded: true }],
    ['CompareAndSwap on an absent key stores nothing', ABSENT, cas(1, 2), ABSENT, false],
    ['CompareAndSwap of the old value', 1, cas(1, 2), 2, true],
    ['CompareAndSwap of another value', 3, cas(1, 2), 3, false],
    ['CompareAndDelete on an absent key', ABSENT, cad(1), ABSENT, false],
    ['CompareAndDelete of the old value', 1, cad(1), ABSENT, true],
    ['CompareAndDelete of another value', 3, cad(1), 3, false],
    ['CompareAndSwap compares numbers as Object.is: -0 is not 0', 0, cas(-0, 5), 0, false],
    ['CompareAndSwap compares numbers as Object.is: NaN is NaN', NaN, cas(NaN, 5), 5, true],
    ['CompareAndSwap compares strings', 'a', cas('a', 'b'), 'b', true],
  ])('%s', (_, before, input, after, result) => {
    const r = apply(before, input);
    expect(r.state).toBe(after);
    expect(r.result).toEqual(result);
    expect(syncMapModel.step(before, input, result)).toBe(after);
  });

  it('rejects a result of the wrong value, flag or shape', () => {
    expect(syncMapModel.step(1, load, 2)).toBe(ILLEGAL);
    expect(syncMapModel.step(1, load, undefined)).toBe(ILLEGAL);
    expect(syncMapModel.step(ABSENT, load, null)).toBe(ILLEGAL);
    expect(syncMapModel.step(1, loadOrStore(2), { value: 1, loaded: false })).toBe(ILLEGAL);
    expect(syncMapModel.step(1, loadOrStore(2), 1)).toBe(ILLEGAL);
    expect(syncMapModel.step(1, swap(2), { previous: 1, loaded: false })).toBe(ILLEGAL);
    expect(syncMapModel.step(1, swap(2), { value: 1, loaded: true })).toBe(ILLEGAL);
    expect(syncMapModel.step(1, del, 1)).toBe(ILLEGAL);
    expect(syncMapModel.step(1, store(2), true)).toBe(ILLEGAL);
    expect(syncMapModel.step(0, load, -0)).toBe(ILLEGAL);
    expect(syncMapModel.step('1', load, 1)).toBe(ILLEGAL);
  });

  it('names states and formats operations for failure messages', () => {
    const states: KeyState[] = [ABSENT, 0, -0, '0', 'n0', NaN, '-'];
    expect(new Set(states.map((s) => syncMapModel.key(s))).size).toBe(7);
    expect(formatOp(cas(1, 2), true)).toBe('compareAndSwap(1, 2) → true');
    expect(formatOp(swap('x'), { previous: undefined, loaded: false })).toBe(
      'swap("x") → { previous: undefined, loaded: false }',
    );
    expect(formatOp(load)).toBe('load()');
  });
});

describe('sequential histories', () => {
  it('an empty history, and one where every result follows from the one before, are linearizable', () => {
    expect(verdict([])).toBe('linearizable');
    const history = [
      op('k', 0, 1, load, undefined),
      op('k', 2, 3, loadOrStore(1), { value: 1, loaded: false }),
      op('k', 4, 5, loadOrStore(2), { value: 1, loaded: true }),
      op('k', 6, 7, cas(2, 3), false),
      op('k', 8, 9, cas(1, 3), true),
      op('k', 10, 11, swap(4), { previous: 3, loaded: true }),
      op('k', 12, 13, cad(3), false),
      op('k', 14, 15, loadAndDelete, { value: 4, loaded: true }),
      op('k', 16, 17, del, false),
      op('k', 18, 19, cas(4, 5), false),
      op('k', 20, 21, swap(6), { previous: undefined, loaded: false }),
      op('k', 22, 23, cad(6), true),
      op('k', 24, 25, store(7), undefined),
      op('k', 26, 27, del, true),
      op('k', 28, 29, load, undefined),
    ];
    expect(check(syncMapModel, history)).toMatchObject({ ok: true, keys: 1, operations: history.length });
  });

  it('a wrong result anywhere makes it not linearizable', () => {
    const good = [
      op('k', 0, 1, store(1), undefined),
      op('k', 2, 3, swap(2), { previous: 1, loaded: true }),
      op('k', 4, 5, load, 2),
    ];
    expect(verdict(good)).toBe('linearizable');
    expect(verdict([good[0]!, good[1]!, op('k', 4, 5, load, 1)])).toBe('not linearizable');
    expect(verdict([good[0]!, op('k', 2, 3, swap(2), { previous: undefined, loaded: false }), good[2]!])).toBe(
      'not linearizable',
    );
    expect(verdict([op('k', 0, 1, load, 1)])).toBe('not linearizable');
  });

  it('operations listed out of order are ordered by their times', () => {
    const history = [op('k', 4, 5, load, 2), op('k', 2, 3, store(2), undefined), op('k', 0, 1, store(1), undefined)];
    expect(verdict(history)).toBe('linearizable');
  });
});

describe('concurrent histories that are linearizable', () => {
  it('a load overlapping a store may see the old value or the new one', () => {
    for (const seen of [undefined, 1]) {
      expect(verdict([op('k', 0, 10, store(1), undefined), op('k', 5, 6, load, seen)])).toBe('linearizable');
    }
  });

  it('two overlapping stores, then a load that only one order explains', () => {
    const stores = [op('k', 0, 10, store(1), undefined), op('k', 1, 11, store(2), undefined)];
    expect(verdict([...stores, op('k', 12, 13, load, 1)])).toBe('linearizable'); // store(2), then store(1)
    expect(verdict([...stores, op('k', 12, 13, load, 2)])).toBe('linearizable');
    expect(verdict([...stores, op('k', 12, 13, load, 1), op('k', 14, 15, load, 2)])).toBe('not linearizable');
  });

  it('a chain of compare-and-swaps invoked in the reverse of the only order that explains it', () => {
    const history = [
      op('k', 0, 1, store(0), undefined),
      op('k', 2, 20, cas(2, 3), true, 1),
      op('k', 3, 21, cas(1, 2), true, 2),
      op('k', 4, 22, cas(0, 1), true, 3),
      op('k', 23, 24, load, 3),
    ];
    expect(verdict(history)).toBe('linearizable');
  });

  it('two concurrent loadOrStore: one stores, the other loads what it stored', () => {
    const history = [
      op('k', 0, 10, loadOrStore(1), { value: 2, loaded: true }),
      op('k', 1, 11, loadOrStore(2), { value: 2, loaded: false }),
    ];
    expect(verdict(history)).toBe('linearizable');
  });

  it('concurrent swaps each see the value of the one before them', () => {
    const history = [
      op('k', 0, 10, swap(1), { previous: 3, loaded: true }),
      op('k', 0, 10, swap(2), { previous: undefined, loaded: false }),
      op('k', 0, 10, swap(3), { previous: 2, loaded: true }),
      op('k', 11, 12, loadAndDelete, { value: 1, loaded: true }),
    ];
    expect(verdict(history)).toBe('linearizable');
  });

  it('a delete and a compareAndDelete racing on one value: exactly one removes it', () => {
    const history = [
      op('k', 0, 1, store(5), undefined),
      op('k', 2, 10, del, false),
      op('k', 3, 9, cad(5), true),
    ];
    expect(verdict(history)).toBe('linearizable');
  });

  it('equal times overlap: an operation returning at t and one called at t may go either way', () => {
    expect(verdict([op('k', 0, 5, store(1), undefined), op('k', 5, 6, load, undefined)])).toBe('linearizable');
    expect(verdict([op('k', 0, 4, store(1), undefined), op('k', 5, 6, load, undefined)])).toBe('not linearizable');
  });

  it('keys are checked independently (linearizability is local)', () => {
    // Across keys, the only cross-key order is real time, which each key respects alone.
    const history = [
      op('a', 0, 10, store(1), undefined),
      op('b', 0, 10, store(1), undefined),
      op('a', 1, 2, load, undefined),
      op('b', 1, 2, load, 1),
      op('a', 3, 4, load, 1),
      op('b', 3, 4, load, 1),
    ];
    expect(check(syncMapModel, history)).toMatchObject({ ok: true, keys: 2 });
  });
});

describe('histories that are not linearizable', () => {
  it('a stale read after a completed store', () => {
    const history = [
      op('k', 0, 1, store(1), undefined),
      op('k', 2, 3, store(2), undefined),
      op('k', 4, 5, load, 1),
    ];
    expect(verdict(history)).toBe('not linearizable');
  });

  it('a read of nothing after a completed store, even with another store running', () => {
    const history = [
      op('k', 0, 1, store(1), undefined),
      op('k', 0, 9, store(2), undefined),
      op('k', 2, 3, load, undefined),
    ];
    expect(verdict(history)).toBe('not linearizable');
  });

  it('a lost update: two concurrent swaps both replacing the same value', () => {
    const history = [
      op('k', 0, 1, store(0), undefined),
      op('k', 2, 10, swap(1), { previous: 0, loaded: true }),
      op('k', 3, 11, swap(2), { previous: 0, loaded: true }),
    ];
    expect(verdict(history)).toBe('not linearizable');
  });

  it('a lost update: two increments by compare-and-swap from the same read, the second read misses one', () => {
    const history = [
      op('k', 0, 1, store(0), undefined),
      op('k', 2, 3, load, 0, 1),
      op('k', 2, 3, load, 0, 2),
      op('k', 4, 8, cas(0, 1), true, 1),
      op('k', 4, 8, cas(1, 2), true, 2),
      op('k', 9, 10, load, 1, 1),
    ];
    expect(verdict(history)).toBe('not linearizable');
  });

  it('two concurrent loadOrStore both storing', () => {
    const history = [
      op('k', 0, 10, loadOrStore(1), { value: 1, loaded: false }),
      op('k', 1, 11, loadOrStore(2), { value: 2, loaded: false }),
    ];
    expect(verdict(history)).toBe('not linearizable');
  });

  it('compareAndSwap succeeding twice on one old value', () => {
    const history = [
      op('k', 0, 1, store(0), undefined),
      op('k', 2, 10, cas(0, 1), true),
      op('k', 3, 11, cas(0, 2), true),
    ];
    expect(verdict(history)).toBe('not linearizable');
  });

  it('two deletes of one value both reporting it present, and loadAndDelete twice', () => {
    const base = [op('k', 0, 1, store(7), undefined)];
    expect(verdict([...base, op('k', 2, 10, del, true), op('k', 3, 11, del, true)])).toBe('not linearizable');
    const twice = { value: 7, loaded: true };
    expect(verdict([...base, op('k', 2, 10, loadAndDelete, twice), op('k', 3, 11, loadAndDelete, twice)])).toBe(
      'not linearizable',
    );
  });

  it('compareAndSwap or compareAndDelete succeeding on an absent key', () => {
    expect(verdict([op('k', 0, 1, cas(0, 1), true)])).toBe('not linearizable');
    expect(verdict([op('k', 0, 1, del, true)])).toBe('not linearizable');
    expect(verdict([op('k', 0, 1, cad(0), true)])).toBe('not linearizable');
  });

  it('a value that was never written', () => {
    const history = [op('k', 0, 10, store(1), undefined), op('k', 1, 2, load, 3)];
    expect(verdict(history)).toBe('not linearizable');
  });

  it('only the failing key is reported, with the first return nothing explains and the states before it', () => {
    const history = [
      op('a', 0, 1, store(1), undefined, 0), // #0
      op('b', 2, 3, store(1), undefined, 0), // #1
      op('b', 4, 20, swap(2), { previous: 1, loaded: true }, 0), // #2, running
      op('b', 5, 6, load, 1, 1), // #3: consistent (before the swap)
      op('b', 7, 8, store(3), undefined, 1), // #4
      op('b', 9, 10, load, 1, 1), // #5: stale, nothing explains it
      op('b', 11, 12, load, 2, 1), // #6
      op('a', 13, 14, load, 1, 1), // #7
    ];
    const r = check(syncMapModel, history);
    if (r.verdict !== 'not linearizable') throw new Error(`expected a failure, got ${r.verdict}`);
    const f = r.failure;
    expect(f.key).toBe('b');
    expect(f.stuck).toBe(5);
    expect(f.explainedReturns).toBe(3); // #1, #3, #4
    expect(f.pending).toEqual([2, 5]);
    expect(f.before).toEqual([1, 3, 4]);
    // store(3) has completed; the swap, reporting 1, either ran before it or has not run yet.
    expect(f.worlds.map((w) => [w.state, w.applied])).toEqual([
      [3, []],
      [3, [2]],
    ]);
    expect(r.message).toContain('key "b" is not linearizable');
    expect(r.message).toContain('#5 client 1 [9 … 10] load() → 1');
    expect(r.message).toContain('#2 client 0 [4 … 20] swap(2) → { previous: 1, loaded: true }');
  });

  it('refuses a malformed history', () => {
    expect(() => check(syncMapModel, [op('k', 5, 4, load, undefined)])).toThrow(/returns \(4\) before it is called/);
    expect(() => check(syncMapModel, [op('k', 0, 5, load, undefined, 1), op('j', 3, 8, load, undefined, 1)])).toThrow(
      /client 1 runs history\[0\] and history\[1\] at once/,
    );
  });

  it('reports a key that fails even when another key was given up on', () => {
    const history: Op[] = [];
    for (let i = 0; i < 16; i++) history.push(op('a', 0, 100, store(i), undefined));
    history.push(op('a', 101, 102, load, 99));
    history.push(op('b', 0, 1, load, 5));
    const r = check(syncMapModel, history, { maxSteps: 1000 });
    expect(r.verdict).toBe('not linearizable');
    expect(r.ok ? undefined : r.message).toMatch(/^key "b" is not linearizable/);
  });

  it('when too many operations run at once to sweep, still fails, saying it cannot name the first failing return', () => {
    const history: Op[] = [];
    for (let i = 0; i < 6; i++) history.push(op('k', 0, 100, store(i), undefined));
    history.push(op('k', 101, 102, load, 99));
    const r = check(syncMapModel, history, { sweepLimit: 10 });
    expect(r.verdict).toBe('not linearizable');
    expect(r.ok ? undefined : r.message).toMatch(/too many of them run at once/);
    expect(() => sweep(syncMapModel, history, { sweepLimit: 10 })).toThrow(/over 10 worlds/);
  });

  it('gives up with "unknown" rather than searching forever', () => {
    // 16 concurrent stores of distinct values, each then read in an order no permutation gives.
    const history: Op[] = [];
    for (let i = 0; i < 16; i++) history.push(op('k', 0, 100, store(i), undefined));
    history.push(op('k', 101, 102, load, 99));
    expect(check(syncMapModel, history, { maxSteps: 1000 })).toMatchObject({ ok: false, verdict: 'unknown' });
  });
});

// ---------------------------------------------------------------------------
// Against brute force: every order that respects real time, on small histories.

function bruteForce(history: readonly Op[]): boolean {
  const n = history.length;
  const used = new Array<boolean>(n).fill(false);
  const state = new Map<unknown, KeyState>();
  const go = (placed: number): boolean => {
    if (placed === n) return true;
    for (let i = 0; i < n; i++) {
      if (used[i]) continue;
      const o = history[i]!;
      // o may go next only if no unplaced operation returned before o was called.
      if (history.some((p, j) => !used[j] && j !== i && p.ret < o.call)) continue;
      const before = state.get(o.key) ?? ABSENT;
      const after = syncMapModel.step(before, o.input, o.output);
      if (after === ILLEGAL) continue;
      used[i] = true;
      state.set(o.key, after);
      const ok = go(placed + 1);
      used[i] = false;
      state.set(o.key, before);
      if (ok) return true;
    }
    return false;
  };
  return go(0);
}

const valueArb = fc.constantFrom<Value>(0, 1, 2);
const inputArb: fc.Arbitrary<SyncMapOp> = fc.oneof(
  fc.constant(load),
  valueArb.map(store),
  valueArb.map(loadOrStore),
  fc.constant(loadAndDelete),
  fc.constant(del),
  valueArb.map(swap),
  fc.tuple(valueArb, valueArb).map(([a, b]) => cas(a, b)),
  valueArb.map(cad),
);
const outputArb = fc.oneof(
  fc.constantFrom<unknown>(undefined, true, false, 0, 1, 2),
  fc.record({ value: fc.constantFrom(undefined, 0, 1, 2), loaded: fc.boolean() }),
  fc.record({ previous: fc.constantFrom(undefined, 0, 1, 2), loaded: fc.boolean() }),
);

/**
 * Small histories: random operations and intervals, with outputs from a real
 * linearization (each takes effect at a random point of its interval), then
 * maybe one output replaced by an arbitrary one.
 */
const historyArb = (maxOps: number, keys: string[]) =>
  fc
    .record({
      ops: fc.array(
        fc.record({
          key: fc.constantFrom(...keys),
          input: inputArb,
          call: fc.integer({ min: 0, max: 3 * maxOps }),
          length: fc.integer({ min: 0, max: 8 }),
          point: fc.double({ min: 0, max: 1, noNaN: true }),
        }),
        { minLength: 1, maxLength: maxOps },
      ),
      mutate: fc.option(fc.tuple(fc.nat(), outputArb), { freq: 2 }),
    })
    .map(({ ops, mutate }) => {
      const order = ops.map((o, i) => ({ i, at: o.call + o.point * o.length })).sort((a, b) => a.at - b.at);
      const outputs: unknown[] = [];
      const state = new Map<string, KeyState>();
      for (const { i } of order) {
        const o = ops[i]!;
        const r = apply(state.get(o.key) ?? ABSENT, o.input);
        state.set(o.key, r.state);
        outputs[i] = r.result;
      }
      if (mutate) outputs[mutate[0] % ops.length] = mutate[1];
      return ops.map((o, i) => op(o.key, o.call, o.call + o.length, o.input, outputs[i]));
    });

describe('against brute force', () => {
  it('agrees with trying every real-time order, on random small histories over one and two keys', () => {
    let rejected = 0;
    let accepted = 0;
    fc.assert(
      fc.property(historyArb(7, ['a', 'b']), (history) => {
        const expected = bruteForce(history);
        const r = check(syncMapModel, history);
        expect(r.ok).toBe(expected);
        expect(sweep(syncMapModel, history) === undefined).toBe(expected);
        if (expected) accepted++;
        else rejected++;
      }),
      { numRuns: 1500, seed: 8 },
    );
    // Both answers were exercised.
    expect(Math.min(accepted, rejected)).toBeGreaterThan(200);
  });

  it('the search and the sweep agree on larger histories', () => {
    fc.assert(
      fc.property(historyArb(14, ['a']), (history) => {
        expect(check(syncMapModel, history).ok).toBe(sweep(syncMapModel, history) === undefined);
      }),
      { numRuns: 300, seed: 9 },
    );
  });
});

// ---------------------------------------------------------------------------
// Simulated concurrent maps: each operation is a generator that may yield
// between its steps, and a seeded scheduler interleaves clients' invocations,
// steps and responses, stamping calls and returns from one clock.

type Step<T> = Generator<void, T, void>;
interface SimMap {
  run(key: string, op: SyncMapOp): Step<unknown>;
}

function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 2 ** 32;
  };
}

function randomOp(r: () => number, values: number): SyncMapOp {
  const v = () => Math.floor(r() * values);
  switch (OP_NAMES[Math.floor(r() * OP_NAMES.length)]!) {
    case 'load': return load;
    case 'store': return store(v());
    case 'loadOrStore': return loadOrStore(v());
    case 'loadAndDelete': return loadAndDelete;
    case 'delete': return del;
    case 'swap': return swap(v());
    case 'compareAndSwap': return cas(v(), v());
    case 'compareAndDelete': return cad(v());
  }
}

/**
 * Runs `clients` clients of `perClient` random operations each over `keys`
 * keys. `bias` > 0 makes some clients much slower to be scheduled, so that
 * their operations span many of the others'.
 */
function simulate(map: SimMap, seed: number, clients: number, perClient: number, keys = 2, values = 3, bias = 0): Op[] {
  const r = rng(seed);
  const history: Op[] = [];
  let clock = 0;
  interface Client {
    left: number;
    running?: { key: string; input: SyncMapOp; call: number; step: Step<unknown>; done?: { output: unknown } };
  }
  const cs: Client[] = Array.from({ length: clients }, () => ({ left: perClient }));
  const weight = cs.map((_, i) => (bias && i === 0 ? bias : 1));
  for (;;) {
    const live = cs.map((_, i) => i).filter((i) => cs[i]!.left > 0 || cs[i]!.running);
    if (live.length === 0) return history;
    let pick = r() * live.reduce((sum, i) => sum + weight[i]!, 0);
    let k = 0;
    while (k < live.length - 1 && pick >= weight[live[k]!]!) pick -= weight[live[k++]!]!;
    const i = live[k]!;
    const c = cs[i]!;
    if (!c.running) {
      c.left--;
      const key = `k${Math.floor(r() * keys)}`;
      const input = randomOp(r, values);
      c.running = { key, input, call: clock++, step: map.run(key, input) };
    } else if (!c.running.done) {
      const s = c.running.step.next();
      if (s.done) c.running.done = { output: s.value };
    } else {
      const { key, input, call, done } = c.running;
      history.push({ key, input, output: done.output, call, ret: clock++, client: i });
      c.running = undefined;
    }
  }
}

/** sync.Map's contract, each operation one atomic step. */
class AtomicMap implements SimMap {
  protected readonly m = new Map<string, KeyState>();
  *run(key: string, input: SyncMapOp): Step<unknown> {
    const r = apply(this.m.get(key) ?? ABSENT, input);
    this.m.set(key, r.state);
    return r.result;
  }
}

/** A bug: a load sometimes returns the value the key held before its last write. */
class StaleLoadMap extends AtomicMap {
  private readonly previous = new Map<string, KeyState>();
  private readonly r: () => number;
  constructor(seed: number, private readonly rate: number) {
    super();
    this.r = rng(seed);
  }
  override *run(key: string, input: SyncMapOp): Step<unknown> {
    const cur = this.m.get(key) ?? ABSENT;
    if (input.name === 'load' && this.r() < this.rate) {
      const old = this.previous.get(key) ?? ABSENT;
      return old === ABSENT ? undefined : old;
    }
    const r = apply(cur, input);
    if (r.state !== cur) this.previous.set(key, cur);
    this.m.set(key, r.state);
    return r.result;
  }
}

/** A bug: every read-modify-write reads, lets others run, then writes (check-then-act). */
class RacyMap extends AtomicMap {
  override *run(key: string, input: SyncMapOp): Step<unknown> {
    const seen = this.m.get(key) ?? ABSENT;
    if (input.name !== 'load') yield;
    const r = apply(seen, input);
    if (r.state !== seen || input.name === 'store' || input.name === 'swap') this.m.set(key, r.state);
    return r.result;
  }
}

/** A subtler bug: only compareAndSwap is check-then-act, and only when it would succeed. */
class RacyCasMap extends AtomicMap {
  override *run(key: string, input: SyncMapOp): Step<unknown> {
    if (input.name !== 'compareAndSwap') return yield* super.run(key, input);
    const seen = this.m.get(key) ?? ABSENT;
    if (seen === ABSENT || !Object.is(seen, input.old)) return false;
    yield;
    this.m.set(key, input.value);
    return true;
  }
}

describe('simulated concurrent maps', () => {
  it.each([1, 2, 3, 4, 5])('a correct map is linearizable (seed %i, 4 clients, 2 keys)', (seed) => {
    const history = simulate(new AtomicMap(), seed, 4, 300);
    expect(check(syncMapModel, history)).toMatchObject({ ok: true, keys: 2, operations: 1200 });
  });

  it.each([
    ['loads sometimes return the previous value', (seed: number) => new StaleLoadMap(seed, 0.05)],
    ['every read-modify-write is check-then-act', () => new RacyMap()],
    ['compareAndSwap is check-then-act', () => new RacyCasMap()],
  ] as const)('a map whose %s is caught', (_, make) => {
    for (const seed of [1, 2, 3, 4, 5]) {
      const r = check(syncMapModel, simulate(make(seed), seed, 4, 300));
      expect(r.verdict, `seed ${seed}`).toBe('not linearizable');
      expect(r.ok ? '' : r.message).toMatch(/is not linearizable[^]*No order explains:\n {4}#\d+ client \d/);
    }
  });

  it('the failure names a short window: the stuck operation, the operations running with it, a few before', () => {
    const r = check(syncMapModel, simulate(new RacyCasMap(), 3, 4, 2000, 1));
    if (r.verdict !== 'not linearizable') throw new Error(`expected a failure, got ${r.verdict}`);
    expect(r.failure.keyOperations).toBe(8000);
    expect(r.failure.pending.length).toBeLessThanOrEqual(4);
    expect(r.failure.before.length).toBeLessThanOrEqual(4);
    expect(r.failure.worlds.length).toBeGreaterThan(0);
    expect(r.message.split('\n').length).toBeLessThan(30);
  });
});

describe('speed', () => {
  it('checks 8000 operations of 4 clients on ONE key in well under seconds', () => {
    const history = simulate(new AtomicMap(), 42, 4, 2000, 1);
    const t = performance.now();
    const r = check(syncMapModel, history);
    const ms = performance.now() - t;
    expect(r).toMatchObject({ ok: true, keys: 1, operations: 8000 });
    expect(ms).toBeLessThan(3000);
  });

  it('copes with a client so slow that each of its operations spans hundreds of the others', () => {
    const history = simulate(new AtomicMap(), 7, 4, 1500, 1, 3, 0.01);
    const spans = history.filter((o) => o.client === 0).map((o) => o.ret - o.call);
    expect(Math.max(...spans)).toBeGreaterThan(300);
    const t = performance.now();
    expect(check(syncMapModel, history)).toMatchObject({ ok: true, keys: 1 });
    expect(performance.now() - t).toBeLessThan(3000);
  });

  it('and with 8 clients on one key', () => {
    const history = simulate(new AtomicMap(), 11, 8, 500, 1);
    const t = performance.now();
    expect(check(syncMapModel, history)).toMatchObject({ ok: true, keys: 1, operations: 4000 });
    expect(performance.now() - t).toBeLessThan(3000);
  });

  it('a search that rejects deep into a long history returns quickly too', () => {
    const history = simulate(new AtomicMap(), 5, 4, 2000, 1);
    // The last load that found a value, made to return something no write stored.
    const i = history.findLastIndex((o) => o.input.name === 'load' && o.output !== undefined);
    history[i] = { ...history[i]!, output: 99 };
    const t = performance.now();
    const r = check(syncMapModel, history);
    expect(r.verdict).toBe('not linearizable');
    expect(r.verdict === 'not linearizable' ? r.failure.stuck : -1).toBe(i);
    expect(performance.now() - t).toBeLessThan(3000);
  });
});

describe('the real map, from one thread', () => {
  it.each([
    ['SyncMap', 'number', () => SyncMap.createSync<string, number>({ values: 'number', shards: 2 })],
    ['SyncMap', 'string', () => SyncMap.createSync<string, string>({ values: 'string', shards: 2 })],
    ['LockedMap', 'number', () => LockedMap.createSync<string, number>({ values: 'number' })],
  ] as const)('%s with %s values returns what the model says, in the shapes the model expects', (_, kind, create) => {
    const map = create() as unknown as SyncMapLike<string> & { close(): void };
    const r = rng(17);
    const history: Op[] = [];
    for (let t = 0; t < 4000; t += 2) {
      const key = `k${Math.floor(r() * 4)}`;
      let input = randomOp(r, 3);
      if (kind === 'string') input = stringify(input);
      history.push({ key, input, output: callOp(map, key, input), call: t, ret: t + 1 });
    }
    map.close();
    const c = check(syncMapModel, history);
    expect(c.ok, c.ok ? '' : c.message).toBe(true);
    expect(checkKey(syncMapModel, history.filter((o) => o.key === 'k0')).verdict).toBe('linearizable');
  });
});

function stringify(input: SyncMapOp): SyncMapOp {
  const s = (v: Value) => `v${v}`.repeat(1 + Number(v) * 7);
  switch (input.name) {
    case 'store': case 'loadOrStore': case 'swap': return { ...input, value: s(input.value) };
    case 'compareAndSwap': return { ...input, old: s(input.old), value: s(input.value) };
    case 'compareAndDelete': return { ...input, old: s(input.old) };
    default: return input;
  }
}
