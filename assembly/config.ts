// Build-wide constants: the values the build injects, the layout version that
// guards every shared structure, and the tuning constants with how each was chosen.
//
// SYNCMAP_DEBUG and BUILD_STAMP are injected by scripts/build-wasm.mjs with
// `--use NAME=value`. They are referenced without a `declare`: a `declare const`
// would silently become an imported global instead of a folded constant.

// @ts-ignore: injected with --use SYNCMAP_DEBUG=0|1
export const DEBUG: bool = <bool>SYNCMAP_DEBUG;

// A hash of the AssemblyScript sources and compiler version. It is written into
// the shared memory by the thread that creates a map; attaching to that memory
// with a module of another build fails with Status.BUILD_MISMATCH.
// @ts-ignore: injected with --use BUILD_STAMP=<u32>
export const STAMP: u32 = <u32>BUILD_STAMP;

// Bump this whenever the meaning of any shared byte changes.
// @ts-ignore: decorator
@inline export const LAYOUT_VERSION: u32 = 9;

// "SMAP", little endian: the first word of a memory that holds our heap.
// @ts-ignore: decorator
@inline export const MAGIC: u32 = 0x50414D53;

// Where the shared heap begins. Everything below is the module's own static
// area, which every new instance rewrites (data segments are active), so no
// mutable shared word may live there. A fixed address turns every root-relative
// address into an immediate. The Node build has almost no static data; the
// proxy-wasm build carries the filter's log texts (assembly/proxy/texts.ts), so
// it gets 16 KiB. scripts/build-wasm.mjs fails a build whose data reaches ROOT,
// and init checks __heap_base against it again.
// @ts-ignore: decorator
@inline export const ROOT: usize = ASC_FEATURE_THREADS ? 0x1000 : 0x4000;

// The largest number of instances (threads) that can be attached to one heap at
// once. A slot is 64 bytes, so 128 slots cost 8 KiB, and an epoch advance scans
// only up to the highest slot ever claimed.
// @ts-ignore: decorator
@inline export const MAX_SLOTS: u32 = 128;

// Hard caps the map enforces whatever the bindings ask for. Keys are
// identifiers; values up to 64 MiB still leave room for many in a 4 GiB memory.
// @ts-ignore: decorator
@inline export const MAX_KEY_BYTES: u32 = 1 << 20;
// @ts-ignore: decorator
@inline export const MAX_VALUE_BYTES: u32 = 64 << 20;

// Shards per map: a power of two in [1, MAX_SHARDS].
// @ts-ignore: decorator
@inline export const MAX_SHARDS: u32 = 1024;

// How many objects a thread retires before it moves them to a shared limbo
// list and tries to advance the epoch (reclaim.ts): one CAS on a shared list
// head per batch instead of one per retirement. An attempt to advance scans
// every claimed slot, well under 1% of the writes that pay for it; a thread
// that stops writing keeps at most 255 objects back (and at most BATCH_BYTES,
// reclaim.ts) until it writes again or detaches. Every advance makes every
// thread's read-cache records stale (bindings/read-cache.ts), so batches are
// large: with 32, one thread over 1000 keys with 1% overwrites hit its cache
// on 70% of its loads; with 256, on 96% (in-process, pinned; and with 10%
// overwrites on 64% instead of 15%). The bench's inflection table, 1k keys, 1%
// writes, one thread: 7.90M-8.24M ops/s with 32, 13.3M-13.5M with 256.
// @ts-ignore: decorator
@inline export const RETIRE_BATCH: u32 = 256;

// Mutex tuning. Critical sections are a few hundred nanoseconds (an insert, a
// promotion of one shard), so a short spin catches most releases on a 2-core
// machine before paying for a futex wait. Waits are bounded so that a waiter
// can notice a holder that never comes back (see mutex.ts).
// @ts-ignore: decorator
@inline export const LOCK_SPINS: u32 = 100;
// @ts-ignore: decorator
@inline export const LOCK_WAIT_MS: f64 = 20;
