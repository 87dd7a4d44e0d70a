// Entry point of the proxy-wasm build (build/syncmap-filter.wasm): the same core
// compiled without threads, one VM per host worker thread, a memory of its own,
// under the ABI layer in proxy/ (abi.ts lists every import).
//
// Exports: memory (by the compiler), _initialize (the start function below,
// exported under that name by asconfig.json's exportStart), the ABI marker, and
// the callbacks of proxy/filter.ts.

import { filterInit } from "./proxy/filter";

export {
  proxy_on_memory_allocate,
  proxy_on_context_create,
  proxy_on_vm_start,
  proxy_on_configure,
  proxy_on_request_headers,
  proxy_on_done,
  proxy_on_delete,
} from "./proxy/filter";

/** Advertises proxy-wasm ABI 0.2.1 to the host; never called. */
export function proxy_abi_version_0_2_1(): void {}

filterInit();
