// Entry point of the proxy-wasm build (build/syncmap-filter.wasm): the same core
// compiled without threads, one VM per host worker thread, memory of its own.
// (A placeholder until the filter lands: it only declares the ABI version.)
export function proxy_abi_version_0_2_1(): void {}
