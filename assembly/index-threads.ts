// Entry point of the Node build (build/syncmap.wasm, published): threads on,
// one imported shared memory, every thread running its own instance of this
// module. It holds the map and nothing else: the benchmark loops are built into
// build/syncmap-bench.wasm (index-bench.ts).
export * from "./abi";
