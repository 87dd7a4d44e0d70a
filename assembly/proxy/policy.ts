// Route policies, and the policy table: a map of the core from header values to
// policies, with the default policy and the name of the header to match.
//
// A policy is encoded once, when the configuration is loaded, into the bytes of
// one value block (entry.ts), so that a request finds everything it applies in
// one lookup: the timeout already in decimal, the key of its shared counter,
// and its headers as they are handed to the host.
//
//   policy (the bytes of a value block; POLICY_HEADERS + …)
//   ┌──────────────┬──────────────┬──────────────┬──────────────┐
//   │ timeoutMs u32│ headerCount  │ digitsLen u32│ counterKeyLen│  +0 … +16
//   ├──────────────┴──────────────┴──────────────┴──────────────┤
//   │ the timeout in decimal ASCII (POLICY_DIGITS_MAX bytes)     │  +16 … +32
//   ├────────────────────────────────────────────────────────────┤
//   │ counter key (counterKeyLen bytes), padded to 4             │  +32
//   ├────────────────────────────────────────────────────────────┤
//   │ nameLen u32 │ valueLen u32 │ name │ value │ pad to 4        │  × headerCount
//   └────────────────────────────────────────────────────────────┘
//
//   policy table (POLICY_TABLE_SIZE bytes)
//   ┌──────────┬──────────────┬─────────────┬──────────────┬──────────────┐
//   │ map u32  │ default u32  │ header u32  │ headerLen u32│ policies u32 │
//   └──────────┴──────────────┴─────────────┴──────────────┴──────────────┘
//   map       a core map (map.ts, one shard): key = the header value's bytes,
//             value = a policy. Built off to the side by config.ts, sealed
//             (dirty promoted to read), then only read.
//   default   a value block holding the default policy, or 0 (no default:
//             a request that misses is left as it is).
//   header    a block holding the name of the request header to match.
//   policies  how many keys the map holds.
//
// A table is never changed once a root context uses it: a new configuration
// builds a new table and the root context switches one pointer (contexts.ts);
// the old table is destroyed right away, since the VM is single-threaded and
// no request of it can still be running.

import { free } from "../alloc";
import { allocOrCollect } from "../memory";
import { collect, pin, unpin } from "../reclaim";
import { mapDestroy, mapK0, mapK1, mapLoad, mapNew, mapRangeBegin, mapSeal, mapSwap, result } from "../map";
import { VALUE_BYTES, bytesEqual, valueBlockSize, valueNew } from "../entry";
import { freeHeldValue, heldValueWord } from "../inflight";
import { sipHash13 } from "../hash";
import { Status } from "../status";
import { WASI_SUCCESS, random_get } from "./abi";
import {
  DATA, LEN, builderFailed, builderReserve, builderTruncate, patchU32, pushBytes, pushDecimal, pushPadding, pushText, pushU32,
} from "./bytes";
import { RESULT_DATA, results } from "./hostmem";
import { Text } from "./texts";

// ── limits (each refused with its own message by config.ts) ──────────────
// The longest policy name, which is also the map's maxKeyBytes: a request
// header value longer than this cannot name a policy and misses without being
// hashed, so a hostile megabyte-long value costs one length check.
// @ts-ignore: decorator
@inline export const MAX_POLICY_NAME_BYTES: u32 = 256;
// @ts-ignore: decorator
@inline export const MAX_POLICIES: u32 = 65536;
// @ts-ignore: decorator
@inline export const MAX_POLICY_HEADERS: u32 = 16;
// @ts-ignore: decorator
@inline export const MAX_HEADER_NAME_BYTES: usize = 128;
// @ts-ignore: decorator
@inline export const MAX_HEADER_VALUE_BYTES: usize = 4096;
// One day. (0 is allowed: Envoy reads a zero timeout as "no timeout".)
// @ts-ignore: decorator
@inline export const MAX_TIMEOUT_MS: u32 = 86_400_000;
// The map's maxValueBytes: above the longest encoding (32 bytes, a counter key
// of at most ~300, and 16 headers of at most 8 + 128 + 4096 + 3 bytes: ~68 KB).
// @ts-ignore: decorator
@inline const MAX_POLICY_BYTES: u32 = 128 << 10;

// ── policy layout ──────────────────────────────────────────────────────────
// @ts-ignore: decorator
@inline const POLICY_TIMEOUT_MS: usize = 0;
// @ts-ignore: decorator
@inline const POLICY_HEADER_COUNT: usize = 4;
// @ts-ignore: decorator
@inline const POLICY_DIGITS_LEN: usize = 8;
// @ts-ignore: decorator
@inline const POLICY_COUNTER_KEY_LEN: usize = 12;
// @ts-ignore: decorator
@inline const POLICY_DIGITS: usize = 16;
// "86400000" needs 8; a u32 needs 10.
// @ts-ignore: decorator
@inline const POLICY_DIGITS_MAX: usize = 16;
// @ts-ignore: decorator
@inline const POLICY_COUNTER_KEY: usize = POLICY_DIGITS + POLICY_DIGITS_MAX;
// @ts-ignore: decorator
@inline const HEADER_NAME_LEN: usize = 0;
// @ts-ignore: decorator
@inline const HEADER_VALUE_LEN: usize = 4;
// @ts-ignore: decorator
@inline const HEADER_BYTES: usize = 8;

// @ts-ignore: decorator
@inline export function POLICY_TIMEOUT(policy: usize): u32 { return load<u32>(policy + POLICY_TIMEOUT_MS); }
// @ts-ignore: decorator
@inline export function POLICY_HEADERS(policy: usize): u32 { return load<u32>(policy + POLICY_HEADER_COUNT); }
// @ts-ignore: decorator
@inline export function POLICY_DIGITS_AT(policy: usize): usize { return policy + POLICY_DIGITS; }
// @ts-ignore: decorator
@inline export function POLICY_DIGITS_BYTES(policy: usize): usize { return <usize>load<u32>(policy + POLICY_DIGITS_LEN); }
// @ts-ignore: decorator
@inline export function POLICY_KEY_AT(policy: usize): usize { return policy + POLICY_COUNTER_KEY; }
// @ts-ignore: decorator
@inline export function POLICY_KEY_BYTES(policy: usize): usize { return <usize>load<u32>(policy + POLICY_COUNTER_KEY_LEN); }

/** The first header of a policy (iterate with headerNext while i < POLICY_HEADERS). */
// @ts-ignore: decorator
@inline export function policyFirstHeader(policy: usize): usize {
  return policy + ((POLICY_COUNTER_KEY + POLICY_KEY_BYTES(policy) + 3) & ~<usize>3);
}
// @ts-ignore: decorator
@inline export function HEADER_NAME_AT(header: usize): usize { return header + HEADER_BYTES; }
// @ts-ignore: decorator
@inline export function HEADER_NAME_BYTES(header: usize): usize { return <usize>load<u32>(header + HEADER_NAME_LEN); }
// @ts-ignore: decorator
@inline export function HEADER_VALUE_AT(header: usize): usize { return header + HEADER_BYTES + HEADER_NAME_BYTES(header); }
// @ts-ignore: decorator
@inline export function HEADER_VALUE_BYTES(header: usize): usize { return <usize>load<u32>(header + HEADER_VALUE_LEN); }
// @ts-ignore: decorator
@inline export function headerNext(header: usize): usize {
  return header + ((HEADER_BYTES + HEADER_NAME_BYTES(header) + HEADER_VALUE_BYTES(header) + 3) & ~<usize>3);
}

// ── encoding (config.ts fills a builder: begin, headers, end) ─────────────

/**
 * Starts a policy in builder `b`: the fixed part, then the counter key, which
 * is the text `prefix` followed by `nameLen` bytes at `name` (nameLen may be 0).
 */
export function policyBegin(b: usize, prefix: Text, name: usize, nameLen: usize): void {
  pushU32(b, 0); // timeoutMs, patched by policyEnd
  pushU32(b, 0); // headerCount, likewise
  pushU32(b, 0); // digitsLen, likewise
  pushU32(b, 0); // counterKeyLen, set below
  if (!builderReserve(b, POLICY_DIGITS_MAX)) return;
  for (let i: usize = 0; i < POLICY_DIGITS_MAX; i += 4) pushU32(b, 0);
  const keyStart = LEN(b);
  pushText(b, prefix);
  pushBytes(b, name, nameLen);
  patchU32(b, POLICY_COUNTER_KEY_LEN, <u32>(LEN(b) - keyStart));
  pushPadding(b, 4);
}

/**
 * Adds a header to the policy being built. False if the policy already has a
 * header of that name (the caller refuses the configuration).
 */
export function policyAddHeader(b: usize, name: usize, nameLen: usize, value: usize, valueLen: usize): bool {
  if (policyHasHeader(DATA(b), LEN(b), name, nameLen)) return false;
  pushU32(b, <u32>nameLen);
  pushU32(b, <u32>valueLen);
  pushBytes(b, name, nameLen);
  pushBytes(b, value, valueLen);
  pushPadding(b, 4);
  patchU32(b, POLICY_HEADER_COUNT, load<u32>(DATA(b) + POLICY_HEADER_COUNT) + 1);
  return true;
}

/** Headers added so far to the policy in builder `b`. */
export function policyHeaderCount(b: usize): u32 {
  return LEN(b) >= POLICY_COUNTER_KEY ? load<u32>(DATA(b) + POLICY_HEADER_COUNT) : 0;
}

/** Completes the policy in builder `b` with its timeout. */
export function policyEnd(b: usize, timeoutMs: u32): void {
  if (LEN(b) < POLICY_COUNTER_KEY) return; // the builder failed; the caller checks
  patchU32(b, POLICY_TIMEOUT_MS, timeoutMs);
  // The digits go into their reserved bytes: formatted past the end, moved
  // into place, then cut off the end again.
  const end = LEN(b);
  pushDecimal(b, timeoutMs);
  if (builderFailed(b)) return;
  const digits = LEN(b) - end; // at most 10 < POLICY_DIGITS_MAX
  memory.copy(DATA(b) + POLICY_DIGITS, DATA(b) + end, digits);
  patchU32(b, POLICY_DIGITS_LEN, <u32>digits);
  builderTruncate(b, end);
}

function policyHasHeader(policy: usize, len: usize, name: usize, nameLen: usize): bool {
  if (len < POLICY_COUNTER_KEY) return false;
  let header = policyFirstHeader(policy);
  const count = POLICY_HEADERS(policy);
  for (let i: u32 = 0; i < count; i++) {
    if (HEADER_NAME_BYTES(header) == nameLen && bytesEqual(HEADER_NAME_AT(header), name, nameLen)) return true;
    header = headerNext(header);
  }
  return false;
}

// ── the policy table ───────────────────────────────────────────────────────
// @ts-ignore: decorator
@inline const TABLE_MAP: usize = 0;
// @ts-ignore: decorator
@inline const TABLE_DEFAULT: usize = 4;
// @ts-ignore: decorator
@inline const TABLE_HEADER: usize = 8;
// @ts-ignore: decorator
@inline const TABLE_HEADER_LEN: usize = 12;
// @ts-ignore: decorator
@inline const TABLE_POLICIES: usize = 16;
// @ts-ignore: decorator
@inline const POLICY_TABLE_SIZE: usize = 20;

// @ts-ignore: decorator
@inline export function TABLE_MAP_OF(table: usize): usize { return <usize>load<u32>(table + TABLE_MAP); }
// @ts-ignore: decorator
@inline export function TABLE_DEFAULT_OF(table: usize): usize { return <usize>load<u32>(table + TABLE_DEFAULT); }
// @ts-ignore: decorator
@inline export function TABLE_HEADER_AT(table: usize): usize { return <usize>load<u32>(table + TABLE_HEADER); }
// @ts-ignore: decorator
@inline export function TABLE_HEADER_BYTES(table: usize): usize { return <usize>load<u32>(table + TABLE_HEADER_LEN); }
// @ts-ignore: decorator
@inline export function TABLE_POLICY_COUNT(table: usize): u32 { return load<u32>(table + TABLE_POLICIES); }

// Set when random_get failed and a table was keyed with the fixed fallback.
export let weakHashKey: bool = false;

/** An empty table with a fresh hash key; 0 when memory is exhausted. */
export function policyTableNew(): usize {
  const table = allocOrCollect(POLICY_TABLE_SIZE);
  if (!table) return 0;
  memory.fill(table, 0, POLICY_TABLE_SIZE);
  // SipHash key from the host's randomness (WASI random_get, allowed by the
  // ABI). Policy keys come from the operator, not from requests, so a known
  // key would not let a client build collisions; still, a request should not
  // be able to predict which values probe the longest chains.
  let k0: u64 = 0x736d61702d66696c; // fallback: ASCII "smap-fil", "ter-key!"
  let k1: u64 = 0x7465722d6b657921;
  if (random_get(results + RESULT_DATA, 16) == WASI_SUCCESS) {
    k0 = load<u64>(results + RESULT_DATA);
    k1 = load<u64>(results + RESULT_DATA + 8);
  } else {
    weakHashKey = true;
  }
  const map = mapNew(k0, k1, 1, MAX_POLICY_NAME_BYTES, MAX_POLICY_BYTES, 0, 0, 0);
  if (!map) {
    free(table, POLICY_TABLE_SIZE);
    return 0;
  }
  store<u32>(table + TABLE_MAP, <u32>map);
  return table;
}

/** Sets the header to match (a copy of `len` bytes). False when memory is exhausted. */
export function policyTableSetHeader(table: usize, name: usize, len: usize): bool {
  const copy = allocOrCollect(len ? len : 1);
  if (!copy) return false;
  memory.copy(copy, name, len);
  const previous = TABLE_HEADER_AT(table);
  if (previous) free(previous, max(TABLE_HEADER_BYTES(table), 1));
  store<u32>(table + TABLE_HEADER, <u32>copy);
  store<u32>(table + TABLE_HEADER_LEN, <u32>len);
  return true;
}

/** Sets the default policy from the encoding in builder `b`. False when memory is exhausted. */
export function policyTableSetDefault(table: usize, b: usize): bool {
  const block = valueNew(DATA(b), LEN(b), 0); // the table's own, not the map's
  if (!block) return false;
  const previous = TABLE_DEFAULT_OF(table);
  if (previous) free(previous, valueBlockSize(previous));
  store<u32>(table + TABLE_DEFAULT, block);
  return true;
}

/**
 * Adds the policy in builder `b` under the `nameLen` bytes at `name`.
 * Status.OK; ABSENT if the name is already in the table (nothing is changed);
 * FULL when memory is exhausted.
 */
export function policyTableAdd(table: usize, name: usize, nameLen: usize, b: usize): i32 {
  const map = TABLE_MAP_OF(table);
  const hash = sipHash13(mapK0(map), mapK1(map), name, nameLen);
  pin();
  let status = mapLoad(map, name, nameLen, hash);
  if (status == Status.OK) {
    unpin();
    return Status.ABSENT;
  }
  const block = valueNew(DATA(b), LEN(b), heldValueWord());
  status = block ? mapSwap(map, name, nameLen, hash, block) : Status.FULL;
  unpin();
  if (status != Status.OK) {
    if (block) freeHeldValue(block);
    return Status.FULL;
  }
  store<u32>(table + TABLE_POLICIES, load<u32>(table + TABLE_POLICIES) + 1);
  return Status.OK;
}

/**
 * Makes the table ready for lookups: promotes each shard's dirty table to read
 * (as Go's Range does), so that no lookup takes the miss path Go uses to
 * decide when to promote.
 */
export function policyTableSeal(table: usize): void {
  pin();
  mapSeal(TABLE_MAP_OF(table));
  unpin();
}

/**
 * The read table of the sealed map (for walking its entries: counters.ts), or 0.
 * The caller is pinned.
 */
export function policyTableEntries(table: usize): usize {
  const map = TABLE_MAP_OF(table);
  return mapRangeBegin(map, 0) == Status.OK ? <usize>result : 0;
}

/**
 * The policy for the `len` header bytes at `value` (a pointer to its encoding,
 * inside a value block), or 0 when the table has none. The caller is pinned.
 */
// @ts-ignore: decorator
@inline export function policyTableLookup(table: usize, value: usize, len: usize): usize {
  // No policy is named "" (config.ts refuses it) or longer than the limit.
  if (!len || len > MAX_POLICY_NAME_BYTES) return 0;
  const map = TABLE_MAP_OF(table);
  if (mapLoad(map, value, len, sipHash13(mapK0(map), mapK1(map), value, len)) != Status.OK) return 0;
  return <usize>result + VALUE_BYTES;
}

/** The default policy's encoding, or 0. */
// @ts-ignore: decorator
@inline export function policyTableDefault(table: usize): usize {
  const block = TABLE_DEFAULT_OF(table);
  return block ? block + VALUE_BYTES : 0;
}

/** Frees the table and everything in it. Nothing may use it afterwards. */
export function policyTableDestroy(table: usize): void {
  const map = TABLE_MAP_OF(table);
  if (map) {
    pin(); // mapDestroy retires what the map held: retire runs pinned
    mapDestroy(map);
    unpin();
  }
  const block = TABLE_DEFAULT_OF(table);
  if (block) free(block, valueBlockSize(block));
  const header = TABLE_HEADER_AT(table);
  if (header) free(header, max(TABLE_HEADER_BYTES(table), 1));
  free(table, POLICY_TABLE_SIZE);
  collect(); // one thread, now unpinned: every retired block is freed here
}
