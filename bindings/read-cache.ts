/**
 * A thread's cache of decoded values, so that a load of a key this thread read
 * before costs a JavaScript Map lookup and three loads from the shared memory
 * (four when the value expires), not an encode, a call into the core and a
 * decode.
 *
 * A cached value is kept with where the core found it (assembly/abi.ts,
 * recordFound): the entry's value word and the value block it held, the
 * shard's read table, and the count of epoch advances, all read while the core
 * was pinned. A hit loads the value word first, then the read table and the
 * advances, and trusts the cached value only if all three are unchanged:
 *
 * - advances unchanged: nothing the load reached has been freed since
 *   (assembly/reclaim.ts, ADVANCES: a float64 count, which never wraps), so
 *   the entry is still an entry and the block address names the same block
 *   (a block is never stored twice). When only the count moved, the core is
 *   asked instead (sm_revalidate, assembly/map.ts mapRevalidate): pinned, it
 *   checks the place (the same read table, the slot still the entry's), that
 *   the value word still holds the block, and that the block is the one found
 *   and not one made since at the same address: each value block carries the
 *   count at its birth (assembly/entry.ts), and a block freed and made again
 *   is born after the advance that freed it. A record then survives advances
 *   (writes elsewhere in the map) at the cost of one call per record per
 *   advance, instead of a load by key, a decode and a refill; it takes the
 *   count the core read;
 * - read table unchanged: the entry is still the key's. A read table is
 *   replaced (promotion, clear) rather than changed, but for squeeze, which
 *   takes out entries that hold no value; an entry leaves a dirty table only
 *   once its value word holds no value (assembly/map.ts, mapDelete), or when
 *   its value is absent to every reader anyway: expired (the clock check
 *   below), or a tombstone (compaction), also when a thread died between the
 *   two steps of dropDirtyOnlyLocked;
 * - value word unchanged: the key still has this value. That load is the one
 *   the core's load makes, so a hit is as linearizable as a core load.
 *
 * The other loads must be made after the value word's: an advances count
 * read before it could miss a block freed, reused and stored back into the
 * same entry between the two. They are ordered by an address dependency:
 * each of their indices adds `(word ^ block) >>> 31`, which is 0 when the
 * value word is unchanged (and, when it is not, 0 or 1: a neighbouring word,
 * read and then ignored because the value word differs). No compiler can make
 * a load whose address it does not know yet, and CPUs keep a load after the
 * load its address depends on (what C++ calls memory_order_consume).
 *
 * The value word's own load must also stay after this thread's earlier
 * writes, as the core's atomic load does, or two threads that each write one
 * key and then read the other's could both read the old value. On x86-64
 * every write the core makes to shared words is a locked instruction, a full
 * fence, so a plain load there (PLAIN_VALUE_LOAD) is enough; elsewhere (arm64,
 * where a plain load may pass an earlier store-release) it is Atomics.load.
 * (Node 20 does not inline Atomics.load: a builtin call that costs ~10 ns a
 * hit, a fifth of it.) The ECMAScript memory model itself promises none of
 * this for unordered reads: what it rests on is V8 and those CPUs.
 *
 * Hits of a key found in dirty only count no miss, unlike a core load: such a
 * key is promoted to read later, by the other threads' loads (or the writes
 * that move the epoch and send this thread's loads back to the core).
 *
 * An expiring value is also checked against the map clock, which the core
 * holds as float64 bits so that it is read in one load (assembly/map.ts). The
 * expiry is kept relative to a base time, as a small integer: a time in ms is
 * no small integer, and V8 would box it in a heap number of its own, one more
 * cache miss per hit. A relative expiry beyond the small range is lowered to
 * its end, so the cache lets that value go sooner than the map does, never
 * later; the base moves up (and the cache empties) once the clock is far past.
 *
 * Only immutable values are cached ('string' and 'number' values, 'json'
 * values under the `freeze` option, deeply frozen, and those of a custom codec
 * that declares them immutable; for 'string' and 'number' keys): a hit hands
 * out the same value every time, which for an object that could change would
 * let one caller's changes reach another. An object is cached by loads only:
 * a store would have to decode its own value to give the cache a copy. A
 * custom codec's decode() may call the map, so the words that say where the
 * key was found are copied before it runs (foundWords). The cache
 * holds at most `maxEntries` keys and about `maxBytes` bytes (keys, values
 * and a fixed overhead per entry), evicting the oldest filled first.
 *
 * A record also serves stores. When the core found the key's entry in its
 * shard's read table, the record names that place: the table (its address and
 * serial, assembly/table.ts) and the entry's slot in it. A store of the key
 * then hands the core the place instead of the key (sm_swapFound): no key to
 * encode, no hash, no probe. The core checks that the shard's read table is
 * still that table and that the slot still holds an entry with a value, and
 * replaces the value as a store without the lock would (map.ts,
 * mapSwapFound); else it answers MOVED, changing nothing, and the store goes
 * by key. A store by key that replaced a value without the lock records where
 * (the core's "found" words, as a load's), so that the next store of the key
 * can go by place. Stores' lookups are judged apart from loads' (Window).
 */
import { SyncMapArgumentError } from './errors.js';
import type { KeyCodec, ValueMarshal } from './codecs.js';
import { describe } from './codecs.js';
import type { CoreExports } from './instance.js';
import { Status } from './status.js';

const ABSENT = Status.ABSENT;

/** How big a thread's read cache may grow: `false` for none. */
export type ReadCacheOption = false | {
  /** The most keys cached. Default 16384. */
  maxEntries?: number;
  /** About the most bytes cached: keys, values and ~64 bytes per entry. Default 4 MiB. */
  maxBytes?: number;
};

export const READ_CACHE_DEFAULTS = { maxEntries: 16384, maxBytes: 4 << 20 } as const;
const READ_CACHE_LIMIT = 2 ** 30;

/** Whether a hit may load the value word plainly: on x86-64 only (see the header). */
const PLAIN_VALUE_LOAD = process.arch === 'x64';

/** What a cached entry costs besides its key and value: the record and the Map's slot. */
const ENTRY_OVERHEAD = 64;

/**
 * A lookup that cannot find anything costs more than it saves: for a key built
 * for the call, V8 must flatten and hash it (~100 ns). So the cache judges
 * itself every WINDOW lookups, and after a window in which fewer than one in
 * MIN_FOUND_SHARE either found a value or led to a fill (the key was in the
 * map, so it may be found next time: a cache that is still filling is not
 * judged useless), it steps aside for the next BYPASS loads (no lookups, no
 * fills), then tries again. A thread that loads absent keys all the time (Go's
 * AdversarialAlloc) then pays ~6% of the lookup's cost instead of all of it.
 *
 * A full cache that keeps evicting is judged by its hits alone: each fill
 * then costs an eviction too (~110 ns with the lookup that missed, against
 * the ~160 ns a hit saves), so below one hit in MIN_HIT_SHARE_EVICTING
 * lookups (uniform loads over more than 3 times maxEntries keys) it steps
 * aside as well, and loads cost what a load without the cache does.
 */
const WINDOW = 1024;
const MIN_FOUND_SHARE = 16;
/**
 * The same share for frozen objects ('json' under freeze), whose misses cost
 * more than they save unless about one lookup in 3 hits: a fill freezes the
 * value (~0.5 µs for a 323-byte pod) and keeps it past the young generation,
 * against the ~2.5 µs of decoding a hit saves. Measured with 1% writes over
 * 10,000 pods in one thread, when records went stale at every epoch advance
 * (before sm_revalidate): 7% hits, and loads 1.6x slower than plain 'json'
 * with the cache kept on (one in 16); 1.3x once it stepped aside.
 */
const MIN_FOUND_SHARE_OBJECTS = 3;
const MIN_HIT_SHARE_EVICTING = 3;
const BYPASS = 16384;

/** The largest relative expiry kept (V8's small integers go to 2^30 - 1): about 12 days. */
const MAX_RELATIVE_EXPIRY = 2 ** 30 - 1;
/** How far past the base the clock may get before the base moves: about 6 days. */
const REBASE_AFTER = 2 ** 29;

// The slot's "found" words (assembly/slots.ts), as byte offsets.
// (Each must equal its SLOT_ constant in assembly/slots.ts: test/read-cache.workers.test.ts checks.)
export const SLOT_CACHE_HITS = 160;
export const SLOT_FOUND_VALUE_WORD = 168;
export const SLOT_FOUND_BLOCK = 172;
export const SLOT_FOUND_TABLES_WORD = 176;
export const SLOT_FOUND_READ = 180;
export const SLOT_FOUND_SLOT = 184;
export const SLOT_FOUND_EXPIRY = 192;
export const SLOT_FOUND_ADVANCES = 200;
export const SLOT_FOUND_SERIAL = 208;
/** Where the found words begin and end in a slot (foundWords copies them). */
const FOUND_START = SLOT_FOUND_VALUE_WORD;
const FOUND_END = SLOT_FOUND_SERIAL + 8;

/**
 * The slot's found words, copied out at their offsets in a slot (the bytes
 * before them unused): what a fill reads, kept from before user code ran
 * (foundWords). A buffer of its own, so that #fill reads it as it reads the
 * memory, at the same offsets.
 */
export class FoundWords {
  readonly f64: Float64Array = new Float64Array(FOUND_END >>> 3);
  readonly u32: Uint32Array = new Uint32Array(this.f64.buffer);
}

/** Which word sm_readCacheWord returns (assembly/abi.ts, READ_CACHE_WORD_*). */
export const WORD_SLOT = 0;
export const WORD_ADVANCES = 1;
const WORD_CLOCK = 2;

/**
 * Whether lookups of one kind (loads, or stores by place) are worth their
 * cost, judged every WINDOW of them (see BYPASS). Loads and stores are judged
 * apart: a thread that inserts new keys (each store a lookup that finds
 * nothing) must not turn the cache off for the loads that follow.
 */
class Window {
  /** One lookup in this many must find a value or fill a first one, or the cache steps aside. */
  readonly #minFoundShare: number;

  constructor(minFoundShare = MIN_FOUND_SHARE) {
    this.#minFoundShare = minFoundShare;
  }

  /**
   * This window's lookups, those that found nothing valid, the fills that
   * count as useful, the evictions made, and lookups left to step aside for.
   * A window's useful lookups are its hits and useful fills, counted from the
   * misses so that a hit counts nothing but its lookup.
   */
  lookups = 0;
  misses = 0;
  fills = 0;
  evictions = 0;
  bypass = 0;

  /** False while stepping aside (counting the lookup skipped); else counts a lookup. */
  look(): boolean {
    if (this.bypass > 0) {
      this.bypass--;
      return false;
    }
    if (++this.lookups === WINDOW) this.#judge();
    return true;
  }

  /** Ends a window: steps aside for a while if it found too little (see BYPASS). */
  #judge(): void {
    const hits = WINDOW - this.misses;
    const useless = this.evictions > 0
      ? hits * MIN_HIT_SHARE_EVICTING < WINDOW
      : (hits + this.fills) * this.#minFoundShare < WINDOW;
    if (useless) this.bypass = BYPASS;
    this.lookups = 0;
    this.misses = 0;
    this.fills = 0;
    this.evictions = 0;
  }
}

/** One cached value and where the core found it (indexes into a Uint32Array over the memory). */
class Cached<V> {
  constructor(
    public value: V,
    public valueWord: number,
    public block: number,
    public tablesWord: number,
    public read: number,
    /** The read table's serial (assembly/table.ts): with its address, which table it was. */
    public serial: number,
    /** The key's slot index in that read table plus one, or 0 when it was found in dirty only. */
    public readSlot: number,
    public advances: number,
    public expiry: number,
    public bytes: number,
  ) {}
}

/** The core's exports the cache needs. */
type ReadCacheCore = Pick<CoreExports, 'sm_readCacheWord' | 'sm_swapFound' | 'sm_revalidate'>;

/** What storeAt() returns when the key is not where the cache found it: store by key. */
const MOVED = Status.MOVED;

export class ReadCache<K, V> {
  readonly #entries = new Map<K, Cached<V>>();
  readonly #u32: Uint32Array;
  readonly #f64: Float64Array;
  readonly #slot: number;
  readonly #advances: number;
  readonly #clock: number;
  /**
   * This thread's count of loads answered from read caches, in its slot
   * (cacheHits, for stats()), as an index into #f64: one per thread and map,
   * counted on by every cache of the thread's SyncMap objects for that map
   * (one thread only: no lost counts), and never reset.
   */
  readonly #hits: number;
  readonly #maxEntries: number;
  readonly #maxBytes: number;
  /** Whether a store may go by where a key was found (storeAt), and fill the cache: see takesStores. */
  readonly #storesByPlace: boolean;
  readonly #ex: ReadCacheCore;
  /** Releases what a trapped core call left held (Attachment.trapped). */
  readonly #onTrap: (error: unknown) => unknown;
  #bytes = 0;
  /** The time (map clock, ms) relative expiries count from. */
  #base: number;
  /** The count of epoch advances relative counts count from. */
  #advancesBase: number;
  /** Whether loads' lookups pay, and whether stores' do (placeOf). */
  readonly #loads: Window;
  readonly #stores = new Window();
  /**
   * The cached keys, oldest filled first, from #head on (a key joins at its
   * first fill and leaves when evicted): so that an eviction finds the oldest
   * at once. Iterating the Map for it instead skips every entry deleted since
   * V8 last compacted the table: ~1 µs a load once the cache was full.
   */
  #order: (K | undefined)[] = [];
  #head = 0;
  /** How many times clear() ran: a record held across a call that may clear is then no longer the cache's. */
  #cleared = 0;
  /** A buffer for foundWords() to copy into, given back by fillFound(). */
  #spareFound: FoundWords | undefined;

  private constructor(
    ex: ReadCacheCore, u32: Uint32Array, f64: Float64Array, slot: number, advances: number, clock: number,
    maxEntries: number, maxBytes: number, storesByPlace: boolean, objects: boolean, onTrap: (error: unknown) => unknown,
  ) {
    this.#ex = ex;
    this.#onTrap = onTrap;
    this.#storesByPlace = storesByPlace;
    this.#loads = new Window(objects ? MIN_FOUND_SHARE_OBJECTS : MIN_FOUND_SHARE);
    this.#u32 = u32;
    this.#f64 = f64;
    this.#slot = slot;
    this.#advances = advances >>> 3;
    this.#clock = clock >>> 3;
    this.#hits = (slot + SLOT_CACHE_HITS) >>> 3;
    this.#maxEntries = maxEntries;
    this.#maxBytes = maxBytes;
    this.#base = f64[this.#clock]!;
    this.#advancesBase = f64[this.#advances]!;
  }

  /**
   * A cache for these codecs over this core, or null when there is to be none:
   * `option` false, values that are not immutable, keys a Map cannot compare
   * by content ('bytes'), or a core without one (a LockedMap). Stores go by
   * place and fill it unless the map is `versioned` (its writes all lock),
   * its values are frozen objects (ValueMarshal.objects), or decoding them
   * runs user code: see takesStores.
   * `onTrap` gets what escaped a call into the core (Attachment.trapped).
   */
  static for<K, V>(
    option: ReadCacheOption | undefined, keys: KeyCodec<K>, values: ValueMarshal<V>, ex: ReadCacheCore,
    u32: Uint32Array, f64: Float64Array, versioned: boolean, onTrap: (error: unknown) => unknown,
  ): ReadCache<K, V> | null {
    if (option === false || !keys.cacheable || !values.immutable) return null;
    const slot = ex.sm_readCacheWord(WORD_SLOT);
    if (slot === 0) return null;
    return new ReadCache<K, V>(
      ex, u32, f64, slot, ex.sm_readCacheWord(WORD_ADVANCES), ex.sm_readCacheWord(WORD_CLOCK),
      option?.maxEntries ?? READ_CACHE_DEFAULTS.maxEntries, option?.maxBytes ?? READ_CACHE_DEFAULTS.maxBytes,
      !versioned && values.objects !== true && !values.userCode, values.objects === true, onTrap,
    );
  }

  /** The cached record of `key` if it still holds the key's value, else undefined. Counts a hit. */
  get(key: K): Cached<V> | undefined {
    const loads = this.#loads;
    if (!loads.look()) return undefined;
    const cached = this.#entries.get(key);
    if (cached === undefined) {
      loads.misses++;
      return undefined;
    }
    const u32 = this.#u32;
    const f64 = this.#f64;
    // All loaded before any is compared, so that no branch on the value word
    // stands between it and the loads whose addresses depend on it.
    const word = PLAIN_VALUE_LOAD ? u32[cached.valueWord]! : Atomics.load(u32, cached.valueWord);
    const after = (word ^ cached.block) >>> 31; // 0 if unchanged: orders the loads below after this one
    const read = u32[cached.tablesWord + after];
    const advances = f64[this.#advances + after]! - this.#advancesBase;
    const expired = cached.expiry !== 0 && f64[this.#clock + after]! - this.#base >= cached.expiry;
    if (word !== cached.block || read !== cached.read || advances !== cached.advances || expired) {
      return this.#stale(cached, word, read, expired, true);
    }
    f64[this.#hits] = f64[this.#hits]! + 1;
    return cached;
  }

  /**
   * As get(), for a loadOrStore() that finds the key, which is a read as a
   * load is, but not one of stats()' loads: the core counts none for it. The
   * same steps as get() but the count, written out again on purpose: with
   * them in one helper that both call, V8 did not inline it, and every load
   * cost ~2 ns more (three ways tried, 10k kept keys).
   */
  found(key: K): Cached<V> | undefined {
    const loads = this.#loads;
    if (!loads.look()) return undefined;
    const cached = this.#entries.get(key);
    if (cached === undefined) {
      loads.misses++;
      return undefined;
    }
    const u32 = this.#u32;
    const f64 = this.#f64;
    const word = PLAIN_VALUE_LOAD ? u32[cached.valueWord]! : Atomics.load(u32, cached.valueWord);
    const after = (word ^ cached.block) >>> 31; // as in get()
    const read = u32[cached.tablesWord + after];
    const advances = f64[this.#advances + after]! - this.#advancesBase;
    const expired = cached.expiry !== 0 && f64[this.#clock + after]! - this.#base >= cached.expiry;
    if (word !== cached.block || read !== cached.read || advances !== cached.advances || expired) {
      return this.#stale(cached, word, read, expired, false);
    }
    return cached;
  }

  /**
   * A record found stale by get() or found(), which read the value `word`
   * and the `read` table word: still the key's value if only the count of
   * epoch advances moved and the core says so (#revalidate), a hit then
   * (counted when `countHit`), else a miss. Apart from get() so that V8 keeps
   * inlining get(): a load's hits cost ~2 ns more with this written into it.
   */
  #stale(cached: Cached<V>, word: number, read: number | undefined, expired: boolean, countHit: boolean): Cached<V> | undefined {
    if (word === cached.block && read === cached.read && !expired && cached.readSlot !== 0 && this.#revalidate(cached)) {
      if (countHit) this.#f64[this.#hits] = this.#f64[this.#hits]! + 1;
      return cached;
    }
    this.#loads.misses++;
    return undefined;
  }

  /**
   * After epoch advances, which may have freed what the record names: asks
   * the core whether the key still has the record's value at the record's
   * place (assembly/map.ts, mapRevalidate: the read table, the slot, and the
   * block's birth, which tells it from a block made since at the same
   * address). If so the record holds the count the core read, and the hit is
   * as fresh as a core load: the core read the value word, and then the clock
   * for the value's expiry. Only a record of a key found in a read table has a
   * place to be checked by.
   */
  #revalidate(cached: Cached<V>): boolean {
    let now: number;
    try {
      now = this.#ex.sm_revalidate(
        cached.tablesWord << 2, cached.read, cached.serial, cached.readSlot - 1, cached.block,
        cached.advances + this.#advancesBase,
      );
    } catch (error) {
      // A trap (a stack overflow) while the core was pinned: unpin now, or this
      // thread would hold reclamation back for as long as its loads hit.
      throw this.#onTrap(error);
    }
    if (now < 0) return false;
    const cleared = this.#cleared;
    const advances = this.#relativeAdvances(now);
    if (cleared !== this.#cleared) return false; // the base moved: the record is no longer the cache's
    cached.advances = advances;
    return true;
  }

  /**
   * Caches `value` for `key`, found by the core's load just made (nothing else
   * may have called the core since: it reads the slot's "found" words).
   * `bytes` is the value's encoded length; a key counts its length in
   * characters (its UTF-8 bytes for ASCII keys), or 8 for a number.
   */
  fill(key: K, value: V, bytes: number): void {
    if (this.#loads.bypass > 0) return;
    if (this.#fill(key, value, bytes, this.#u32, this.#f64, this.#slot)) this.#loads.fills++;
  }

  /**
   * The found words of the core's load just made, copied: for values whose
   * decoding runs user code (a custom codec's decode(), which may call the
   * map and so change the words), taken before it runs and handed to
   * fillFound() after; undefined while the cache steps aside (nothing to
   * fill). The copy is made into the buffer the last fillFound() gave back
   * (a new one only when a decode() loads through the map in turn): a typed
   * array made per load cost ~0.6 µs.
   */
  foundWords(): FoundWords | undefined {
    if (this.#loads.bypass > 0) return undefined;
    const found = this.#spareFound ?? new FoundWords();
    this.#spareFound = undefined;
    // As 32-bit words: bit for bit, where a Float64Array may rewrite a NaN's bits, and the
    // word at SLOT_FOUND_SLOT shares its 8 bytes with the slot's release stamp (slots.ts).
    const from = this.#u32;
    const to = found.u32;
    for (let at = FOUND_START >>> 2, base = this.#slot >>> 2; at < FOUND_END >>> 2; at++) to[at] = from[base + at]!;
    return found;
  }

  /**
   * As fill(), from found words copied before user code decoded the value
   * (foundWords), unless the map object was closed since (`open` false). An
   * object is kept only frozen: a codec that declares its values immutable
   * promises that, and a value every load shares must not change.
   */
  fillFound(found: FoundWords, key: K, value: V, bytes: number, open: boolean): void {
    this.#spareFound = found; // #fill runs no user code: no foundWords() before it returns
    if (!open || this.#loads.bypass > 0) return; // the decode() may have loaded enough to step aside
    if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) return;
    if (this.#fill(key, value, bytes, found.u32, found.f64, 0)) this.#loads.fills++;
  }

  /**
   * After a store by key (the core's sm_swap) that put `value` (`bytes`
   * long): caches it if the core recorded where, which it does when it stored
   * without the lock, in the key's entry in read: the next store of the key
   * can then go by that place (placeOf).
   */
  fillStored(key: K, value: V, bytes: number): void {
    if (this.#stores.bypass > 0 || !this.#storesByPlace) return;
    if (this.#u32[(this.#slot + SLOT_FOUND_SLOT) >>> 2] === 0) return;
    if (this.#fill(key, value, bytes, this.#u32, this.#f64, this.#slot)) this.#stores.fills++;
  }

  /**
   * Whether stores give their values to the cache (fillStored, storeAt): not
   * in a versioned map, whose writes all lock, nor for values whose copy a
   * store would have to decode (frozen 'json': ValueMarshal.objects). Never
   * when decoding runs user code (a custom codec's decode()): the copy is
   * decoded after the value is written to the scratch and before the core
   * call, and a decode() that calls the map would write over it.
   */
  get takesStores(): boolean {
    return this.#storesByPlace;
  }

  /**
   * Where a store of `key` can go without the key: the record of where the
   * key was found in its shard's read table, whatever value it held, or
   * undefined (store by key). A lookup, judged in the window as a load's is.
   */
  placeOf(key: K): Cached<V> | undefined {
    const stores = this.#stores;
    if (!this.#storesByPlace || !stores.look()) return undefined;
    const cached = this.#entries.get(key);
    if (cached === undefined || cached.readSlot === 0) {
      stores.misses++;
      return undefined;
    }
    return cached;
  }

  /**
   * Stores at the place `cached` records the value put at scratch offset 0
   * (`bytes` long): the core's result as sm_swap's, or MOVED (the map
   * unchanged) when the key is no longer there, and must be stored by key.
   * On success `cached` holds `value`, so that loads find it.
   */
  storeAt(cached: Cached<V>, key: K, value: V, bytes: number, wantPrevious: number, expiry: number): number {
    const r = this.#ex.sm_swapFound(
      cached.tablesWord << 2, cached.read, cached.serial, cached.readSlot - 1, bytes, wantPrevious, expiry,
    );
    if (r === MOVED) {
      // The key is no longer at that place: stores by key from now on, until a
      // load or such a store records a place again. (Else each store of a key
      // that now lives in dirty only would make a block here, only to free it.)
      cached.readSlot = 0;
      this.#stores.misses++;
    } else if (r >= ABSENT) {
      this.#stored(cached, key, value, bytes, expiry);
    }
    return r;
  }

  /**
   * After storeAt() stored: the record now holds `value`, in the block the core
   * recorded (slots.ts, "found"). Its place is what the core checked, so only
   * the value, the block, the advances and the expiry change.
   */
  #stored(cached: Cached<V>, key: K, value: V, bytes: number, expiry: number): void {
    const slot = this.#slot;
    const cleared = this.#cleared;
    const advances = this.#relativeAdvances(this.#f64[(slot + SLOT_FOUND_ADVANCES) >>> 3]!);
    const relative = this.#relative(expiry);
    const size = bytes + (typeof key === 'string' ? key.length : 8) + ENTRY_OVERHEAD;
    // Not cached: a record whose block is not the entry's makes loads miss.
    if (relative < 0 || size > this.#maxBytes || cleared !== this.#cleared) return;
    this.#bytes += size - cached.bytes;
    cached.value = value;
    cached.block = this.#u32[(slot + SLOT_FOUND_BLOCK) >>> 2]!;
    cached.advances = advances;
    cached.expiry = relative;
    cached.bytes = size;
    while (this.#bytes > this.#maxBytes) this.#evictOldest();
  }

  /**
   * Caches `value` from found words: the slot's, in the memory (`u32` and
   * `f64` its views, `slot` its address), or a copy of them (foundWords, at
   * 0). True for a useful fill: a key's first, or one found in dirty while
   * read is empty (in the map, cacheable once promoted).
   */
  #fill(key: K, value: V, bytes: number, u32: Uint32Array, f64: Float64Array, slot: number): boolean {
    const read = u32[(slot + SLOT_FOUND_READ) >>> 2]!;
    // A key found in dirty while read is empty has no read table to be checked
    // by; it is in the map, and cacheable once promoted: a useful lookup.
    if (read === 0) return true;
    const size = bytes + (typeof key === 'string' ? key.length : 8) + ENTRY_OVERHEAD;
    if (size > this.#maxBytes) return false;
    const valueWord = u32[(slot + SLOT_FOUND_VALUE_WORD) >>> 2]! >>> 2;
    const block = u32[(slot + SLOT_FOUND_BLOCK) >>> 2]!;
    const tablesWord = u32[(slot + SLOT_FOUND_TABLES_WORD) >>> 2]! >>> 2;
    const serial = f64[(slot + SLOT_FOUND_SERIAL) >>> 3]!;
    const readSlot = u32[(slot + SLOT_FOUND_SLOT) >>> 2]!;
    const advances = this.#relativeAdvances(f64[(slot + SLOT_FOUND_ADVANCES) >>> 3]!);
    const expiry = this.#relative(f64[(slot + SLOT_FOUND_EXPIRY) >>> 3]!);
    if (expiry < 0) return false; // expires before the base: about to, by the clock
    const entries = this.#entries;
    let first = false;
    // Looked up after the two above, either of which may empty the cache (a new base).
    const cached = entries.get(key);
    if (cached !== undefined) {
      // A refill: the record was made stale by a write, a new read table or a clear. Not
      // counted as useful, so that a cache that only ever refills steps aside.
      this.#bytes += size - cached.bytes;
      cached.value = value;
      cached.valueWord = valueWord;
      cached.block = block;
      cached.tablesWord = tablesWord;
      cached.read = read;
      cached.serial = serial;
      cached.readSlot = readSlot;
      cached.advances = advances;
      cached.expiry = expiry;
      cached.bytes = size;
    } else {
      first = true; // the key may be found next time
      this.#bytes += size;
      entries.set(key, new Cached(value, valueWord, block, tablesWord, read, serial, readSlot, advances, expiry, size));
      this.#order.push(key);
    }
    while (entries.size > this.#maxEntries || this.#bytes > this.#maxBytes) this.#evictOldest();
    return first;
  }

  /**
   * `expiry` (ms on the map clock, 0 for never) relative to the base: 0 for
   * never, -1 for a value that expires by the base (not to be cached: the
   * base may be later than the clock the core compared with), else at least 1
   * and at most MAX_RELATIVE_EXPIRY. Moves the base first if the clock is far
   * past it.
   */
  #relative(expiry: number): number {
    if (expiry === 0) return 0;
    const now = this.#f64[this.#clock]!;
    if (now - this.#base > REBASE_AFTER) {
      this.clear();
      this.#base = now;
    }
    const relative = expiry - this.#base;
    return relative < 1 ? -1 : Math.min(relative, MAX_RELATIVE_EXPIRY);
  }

  /**
   * A count of epoch advances relative to the base, moving the base up (and
   * emptying the cache) once the count is far past it: a small integer, for
   * the reason given for expiries, compared only for equality.
   */
  #relativeAdvances(count: number): number {
    const now = this.#f64[this.#advances]!;
    if (now - this.#advancesBase > REBASE_AFTER) {
      this.clear();
      this.#advancesBase = now;
    }
    return count - this.#advancesBase;
  }

  #evictOldest(): void {
    const order = this.#order;
    const key = order[this.#head] as K;
    order[this.#head++] = undefined;
    const cached = this.#entries.get(key)!;
    this.#entries.delete(key);
    this.#bytes -= cached.bytes;
    this.#loads.evictions++;
    this.#stores.evictions++;
    // Drop the evicted keys' places once they are half the array: amortized O(1).
    if (this.#head >= 1024 && this.#head * 2 >= order.length) {
      this.#order = order.slice(this.#head);
      this.#head = 0;
    }
  }

  /** Forgets every cached value (when its SyncMap object closes, and when the base moves). */
  clear(): void {
    this.#cleared++;
    this.#entries.clear();
    this.#order = [];
    this.#head = 0;
    this.#bytes = 0;
  }
}

/** Checks the readCache option of create() or attach(). */
export function readCacheOption(options: object, what: string): ReadCacheOption | undefined {
  const value = (options as { readCache?: unknown }).readCache;
  if (value === undefined || value === false) return value;
  if (typeof value !== 'object' || value === null) {
    throw new SyncMapArgumentError(`${what}: options.readCache must be false or { maxEntries, maxBytes }, got ${describe(value)}`);
  }
  const out: { maxEntries?: number; maxBytes?: number } = {};
  for (const name of Object.keys(value)) {
    if (name !== 'maxEntries' && name !== 'maxBytes') {
      throw new SyncMapArgumentError(`${what}: unknown option readCache.${name}; it takes maxEntries and maxBytes`);
    }
    const n = (value as Record<string, unknown>)[name];
    if (n === undefined) continue;
    if (typeof n !== 'number' || !Number.isInteger(n) || n < 0 || n > READ_CACHE_LIMIT) {
      throw new SyncMapArgumentError(`${what}: options.readCache.${name} must be an integer from 0 to ${READ_CACHE_LIMIT}, got ${describe(n)}`);
    }
    out[name] = n;
  }
  return out;
}
