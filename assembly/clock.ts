// The host's clock, for the threads build: milliseconds since the Unix epoch
// (performance.timeOrigin + performance.now() in the bindings, instance.ts), so
// that a time one thread records is comparable with another thread's, and two
// readings in one thread differ by the time between them at sub-millisecond
// resolution. The proxy build never calls it (no import: proxy-wasm hosts give
// no such function).

// @ts-ignore: decorator
@external("env", "nowMs")
export declare function hostNowMs(): f64;

/** The host's clock in whole seconds (0 without threads, where nothing calls the host). */
export function nowSeconds(): u32 {
  return ASC_FEATURE_THREADS ? <u32>(hostNowMs() / 1000) : 0;
}
