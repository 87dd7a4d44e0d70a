// Fault injection for the crash-consistency and allocation-failure tests
// (debug build only).
//
// crashPoint() marks a place inside a critical section where a thread could be
// stopped by Worker.terminate(): between two stores that only together restore
// an invariant. In the debug build, a test arms a countdown with
// sm_debugFaultAfter(n) and the n-th crash point reached traps, leaving the
// shared state exactly as a thread stopped there would leave it: locks held,
// changes half made. In the release build crashPoint() compiles to nothing.

import { DEBUG } from "./config";

// Thread-local: crash points left before the trap; 0 = disarmed.
let countdown: u32 = 0;
// Thread-local: whether the armed crash point trapped (a test tells it from any other trap).
let fired = false;
// Thread-local: allocations left before they fail; 0 = disarmed.
let allocationsLeft: u32 = 0;
// Thread-local: true once the armed allocation has failed; every later one fails too.
let failing = false;

export function faultAfter(crashPoints: u32): void {
  countdown = crashPoints;
  fired = false;
}

/** True once the crash point armed by faultAfter has trapped. */
export function faultFired(): bool {
  return fired;
}

/**
 * Arms the allocation fault: the n-th allocation this thread makes for the map
 * fails (FULL), and so does every one after it until this is called with 0: as
 * when memory is exhausted, so that a write's retry after making room
 * (abi.ts, makeRoom) fails too and the failure reaches the caller.
 */
export function faultFailAllocation(n: u32): void {
  allocationsLeft = n;
  failing = false;
}

/** True when allocations are armed to fail from here on (debug build only; memory.ts asks). */
// @ts-ignore: decorator
@inline export function failAllocation(): bool {
  if (DEBUG) {
    if (failing) return true;
    if (allocationsLeft && --allocationsLeft == 0) {
      failing = true;
      return true;
    }
  }
  return false;
}

// @ts-ignore: decorator
@inline export function crashPoint(): void {
  if (DEBUG) {
    if (countdown && --countdown == 0) {
      fired = true;
      unreachable();
    }
  }
}
