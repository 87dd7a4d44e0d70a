// Entry point of the Node build (build/syncmap.wasm): threads on, one imported
// shared memory, every thread running its own instance of this module.
export * from "./abi";
export * from "./bench";
