// The filter's counters, defined with proxy_define_metric and bumped with
// proxy_increment_metric. The host owns them (Envoy shows them in its stats,
// prefixed "wasmcustom."); names are per process, so every worker's VM adds to
// the same counters.
//
//   syncmap_filter.lookups           requests looked up (each request: one)
//   syncmap_filter.hits              requests whose header value named a policy
//   syncmap_filter.misses            all other requests: no header, an empty
//                                    or a repeated one, a value longer than a
//                                    policy name can be, or a value no policy has
//   syncmap_filter.reloads           configurations loaded (the first one too),
//                                    once per root context (below)
//   syncmap_filter.reloads_rejected  configurations refused, likewise
//
// lookups == hits + misses. reloads and reloads_rejected count once per root
// context that loads or refuses a configuration, so once per VM: each VM
// decides alone, and the ABI gives VMs no way to agree that a configuration
// was already counted (shared data has no insert-if-absent and no delete, so a
// mark per configuration could neither be made safely nor ever be removed).
// In Envoy, an accepted configuration is loaded in W + 2 VMs (its check VM,
// the main thread's, one per worker), and a refused one in the check VM alone.
//
// Metric ids are opaque: Envoy's are never 0 (PLATFORM.md), but the spec does
// not say so, so each is kept with a bit above its 32 that says it was defined
// (0: not defined). A counter the host refused to define is skipped, not fatal.

import { LogLevel, MetricType, HostStatus, proxy_define_metric, proxy_increment_metric } from "./abi";
import { CLEAR_RESULTS, RESULT, RESULT_ID, results } from "./hostmem";
import { TEXT_AT, TEXT_LEN, Text } from "./texts";
import { logEmit, logStart, logText } from "./log";

export let lookups: u64 = 0;
export let hits: u64 = 0;
export let misses: u64 = 0;
export let reloads: u64 = 0;
export let reloadsRejected: u64 = 0;

// The bit of a kept metric that says the host defined it.
// @ts-ignore: decorator
@inline const DEFINED: u64 = 1 << 32;

let defined: bool = false;

/** Defines the counters once per VM. Logs a warning for any the host refuses. */
export function metricsDefine(): void {
  if (defined) return;
  defined = true;
  lookups = define(Text.METRIC_LOOKUPS);
  hits = define(Text.METRIC_HITS);
  misses = define(Text.METRIC_MISSES);
  reloads = define(Text.METRIC_RELOADS);
  reloadsRejected = define(Text.METRIC_RELOADS_REJECTED);
  if (!lookups || !hits || !misses || !reloads || !reloadsRejected) {
    logStart();
    logText(Text.METRIC_REFUSED);
    logEmit(LogLevel.WARN);
  }
}

function define(name: Text): u64 {
  CLEAR_RESULTS();
  if (proxy_define_metric(MetricType.COUNTER, TEXT_AT(name), TEXT_LEN(name), results + RESULT_ID) != HostStatus.OK) return 0;
  return DEFINED | <u64>RESULT(RESULT_ID);
}

// @ts-ignore: decorator
@inline export function count(metric: u64): void {
  if (metric) proxy_increment_metric(<u32>metric, 1);
}
