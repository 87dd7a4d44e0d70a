// Which root context every context belongs to, and what each root context holds.
//
// The host creates a root (plugin) context per plugin configuration it runs in
// this VM, and a stream context per HTTP request, naming its root as parent
// (proxy_on_context_create). Envoy applies a new configuration by creating a
// new root context (after checking it in a VM of its own) and keeping the old
// one while its requests finish (PLATFORM.md), so one VM can hold several root
// contexts, each with its own policy table; a request uses the table of its
// own root.
//
//   root record (ROOT_RECORD_SIZE = 16 bytes, one per root context)
//   ┌────────────┬────────────┬────────────┬────────────┐
//   │ contextId  │ table u32  │ streams u32│ deleted u32│
//   └────────────┴────────────┴────────────┴────────────┘
//   table    the policy table in force (policy.ts), 0 before the first good
//            configuration. Replaced as one store (rootInstall).
//   streams  stream contexts alive under this root; the record is freed when
//            the root has been deleted and its last stream goes too.
//   deleted  1 once proxy_on_delete ran for the root itself.
//
//   context table: open addressing, linear probing, CONTEXT_SLOT_SIZE = 8
//   ┌───────────────┬───────────────┐
//   │ contextId u32 │ root u32      │   × capacity (a power of two)
//   └───────────────┴───────────────┘
//   contextId 0 marks an empty slot (the host never uses 0 for a context: it
//   means "no parent"). Removal shifts the rest of the chain back, so there are
//   no tombstones and the load stays count / capacity <= 3/4.

import { free } from "../alloc";
import { allocOrCollect } from "../memory";
import { policyTableDestroy } from "./policy";

// @ts-ignore: decorator
@inline const ROOT_CONTEXT_ID: usize = 0;
// @ts-ignore: decorator
@inline const ROOT_TABLE: usize = 4;
// @ts-ignore: decorator
@inline const ROOT_STREAMS: usize = 8;
// @ts-ignore: decorator
@inline const ROOT_DELETED: usize = 12;
// @ts-ignore: decorator
@inline const ROOT_RECORD_SIZE: usize = 16;

// @ts-ignore: decorator
@inline const SLOT_CONTEXT: usize = 0;
// @ts-ignore: decorator
@inline const SLOT_ROOT: usize = 4;
// @ts-ignore: decorator
@inline const CONTEXT_SLOT_SIZE: usize = 8;
// 64 slots (512 bytes) hold 48 contexts before the first growth.
// @ts-ignore: decorator
@inline const CONTEXTS_MIN_CAPACITY: u32 = 64;

let slots: usize = 0;
let capacity: u32 = 0;
let count: u32 = 0;

// @ts-ignore: decorator
@inline export function ROOT_TABLE_OF(root: usize): usize { return <usize>load<u32>(root + ROOT_TABLE); }

// @ts-ignore: decorator
@inline function slotAt(i: u32): usize { return slots + (<usize>i) * CONTEXT_SLOT_SIZE; }

// Fibonacci hashing: context ids are small consecutive numbers.
// @ts-ignore: decorator
@inline function homeOf(context: u32, cap: u32): u32 {
  return <u32>(((<u64>(context * 0x9E3779B1)) * (<u64>cap)) >> 32);
}

export function contextsInit(): bool {
  if (slots) return true;
  slots = allocOrCollect((<usize>CONTEXTS_MIN_CAPACITY) * CONTEXT_SLOT_SIZE);
  if (!slots) return false;
  capacity = CONTEXTS_MIN_CAPACITY;
  memory.fill(slots, 0, (<usize>capacity) * CONTEXT_SLOT_SIZE);
  return true;
}

/** The root record of `context` (a root or a stream), or 0. */
export function contextRoot(context: u32): usize {
  if (!context || !slots) return 0;
  const mask = capacity - 1;
  let i = homeOf(context, capacity);
  while (true) {
    const slot = slotAt(i);
    const seen = load<u32>(slot + SLOT_CONTEXT);
    if (seen == context) return <usize>load<u32>(slot + SLOT_ROOT);
    if (!seen) return 0;
    i = (i + 1) & mask;
  }
}

/** True if `context` is the root context that `root` (its record) stands for. */
// @ts-ignore: decorator
@inline export function rootIs(root: usize, context: u32): bool {
  return load<u32>(root + ROOT_CONTEXT_ID) == context;
}

/** A record for a new root context; 0 when memory is exhausted. */
export function rootCreate(context: u32): usize {
  if (!context || contextRoot(context)) return 0;
  const root = allocOrCollect(ROOT_RECORD_SIZE);
  if (!root) return 0;
  memory.fill(root, 0, ROOT_RECORD_SIZE);
  store<u32>(root + ROOT_CONTEXT_ID, context);
  if (!insert(context, root)) {
    free(root, ROOT_RECORD_SIZE);
    return 0;
  }
  return root;
}

/** Files a new stream context under its root. False if the root is unknown or memory is exhausted. */
export function streamCreate(context: u32, parent: u32): bool {
  const root = contextRoot(parent);
  if (!root || !rootIs(root, parent) || contextRoot(context)) return false;
  if (!insert(context, root)) return false;
  store<u32>(root + ROOT_STREAMS, load<u32>(root + ROOT_STREAMS) + 1);
  return true;
}

/**
 * Switches the root's policy table to `table` in one store and destroys the
 * table it replaces: the VM runs one call at a time, so no request is using it.
 */
export function rootInstall(root: usize, table: usize): void {
  const previous = ROOT_TABLE_OF(root);
  store<u32>(root + ROOT_TABLE, <u32>table);
  if (previous) policyTableDestroy(previous);
}

/** Forgets a context; for a root, also its table, and its record once no stream needs it. */
export function contextDelete(context: u32): void {
  const root = contextRoot(context);
  if (!root) return;
  remove(context);
  if (rootIs(root, context)) {
    rootInstall(root, 0);
    store<u32>(root + ROOT_DELETED, 1);
  } else {
    store<u32>(root + ROOT_STREAMS, load<u32>(root + ROOT_STREAMS) - 1);
  }
  if (load<u32>(root + ROOT_DELETED) && !load<u32>(root + ROOT_STREAMS)) free(root, ROOT_RECORD_SIZE);
}

function insert(context: u32, root: usize): bool {
  if ((<u64>(count + 1)) * 4 > (<u64>capacity) * 3 && !grow()) return false;
  place(context, root);
  count++;
  return true;
}

function place(context: u32, root: usize): void {
  const mask = capacity - 1;
  let i = homeOf(context, capacity);
  while (load<u32>(slotAt(i) + SLOT_CONTEXT)) i = (i + 1) & mask;
  store<u32>(slotAt(i) + SLOT_CONTEXT, context);
  store<u32>(slotAt(i) + SLOT_ROOT, <u32>root);
}

function grow(): bool {
  if (capacity >= 1 << 26) return false;
  const oldSlots = slots;
  const oldCapacity = capacity;
  const bytes = (<usize>oldCapacity << 1) * CONTEXT_SLOT_SIZE;
  const grown = allocOrCollect(bytes);
  if (!grown) return false;
  memory.fill(grown, 0, bytes);
  slots = grown;
  capacity = oldCapacity << 1;
  for (let i: u32 = 0; i < oldCapacity; i++) {
    const slot = oldSlots + (<usize>i) * CONTEXT_SLOT_SIZE;
    const context = load<u32>(slot + SLOT_CONTEXT);
    if (context) place(context, <usize>load<u32>(slot + SLOT_ROOT));
  }
  free(oldSlots, (<usize>oldCapacity) * CONTEXT_SLOT_SIZE);
  return true;
}

/** Removes `context` (present), shifting later members of its chain back into the hole. */
function remove(context: u32): void {
  const mask = capacity - 1;
  let hole = homeOf(context, capacity);
  while (load<u32>(slotAt(hole) + SLOT_CONTEXT) != context) hole = (hole + 1) & mask;
  let i = hole;
  while (true) {
    i = (i + 1) & mask;
    const seen = load<u32>(slotAt(i) + SLOT_CONTEXT);
    if (!seen) break;
    const home = homeOf(seen, capacity);
    // `seen` may move into the hole if its home is not in (hole, i], cyclically.
    const stays = hole <= i ? home > hole && home <= i : home > hole || home <= i;
    if (stays) continue;
    store<u64>(slotAt(hole), load<u64>(slotAt(i)));
    hole = i;
  }
  store<u64>(slotAt(hole), 0);
  count--;
}
