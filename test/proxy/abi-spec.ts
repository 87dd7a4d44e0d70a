/**
 * Proxy-Wasm ABI 0.2.1 as the specification lists it (proxy-wasm/spec,
 * abi-versions/v0.2.1/README.md): every function the host exposes, every
 * callback a plugin may export, with their Wasm signatures, and the constants.
 */
import type { FuncType } from './wasm-binary.js';

const i32 = 'i32' as const;
const i64 = 'i64' as const;

function fn(params: Array<'i32' | 'i64'>, results: Array<'i32' | 'i64'> = [i32]): FuncType {
  return { params, results };
}
function n(count: number): Array<'i32'> {
  return Array.from({ length: count }, () => i32);
}

/** Functions exposed by the host, by module and name. All are required of a host. */
export const HOST_FUNCTIONS: Record<string, Record<string, FuncType>> = {
  env: {
    proxy_done: fn([]),
    proxy_set_effective_context: fn(n(1)),
    proxy_log: fn(n(3)),
    proxy_get_log_level: fn(n(1)),
    proxy_get_current_time_nanoseconds: fn(n(1)),
    proxy_set_tick_period_milliseconds: fn(n(1)),
    proxy_set_buffer_bytes: fn(n(5)),
    proxy_get_buffer_bytes: fn(n(5)),
    proxy_get_buffer_status: fn(n(3)),
    proxy_get_header_map_size: fn(n(2)),
    proxy_get_header_map_pairs: fn(n(3)),
    proxy_set_header_map_pairs: fn(n(3)),
    proxy_get_header_map_value: fn(n(5)),
    proxy_add_header_map_value: fn(n(5)),
    proxy_replace_header_map_value: fn(n(5)),
    proxy_remove_header_map_value: fn(n(3)),
    proxy_continue_stream: fn(n(1)),
    proxy_close_stream: fn(n(1)),
    proxy_get_status: fn(n(3)),
    proxy_send_local_response: fn(n(8)),
    proxy_http_call: fn(n(10)),
    proxy_grpc_call: fn(n(12)),
    proxy_grpc_stream: fn(n(9)),
    proxy_grpc_send: fn(n(4)),
    proxy_grpc_cancel: fn(n(1)),
    proxy_grpc_close: fn(n(1)),
    proxy_set_shared_data: fn(n(5)),
    proxy_get_shared_data: fn(n(5)),
    proxy_register_shared_queue: fn(n(3)),
    proxy_resolve_shared_queue: fn(n(5)),
    proxy_enqueue_shared_queue: fn(n(3)),
    proxy_dequeue_shared_queue: fn(n(3)),
    proxy_define_metric: fn(n(4)),
    proxy_record_metric: fn([i32, i64]),
    proxy_increment_metric: fn([i32, i64]),
    proxy_get_metric: fn(n(2)),
    proxy_get_property: fn(n(4)),
    proxy_set_property: fn(n(4)),
    proxy_call_foreign_function: fn(n(6)),
  },
  wasi_snapshot_preview1: {
    fd_write: fn(n(4)),
    clock_time_get: fn([i32, i64, i32]),
    random_get: fn(n(2)),
    environ_sizes_get: fn(n(2)),
    environ_get: fn(n(2)),
    args_sizes_get: fn(n(2)),
    args_get: fn(n(2)),
    proc_exit: fn(n(1), []),
  },
};

/** Functions a plugin may export (all optional but the marker), by name. */
export const PLUGIN_EXPORTS: Record<string, FuncType> = {
  proxy_abi_version_0_2_1: fn([], []),
  _initialize: fn([], []),
  main: fn(n(2)),
  _start: fn([], []),
  proxy_on_memory_allocate: fn(n(1)),
  malloc: fn(n(1)),
  proxy_on_context_create: fn(n(2), []),
  proxy_on_done: fn(n(1)),
  proxy_on_log: fn(n(1), []),
  proxy_on_delete: fn(n(1), []),
  proxy_on_vm_start: fn(n(2)),
  proxy_on_configure: fn(n(2)),
  proxy_on_tick: fn(n(1), []),
  proxy_on_new_connection: fn(n(1)),
  proxy_on_downstream_data: fn(n(3)),
  proxy_on_downstream_connection_close: fn(n(2), []),
  proxy_on_upstream_data: fn(n(3)),
  proxy_on_upstream_connection_close: fn(n(2), []),
  proxy_on_request_headers: fn(n(3)),
  proxy_on_request_body: fn(n(3)),
  proxy_on_request_trailers: fn(n(2)),
  proxy_on_response_headers: fn(n(3)),
  proxy_on_response_body: fn(n(3)),
  proxy_on_response_trailers: fn(n(2)),
  proxy_on_http_call_response: fn(n(5), []),
  proxy_on_grpc_receive_initial_metadata: fn(n(3), []),
  proxy_on_grpc_receive: fn(n(3), []),
  proxy_on_grpc_receive_trailing_metadata: fn(n(3), []),
  proxy_on_grpc_close: fn(n(3), []),
  proxy_on_queue_ready: fn(n(2), []),
  proxy_on_foreign_function: fn(n(3), []),
};

/** proxy_status_t */
export const Status = {
  OK: 0,
  NOT_FOUND: 1,
  BAD_ARGUMENT: 2,
  SERIALIZATION_FAILURE: 3,
  PARSE_FAILURE: 4,
  INVALID_MEMORY_ACCESS: 6,
  EMPTY: 7,
  CAS_MISMATCH: 8,
  INTERNAL_FAILURE: 10,
  UNIMPLEMENTED: 12,
} as const;

/** wasi_errno_t */
export const Errno = { SUCCESS: 0, BADF: 8, FAULT: 21, INVAL: 28, NOTSUP: 58 } as const;

/** proxy_log_level_t */
export const LogLevel = { TRACE: 0, DEBUG: 1, INFO: 2, WARN: 3, ERROR: 4, CRITICAL: 5 } as const;

/** proxy_action_t */
export const Action = { CONTINUE: 0, PAUSE: 1 } as const;

/** proxy_buffer_type_t */
export const BufferType = {
  HTTP_REQUEST_BODY: 0,
  HTTP_RESPONSE_BODY: 1,
  DOWNSTREAM_DATA: 2,
  UPSTREAM_DATA: 3,
  HTTP_CALL_RESPONSE_BODY: 4,
  GRPC_CALL_MESSAGE: 5,
  VM_CONFIGURATION: 6,
  PLUGIN_CONFIGURATION: 7,
  FOREIGN_FUNCTION_ARGUMENTS: 8,
} as const;

/** proxy_map_type_t */
export const MapType = {
  HTTP_REQUEST_HEADERS: 0,
  HTTP_REQUEST_TRAILERS: 1,
  HTTP_RESPONSE_HEADERS: 2,
  HTTP_RESPONSE_TRAILERS: 3,
  GRPC_CALL_INITIAL_METADATA: 4,
  GRPC_CALL_TRAILING_METADATA: 5,
  HTTP_CALL_RESPONSE_HEADERS: 6,
  HTTP_CALL_RESPONSE_TRAILERS: 7,
} as const;

/** proxy_metric_type_t */
export const MetricType = { COUNTER: 0, GAUGE: 1, HISTOGRAM: 2 } as const;
