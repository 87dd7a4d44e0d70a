// The VM's one thread: sets up the core's heap in this VM's private memory and
// attaches to it as thread slot 0, as abi.ts (sm_create + sm_attach) does for a
// Node thread.
//
// A proxy-wasm host runs one VM per worker thread, each with a memory of its
// own, and never makes two calls into one VM at once (PLATFORM.md). So the core
// runs here exactly as in the Node build with a single attached thread: the
// atomics compile to plain accesses, the mutex to nothing (atomics.ts,
// mutex.ts), and epoch reclamation sees one slot, so whatever this thread
// retires is freed as soon as it is not pinned (collect()).
//
// No root map is published: the filter's maps hang off its root contexts
// (contexts.ts), one policy table each (policy.ts).

import { heapClaimInit, heapPublish } from "../heap";
import { allocInit } from "../alloc";
import { slotClaim } from "../slots";
import { threadBind } from "../thread";

// The id this VM's thread gives slotClaim (Node's threadId in the other build).
// @ts-ignore: decorator
@inline const THREAD_ID: u32 = 0;

let ready: bool = false;

/**
 * Lays out the heap and attaches. False when the heap cannot be laid out: the
 * module's static data reaches past ROOT (heap.ts), or memory is exhausted.
 * Called once, from _initialize; no host call is made (there is no context yet
 * to log into), so vmReady() is checked and reported by proxy_on_vm_start.
 */
export function vmInit(): bool {
  if (ready) return true;
  if (!heapClaimInit()) return false;
  allocInit();
  heapPublish(0);
  const slot = slotClaim(THREAD_ID);
  if (!slot) return false;
  threadBind(slot);
  ready = true;
  return true;
}

// @ts-ignore: decorator
@inline export function vmReady(): bool {
  return ready;
}
