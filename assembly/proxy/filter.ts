// The filter: the proxy-wasm callbacks the plugin exports (index-proxy.ts
// re-exports every function here), a per-region route policy for Envoy: a
// request header (default x-region) picks a route policy, whose timeout goes
// into x-envoy-upstream-rq-timeout-ms and whose headers are set on the request;
// a request that names no policy gets the default, if any.
//
// Callbacks, in the order a host makes them:
//   _initialize                  lay out the heap, attach as thread 0 (vm.ts)
//   proxy_on_memory_allocate     buffers the host returns (hostmem.ts)
//   proxy_on_context_create      file root and stream contexts (contexts.ts)
//   proxy_on_vm_start            report a failed _initialize
//   proxy_on_configure           read the JSON, build a new table, switch, or
//                                refuse and keep the old one (config.ts)
//   proxy_on_request_headers     look the header up and apply the policy
//   proxy_on_done, proxy_on_delete
//
// One call at a time per VM (the host's promise), so nothing here locks; each
// request's lookup and use of its policy runs pinned, as every core operation.

import {
  Action, BufferType, HostStatus, LogLevel, MapType, proxy_get_buffer_bytes, proxy_get_header_map_pairs, proxy_log,
  proxy_replace_header_map_value,
} from "./abi";
import { vmInit, vmReady } from "./vm";
import { CLEAR_RESULTS, RESULT, RESULT_DATA, RESULT_SIZE, hostAllocate, hostFree, hostmemInit, inMemory, results } from "./hostmem";
import { TEXTS_INDEX_SIZE, TEXT_AT, TEXT_LEN, Text, textScan, textScanLength, textsIndex, textsNarrow } from "./texts";
import { logEmit, logInit, logNumber, logQuoted, logStart, logText } from "./log";
import { MAX_CONFIG_BYTES, configInit, configLoad, refusalEnd, refusalStart } from "./config";
import { ROOT_TABLE_OF, contextDelete, contextRoot, contextsInit, rootCreate, rootInstall, rootIs, streamCreate } from "./contexts";
import {
  HEADER_NAME_AT, HEADER_NAME_BYTES, HEADER_VALUE_AT, HEADER_VALUE_BYTES, POLICY_DIGITS_AT, POLICY_DIGITS_BYTES,
  POLICY_HEADERS, POLICY_KEY_AT, POLICY_KEY_BYTES, POLICY_TIMEOUT, TABLE_HEADER_AT, TABLE_HEADER_BYTES,
  TABLE_POLICY_COUNT, headerNext, policyFirstHeader, policyTableDefault, policyTableLookup, weakHashKey,
} from "./policy";
import { headerFind, foundValue, foundValueLen } from "./headers";
import { count, hits, lookups, metricsDefine, misses, reloads, reloadsRejected } from "./metrics";
import { counterEnsureAll, counterIncrement, countersInit } from "./counters";
import { allocOrCollect } from "../memory";
import { pin, unpin } from "../reclaim";

let ready: bool = false;

/** _initialize: everything the callbacks need, allocated once. */
export function filterInit(): void {
  textsNarrow();
  if (!vmInit()) return;
  const index = allocOrCollect(TEXTS_INDEX_SIZE);
  if (!index || !textsIndex(index)) return;
  ready = hostmemInit() && logInit() && configInit() && contextsInit() && countersInit();
}

export function proxy_on_memory_allocate(size: usize): usize {
  return vmReady() ? hostAllocate(size) : 0;
}

export function proxy_on_context_create(context: u32, parent: u32): void {
  if (!ready) return;
  if (parent) streamCreate(context, parent);
  else rootCreate(context);
}

export function proxy_on_vm_start(root: u32, vmConfigurationSize: usize): bool {
  if (ready) return true;
  logInitFailed();
  return false;
}

/** Says that _initialize failed; the heap, and so the texts' index, may be missing. */
function logInitFailed(): void {
  const line = textScan(Text.INIT_FAILED);
  proxy_log(LogLevel.CRITICAL, line, textScanLength(line));
}

export function proxy_on_configure(rootContext: u32, size: usize): bool {
  if (!ready) {
    logInitFailed();
    return false;
  }
  let root = contextRoot(rootContext);
  if (!root) root = rootCreate(rootContext);
  metricsDefine();
  if (!root) return refuse(false, 0, Text.OUT_OF_MEMORY, -1, false);
  const previous = ROOT_TABLE_OF(root) != 0;
  // Refused unread; the offset is that of the first byte past the limit.
  if (size > MAX_CONFIG_BYTES) return refuse(previous, MAX_CONFIG_BYTES, Text.TOO_LARGE, size, true);
  let data: usize = 0;
  let len: usize = 0;
  if (size) {
    CLEAR_RESULTS();
    const status = proxy_get_buffer_bytes(BufferType.PLUGIN_CONFIGURATION, 0, size, results + RESULT_DATA, results + RESULT_SIZE);
    if (status != HostStatus.OK) return refuse(previous, 0, Text.READ_FAILED, status, false);
    data = <usize>RESULT(RESULT_DATA);
    len = <usize>RESULT(RESULT_SIZE);
    if (len > size || (len && !data) || !inMemory(data, len)) {
      hostFree(data);
      return refuse(previous, 0, Text.BAD_BUFFER, len, true);
    }
  }
  const table = configLoad(data, len, previous);
  hostFree(data);
  if (!table) {
    count(reloadsRejected);
    return false;
  }
  rootInstall(root, table);
  counterEnsureAll(table);
  count(reloads);
  logStart();
  logText(Text.LOADED);
  const policies = TABLE_POLICY_COUNT(table);
  logNumber(policies);
  logText(policies == 1 ? Text.POLICY_ON : Text.POLICIES_ON);
  logQuoted(TABLE_HEADER_AT(table), TABLE_HEADER_BYTES(table));
  const fallback = policyTableDefault(table);
  if (fallback) {
    logText(Text.DEFAULT_TIMEOUT);
    logNumber(POLICY_TIMEOUT(fallback));
    logText(Text.MS);
  } else {
    logText(Text.NO_DEFAULT);
  }
  if (weakHashKey) logText(Text.WEAK_KEY);
  logEmit(LogLevel.INFO);
  return true;
}

/**
 * Logs a refusal found before the JSON is read, in configLoad's format (at
 * byte `at`: the reason, `number` unless negative, " bytes" if `inBytes`, what
 * stays in force); counts it; always false.
 */
function refuse(previous: bool, at: usize, reason: Text, number: i64, inBytes: bool): bool {
  refusalStart(at);
  logText(reason);
  if (number >= 0) logNumber(<u64>number);
  if (inBytes) logText(Text.BYTES);
  refusalEnd(previous);
  count(reloadsRejected);
  return false;
}

export function proxy_on_request_headers(context: u32, headers: u32, endOfStream: u32): u32 {
  if (!ready) return Action.CONTINUE;
  const root = contextRoot(context);
  // Unknown, or a root context (which has no request headers): nothing to do.
  if (!root || rootIs(root, context)) return Action.CONTINUE;
  const table = ROOT_TABLE_OF(root);
  if (!table) return Action.CONTINUE;

  CLEAR_RESULTS();
  const status = proxy_get_header_map_pairs(
    MapType.HTTP_REQUEST_HEADERS, results + RESULT_DATA, results + RESULT_SIZE,
  );
  const data = <usize>RESULT(RESULT_DATA);
  const size = <usize>RESULT(RESULT_SIZE);
  pin();
  let policy: usize = 0;
  if (status == HostStatus.OK && (data || !size) && inMemory(data, size)) {
    // Absent, repeated (two values: which one is meant?), malformed, or longer
    // than any policy name: a miss. The found value lies inside `data`, so the
    // lookup happens before it is freed.
    if (headerFind(data, size, TABLE_HEADER_AT(table), TABLE_HEADER_BYTES(table)) == 1) {
      policy = policyTableLookup(table, foundValue, foundValueLen);
    }
  }
  hostFree(data);
  count(lookups);
  count(policy ? hits : misses);
  if (!policy) policy = policyTableDefault(table);
  if (policy) apply(policy);
  unpin();
  return Action.CONTINUE;
}

/** Sets the policy's timeout and headers on the request, and counts it. The caller is pinned. */
function apply(policy: usize): void {
  proxy_replace_header_map_value(
    MapType.HTTP_REQUEST_HEADERS, TEXT_AT(Text.TIMEOUT_HEADER), TEXT_LEN(Text.TIMEOUT_HEADER),
    POLICY_DIGITS_AT(policy), POLICY_DIGITS_BYTES(policy),
  );
  let header = policyFirstHeader(policy);
  const n = POLICY_HEADERS(policy);
  for (let i: u32 = 0; i < n; i++) {
    proxy_replace_header_map_value(
      MapType.HTTP_REQUEST_HEADERS, HEADER_NAME_AT(header), HEADER_NAME_BYTES(header),
      HEADER_VALUE_AT(header), HEADER_VALUE_BYTES(header),
    );
    header = headerNext(header);
  }
  counterIncrement(POLICY_KEY_AT(policy), POLICY_KEY_BYTES(policy));
}

export function proxy_on_done(context: u32): bool {
  return true;
}

export function proxy_on_delete(context: u32): void {
  if (ready) contextDelete(context);
}
