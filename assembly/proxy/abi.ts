// The proxy-wasm ABI 0.2.1 (proxy-wasm/spec, abi-versions/v0.2.1): every host
// function the filter imports, and the constants of the spec it uses. This file
// is the complete import list of build/syncmap-filter.wasm; the exports are in
// index-proxy.ts (callbacks in filter.ts, proxy_on_memory_allocate in hostmem.ts).
//
// Every host function returns a Status; results come back through pointers to
// words in the plugin's memory. A host function that returns a buffer (header
// pairs, configuration, shared data) first asks the plugin for the memory with
// proxy_on_memory_allocate, so the buffer is the plugin's to free.
//
// Only env.proxy_* and one WASI call (random_get, listed in the spec under
// "Randomness") are imported: Envoy's hosts fail to link a module with any
// other import (PLATFORM.md).

// ── host functions ─────────────────────────────────────────────────────────

// @ts-ignore: decorator
@external("env", "proxy_log")
export declare function proxy_log(level: u32, message: usize, messageSize: usize): u32;

// @ts-ignore: decorator
@external("env", "proxy_get_buffer_bytes")
export declare function proxy_get_buffer_bytes(
  bufferType: u32, start: usize, maxSize: usize, returnData: usize, returnSize: usize,
): u32;

// @ts-ignore: decorator
@external("env", "proxy_get_header_map_pairs")
export declare function proxy_get_header_map_pairs(mapType: u32, returnData: usize, returnSize: usize): u32;

// @ts-ignore: decorator
@external("env", "proxy_replace_header_map_value")
export declare function proxy_replace_header_map_value(
  mapType: u32, key: usize, keySize: usize, value: usize, valueSize: usize,
): u32;

// @ts-ignore: decorator
@external("env", "proxy_define_metric")
export declare function proxy_define_metric(metricType: u32, name: usize, nameSize: usize, returnId: usize): u32;

// @ts-ignore: decorator
@external("env", "proxy_increment_metric")
export declare function proxy_increment_metric(metricId: u32, delta: i64): u32;

// @ts-ignore: decorator
@external("env", "proxy_get_shared_data")
export declare function proxy_get_shared_data(
  key: usize, keySize: usize, returnData: usize, returnSize: usize, returnCas: usize,
): u32;

// @ts-ignore: decorator
@external("env", "proxy_set_shared_data")
export declare function proxy_set_shared_data(
  key: usize, keySize: usize, value: usize, valueSize: usize, cas: u32,
): u32;

// Returns a wasi_errno_t: 0 SUCCESS, 21 FAULT, 28 INVAL.
// @ts-ignore: decorator
@external("wasi_snapshot_preview1", "random_get")
export declare function random_get(buffer: usize, size: usize): u32;

// ── spec constants ─────────────────────────────────────────────────────────

/** proxy_status_t */
export const enum HostStatus {
  OK = 0,
  NOT_FOUND = 1,
  BAD_ARGUMENT = 2,
  SERIALIZATION_FAILURE = 3,
  PARSE_FAILURE = 4,
  INVALID_MEMORY_ACCESS = 6,
  EMPTY = 7,
  CAS_MISMATCH = 8,
  INTERNAL_FAILURE = 10,
  UNIMPLEMENTED = 12,
}

/** proxy_log_level_t */
export const enum LogLevel {
  TRACE = 0,
  DEBUG = 1,
  INFO = 2,
  WARN = 3,
  ERROR = 4,
  CRITICAL = 5,
}

/** proxy_action_t */
export const enum Action {
  CONTINUE = 0,
  PAUSE = 1,
}

/** proxy_buffer_type_t (only the one the filter reads) */
export const enum BufferType {
  PLUGIN_CONFIGURATION = 7,
}

/** proxy_map_type_t (only the one the filter reads and writes) */
export const enum MapType {
  HTTP_REQUEST_HEADERS = 0,
}

/** proxy_metric_type_t (only the one the filter defines) */
export const enum MetricType {
  COUNTER = 0,
}

/** wasi_errno_t SUCCESS */
// @ts-ignore: decorator
@inline export const WASI_SUCCESS: u32 = 0;
