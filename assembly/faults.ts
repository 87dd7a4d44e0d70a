// Fault injection for the crash-consistency tests (debug build only).
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

export function faultAfter(crashPoints: u32): void {
  countdown = crashPoints;
}

// @ts-ignore: decorator
@inline export function crashPoint(): void {
  if (DEBUG) {
    if (countdown && --countdown == 0) unreachable();
  }
}
