/**
 * Key and value codecs: how JavaScript values become the bytes the core stores,
 * written straight into the calling thread's scratch region in the shared memory.
 *
 * Keys are compared by their bytes: strings as UTF-8, numbers as float64 with
 * -0 folded into 0 and every NaN into one (so that equal keys are equal bytes,
 * as SameValueZero makes them equal in a Map), byte arrays as they are.
 * compareAndSwap and compareAndDelete compare values by their encoded bytes too.
 */
import v8 from 'node:v8';
import {
  SyncMapKeyTooLargeError,
  SyncMapKeyTypeError,
  SyncMapValueDecodingError,
  SyncMapValueEncodingError,
  SyncMapValueTooLargeError,
} from './errors.js';

/** How keys are encoded. */
export type KeyKind = 'string' | 'number' | 'bytes';

/** How values are encoded, or a codec of your own. */
export type ValueKind = 'json' | 'string' | 'bytes' | 'number' | 'v8';

/** A value codec of your own: any encoding that round-trips your values through bytes. */
export interface ValueCodec<V> {
  encode(value: V): Uint8Array;
  decode(bytes: Uint8Array): V;
}

/** The JavaScript type of keys for each KeyKind. */
export type KeyOf<K extends KeyKind> = K extends 'string' ? string : K extends 'number' ? number : Uint8Array;

/** The JavaScript type of values for each ValueKind ('json' and 'v8' hold whatever was stored). */
export type ValueOf<V extends ValueKind> = V extends 'string' ? string : V extends 'number' ? number : V extends 'bytes' ? Uint8Array : unknown;

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
  /** Writes the key at offset 0 and returns its length in bytes. */
  write(key: K, scratch: Scratch, what: string): number;
  read(scratch: Scratch, at: number, len: number): K;
}

/** Encodes values at a given scratch offset and decodes them. */
export interface ValueMarshal<V> {
  readonly kind: ValueKind | 'custom';
  readonly id: number;
  /** True when decoding runs user code: the bindings then decode only after unpinning. */
  readonly userCode: boolean;
  /** Writes the value at `at` (8-byte aligned) and returns its length in bytes. */
  write(value: V, scratch: Scratch, at: number, what: string): number;
  /**
   * Decodes the value at `at`. Only a custom codec can throw, and then throws a
   * SyncMapValueDecodingError that says whether the operation `what` had
   * already made its write (`wrote`, e.g. 'swap') or changed nothing.
   */
  read(scratch: Scratch, at: number, len: number, what: string, wrote?: string): V;
  /** Decodes bytes copied out earlier (see userCode); throws as read() does, for an operation that changed nothing. */
  decode(bytes: Uint8Array, what: string): V;
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

/**
 * The first line of what `error` says: V8's messages can run to several lines
 * (a JSON cycle's path); the whole of it stays in the error's `cause`.
 */
function firstLine(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  const end = text.indexOf('\n');
  return end < 0 ? text : text.slice(0, end);
}

/** Writes the value `text` as UTF-8 at `at`; returns its length. Throws past maxValueBytes. */
function writeUtf8(text: string, scratch: Scratch, at: number, what: string): number {
  const max = scratch.maxValueBytes;
  const n = text.length;
  if (n <= ASCII_LOOP_MAX) {
    const u8 = scratch.u8;
    const p = scratch.base + at;
    let i = 0;
    for (; i < n; i++) {
      const c = text.charCodeAt(i);
      if (c > 0x7f) break;
      u8[p + i] = c;
    }
    if (i === n) {
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

function writeBytes(bytes: Uint8Array, scratch: Scratch, at: number): number {
  if (at + bytes.length > scratch.cap) scratch.ensure(at + bytes.length);
  scratch.u8.set(bytes, scratch.base + at);
  return bytes.length;
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
  write(key, scratch, what) {
    if (!(key instanceof Uint8Array)) throw new SyncMapKeyTypeError(`${what}: key must be a Uint8Array, got ${describe(key)}`);
    if (key.length > scratch.maxKeyBytes) throw keyTooLarge(what, scratch.maxKeyBytes, key.length);
    return writeBytes(key, scratch, 0);
  },
  read: copyBytes,
};

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

function encodingError(what: string, reason: string, cause?: unknown): SyncMapValueEncodingError {
  return new SyncMapValueEncodingError(`${what}: ${reason}`, cause === undefined ? undefined : { cause });
}

function writeEncoded(bytes: Uint8Array, scratch: Scratch, at: number, what: string): number {
  if (bytes.length > scratch.maxValueBytes) throw valueTooLarge(what, scratch.maxValueBytes, bytes.length);
  return writeBytes(bytes, scratch, at);
}

const jsonValues: ValueMarshal<unknown> = {
  kind: 'json',
  id: 1,
  userCode: false,
  write(value, scratch, at, what) {
    let text: string | undefined;
    try {
      text = JSON.stringify(value);
    } catch (error) {
      throw encodingError(what, `value cannot be encoded as JSON (${firstLine(error)})`, error);
    }
    if (text === undefined) {
      throw encodingError(what, `value cannot be encoded as JSON (${describe(value)} has no JSON form)`);
    }
    // JSON.stringify escapes unpaired surrogates, so the text is always valid UTF-8.
    return writeUtf8(text, scratch, at, what);
  },
  read: (scratch, at, len) => JSON.parse(readUtf8(scratch, at, len)) as unknown,
  decode: (bytes) => JSON.parse(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString('utf8')) as unknown,
};

const stringValues: ValueMarshal<string> = {
  kind: 'string',
  id: 2,
  userCode: false,
  write(value, scratch, at, what) {
    if (typeof value !== 'string') throw encodingError(what, `value must be a string, got ${describe(value)}`);
    const written = writeUtf8(value, scratch, at, what);
    if (written !== value.length && !value.isWellFormed()) {
      throw encodingError(what, 'value has an unpaired surrogate, which UTF-8 cannot encode');
    }
    return written;
  },
  read: readUtf8,
  decode: (bytes) => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString('utf8'),
};

const bytesValues: ValueMarshal<Uint8Array> = {
  kind: 'bytes',
  id: 3,
  userCode: false,
  write(value, scratch, at, what) {
    if (!(value instanceof Uint8Array)) throw encodingError(what, `value must be a Uint8Array, got ${describe(value)}`);
    return writeEncoded(value, scratch, at, what);
  },
  read: copyBytes,
  decode: (bytes) => bytes,
};

const numberValues: ValueMarshal<number> = {
  kind: 'number',
  id: 4,
  userCode: false,
  write(value, scratch, at, what) {
    if (typeof value !== 'number') throw encodingError(what, `value must be a number, got ${describe(value)}`);
    if (scratch.maxValueBytes < 8) throw valueTooLarge(what, scratch.maxValueBytes, 8);
    writeFloat(value, scratch, at); // -0 stays -0: a value must round-trip
    return 8;
  },
  read: (scratch, at) => scratch.f64[(scratch.base + at) >>> 3]!,
  decode: (bytes) => new Float64Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + 8))[0]!,
};

const v8Values: ValueMarshal<unknown> = {
  kind: 'v8',
  id: 5,
  userCode: false,
  write(value, scratch, at, what) {
    let bytes: Buffer;
    try {
      bytes = v8.serialize(value);
    } catch (error) {
      throw encodingError(what, `value cannot be serialized by node:v8 (${firstLine(error)})`, error);
    }
    return writeEncoded(bytes, scratch, at, what);
  },
  read: (scratch, at, len) => v8.deserialize(copyBytes(scratch, at, len)) as unknown,
  decode: (bytes) => v8.deserialize(bytes) as unknown,
};

export const valueMarshals: { readonly [K in ValueKind]: ValueMarshal<unknown> } = {
  json: jsonValues,
  string: stringValues as ValueMarshal<unknown>,
  bytes: bytesValues as ValueMarshal<unknown>,
  number: numberValues as ValueMarshal<unknown>,
  v8: v8Values,
};

/** The id a custom codec is recorded under in the map's header. */
export const CUSTOM_VALUE_ID = 6;

/** Wraps a codec of the user's own. */
export function customValues<V>(codec: ValueCodec<V>): ValueMarshal<V> {
  return {
    kind: 'custom',
    id: CUSTOM_VALUE_ID,
    userCode: true,
    write(value, scratch, at, what) {
      let bytes: unknown;
      try {
        bytes = codec.encode(value);
      } catch (error) {
        throw encodingError(what, `the custom codec's encode() threw (${firstLine(error)})`, error);
      }
      if (!(bytes instanceof Uint8Array)) {
        throw encodingError(what, `the custom codec's encode() must return a Uint8Array, got ${describe(bytes)}`);
      }
      return writeEncoded(bytes, scratch, at, what);
    },
    read: (scratch, at, len, what, wrote) => decodeOwn(codec, copyBytes(scratch, at, len), what, wrote),
    decode: (bytes, what) => decodeOwn(codec, bytes, what, undefined),
  };
}

/**
 * Runs a custom codec's decode(). The bindings call it only after the core has
 * returned (the thread holds no pin, no lock and no range), so a throw here
 * leaves the thread as ready for its next call as a return would.
 */
function decodeOwn<V>(codec: ValueCodec<V>, bytes: Uint8Array, what: string, wrote: string | undefined): V {
  try {
    return codec.decode(bytes);
  } catch (error) {
    const outcome = wrote === undefined
      ? 'the map was not changed'
      : `the ${wrote} took effect; decoding the previous value failed`;
    throw new SyncMapValueDecodingError(`${what}: the custom codec's decode() threw (${firstLine(error)}); ${outcome}`, { cause: error });
  }
}
