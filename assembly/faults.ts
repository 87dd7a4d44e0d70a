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
// Thread-local: allocations left before one fails; 0 = disarmed.
let allocationsLeft: u32 = 0;

export function faultAfter(crashPoints: u32): void {
  countdown = crashPoints;
}

/** Arms the allocation fault: the n-th allocation this thread makes for the map fails (FULL). */
export function faultFailAllocation(n: u32): void {
  allocationsLeft = n;
}

/** True when this allocation is the one armed to fail (debug build only; memory.ts asks). */
// @ts-ignore: decorator
@inline export function failAllocation(): bool {
  if (DEBUG) {
    if (allocationsLeft && --allocationsLeft == 0) return true;
  }
  return false;
}

// @ts-ignore: decorator
@inline export function crashPoint(): void {
  if (DEBUG) {
    if (countdown && --countdown == 0) unreachable();
  }
}
