/**
 * The sequential specification of ONE key of Go's sync.Map, with the results
 * in this package's JavaScript shapes (bindings/syncmap.ts). The linearizability
 * checker (./linearizability.ts) replays operations through it; by
 * P-compositionality one key at a time is enough.
 *
 * A key is either absent or holds one value. Values compare as the 'number' and
 * 'string' codecs compare their encoded bytes: Object.is (NaN equals NaN, 0 and
 * -0 differ) for numbers, === for strings.
 *
 *   Go                          JS result                        state after
 *   Load                        value | undefined                unchanged
 *   Store(v)                    undefined                        v
 *   LoadOrStore(v)              { value: actual, loaded }        v if it was absent
 *   LoadAndDelete               { value | undefined, loaded }    absent
 *   Delete                      boolean: it was present          absent
 *   Swap(v)                     { previous | undefined, loaded } v
 *   CompareAndSwap(old, new)    boolean (false when absent)      new if it held old
 *   CompareAndDelete(old)       boolean (false when absent)      absent if it held old
 */
import { ILLEGAL, type Model } from './linearizability.js';

export type Value = number | string;

/** The state of a key that holds no value. */
export const ABSENT: unique symbol = Symbol('absent');
export type KeyState = Value | typeof ABSENT;

export type SyncMapOp =
  | { readonly name: 'load' }
  | { readonly name: 'store'; readonly value: Value }
  | { readonly name: 'loadOrStore'; readonly value: Value }
  | { readonly name: 'loadAndDelete' }
  | { readonly name: 'delete' }
  | { readonly name: 'swap'; readonly value: Value }
  | { readonly name: 'compareAndSwap'; readonly old: Value; readonly value: Value }
  | { readonly name: 'compareAndDelete'; readonly old: Value };

export type OpName = SyncMapOp['name'];

/** The eight operations, in a fixed order (test/fixtures/history-worker.mjs numbers them the same way). */
export const OP_NAMES: readonly OpName[] = [
  'load',
  'store',
  'loadOrStore',
  'loadAndDelete',
  'delete',
  'swap',
  'compareAndSwap',
  'compareAndDelete',
];

/** What each operation returns, as the bindings return it. */
export interface SyncMapResults {
  load: Value | undefined;
  store: undefined;
  loadOrStore: { value: Value; loaded: boolean };
  loadAndDelete: { value: Value | undefined; loaded: boolean };
  delete: boolean;
  swap: { previous: Value | undefined; loaded: boolean };
  compareAndSwap: boolean;
  compareAndDelete: boolean;
}
export type SyncMapResult = SyncMapResults[OpName];

/** The operations of the package's maps used here (SyncMap and LockedMap have them all). */
export interface SyncMapLike<K> {
  load(key: K): Value | undefined;
  store(key: K, value: Value): void;
  loadOrStore(key: K, value: Value): { value: Value; loaded: boolean };
  loadAndDelete(key: K): { value: Value | undefined; loaded: boolean };
  delete(key: K): boolean;
  swap(key: K, value: Value): { previous: Value | undefined; loaded: boolean };
  compareAndSwap(key: K, old: Value, value: Value): boolean;
  compareAndDelete(key: K, old: Value): boolean;
}

const same = (a: KeyState | undefined, b: unknown): boolean => Object.is(a, b);

/** Go's semantics: the state after `op` and the result it returns. */
export function apply(state: KeyState, op: SyncMapOp): { state: KeyState; result: SyncMapResult } {
  const present = state !== ABSENT;
  switch (op.name) {
    case 'load':
      return { state, result: present ? state : undefined };
    case 'store':
      return { state: op.value, result: undefined };
    case 'loadOrStore':
      return present
        ? { state, result: { value: state, loaded: true } }
        : { state: op.value, result: { value: op.value, loaded: false } };
    case 'loadAndDelete':
      return { state: ABSENT, result: present ? { value: state, loaded: true } : { value: undefined, loaded: false } };
    case 'delete':
      return { state: ABSENT, result: present };
    case 'swap':
      return { state: op.value, result: present ? { previous: state, loaded: true } : { previous: undefined, loaded: false } };
    case 'compareAndSwap':
      return present && same(state, op.old) ? { state: op.value, result: true } : { state, result: false };
    case 'compareAndDelete':
      return present && same(state, op.old) ? { state: ABSENT, result: true } : { state, result: false };
  }
}

function isRecord(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null;
}

/** Whether `actual` (what a map returned) is the result the specification gives (`expected`). */
export function sameResult(op: SyncMapOp, expected: SyncMapResult, actual: unknown): boolean {
  switch (op.name) {
    case 'load':
    case 'store':
    case 'delete':
    case 'compareAndSwap':
    case 'compareAndDelete':
      return Object.is(expected, actual);
    case 'loadOrStore':
    case 'loadAndDelete': {
      const e = expected as { value: unknown; loaded: boolean };
      return isRecord(actual) && actual.loaded === e.loaded && Object.is(actual.value, e.value);
    }
    case 'swap': {
      const e = expected as { previous: unknown; loaded: boolean };
      return isRecord(actual) && actual.loaded === e.loaded && Object.is(actual.previous, e.previous);
    }
  }
}

/** Calls `op` on a map and returns what it returned. */
export function callOp<K>(map: SyncMapLike<K>, key: K, op: SyncMapOp): SyncMapResult {
  switch (op.name) {
    case 'load': return map.load(key);
    case 'store': map.store(key, op.value); return undefined;
    case 'loadOrStore': return map.loadOrStore(key, op.value);
    case 'loadAndDelete': return map.loadAndDelete(key);
    case 'delete': return map.delete(key);
    case 'swap': return map.swap(key, op.value);
    case 'compareAndSwap': return map.compareAndSwap(key, op.old, op.value);
    case 'compareAndDelete': return map.compareAndDelete(key, op.old);
  }
}

/** A value as a reader wants it in a failure message: -0 kept, long strings cut. */
export function formatValue(v: unknown): string {
  if (v === ABSENT) return 'absent';
  if (typeof v === 'number') return Object.is(v, -0) ? '-0' : String(v);
  if (typeof v === 'string') {
    return v.length <= 24 ? JSON.stringify(v) : `${JSON.stringify(v.slice(0, 16))}…(${v.length} chars)`;
  }
  if (v === undefined) return 'undefined';
  if (isRecord(v)) {
    return `{ ${Object.entries(v).map(([k, x]) => `${k}: ${formatValue(x)}`).join(', ')} }`;
  }
  return String(v);
}

export function formatOp(op: SyncMapOp, result?: unknown): string {
  const args =
    op.name === 'compareAndSwap' ? [op.old, op.value]
    : op.name === 'compareAndDelete' ? [op.old]
    : 'value' in op ? [op.value]
    : [];
  const call = `${op.name}(${args.map(formatValue).join(', ')})`;
  return arguments.length < 2 ? call : `${call} → ${formatValue(result)}`;
}

/** The model the checker runs: one key of sync.Map, starting absent. */
export const syncMapModel: Model<KeyState, SyncMapOp, unknown> = {
  init: ABSENT,
  step(state, op, output) {
    const next = apply(state, op);
    return sameResult(op, next.result, output) ? next.state : ILLEGAL;
  },
  key(state) {
    if (state === ABSENT) return '-';
    if (typeof state === 'number') return Object.is(state, -0) ? 'n-0' : `n${state}`;
    return `s${state}`;
  },
  describeState: formatValue,
  describeOperation: (op, output) => formatOp(op, output),
};
