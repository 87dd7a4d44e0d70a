/**
 * Key and value codecs: how JavaScript values become the bytes the core stores,
 * written into the calling thread's scratch region in the shared memory.
 *
 * Writing a value takes two steps, in this order, so that a codec that runs
 * user code (a toJSON, a getter read while encoding, a custom encode()) which
 * calls a map again cannot overwrite a key already written to the scratch:
 * prepare() runs every piece of user code and returns an intermediate (or
 * nothing, for a string or number that needs none: the hot path allocates
 * nothing); only then are the key and the value bytes written, and the core
 * called. Decoding reads the scratch only where no user code runs; a custom
 * decode() gets a copy, after the core has returned.
 *
 * Keys are compared by their bytes: strings as UTF-8, numbers as float64 with
 * -0 folded into 0 and every NaN into one (so that equal keys are equal bytes,
 * as SameValueZero makes them equal in a Map), byte arrays as they are.
 * compareAndSwap and compareAndDelete compare values by their encoded bytes too.
 */
import v8 from 'node:v8';
import { Refusal, decodeValue, encodeValue, primitiveBound, putPrimitive } from './structured.js';
import {
  SyncMapInternalError,
  SyncMapKeyTooLargeError,
  SyncMapKeyTypeError,
  SyncMapValueDecodingError,
  SyncMapValueEncodingError,
  SyncMapValueTooLargeError,
} from './errors.js';

/** How keys are encoded. */
export type KeyKind = 'string' | 'number' | 'bytes';

/**
 * How values are encoded: 'structured' (the default: what postMessage carries,
 * given back as it was stored, see structured.ts), 'json', 'string', 'bytes',
 * 'number' or 'v8' (structured clone by node:v8).
 */
export type ValueKind = 'structured' | 'json' | 'string' | 'bytes' | 'number' | 'v8';

/**
 * A value codec of your own: any encoding that round-trips your values through
 * bytes. Give it as `values` to create() and again to every attach(). encode()
 * runs before the map writes anything and decode() after the map has returned,
 * on a copy of the bytes it may keep: both may call the map.
 */
export interface ValueCodec<V> {
  /** The bytes to store for `value`; throwing refuses the store (ERR_SYNCMAP_VALUE_ENCODING, with this as `cause`). */
  encode(value: V): Uint8Array;
  /** The value of `bytes`, as encode() wrote them; throwing gives ERR_SYNCMAP_VALUE_DECODING. */
  decode(bytes: Uint8Array): V;
  /**
   * A promise that nobody changes what decode() returns (primitives, frozen
   * objects): the thread's read cache may then hand the same value to every
   * load of a key unchanged since, without decode(), as it does for 'json'
   * under `freeze` (an object decode() returns unfrozen is not kept). As
   * there, loads fill the cache and stores do not (nor go by place), and the
   * cache steps aside below one hit in 3 lookups. Default false: each load
   * decodes.
   */
  readonly immutable?: boolean;
}

/** The JavaScript type of keys for each KeyKind. */
export type KeyOf<K extends KeyKind> = K extends 'string' ? string : K extends 'number' ? number : Uint8Array;

/**
 * A value JSON keeps: what JSON.parse gives back. ('json' also stores objects
 * whose members are undefined, dropping those members, and calls toJSON; see
 * JsonCompatible.)
 */
export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

/**
 * T if every T survives JSON unchanged but for undefined members of objects
 * (which read back as absent, that is as undefined): strings, finite numbers,
 * booleans, null, and arrays and objects of those. never for a part JSON
 * changes (a Date, a Map, a typed array, a function, a bigint, undefined in an
 * array). NaN and Infinity are numbers to TypeScript, so they pass here; JSON
 * writes them as null.
 */
export type JsonCompatible<T> = T extends string | number | boolean | null
  ? T
  : T extends readonly unknown[]
    ? { [I in keyof T]: JsonCompatible<T[I]> }
    : T extends (...args: never[]) => unknown
      ? never
      : T extends object
        ? { [P in keyof T]: P extends symbol ? never : JsonCompatible<T[P]> | Extract<T[P], undefined> }
        : never;

/**
 * The JavaScript type of values for each ValueKind: JsonValue for 'json', what
 * the codec holds for 'string', 'number' and 'bytes', and unknown for
 * 'structured' and 'v8' (whatever was stored).
 */
export type ValueOf<V extends ValueKind> = V extends 'string'
  ? string
  : V extends 'number'
    ? number
    : V extends 'bytes'
      ? Uint8Array
      : V extends 'json'
        ? JsonValue
        : unknown;

/**
 * The calling thread's scratch region, as codecs see it. Offsets passed to
 * codecs are relative to `base`; views cover the whole memory.
 */
export interface Scratch {
  /** Start of the scratch region in the memory (64-byte aligned). */
  readonly base: number;
  /** Its size in bytes. */
  readonly cap: number;
  readonly u8: Uint8Array;
  readonly u32: Uint32Array;
  /** u8 from `base` to `base + cap`: where keys go. */
  readonly keyView: Uint8Array;
  readonly buf: Buffer;
  readonly f64: Float64Array;
  readonly maxKeyBytes: number;
  readonly maxValueBytes: number;
  /** Grows the region to at least `bytes`, keeping its contents (base, cap and keyView may change). */
  ensure(bytes: number): void;
}

/** Encodes keys at scratch offset 0 and decodes them from range records. */
export interface KeyCodec<K> {
  readonly kind: KeyKind;
  /** Stored in the map's header, so that attach() can check it. */
  readonly id: number;
  /** True when a JavaScript Map compares these keys as the map does (by content): a read cache can key on them. */
  readonly cacheable: boolean;
  /** Writes the key at offset 0 and returns its length in bytes. */
  write(key: K, scratch: Scratch, what: string): number;
  read(scratch: Scratch, at: number, len: number): K;
}

/**
 * What prepare() hands to put(): the encoded form (a string for 'json', bytes
 * otherwise), or undefined when put() writes the value itself.
 */
export type Prepared = string | Uint8Array | undefined;

/** Encodes values at a given scratch offset, in two steps (see the top of this file), and decodes them. */
export interface ValueMarshal<V> {
  readonly kind: ValueKind | 'custom';
  readonly id: number;
  /** True when decoding runs user code: the bindings then decode only after unpinning. */
  readonly userCode: boolean;
  /**
   * True when decoded values cannot change (primitives, 'json' values deeply
   * frozen: frozenJson, or a custom codec's that promises it), which a read
   * cache can hand out again and again (read-cache.ts).
   */
  readonly immutable: boolean;
  /**
   * True when decoded values are objects kept frozen (frozen 'json', an
   * immutable custom codec's): a read cache miss that fills costs a freeze (or
   * the codec's decode()) and an object that outlives the young generation, so
   * the cache must hit more often to pay (read-cache.ts, Window); and stores do
   * not fill the cache, since stored() would decode a frozen copy per store for
   * a load that may never come (an immutable value without it is a primitive,
   * which stored() hands back at no cost).
   */
  readonly objects?: boolean;
  /**
   * Step one: checks `value` and runs whatever user code encoding it needs,
   * touching no shared memory. Returns the encoded form for put(), or undefined
   * when put() writes `value` itself (running no user code). The result stays
   * valid until this thread's next prepare(); keep() makes it last.
   */
  prepare(value: V, what: string): Prepared;
  /** A prepare() result that survives the next prepare() (compareAndSwap prepares two values). */
  keep(prepared: Prepared): Prepared;
  /** Step two: writes the value at `at` (8-byte aligned) and returns its length in bytes. Runs no user code. */
  put(value: V, prepared: Prepared, scratch: Scratch, at: number, what: string): number;
  /**
   * Decodes the value at `at`. Only a custom codec can throw, and then throws a
   * SyncMapValueDecodingError that says whether the operation `what` had
   * already made its write (`wrote`, e.g. 'swap') or changed nothing.
   */
  read(scratch: Scratch, at: number, len: number, what: string, wrote?: string): V;
  /** Decodes bytes copied out earlier (see userCode); throws as read() does, for an operation that changed nothing. */
  decode(bytes: Uint8Array, what: string): V;
  /**
   * What loadOrStore returns after storing `value` (put at `at`, `len` bytes):
   * what a load would return, a decoded copy, so that the caller gets the same
   * kind of object whether it stored or loaded; `value` itself where the copy
   * could not differ (a primitive the codec keeps exactly).
   */
  stored(value: V, scratch: Scratch, at: number, len: number, what: string): V;
}

// Strings up to this many UTF-16 units are first tried as ASCII with a plain
// loop, which beats the call into C++ behind Buffer#write below ~30 characters
// (bench/codec-micro.bench.ts).
const ASCII_LOOP_MAX = 32;

/** `word` with its indefinite article: "an undefined", "a Uint8Array". */
function withArticle(word: string): string {
  return `${/^(?:[aeio]|u(?!int|ni))/i.test(word) ? 'an' : 'a'} ${word}`;
}

/** What a value is, for messages: "an undefined", "a bigint", "an object (Date)", "a Uint8Array", "null". */
export function describe(value: unknown): string {
  if (value === null) return 'null';
  if (value instanceof Uint8Array) return withArticle(value.constructor.name);
  if (typeof value === 'object') return `an object (${(value as object).constructor?.name ?? 'no prototype'})`;
  return withArticle(typeof value);
}

/** The most of a cause's message quoted in another error's (firstLine). */
const CAUSE_CHARS = 200;

/**
 * The first line of what `error` says, cut to CAUSE_CHARS: V8's messages can
 * run to several lines (a JSON cycle's path), and a codec whose encode()
 * writes to the map again nests the inner write's message in its own, level
 * after level (~620 KB at the stack's limit). The whole of it stays in the
 * error's `cause`.
 */
function firstLine(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  const newline = text.indexOf('\n');
  const end = newline < 0 ? text.length : newline;
  return end <= CAUSE_CHARS ? text.slice(0, end) : `${text.slice(0, CAUSE_CHARS)}…`;
}

/** Writes the value `text` as UTF-8 at `at`; returns its length. Throws past maxValueBytes. */
function writeUtf8(text: string, scratch: Scratch, at: number, what: string): number {
  const max = scratch.maxValueBytes;
  const n = text.length;
  if (n <= ASCII_LOOP_MAX) {
    const u8 = scratch.u8;
    const u32 = scratch.u32;
    const p = scratch.base + at; // 8-byte aligned
    let i = 0;
    let ascii = 0;
    // Four characters to a 32-bit store (little-endian, as Wasm's memory is).
    for (; i + 4 <= n; i += 4) {
      const c0 = text.charCodeAt(i);
      const c1 = text.charCodeAt(i + 1);
      const c2 = text.charCodeAt(i + 2);
      const c3 = text.charCodeAt(i + 3);
      ascii |= c0 | c1 | c2 | c3;
      u32[(p + i) >>> 2] = c0 | (c1 << 8) | (c2 << 16) | (c3 << 24);
    }
    for (; i < n; i++) {
      const c = text.charCodeAt(i);
      ascii |= c;
      u8[p + i] = c;
    }
    if (ascii <= 0x7f) {
      if (n > max) throw valueTooLarge(what, max, n);
      return n;
    }
  }
  if (n * 3 > scratch.cap - at) {
    const bytes = Buffer.byteLength(text, 'utf8');
    if (bytes > max) throw valueTooLarge(what, max, bytes);
    scratch.ensure(at + bytes);
  }
  const written = scratch.buf.write(text, scratch.base + at, scratch.cap - at, 'utf8');
  if (written > max) throw valueTooLarge(what, max, written);
  return written;
}

// Buffer#utf8Slice is what Buffer#toString('utf8') calls after checking its
// arguments; it has been there since Node 0.x. Fall back if it ever goes.
type Utf8Slicer = (this: Buffer, start: number, end: number) => string;
const utf8Slice: Utf8Slicer =
  (Buffer.prototype as unknown as { utf8Slice?: Utf8Slicer }).utf8Slice ??
  function (this: Buffer, start: number, end: number): string {
    return this.toString('utf8', start, end);
  };

function readUtf8(scratch: Scratch, at: number, len: number): string {
  const p = scratch.base + at;
  return utf8Slice.call(scratch.buf, p, p + len);
}

/**
 * The intrinsic getters of every typed array's length and buffer. A Uint8Array
 * subclass, or an own property, may redefine `length`: its getter would run
 * the caller's code (which may call the map and overwrite the scratch) or give
 * another length than the one copied, between the size check and the copy.
 */
const typedArrayPrototype = Object.getPrototypeOf(Uint8Array.prototype) as object;
function intrinsicGetter<T>(name: string): (this: Uint8Array) => T {
  return Object.getOwnPropertyDescriptor(typedArrayPrototype, name)!.get as (this: Uint8Array) => T;
}
const lengthOfView = intrinsicGetter<number>('length');
const byteLengthOfView = intrinsicGetter<number>('byteLength');
const bufferOfView = intrinsicGetter<ArrayBufferLike>('buffer');

/** How many bytes a Uint8Array holds, whatever its class or own properties say. */
function byteCount(bytes: Uint8Array): number {
  return lengthOfView.call(bytes);
}

function writeBytes(bytes: Uint8Array, scratch: Scratch, at: number): number {
  const n = byteCount(bytes);
  if (at + n > scratch.cap) scratch.ensure(at + n);
  scratch.u8.set(bytes, scratch.base + at); // a typed array source: copied by its own length, no getter runs
  return n;
}

const u8Slice = Uint8Array.prototype.slice;

/** A copy of `bytes` in memory of its own (Buffer#slice would make a view). */
function copyOf(bytes: Uint8Array): Uint8Array {
  return u8Slice.call(bytes);
}

function copyBytes(scratch: Scratch, at: number, len: number): Uint8Array {
  const p = scratch.base + at;
  return scratch.u8.slice(p, p + len); // a copy, in memory of its own
}

// ── keys ───────────────────────────────────────────────────────────────────

const keyTooLarge = (what: string, max: number, bytes: number) =>
  new SyncMapKeyTooLargeError(`${what}: key is ${bytes} bytes, over maxKeyBytes (${max})`);

const encoder = new TextEncoder();

const stringKeys: KeyCodec<string> = {
  kind: 'string',
  id: 1,
  cacheable: true,
  write(key, scratch, what) {
    if (typeof key !== 'string') throw new SyncMapKeyTypeError(`${what}: key must be a string, got ${describe(key)}`);
    // encodeInto over a view kept for the purpose is the fastest way in
    // (~35 ns for a 36-character UID here, against ~55 for Buffer#write and
    // ~60 for a charCodeAt loop).
    const { read, written } = encoder.encodeInto(key, scratch.keyView);
    if (read !== key.length || written > scratch.maxKeyBytes) {
      throw keyTooLarge(what, scratch.maxKeyBytes, Buffer.byteLength(key, 'utf8'));
    }
    // Only a key that is not pure ASCII can hold a surrogate.
    if (written !== key.length && !key.isWellFormed()) {
      throw new SyncMapKeyTypeError(`${what}: key has an unpaired surrogate, which UTF-8 cannot encode`);
    }
    return written;
  },
  read: readUtf8,
};

const NAN_BITS_HI = 0x7ff80000; // the one NaN that keys and 'number' values use

const numberKeys: KeyCodec<number> = {
  kind: 'number',
  id: 2,
  cacheable: true, // a Map folds -0 into 0 and treats every NaN as one, as this codec does
  write(key, scratch, what) {
    if (typeof key !== 'number') throw new SyncMapKeyTypeError(`${what}: key must be a number, got ${describe(key)}`);
    if (scratch.maxKeyBytes < 8) throw keyTooLarge(what, scratch.maxKeyBytes, 8);
    writeFloat(key === 0 ? 0 : key, scratch, 0); // -0 is 0, as in a Map
    return 8;
  },
  read: (scratch, at) => scratch.f64[(scratch.base + at) >>> 3]!,
};

const bytesKeys: KeyCodec<Uint8Array> = {
  kind: 'bytes',
  id: 3,
  cacheable: false, // a Map compares Uint8Arrays by identity
  write(key, scratch, what) {
    if (!(key instanceof Uint8Array)) throw new SyncMapKeyTypeError(`${what}: key must be a Uint8Array, got ${describe(key)}`);
    if (isDetached(key)) throw new SyncMapKeyTypeError(`${what}: key is a Uint8Array whose buffer was transferred (detached)`);
    const n = byteCount(key);
    if (n > scratch.maxKeyBytes) throw keyTooLarge(what, scratch.maxKeyBytes, n);
    return writeBytes(key, scratch, 0);
  },
  read: copyBytes,
};

/**
 * Whether `bytes` views a buffer that was transferred away. Such a view reads
 * as empty, but copying from it throws a TypeError; Node 20 has no
 * ArrayBuffer#detached, and slicing a detached buffer throws.
 */
function isDetached(bytes: Uint8Array): boolean {
  if (byteLengthOfView.call(bytes) !== 0) return false;
  try {
    bufferOfView.call(bytes).slice(0, 0);
    return false;
  } catch {
    return true;
  }
}

/** Writes a float64 at an 8-byte-aligned offset, with every NaN as the same bits. */
function writeFloat(value: number, scratch: Scratch, at: number): void {
  const index = (scratch.base + at) >>> 3;
  if (value !== value) {
    const words = new Uint32Array(scratch.f64.buffer, index << 3, 2);
    words[0] = 0;
    words[1] = NAN_BITS_HI;
  } else {
    scratch.f64[index] = value;
  }
}

export const keyCodecs: { readonly [K in KeyKind]: KeyCodec<KeyOf<K>> } = {
  string: stringKeys,
  number: numberKeys,
  bytes: bytesKeys,
};

// ── values ─────────────────────────────────────────────────────────────────

const valueTooLarge = (what: string, max: number, bytes: number) =>
  new SyncMapValueTooLargeError(`${what}: value is ${bytes} bytes, over maxValueBytes (${max})`);

/** A SyncMapValueEncodingError "`what`: `reason`", with `cause` if any. */
function encodingError(what: string, reason: string, cause?: unknown): SyncMapValueEncodingError {
  return new SyncMapValueEncodingError(`${what}: ${reason}`, cause === undefined ? undefined : { cause });
}

function writeEncoded(bytes: Uint8Array, scratch: Scratch, at: number, what: string): number {
  const n = byteCount(bytes);
  if (n > scratch.maxValueBytes) throw valueTooLarge(what, scratch.maxValueBytes, n);
  return writeBytes(bytes, scratch, at);
}

const keepAsIs = (prepared: Prepared): Prepared => prepared;

/** True for a value 'json' gives back exactly: a string, a boolean, null, or a finite number other than -0. */
function jsonExact(value: unknown): boolean {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return true;
    case 'number':
      return Number.isFinite(value) && !Object.is(value, -0);
    default:
      return value === null;
  }
}

const jsonValues: ValueMarshal<unknown> = {
  kind: 'json',
  id: 1,
  userCode: false,
  immutable: false,
  prepare(value, what) {
    let text: string | undefined;
    try {
      text = JSON.stringify(value);
    } catch (error) {
      throw encodingError(what, `value cannot be encoded as JSON (${firstLine(error)})`, error);
    }
    if (text === undefined) {
      throw encodingError(what, `value cannot be encoded as JSON (${describe(value)} has no JSON form)`);
    }
    return text;
  },
  keep: keepAsIs,
  // JSON.stringify escapes unpaired surrogates, so the text is always valid UTF-8.
  put: (_value, text, scratch, at, what) => writeUtf8(text as string, scratch, at, what),
  read: (scratch, at, len) => JSON.parse(readUtf8(scratch, at, len)) as unknown,
  decode: (bytes) => JSON.parse(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString('utf8')) as unknown,
  stored: (value, scratch, at, len) => (jsonExact(value) ? value : (JSON.parse(readUtf8(scratch, at, len)) as unknown)),
};

/**
 * Freezes `root` and every object and array it holds (a JSON value: a tree,
 * no cycles, no shared parts), with a list rather than recursion, so that a
 * value nested deeper than the stack is frozen too.
 */
function deepFreeze(root: unknown): unknown {
  if (typeof root !== 'object' || root === null) return root;
  const pending: object[] = [root];
  for (let next = pending.pop(); next !== undefined; next = pending.pop()) {
    Object.freeze(next);
    // Indexes and for-in, not Object.values(): no array made per object (~20% of a pod's freeze).
    if (Array.isArray(next)) {
      for (let i = 0; i < next.length; i++) {
        const member: unknown = next[i];
        if (typeof member === 'object' && member !== null) pending.push(member);
      }
    } else {
      const members = next as Record<string, unknown>;
      for (const name in members) {
        // Own members only, asked first: never what a polluted Object.prototype holds, nor its getters run.
        if (!Object.hasOwn(members, name)) continue;
        const member = members[name];
        if (typeof member === 'object' && member !== null) pending.push(member);
      }
    }
  }
  return root;
}

/**
 * 'json' with `freeze: true`: every value handed out is deeply frozen, so that
 * the read cache can hand the same object to every load of an unchanged value
 * (read-cache.ts). The same bytes in the map as 'json' (same id): threads of
 * one map may differ in this option.
 */
const frozenJsonValues: ValueMarshal<unknown> = {
  ...jsonValues,
  immutable: true,
  objects: true,
  read: (scratch, at, len, what) => deepFreeze(jsonValues.read(scratch, at, len, what)),
  decode: (bytes, what) => deepFreeze(jsonValues.decode(bytes, what)),
  stored: (value, scratch, at, len, what) => deepFreeze(jsonValues.stored(value, scratch, at, len, what)),
};

const stringValues: ValueMarshal<string> = {
  kind: 'string',
  id: 2,
  userCode: false,
  immutable: true,
  prepare(value, what) {
    if (typeof value !== 'string') throw encodingError(what, `value must be a string, got ${describe(value)}`);
    return undefined;
  },
  keep: keepAsIs,
  put(value, _prepared, scratch, at, what) {
    const written = writeUtf8(value, scratch, at, what);
    if (written !== value.length && !value.isWellFormed()) {
      throw encodingError(what, 'value has an unpaired surrogate, which UTF-8 cannot encode');
    }
    return written;
  },
  read: readUtf8,
  decode: (bytes) => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString('utf8'),
  stored: (value) => value,
};

const bytesValues: ValueMarshal<Uint8Array> = {
  kind: 'bytes',
  id: 3,
  userCode: false,
  immutable: false,
  prepare(value, what) {
    if (!(value instanceof Uint8Array)) throw encodingError(what, `value must be a Uint8Array, got ${describe(value)}`);
    if (isDetached(value)) throw encodingError(what, 'value is a Uint8Array whose buffer was transferred (detached)');
    return undefined;
  },
  keep: keepAsIs,
  put: (value, _prepared, scratch, at, what) => writeEncoded(value, scratch, at, what),
  read: copyBytes,
  decode: (bytes) => bytes,
  stored: (_value, scratch, at, len) => copyBytes(scratch, at, len),
};

const numberValues: ValueMarshal<number> = {
  kind: 'number',
  id: 4,
  userCode: false,
  immutable: true,
  prepare(value, what) {
    if (typeof value !== 'number') throw encodingError(what, `value must be a number, got ${describe(value)}`);
    return undefined;
  },
  keep: keepAsIs,
  put(value, _prepared, scratch, at, what) {
    if (scratch.maxValueBytes < 8) throw valueTooLarge(what, scratch.maxValueBytes, 8);
    writeFloat(value, scratch, at); // -0 stays -0: a value must round-trip
    return 8;
  },
  read: (scratch, at) => scratch.f64[(scratch.base + at) >>> 3]!,
  decode: (bytes) => new Float64Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + 8))[0]!,
  // Every NaN is stored as one: hand back the stored one, as a load would.
  stored: (value) => (value === value ? value : NaN),
};

const v8Values: ValueMarshal<unknown> = {
  kind: 'v8',
  id: 5,
  userCode: false,
  immutable: false,
  prepare(value, what) {
    try {
      return v8.serialize(value);
    } catch (error) {
      throw encodingError(what, `value cannot be serialized by node:v8 (${firstLine(error)})`, error);
    }
  },
  keep: keepAsIs, // a fresh Buffer each time
  put: (_value, bytes, scratch, at, what) => writeEncoded(bytes as Uint8Array, scratch, at, what),
  read: (scratch, at, len) => v8.deserialize(copyBytes(scratch, at, len)) as unknown,
  decode: (bytes) => v8.deserialize(bytes) as unknown,
  stored: (_value, scratch, at, len) => v8.deserialize(copyBytes(scratch, at, len)) as unknown,
};

/**
 * The default: what postMessage carries, given back as it was stored, or
 * refused (structured.ts). Strings, numbers, booleans, null and undefined are
 * written straight into the scratch, running no user code and allocating
 * nothing; anything else is encoded first into a buffer of the encoder's own.
 */
const structuredValues: ValueMarshal<unknown> = {
  kind: 'structured',
  id: 7,
  userCode: false,
  immutable: false,
  prepare(value, what) {
    if ((typeof value !== 'object' || value === null) && typeof value !== 'bigint') {
      if (typeof value === 'function' || typeof value === 'symbol') {
        throw new SyncMapValueEncodingError(`${what}: value cannot be stored: ${describe(value)} cannot be cloned`);
      }
      return undefined; // a primitive put() writes itself
    }
    try {
      return encodeValue(value);
    } catch (error) {
      if (error instanceof Refusal) {
        throw encodingError(what, `${error.path.length === 0 ? 'value' : `value${error.path.join('')}`} cannot be stored: ${error.message}`);
      }
      // What the value's own code threw (a getter, a Proxy trap), or a stack overflow.
      throw encodingError(what, `value cannot be encoded (${firstLine(error)})`, error);
    }
  },
  keep: (prepared) => (prepared === undefined ? undefined : copyOf(prepared as Uint8Array)),
  put(value, prepared, scratch, at, what) {
    if (prepared !== undefined) return writeEncoded(prepared as Uint8Array, scratch, at, what);
    const max = scratch.maxValueBytes;
    let end = putPrimitive(scratch.buf, scratch.base + at, Math.min(scratch.cap - at, max), value);
    if (end < 0) {
      // Past the room left in the scratch (a long string), or over maxValueBytes.
      const need = primitiveBound(value);
      if (need > max) throw valueTooLarge(what, max, need);
      scratch.ensure(at + need);
      end = putPrimitive(scratch.buf, scratch.base + at, need, value);
      if (end < 0) throw new SyncMapInternalError(`${what}: a value did not fit the room measured for it (a bug in syncmap-wasm)`);
    }
    return end - (scratch.base + at);
  },
  read: (scratch, at, len) => decodeValue(scratch.buf, scratch.base + at, len),
  decode: (bytes) => decodeValue(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length), 0, bytes.length),
  stored: (value, scratch, at, len) =>
    typeof value !== 'object' || value === null ? value : decodeValue(scratch.buf, scratch.base + at, len),
};

export const valueMarshals: { readonly [K in ValueKind]: ValueMarshal<unknown> } = {
  structured: structuredValues,
  json: jsonValues,
  string: stringValues as ValueMarshal<unknown>,
  bytes: bytesValues as ValueMarshal<unknown>,
  number: numberValues as ValueMarshal<unknown>,
  v8: v8Values,
};

/**
 * The marshal a thread uses with the `freeze` option: 'json' values deeply
 * frozen, and 'string' and 'number' values as they are (immutable already),
 * as is a custom codec's declared immutable; null for values that cannot be
 * frozen whole (bytes, 'structured' and 'v8' values, which hold typed arrays,
 * Maps and Dates, and other custom codecs').
 */
export function frozen<V>(values: ValueMarshal<V>): ValueMarshal<V> | null {
  if (values.immutable) return values;
  if (values === (jsonValues as ValueMarshal<unknown>)) return frozenJsonValues as ValueMarshal<V>;
  return null;
}

/** The id a custom codec is recorded under in the map's header. */
export const CUSTOM_VALUE_ID = 6;

/**
 * Wraps a codec of the user's own. An `immutable` codec's values are cached
 * as frozen 'json' values are (objects: loads fill the cache, stores do not).
 */
export function customValues<V>(codec: ValueCodec<V>): ValueMarshal<V> {
  const immutable = codec.immutable === true;
  return {
    kind: 'custom',
    id: CUSTOM_VALUE_ID,
    userCode: true,
    immutable,
    objects: immutable,
    prepare(value, what) {
      let bytes: unknown;
      try {
        bytes = codec.encode(value);
      } catch (error) {
        throw encodingError(what, `the custom codec's encode() threw (${firstLine(error)})`, error);
      }
      if (!(bytes instanceof Uint8Array)) {
        throw encodingError(what, `the custom codec's encode() must return a Uint8Array, got ${describe(bytes)}`);
      }
      if (isDetached(bytes)) throw encodingError(what, "the custom codec's encode() returned a detached Uint8Array");
      return bytes;
    },
    // The codec may hand out one buffer for every call: copy the first of two.
    keep: (bytes) => copyOf(bytes as Uint8Array),
    put: (_value, bytes, scratch, at, what) => writeEncoded(bytes as Uint8Array, scratch, at, what),
    read: (scratch, at, len, what, wrote) =>
      decodeOwn(codec, copyBytes(scratch, at, len), what, wrote === undefined ? undefined : `the ${wrote} took effect; decoding the previous value failed`),
    decode: (bytes, what) => decodeOwn(codec, bytes, what, undefined),
    stored: (_value, scratch, at, len, what) =>
      decodeOwn(codec, copyBytes(scratch, at, len), what, 'the value was stored; decoding it back failed'),
  };
}

/**
 * Runs a custom codec's decode(). The bindings call it only after the core has
 * returned (the thread holds no pin, no lock and no range), on a copy, so a
 * throw here leaves the thread as ready for its next call as a return would,
 * and a decode() that calls the map cannot disturb the bytes it decodes.
 * `outcome` says what the operation did before decoding failed; undefined:
 * nothing.
 */
function decodeOwn<V>(codec: ValueCodec<V>, bytes: Uint8Array, what: string, outcome: string | undefined): V {
  try {
    return codec.decode(bytes);
  } catch (error) {
    throw new SyncMapValueDecodingError(
      `${what}: the custom codec's decode() threw (${firstLine(error)}); ${outcome ?? 'the map was not changed'}`,
      { cause: error },
    );
  }
}
