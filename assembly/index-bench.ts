// Entry point of the benchmark build (build/syncmap-bench.wasm, not published):
// the Node build's ABI (abi.ts) plus the in-Wasm loops of Go's benchmark cases
// (bench.ts), which bindings/bench-core.ts drives.
//
// A memory can be attached only by the build that laid it out (BUILD_STAMP), so
// a map whose threads run these loops is created with this module
// (createBenchMap in bindings/bench-core.ts), never with build/syncmap.wasm.
export * from "./abi";
export * from "./bench";
