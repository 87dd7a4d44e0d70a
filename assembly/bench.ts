// The core-only benchmark loop: the cases of Go's src/sync/map_bench_test.go
// (Go 1.24), run inside Wasm over map.ts and locked.ts with no marshalling, so
// that the core alone can be held against Go's sync.Map on the same machine.
// bindings/bench-core.ts drives these exports; bench/core.bench.ts times them.
//
// It runs in the calling thread's instance, which abi.ts has already attached
// (sm_attach): the thread's slot, pin word and lock-owner id are bound, and the
// thread's scratch region is free between calls. Keys are Go's ints as 8-byte
// little-endian integers, values 8-byte integers, both built in the scratch:
//
//   scratch (this thread's, see abi.ts)
//   ┌─────────┬─────────┬─────────┬─────────┬──────────────────┐
//   │ key u64 │ value   │ old     │ new     │ copied-out value │
//   └─────────┴─────────┴─────────┴─────────┴──────────────────┘
//    +0        +8        +16       +24       +32
//
// The map must be private to the benchmark and created with keys 'number' or
// 'bytes', so that these raw integers never meet a string codec.
//
// One iteration is one pb.Next() of Go's loop (some iterations make two calls,
// as in Go). Timing is the caller's: sm_benchRun runs a given number of
// iterations and returns, so a thread can check a stop flag between batches.
//
// Exports (all prefixed sm_bench):
//   sm_benchCaseCount()                 number of cases (ids 0 …, order of GO_CASES)
//   sm_benchSetup(caseId)               the case's setup, on a map just cleared
//   sm_benchBegin(caseId, goroutine)    this thread's loop state: i = goroutine << 40
//   sm_benchRun(iterations)             runs them: the count, a Status < 0, or
//                                       BENCH_CHECK_FAILED where Go's loop fails
//   sm_benchSink()                      what the loop read, summed (keeps reads alive)

import { Status } from "./status";
import { heapRootMap } from "./heap";
import { free } from "./alloc";
import { pin, unpin } from "./reclaim";
import { sipHash13 } from "./hash";
import { ENTRY_KEY, ENTRY_VALUE, VALUE_BYTES, isLive, valueNew } from "./entry";
import { freeHeldValue, heldValueWord } from "./inflight";
import { tableCapacity, tableEntryAt } from "./table";
import {
  MAP_KIND_LOCKED, mapClear, mapCompareAndSwap, mapDelete, mapK0, mapK1, mapKind, mapLoad, mapLoadOrStore,
  mapRangeBegin, mapShardCount, mapSwap, result,
} from "./map";
import {
  lockedClear, lockedCompareAndSwap, lockedDelete, lockedLoad, lockedLoadOrStore, lockedRangeBegin, lockedRangeEnd,
  lockedRangeTable, lockedSwap,
} from "./locked";
import { sm_scratch, sm_scratchCap } from "./abi";

// The part of the scratch this loop uses (the diagram above).
// @ts-ignore: decorator
@inline const SCRATCH_IN_USE: usize = 64;

// Case ids, in the order of Go's file (and of GO_CASES in bindings/bench-core.ts).
// @ts-ignore: decorator
@inline const LOAD_MOSTLY_HITS: u32 = 0;
// @ts-ignore: decorator
@inline const LOAD_MOSTLY_MISSES: u32 = 1;
// @ts-ignore: decorator
@inline const LOAD_OR_STORE_BALANCED: u32 = 2;
// @ts-ignore: decorator
@inline const LOAD_OR_STORE_UNIQUE: u32 = 3;
// @ts-ignore: decorator
@inline const LOAD_OR_STORE_COLLISION: u32 = 4;
// @ts-ignore: decorator
@inline const LOAD_AND_DELETE_BALANCED: u32 = 5;
// @ts-ignore: decorator
@inline const LOAD_AND_DELETE_UNIQUE: u32 = 6;
// @ts-ignore: decorator
@inline const LOAD_AND_DELETE_COLLISION: u32 = 7;
// @ts-ignore: decorator
@inline const RANGE: u32 = 8;
// @ts-ignore: decorator
@inline const ADVERSARIAL_ALLOC: u32 = 9;
// @ts-ignore: decorator
@inline const ADVERSARIAL_DELETE: u32 = 10;
// @ts-ignore: decorator
@inline const DELETE_COLLISION: u32 = 11;
// @ts-ignore: decorator
@inline const SWAP_COLLISION: u32 = 12;
// @ts-ignore: decorator
@inline const SWAP_MOSTLY_HITS: u32 = 13;
// @ts-ignore: decorator
@inline const SWAP_MOSTLY_MISSES: u32 = 14;
// @ts-ignore: decorator
@inline const COMPARE_AND_SWAP_COLLISION: u32 = 15;
// @ts-ignore: decorator
@inline const COMPARE_AND_SWAP_NO_EXISTING_KEY: u32 = 16;
// @ts-ignore: decorator
@inline const COMPARE_AND_SWAP_VALUE_NOT_EQUAL: u32 = 17;
// @ts-ignore: decorator
@inline const COMPARE_AND_SWAP_MOSTLY_HITS: u32 = 18;
// @ts-ignore: decorator
@inline const COMPARE_AND_SWAP_MOSTLY_MISSES: u32 = 19;
// @ts-ignore: decorator
@inline const COMPARE_AND_DELETE_COLLISION: u32 = 20;
// @ts-ignore: decorator
@inline const COMPARE_AND_DELETE_MOSTLY_HITS: u32 = 21;
// @ts-ignore: decorator
@inline const COMPARE_AND_DELETE_MOSTLY_MISSES: u32 = 22;
// @ts-ignore: decorator
@inline const CLEAR: u32 = 23;
// @ts-ignore: decorator
@inline const CASE_COUNT: u32 = 24;

// Go's constants: the 1023/1 and 1/1023 hit-miss mixes, the 128/128 balanced
// one, and the 1024-key map of Range and AdversarialDelete.
// @ts-ignore: decorator
@inline const MOSTLY: u64 = 1023;
// @ts-ignore: decorator
@inline const BALANCED: u64 = 128;
// @ts-ignore: decorator
@inline const RANGE_SIZE: u64 = 1 << 10;

// Go starts goroutine g at i = g × b.N; a fixed stride keeps the threads' key
// ranges disjoint without knowing the count beforehand (2^40 iterations are
// days of running).
// @ts-ignore: decorator
@inline const GOROUTINE_SHIFT: u64 = 40;

// Scratch offsets (the diagram above).
// @ts-ignore: decorator
@inline const KEY_AT: usize = 0;
// @ts-ignore: decorator
@inline const VALUE_AT: usize = 8;
// @ts-ignore: decorator
@inline const OLD_AT: usize = 16;
// @ts-ignore: decorator
@inline const NEW_AT: usize = 24;
// @ts-ignore: decorator
@inline const OUT_AT: usize = 32;
// @ts-ignore: decorator
@inline const WORD: usize = 8;

// What sm_benchRun returns where Go's loop calls b.Fatalf (LoadOrStoreBalanced
// found a key in the wrong state). Not a Status: no operation failed.
// @ts-ignore: decorator
@inline const BENCH_CHECK_FAILED: i32 = -100;

// Thread-local loop state (Wasm globals are per instance, and an instance is a thread).
let benchCase: u32 = 0;
let i: u64 = 0;
let stores: u64 = 0; // AdversarialAlloc's counters
let loadsSinceStore: u64 = 0;
let map: usize = 0;
let locked: bool = false;
let k0: u64 = 0;
let k1: u64 = 0;
let scratch: usize = 0;
let firstKey: u64 = 0; // the key a stopped range saw first (AdversarialDelete)
let sink: u64 = 0; // values read, so that no load is optimized away

export function sm_benchCaseCount(): u32 {
  return CASE_COUNT;
}

/** Binds this thread to the attached map; false if the instance is not attached. */
function bind(): bool {
  scratch = sm_scratch();
  if (!scratch) return false;
  map = heapRootMap();
  locked = mapKind(map) == MAP_KIND_LOCKED;
  k0 = mapK0(map);
  k1 = mapK1(map);
  return true;
}

// ── one map operation each, over both kinds of map ─────────────────────────
//
// Each returns 1 when it found (loaded, swapped, deleted) what it looked for,
// 0 when not (ABSENT; for loadOrStore: it stored), or a failure Status < 0.

// @ts-ignore: decorator
@inline function putKey(k: u64): u64 {
  store<u64>(scratch + KEY_AT, k);
  return sipHash13(k0, k1, scratch + KEY_AT, WORD);
}

// @ts-ignore: decorator
@inline function flag(status: i32): i32 {
  return status >= 0 ? 1 : status == Status.ABSENT ? 0 : status;
}

function opLoad(k: u64): i32 {
  const hash = putKey(k);
  if (locked) {
    const status = lockedLoad(map, scratch + KEY_AT, WORD, hash, scratch + OUT_AT, true);
    if (status >= 0) sink += load<u64>(scratch + OUT_AT);
    return flag(status);
  }
  pin();
  const status = mapLoad(map, scratch + KEY_AT, WORD, hash);
  if (status == Status.OK) sink += load<u64>(<usize>result + VALUE_BYTES);
  unpin();
  return flag(status);
}

/** Store, or Swap (Go's Store is a Swap that drops the previous value). */
function opSwap(k: u64, v: u64): i32 {
  const hash = putKey(k);
  store<u64>(scratch + VALUE_AT, v);
  if (locked) {
    return flag(lockedSwap(map, scratch + KEY_AT, WORD, hash, scratch + VALUE_AT, WORD, scratch + OUT_AT, true));
  }
  const block = valueNew(scratch + VALUE_AT, WORD, heldValueWord());
  if (!block) return Status.FULL;
  pin();
  let status = mapSwap(map, scratch + KEY_AT, WORD, hash, block);
  if (status == Status.OK && result) sink += load<u64>(<usize>result + VALUE_BYTES);
  else if (status == Status.OK) status = Status.ABSENT;
  unpin();
  if (status < Status.ABSENT) freeHeldValue(block); // never published
  return flag(status);
}

function opLoadOrStore(k: u64, v: u64): i32 {
  const hash = putKey(k);
  store<u64>(scratch + VALUE_AT, v);
  if (locked) {
    return flag(lockedLoadOrStore(map, scratch + KEY_AT, WORD, hash, scratch + VALUE_AT, WORD, scratch + OUT_AT));
  }
  pin();
  const status = mapLoadOrStore(map, scratch + KEY_AT, WORD, hash, scratch + VALUE_AT, WORD, 0);
  if (status == Status.OK) sink += load<u64>(<usize>result + VALUE_BYTES);
  unpin();
  return flag(status);
}

/** LoadAndDelete (Go's Delete is a LoadAndDelete that drops the value). */
function opLoadAndDelete(k: u64): i32 {
  const hash = putKey(k);
  if (locked) return flag(lockedDelete(map, scratch + KEY_AT, WORD, hash, false, 0, 0, scratch + OUT_AT, true));
  pin();
  const status = mapDelete(map, scratch + KEY_AT, WORD, hash, false, 0, 0);
  if (status == Status.OK) sink += load<u64>(<usize>result + VALUE_BYTES);
  unpin();
  return flag(status);
}

function opCompareAndSwap(k: u64, old: u64, nu: u64): i32 {
  const hash = putKey(k);
  store<u64>(scratch + OLD_AT, old);
  store<u64>(scratch + NEW_AT, nu);
  if (locked) {
    return flag(lockedCompareAndSwap(
      map, scratch + KEY_AT, WORD, hash, scratch + OLD_AT, WORD, scratch + NEW_AT, WORD,
    ));
  }
  pin();
  const status = mapCompareAndSwap(map, scratch + KEY_AT, WORD, hash, scratch + OLD_AT, WORD, scratch + NEW_AT, WORD, 0);
  unpin();
  return flag(status);
}

function opCompareAndDelete(k: u64, old: u64): i32 {
  const hash = putKey(k);
  store<u64>(scratch + OLD_AT, old);
  if (locked) {
    return flag(lockedDelete(map, scratch + KEY_AT, WORD, hash, true, scratch + OLD_AT, WORD, 0, false));
  }
  pin();
  const status = mapDelete(map, scratch + KEY_AT, WORD, hash, true, scratch + OLD_AT, WORD);
  unpin();
  return flag(status);
}

/**
 * Go's Range with a callback that reads each key and value; with `firstOnly`,
 * one that returns false at once, leaving that key in `firstKey`. 1 if it saw
 * an entry, else 0 (or a failure).
 */
function opRange(firstOnly: bool): i32 {
  if (locked) {
    const status = lockedRangeBegin(map);
    if (status != Status.OK) return status;
    const seen = visit(lockedRangeTable(map), firstOnly);
    lockedRangeEnd(map);
    return seen;
  }
  const shards = mapShardCount(map);
  let seen: i32 = 0;
  for (let s: u32 = 0; s < shards; s++) {
    pin();
    const status = mapRangeBegin(map, s);
    if (status != Status.OK) {
      unpin();
      return status;
    }
    seen |= visit(<usize>result, firstOnly);
    unpin();
    if (seen && firstOnly) break;
  }
  return seen;
}

/** Reads the live entries of a table the caller keeps valid (pinned or read-locked). */
function visit(table: usize, firstOnly: bool): i32 {
  const capacity = tableCapacity(table);
  let seen: i32 = 0;
  for (let slot: u32 = 0; slot < capacity; slot++) {
    const entry = tableEntryAt(table, slot);
    if (!entry) continue;
    // The sync map's value word changes under lock-free writers: read it atomically.
    const value = locked ? load<u32>(entry + ENTRY_VALUE) : atomic.load<u32>(entry + ENTRY_VALUE);
    if (!locked && !isLive(value)) continue;
    const key = load<u64>(entry + ENTRY_KEY);
    sink += key + load<u64>(<usize>value + VALUE_BYTES);
    seen = 1;
    if (firstOnly) {
      firstKey = key;
      break;
    }
  }
  return seen;
}

function opClear(): i32 {
  if (locked) return lockedClear(map);
  pin();
  const status = mapClear(map);
  unpin();
  return status;
}

// ── setups ─────────────────────────────────────────────────────────────────

/** Go's "hits, misses" setup: LoadOrStore the hits, then prime with loads. */
function setupHits(hits: u64): i32 {
  for (let k: u64 = 0; k < hits; k++) {
    const status = opLoadOrStore(k, k);
    if (status < 0) return status;
  }
  // Prime the map to get it into a steady state.
  for (let k: u64 = 0; k < hits * 2; k++) {
    const status = opLoad(k % hits);
    if (status < 0) return status;
  }
  return Status.OK;
}

function setupStored(count: u64): i32 {
  for (let k: u64 = 0; k < count; k++) {
    const status = opSwap(k, k);
    if (status < 0) return status;
  }
  return Status.OK;
}

/**
 * Runs the case's setup on the (empty) map through this thread. OK, or a
 * failure Status.
 */
export function sm_benchSetup(caseId: u32): i32 {
  if (caseId >= CASE_COUNT) return Status.BAD_ARGUMENT;
  if (!bind()) return Status.NOT_ATTACHED;
  switch (caseId) {
    case LOAD_MOSTLY_HITS:
    case SWAP_MOSTLY_HITS:
    case COMPARE_AND_SWAP_MOSTLY_HITS:
    case COMPARE_AND_DELETE_MOSTLY_HITS:
      return setupHits(MOSTLY);
    case LOAD_MOSTLY_MISSES:
    case SWAP_MOSTLY_MISSES:
    case COMPARE_AND_SWAP_MOSTLY_MISSES:
    case COMPARE_AND_DELETE_MOSTLY_MISSES:
      return setupHits(1);
    case LOAD_OR_STORE_BALANCED:
    case LOAD_AND_DELETE_BALANCED:
      return setupHits(BALANCED);
    case LOAD_OR_STORE_COLLISION:
    case LOAD_AND_DELETE_COLLISION:
    case DELETE_COLLISION:
    case SWAP_COLLISION:
    case COMPARE_AND_SWAP_COLLISION:
    case COMPARE_AND_DELETE_COLLISION: {
      const status = opLoadOrStore(0, 0);
      return status < 0 ? status : Status.OK;
    }
    case COMPARE_AND_SWAP_VALUE_NOT_EQUAL:
      return setupStored(1);
    case RANGE:
    case ADVERSARIAL_DELETE:
      return setupStored(RANGE_SIZE);
    default:
      return Status.OK; // LoadOrStoreUnique, LoadAndDeleteUnique, AdversarialAlloc, CompareAndSwapNoExistingKey, Clear
  }
}

/** Starts this thread's loop of a case as Go's goroutine number `goroutine`. */
export function sm_benchBegin(caseId: u32, goroutine: u32): i32 {
  if (caseId >= CASE_COUNT) return Status.BAD_ARGUMENT;
  if (!bind()) return Status.NOT_ATTACHED;
  benchCase = caseId;
  i = (<u64>goroutine) << GOROUTINE_SHIFT;
  stores = 0;
  loadsSinceStore = 0;
  return Status.OK;
}

/** Runs `iterations` iterations of the case's loop: the count, or a failure Status. */
export function sm_benchRun(iterations: u32): i32 {
  if (!map) return Status.NOT_ATTACHED;
  for (let n: u32 = 0; n < iterations; n++) {
    const status = step();
    if (status < 0) return status;
    i++;
  }
  return <i32>iterations;
}

/** The value the loop's reads summed up (read it so that none is dead code). */
export function sm_benchSink(): f64 {
  return <f64>sink;
}

/** One iteration of Go's loop body for the current case and `i`. */
function step(): i32 {
  switch (benchCase) {
    case LOAD_MOSTLY_HITS:
      return opLoad(i % (MOSTLY + 1));
    case LOAD_MOSTLY_MISSES:
      return opLoad(i % (1 + MOSTLY));
    case LOAD_OR_STORE_BALANCED: {
      const j = i % (BALANCED * 2);
      if (j < BALANCED) {
        const status = opLoadOrStore(j, i);
        return status == 0 ? BENCH_CHECK_FAILED : status; // Go: "unexpected miss"
      }
      const status = opLoadOrStore(i, i);
      return status == 1 ? BENCH_CHECK_FAILED : status; // Go: "failed to store"
    }
    case LOAD_OR_STORE_UNIQUE:
      return opLoadOrStore(i, i);
    case LOAD_OR_STORE_COLLISION:
      return opLoadOrStore(0, 0);
    case LOAD_AND_DELETE_BALANCED: {
      const j = i % (BALANCED * 2);
      return opLoadAndDelete(j < BALANCED ? j : i);
    }
    case LOAD_AND_DELETE_UNIQUE:
      return opLoadAndDelete(i);
    case LOAD_AND_DELETE_COLLISION: {
      const loaded = opLoadAndDelete(0);
      return loaded == 1 ? opSwap(0, 0) : loaded;
    }
    case RANGE:
      return opRange(false);
    case ADVERSARIAL_ALLOC: {
      const status = opLoad(i);
      if (status < 0) return status;
      if (++loadsSinceStore > stores) {
        const stored = opLoadOrStore(i, stores);
        loadsSinceStore = 0;
        stores++;
        return stored;
      }
      return status;
    }
    case ADVERSARIAL_DELETE: {
      const status = opLoad(i);
      if (status < 0 || i % RANGE_SIZE != 0) return status;
      const seen = opRange(true);
      if (seen < 0) return seen;
      if (seen) {
        const deleted = opLoadAndDelete(firstKey);
        if (deleted < 0) return deleted;
      }
      return opSwap(i, i);
    }
    case DELETE_COLLISION:
      return opLoadAndDelete(0);
    case SWAP_COLLISION:
      return opSwap(0, 0);
    case SWAP_MOSTLY_HITS:
    case SWAP_MOSTLY_MISSES: {
      const hits = benchCase == SWAP_MOSTLY_HITS ? MOSTLY : 1;
      if (i % (MOSTLY + 1) < hits) {
        const v = i % (MOSTLY + 1);
        return opSwap(v, v);
      }
      const status = opSwap(i, i);
      return status < 0 ? status : opLoadAndDelete(i);
    }
    case COMPARE_AND_SWAP_COLLISION: {
      const swapped = opCompareAndSwap(0, 0, 42);
      return swapped == 1 ? opCompareAndSwap(0, 42, 0) : swapped;
    }
    case COMPARE_AND_SWAP_NO_EXISTING_KEY: {
      const swapped = opCompareAndSwap(i, 0, 0);
      return swapped == 1 ? opLoadAndDelete(i) : swapped;
    }
    case COMPARE_AND_SWAP_VALUE_NOT_EQUAL:
      return opCompareAndSwap(0, 1, 2);
    case COMPARE_AND_SWAP_MOSTLY_HITS:
    case COMPARE_AND_SWAP_MOSTLY_MISSES: {
      const hits = benchCase == COMPARE_AND_SWAP_MOSTLY_HITS ? MOSTLY : 1;
      const v = i % (MOSTLY + 1) < hits ? i % (MOSTLY + 1) : i;
      return opCompareAndSwap(v, v, v);
    }
    case COMPARE_AND_DELETE_COLLISION: {
      const deleted = opCompareAndDelete(0, 0);
      return deleted == 1 ? opSwap(0, 0) : deleted;
    }
    case COMPARE_AND_DELETE_MOSTLY_HITS:
    case COMPARE_AND_DELETE_MOSTLY_MISSES: {
      const hits = benchCase == COMPARE_AND_DELETE_MOSTLY_HITS ? MOSTLY : 1;
      const v = i % (MOSTLY + 1) < hits ? i % (MOSTLY + 1) : i;
      const deleted = opCompareAndDelete(v, v);
      return deleted == 1 ? opSwap(v, v) : deleted;
    }
    case CLEAR: {
      const status = opClear();
      return status < 0 ? status : opSwap(i % 256, i % 256);
    }
    default:
      return Status.BAD_ARGUMENT;
  }
}
