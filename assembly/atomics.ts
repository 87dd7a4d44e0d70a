// The platform layer: every access to a word that more than one thread may touch
// goes through one of these helpers.
//
// With threads (the Node build) they are Wasm atomics, which are all
// sequentially consistent. Without threads (the proxy-wasm build, whose hosts
// reject atomic opcodes and run one thread per VM) they are plain loads and
// stores. ASC_FEATURE_THREADS is a compile-time constant, so the branch not taken
// is removed and the proxy build holds zero atomic instructions; this is the one
// file besides mutex.ts that knows which build it is in.

// The futex wait goes through JavaScript: in Node 20 (V8 11.3), a Wasm
// `memory.atomic.wait32` compiled by Liftoff corrupts other locals of the calling
// function (see PLATFORM.md). `Atomics.wait` on the same memory is unaffected.
// Returns 0 when woken, 1 when the word did not hold `expected`, 2 on timeout.
// @ts-ignore: decorator
@external("env", "futexWait")
declare function hostFutexWait(ptr: usize, expected: i32, timeoutMs: f64): i32;

// @ts-ignore: decorator
@inline export function load32(ptr: usize): u32 {
  if (ASC_FEATURE_THREADS) return atomic.load<u32>(ptr);
  return load<u32>(ptr);
}

// @ts-ignore: decorator
@inline export function store32(ptr: usize, value: u32): void {
  if (ASC_FEATURE_THREADS) atomic.store<u32>(ptr, value);
  else store<u32>(ptr, value);
}

// @ts-ignore: decorator
@inline export function load64(ptr: usize): u64 {
  if (ASC_FEATURE_THREADS) return atomic.load<u64>(ptr);
  return load<u64>(ptr);
}

// @ts-ignore: decorator
@inline export function store64(ptr: usize, value: u64): void {
  if (ASC_FEATURE_THREADS) atomic.store<u64>(ptr, value);
  else store<u64>(ptr, value);
}

/** Compare-and-swap; returns the value seen (== expected on success). */
// @ts-ignore: decorator
@inline export function cas32(ptr: usize, expected: u32, desired: u32): u32 {
  if (ASC_FEATURE_THREADS) return atomic.cmpxchg<u32>(ptr, expected, desired);
  const seen = load<u32>(ptr);
  if (seen == expected) store<u32>(ptr, desired);
  return seen;
}

/** Compare-and-swap; returns the value seen (== expected on success). */
// @ts-ignore: decorator
@inline export function cas64(ptr: usize, expected: u64, desired: u64): u64 {
  if (ASC_FEATURE_THREADS) return atomic.cmpxchg<u64>(ptr, expected, desired);
  const seen = load<u64>(ptr);
  if (seen == expected) store<u64>(ptr, desired);
  return seen;
}

/** Atomic add; returns the previous value. */
// @ts-ignore: decorator
@inline export function atomicAdd64(ptr: usize, delta: u64): u64 {
  if (ASC_FEATURE_THREADS) return atomic.add<u64>(ptr, delta);
  const seen = load<u64>(ptr);
  store<u64>(ptr, seen + delta);
  return seen;
}

/**
 * Raises the u64 word at `ptr` to `value` if it holds less (a CAS loop: the
 * word only ever rises); returns what it holds then, `value` or more.
 */
export function atomicMax64(ptr: usize, value: u64): u64 {
  let seen = load64(ptr);
  while (value > seen) {
    const witness = cas64(ptr, seen, value);
    if (witness == seen) return value;
    seen = witness;
  }
  return seen;
}

/** Atomic add; returns the previous value. */
// @ts-ignore: decorator
@inline export function atomicAdd32(ptr: usize, delta: u32): u32 {
  if (ASC_FEATURE_THREADS) return atomic.add<u32>(ptr, delta);
  const seen = load<u32>(ptr);
  store<u32>(ptr, seen + delta);
  return seen;
}

/** Atomic or; returns the previous value. */
// @ts-ignore: decorator
@inline export function atomicOr32(ptr: usize, bits: u32): u32 {
  if (ASC_FEATURE_THREADS) return atomic.or<u32>(ptr, bits);
  const seen = load<u32>(ptr);
  store<u32>(ptr, seen | bits);
  return seen;
}

/** Atomic and; returns the previous value. */
// @ts-ignore: decorator
@inline export function atomicAnd32(ptr: usize, bits: u32): u32 {
  if (ASC_FEATURE_THREADS) return atomic.and<u32>(ptr, bits);
  const seen = load<u32>(ptr);
  store<u32>(ptr, seen & bits);
  return seen;
}

/** Exchange; returns the previous value. */
// @ts-ignore: decorator
@inline export function xchg32(ptr: usize, value: u32): u32 {
  if (ASC_FEATURE_THREADS) return atomic.xchg<u32>(ptr, value);
  const seen = load<u32>(ptr);
  store<u32>(ptr, value);
  return seen;
}

/** Blocks while *ptr == expected, at most timeoutMs. 0 woken, 1 not equal, 2 timed out. */
// @ts-ignore: decorator
@inline export function futexWait(ptr: usize, expected: u32, timeoutMs: f64): i32 {
  if (ASC_FEATURE_THREADS) return hostFutexWait(ptr, <i32>expected, timeoutMs);
  return 1; // one thread: nobody else can change the word, so never wait.
}

/** Wakes up to `count` threads waiting on ptr. */
// @ts-ignore: decorator
@inline export function futexWake(ptr: usize, count: u32): void {
  if (ASC_FEATURE_THREADS) atomic.notify(ptr, count);
}
