/**
 * The 'structured' value codec, the default: what `postMessage` carries (the
 * structured clone algorithm), in a byte format of our own, so that a value
 * comes back from the map as it was stored or is refused at the store.
 *
 * Why our own format rather than node:v8's (the 'v8' codec): bench/codecs.bench.ts.
 * In short, v8.serialize and v8.deserialize cost about 2.5 µs each for a
 * 200-byte object here, twice JSON's; a format written and read by JIT-compiled
 * JavaScript, with the primitives written straight into the scratch region and
 * object keys read through a small cache, beats JSON on both sides.
 *
 * What it keeps, beyond JSON: undefined (also as a member), NaN, -0,
 * Infinity, BigInt, Date, RegExp (source and flags), Map, Set, ArrayBuffer
 * (resizable ones too), every typed array, DataView and Buffer (each comes back
 * as its own class, over a buffer of its own: a view's bytes are copied, not the
 * whole ArrayBuffer behind it), boxed primitives, the seven standard Error
 * classes (every own property: message, stack, cause, code…), sparse arrays and
 * properties on arrays, objects with a null prototype, strings with unpaired
 * surrogates, and shared references and cycles (an object reached twice comes
 * back as one object reached twice).
 *
 * What it refuses, with a SyncMapValueEncodingError: functions and symbols (as
 * structured clone does), instances of classes and subclasses of built-ins
 * (structured clone would hand back a plain Object: the prototype would change
 * silently), WeakMap, WeakSet, WeakRef, Promise and other objects that cannot
 * be cloned, SharedArrayBuffer and views over one (shared, not copied).
 *
 * What it does as structured clone does: an object's own enumerable
 * string-keyed properties are stored (symbol-keyed and non-enumerable ones are
 * not), a getter is read and its value stored, a RegExp's lastIndex is not kept.
 *
 * Bytes are compared by compareAndSwap: numbers as Object.is compares them (1 and
 * 1.0 are the same bytes, 0 and -0 differ, every NaN is one), objects by their
 * properties in order, as under 'json'.
 *
 * ## Format
 * A value is a tag byte and what the tag says follows. Lengths and counts are
 * unsigned LEB128 varints; numbers little-endian (this machine's order: every
 * thread of a map runs on one machine).
 *
 *   UNDEFINED NULL FALSE TRUE          nothing
 *   INT32                              4 bytes (an integer in int32 range, not -0)
 *   FLOAT64                            8 bytes (every NaN as 0x7ff8000000000000)
 *   BIGINT                             sign byte, varint n, n bytes of magnitude
 *   ASCII, UTF8                        varint byte length, bytes
 *   LONG_ASCII, LONG_UTF8              4-byte byte length, bytes (a longer string, written in one call)
 *   UTF16                              varint unit count, 2 bytes each (a string with an unpaired surrogate)
 *   TOP_ASCII, TOP_UTF8                bytes up to the end (only as the whole value)
 *   OBJECT, NULL_OBJECT                varint n, n × (key, value); a key is a string without its tag byte
 *   ARRAY                              varint length, length × value
 *   SPARSE_ARRAY                       varint length, varint n, n × (key, value)
 *   DATE                               8 bytes, the time as FLOAT64
 *   REGEXP                             source string, flags string
 *   MAP                                varint n, n × (key value, value)
 *   SET                                varint n, n × value
 *   ARRAY_BUFFER                       varint byte length, bytes
 *   RESIZABLE_ARRAY_BUFFER             varint byte length, varint maxByteLength, bytes
 *   VIEW                               type byte (VIEW_TYPES), varint byte length, bytes
 *   ERROR                              class byte (ERROR_CLASSES), varint n, n × (key, enumerable byte, value)
 *   BOXED_NUMBER / _STRING / _BOOLEAN / _BIGINT   the primitive, tagged
 *   REF                                varint index of an object met before (in the order objects begin)
 */
// ── tags ───────────────────────────────────────────────────────────────────

const UNDEFINED = 0x00;
const NULL = 0x01;
const FALSE = 0x02;
const TRUE = 0x03;
const INT32 = 0x04;
const FLOAT64 = 0x05;
const BIGINT = 0x06;
const ASCII = 0x07;
const UTF8 = 0x08;
const UTF16 = 0x09;
const TOP_ASCII = 0x0a;
const TOP_UTF8 = 0x0b;
const LONG_ASCII = 0x0c;
const LONG_UTF8 = 0x0d;
const OBJECT = 0x10;
const NULL_OBJECT = 0x11;
const ARRAY = 0x12;
const SPARSE_ARRAY = 0x13;
const DATE = 0x14;
const REGEXP = 0x15;
const MAP = 0x16;
const SET = 0x17;
const ARRAY_BUFFER = 0x18;
const RESIZABLE_ARRAY_BUFFER = 0x19;
const VIEW = 0x1a;
const ERROR = 0x1b;
const BOXED_NUMBER = 0x1c;
const BOXED_STRING = 0x1d;
const BOXED_BOOLEAN = 0x1e;
const BOXED_BIGINT = 0x1f;
const REF = 0x20;

/** The classes a VIEW can be, by its type byte. Buffer last: it is a Uint8Array too. */
const VIEW_TYPES = [
  Int8Array, Uint8Array, Uint8ClampedArray, Int16Array, Uint16Array, Int32Array, Uint32Array,
  Float32Array, Float64Array, BigInt64Array, BigUint64Array, DataView, Buffer,
] as const;
const DATA_VIEW_TYPE = VIEW_TYPES.indexOf(DataView);
const BUFFER_TYPE = VIEW_TYPES.indexOf(Buffer);

/** The Error classes structured clone keeps, by their class byte. */
const ERROR_CLASSES = [Error, EvalError, RangeError, ReferenceError, SyntaxError, TypeError, URIError] as const;

/** What an object is, by its prototype. */
const enum Kind { Date, RegExp, Map, Set, ArrayBuffer, View, Error, Number, String, Boolean, BigInt }

const KIND_OF = new Map<object, Kind>([
  [Date.prototype, Kind.Date],
  [RegExp.prototype, Kind.RegExp],
  [Map.prototype, Kind.Map],
  [Set.prototype, Kind.Set],
  [ArrayBuffer.prototype, Kind.ArrayBuffer],
  [Number.prototype, Kind.Number],
  [String.prototype, Kind.String],
  [Boolean.prototype, Kind.Boolean],
  [BigInt.prototype, Kind.BigInt],
  ...VIEW_TYPES.map((type) => [type.prototype, Kind.View] as [object, Kind]),
  ...ERROR_CLASSES.map((type) => [type.prototype, Kind.Error] as [object, Kind]),
]);
const VIEW_TYPE_OF = new Map<object, number>(VIEW_TYPES.map((type, i) => [type.prototype, i]));
const ERROR_CLASS_OF = new Map<object, number>(ERROR_CLASSES.map((type, i) => [type.prototype, i]));

/** Built-ins structured clone refuses, with the reason given. */
const UNCLONEABLE = new Map<object, string>([
  [WeakMap.prototype, 'a WeakMap cannot be cloned'],
  [WeakSet.prototype, 'a WeakSet cannot be cloned'],
  [WeakRef.prototype, 'a WeakRef cannot be cloned'],
  [Promise.prototype, 'a Promise cannot be cloned'],
  [FinalizationRegistry.prototype, 'a FinalizationRegistry cannot be cloned'],
  [SharedArrayBuffer.prototype, 'a SharedArrayBuffer is shared between threads, never copied; store a copy of its bytes'],
  [Symbol.prototype, 'a boxed symbol cannot be cloned'],
]);

// Intrinsics, read once: a value's own methods may be overridden.
const getTime = Date.prototype.getTime;
const numberValueOf = Number.prototype.valueOf;
const stringValueOf = String.prototype.valueOf;
const booleanValueOf = Boolean.prototype.valueOf;
const bigintValueOf = BigInt.prototype.valueOf;
const typedArrayProto = Object.getPrototypeOf(Uint8Array.prototype) as object;
const viewBuffer = Object.getOwnPropertyDescriptor(typedArrayProto, 'buffer')!.get! as (this: ArrayBufferView) => ArrayBufferLike;
const viewByteOffset = Object.getOwnPropertyDescriptor(typedArrayProto, 'byteOffset')!.get! as (this: ArrayBufferView) => number;
const viewByteLength = Object.getOwnPropertyDescriptor(typedArrayProto, 'byteLength')!.get! as (this: ArrayBufferView) => number;
const dataViewBuffer = Object.getOwnPropertyDescriptor(DataView.prototype, 'buffer')!.get! as (this: DataView) => ArrayBufferLike;
const dataViewByteOffset = Object.getOwnPropertyDescriptor(DataView.prototype, 'byteOffset')!.get! as (this: DataView) => number;
const dataViewByteLength = Object.getOwnPropertyDescriptor(DataView.prototype, 'byteLength')!.get! as (this: DataView) => number;
const regexpSource = Object.getOwnPropertyDescriptor(RegExp.prototype, 'source')!.get! as (this: RegExp) => string;
const regexpFlags = Object.getOwnPropertyDescriptor(RegExp.prototype, 'flags')!.get! as (this: RegExp) => string;

// Buffer's own fast methods (what Buffer#write and #toString call after
// checking their arguments); present since Node 0.x.
type Writer = (this: Buffer, text: string, offset: number, length: number) => number;
type Slicer = (this: Buffer, start: number, end: number) => string;
const B = Buffer.prototype as unknown as { utf8Write: Writer; latin1Write: Writer; ucs2Write: Writer; utf8Slice: Slicer; latin1Slice: Slicer; ucs2Slice: Slicer };
const { utf8Write, latin1Write, ucs2Write, utf8Slice, latin1Slice, ucs2Slice } = B;

const f64 = new Float64Array(1);
const f64Bytes = new Uint8Array(f64.buffer);

/**
 * Strings up to this many units are first tried as ASCII with a plain loop;
 * longer ones are written by one call into C++ (Buffer#utf8Write), which costs
 * about as much as the loop over 30 characters here.
 */
const ASCII_LOOP_MAX = 24;

/** Thrown inside the encoder for a value it refuses; the codec turns it into a SyncMapValueEncodingError. */
export class Refusal extends Error {
  /** Where in the value the refused part is, outermost first: '.endpoints', '[1]'. */
  readonly path: string[] = [];
}

const IDENTIFIER = /^[A-Za-z_$][\w$]*$/;

/** Adds one step of the path (a key, an index, or a `raw` step such as '<Map value>') to a refusal that passes through; returns what to rethrow. */
function within(error: unknown, step: string | number, raw = false): unknown {
  if (error instanceof Refusal) {
    error.path.unshift(
      raw ? (step as string) : typeof step === 'number' ? `[${step}]` : IDENTIFIER.test(step) ? `.${step}` : `[${JSON.stringify(step)}]`,
    );
  }
  return error;
}

/** What a value is, in a refusal: "a function", "an object of class Pod". */
function className(value: object): string {
  const name = (value as { constructor?: { name?: unknown } }).constructor?.name;
  return typeof name === 'string' && name !== '' ? name : 'an anonymous class';
}

// ── encoding ───────────────────────────────────────────────────────────────

const INITIAL_BYTES = 8192;
/** Above this, the buffer an encoding grew is let go once used, rather than kept for the next value. */
const KEEP_BYTES = 1 << 20;
/** Up to this many objects, shared references are found by a linear search; above, through a Map. */
const LINEAR_SEEN = 32;

/**
 * Encodes one value at a time into a buffer of its own (never the shared
 * memory: reading the value may run user code, a getter or a Proxy trap, which
 * may call the map again). The result stays valid until this encoder's next use.
 */
class Encoder {
  buf = Buffer.allocUnsafeSlow(INITIAL_BYTES);
  pos = 0;
  /** True while encoding: a getter that stores into a map meanwhile gets an encoder of its own. */
  busy = false;
  readonly seen: object[] = [];
  seenMap: Map<object, number> | null = null;

  /** The encoding of `value`, as a view of this encoder's buffer. */
  encodeRoot(value: unknown): Uint8Array {
    this.busy = true;
    this.pos = 0;
    try {
      this.value(value);
      // A plain view: Buffer#subarray would construct a Buffer through its species, which costs more.
      const out = new Uint8Array(this.buf.buffer, this.buf.byteOffset, this.pos);
      if (this.buf.length > KEEP_BYTES) this.buf = Buffer.allocUnsafeSlow(INITIAL_BYTES);
      return out;
    } finally {
      this.seen.length = 0;
      this.seenMap = null;
      this.busy = false;
    }
  }

  room(bytes: number): void {
    const need = this.pos + bytes;
    if (need <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < need) size *= 2;
    const grown = Buffer.allocUnsafeSlow(size);
    this.buf.copy(grown, 0, 0, this.pos);
    this.buf = grown;
  }

  byte(b: number): void {
    this.room(1);
    this.buf[this.pos++] = b;
  }

  varint(n: number): void {
    this.room(5);
    const buf = this.buf;
    let p = this.pos;
    while (n > 0x7f) {
      buf[p++] = (n & 0x7f) | 0x80;
      n >>>= 7;
    }
    buf[p++] = n;
    this.pos = p;
  }

  float(n: number): void {
    this.room(8);
    this.pos = putFloat(this.buf, this.pos, n);
  }

  value(v: unknown): void {
    switch (typeof v) {
      case 'string': return this.string(v, true);
      case 'number': return this.number(v);
      case 'boolean': return this.byte(v ? TRUE : FALSE);
      case 'undefined': return this.byte(UNDEFINED);
      case 'bigint': return this.bigint(BIGINT, v);
      case 'object': return v === null ? this.byte(NULL) : this.object(v);
      case 'function': throw new Refusal('a function cannot be cloned');
      default: throw new Refusal(`a ${typeof v} cannot be cloned`);
    }
  }

  number(n: number): void {
    this.room(9);
    this.pos = putNumber(this.buf, this.pos, n);
  }

  bigint(tag: number, n: bigint): void {
    const negative = n < 0n;
    const hex = (negative ? -n : n).toString(16);
    const bytes = (hex.length + 1) >> 1;
    this.byte(tag);
    this.byte(negative ? 1 : 0);
    this.varint(bytes);
    this.room(bytes);
    // Little-endian bytes from the hex digits, least significant first.
    const buf = this.buf;
    let p = this.pos;
    for (let end = hex.length; end > 0; end -= 2) {
      buf[p++] = parseInt(hex.slice(Math.max(0, end - 2), end), 16);
    }
    this.pos = p;
  }

  /**
   * A string, with its tag byte (`tagged`), or as an object key: without one,
   * its form (ASCII, UTF-8, UTF-16) in the low bits of its length word.
   */
  string(s: string, tagged: boolean): void {
    const n = s.length;
    if (n <= ASCII_LOOP_MAX) {
      // The header takes 2 bytes at most here: a tag and n, or n * 4 as a varint.
      this.room(n + 2);
      const buf = this.buf;
      const start = this.pos;
      const header = tagged || n > 31 ? 2 : 1;
      let p = start + header;
      let i = 0;
      for (; i < n; i++) {
        const c = s.charCodeAt(i);
        if (c > 0x7f) break;
        buf[p++] = c;
      }
      if (i === n) {
        if (tagged) {
          buf[start] = ASCII;
          buf[start + 1] = n;
        } else if (header === 1) {
          buf[start] = n * 4;
        } else {
          buf[start] = ((n * 4) & 0x7f) | 0x80;
          buf[start + 1] = (n * 4) >>> 7;
        }
        this.pos = p;
        return;
      }
    }
    if (tagged) {
      // One call writes it, behind a length of fixed size filled in after.
      this.room(5 + n * 3);
      const start = this.pos;
      const written = utf8Write.call(this.buf, s, start + 5, n * 3);
      if (written === n || s.isWellFormed()) {
        const buf = this.buf;
        buf[start] = written === n ? LONG_ASCII : LONG_UTF8;
        buf[start + 1] = written;
        buf[start + 2] = written >>> 8;
        buf[start + 3] = written >>> 16;
        buf[start + 4] = written >>> 24;
        this.pos = start + 5 + written;
        return;
      }
    }
    const bytes = Buffer.byteLength(s, 'utf8');
    if (bytes === n) {
      this.stringHeader(tagged, ASCII, n, 0);
      this.room(n);
      this.pos += latin1Write.call(this.buf, s, this.pos, n);
    } else if (s.isWellFormed()) {
      this.stringHeader(tagged, UTF8, bytes, 1);
      this.room(bytes);
      this.pos += utf8Write.call(this.buf, s, this.pos, bytes);
    } else {
      // UTF-8 would replace an unpaired surrogate: keep the UTF-16 units.
      this.stringHeader(tagged, UTF16, n, 2);
      this.room(n * 2);
      this.pos += ucs2Write.call(this.buf, s, this.pos, n * 2);
    }
  }

  /** Tagged: tag, varint length. A key: varint (length * 4 + form), form 0 ASCII, 1 UTF-8, 2 UTF-16. */
  stringHeader(tagged: boolean, tag: number, length: number, form: number): void {
    if (tagged) {
      this.byte(tag);
      this.varint(length);
    } else {
      this.varint(length * 4 + form);
    }
  }

  /** Looks `o` up among the objects met so far; remembers it if new. Returns its index, or -1 if new. */
  ref(o: object): number {
    const seen = this.seen;
    const map = this.seenMap;
    if (map !== null) {
      const index = map.get(o);
      if (index !== undefined) return index;
      map.set(o, seen.length);
    } else {
      const index = seen.indexOf(o);
      if (index >= 0) return index;
      if (seen.length === LINEAR_SEEN) this.seenMap = new Map(seen.map((x, i) => [x, i]));
      this.seenMap?.set(o, seen.length);
    }
    seen.push(o);
    return -1;
  }

  object(o: object): void {
    const index = this.ref(o);
    if (index >= 0) {
      this.byte(REF);
      this.varint(index);
      return;
    }
    const proto = Object.getPrototypeOf(o) as object | null;
    if (proto === Object.prototype) return this.properties(OBJECT, o);
    if (Array.isArray(o)) {
      if (proto !== Array.prototype) throw new Refusal(`an array of class ${className(o)} would come back as a plain Array`);
      return this.array(o);
    }
    if (proto === null) return this.properties(NULL_OBJECT, o);
    const kind = KIND_OF.get(proto);
    switch (kind) {
      case Kind.Date:
        this.byte(DATE);
        return this.float(getTime.call(o));
      case Kind.RegExp:
        this.byte(REGEXP);
        this.string(regexpSource.call(o as RegExp), true);
        return this.string(regexpFlags.call(o as RegExp), true);
      case Kind.Map: {
        const map = o as Map<unknown, unknown>;
        this.byte(MAP);
        this.varint(map.size);
        for (const [k, v] of map) {
          try {
            this.value(k);
          } catch (error) {
            throw within(error, '<Map key>', true);
          }
          try {
            this.value(v);
          } catch (error) {
            throw within(error, '<Map value>', true);
          }
        }
        return;
      }
      case Kind.Set: {
        const set = o as Set<unknown>;
        this.byte(SET);
        this.varint(set.size);
        for (const v of set) {
          try {
            this.value(v);
          } catch (error) {
            throw within(error, '<Set member>', true);
          }
        }
        return;
      }
      case Kind.ArrayBuffer: {
        const buffer = o as ArrayBuffer & { resizable?: boolean; maxByteLength?: number };
        const n = buffer.byteLength;
        if (buffer.resizable === true) {
          this.byte(RESIZABLE_ARRAY_BUFFER);
          this.varint(n);
          this.varint(buffer.maxByteLength!);
        } else {
          this.byte(ARRAY_BUFFER);
          this.varint(n);
        }
        return this.bytes(new Uint8Array(buffer, 0, n));
      }
      case Kind.View: {
        const type = VIEW_TYPE_OF.get(proto)!;
        const isDataView = type === DATA_VIEW_TYPE;
        const view = o as ArrayBufferView;
        const buffer = isDataView ? dataViewBuffer.call(view as DataView) : viewBuffer.call(view);
        if (buffer instanceof SharedArrayBuffer) {
          throw new Refusal(`a ${VIEW_TYPES[type]!.name} over a SharedArrayBuffer is shared between threads, never copied; store a copy`);
        }
        const offset = isDataView ? dataViewByteOffset.call(view as DataView) : viewByteOffset.call(view);
        const n = isDataView ? dataViewByteLength.call(view as DataView) : viewByteLength.call(view);
        this.byte(VIEW);
        this.byte(type);
        this.varint(n);
        return this.bytes(new Uint8Array(buffer, offset, n));
      }
      case Kind.Error: return this.error(o as Error, ERROR_CLASS_OF.get(proto)!);
      case Kind.Number: return this.boxed(BOXED_NUMBER, o, numberValueOf);
      case Kind.String: return this.boxed(BOXED_STRING, o, stringValueOf);
      case Kind.Boolean: return this.boxed(BOXED_BOOLEAN, o, booleanValueOf);
      case Kind.BigInt: return this.boxed(BOXED_BIGINT, o, bigintValueOf);
      default: {
        const why = UNCLONEABLE.get(proto);
        if (why !== undefined) throw new Refusal(why);
        throw new Refusal(
          `an object of class ${className(o)} would come back as a plain Object (a clone keeps no class); ` +
            'store a plain object, or give the map a codec of your own',
        );
      }
    }
  }

  properties(tag: number, o: object): void {
    const keys = Object.keys(o);
    const n = keys.length;
    this.byte(tag);
    this.varint(n);
    for (let i = 0; i < n; i++) {
      const key = keys[i]!;
      this.string(key, false);
      try {
        this.value((o as Record<string, unknown>)[key]);
      } catch (error) {
        throw within(error, key);
      }
    }
  }

  array(a: unknown[]): void {
    const length = a.length;
    const keys = Object.keys(a);
    const n = keys.length;
    // Dense with no other property: every index, in order, then nothing (a
    // property that is not an index comes after the indices in keys).
    if (n === length && (n === 0 || keys[n - 1] === String(n - 1))) {
      this.byte(ARRAY);
      this.varint(length);
      for (let i = 0; i < length; i++) {
        try {
          this.value(a[i]);
        } catch (error) {
          throw within(error, i);
        }
      }
      return;
    }
    this.byte(SPARSE_ARRAY);
    this.varint(length);
    this.varint(n);
    for (let i = 0; i < n; i++) {
      const key = keys[i]!;
      this.string(key, false);
      try {
        this.value((a as unknown as Record<string, unknown>)[key]);
      } catch (error) {
        throw within(error, /^(?:0|[1-9]\d*)$/.test(key) ? Number(key) : key);
      }
    }
  }

  bytes(view: Uint8Array): void {
    const n = view.length;
    this.room(n);
    this.buf.set(view, this.pos);
    this.pos += n;
  }

  error(e: Error, errorClass: number): void {
    const names = Object.getOwnPropertyNames(e);
    this.byte(ERROR);
    this.byte(errorClass);
    this.varint(names.length);
    for (const name of names) {
      const descriptor = Object.getOwnPropertyDescriptor(e, name)!;
      this.string(name, false);
      this.byte(descriptor.enumerable ? 1 : 0);
      try {
        this.value('value' in descriptor ? descriptor.value : (e as unknown as Record<string, unknown>)[name]);
      } catch (error) {
        throw within(error, name);
      }
    }
  }

  boxed(tag: number, o: object, valueOf: (this: never) => unknown): void {
    let primitive: unknown;
    try {
      primitive = valueOf.call(o as never);
    } catch {
      throw new Refusal(`an object of class ${className(o)} would come back as a plain Object (a clone keeps no class)`);
    }
    if (tag === BOXED_BIGINT) return this.bigint(BOXED_BIGINT, primitive as bigint);
    this.byte(tag);
    if (tag === BOXED_NUMBER) this.float(primitive as number);
    else if (tag === BOXED_STRING) this.string(primitive as string, true);
    else this.byte(primitive ? 1 : 0);
  }
}

/** Writes a number, tagged, at `p` (9 bytes of room); returns the end. */
function putNumber(buf: Uint8Array, p: number, n: number): number {
  if ((n | 0) === n && (n !== 0 || 1 / n > 0)) {
    buf[p] = INT32;
    buf[p + 1] = n;
    buf[p + 2] = n >> 8;
    buf[p + 3] = n >> 16;
    buf[p + 4] = n >> 24;
    return p + 5;
  }
  buf[p] = FLOAT64;
  return putFloat(buf, p + 1, n);
}

/** Writes a float64 at `p`, with every NaN as the same bits; returns the end. */
function putFloat(buf: Uint8Array, p: number, n: number): number {
  f64[0] = n === n ? n : NaN; // NaN here is the canonical one
  for (let i = 0; i < 8; i++) buf[p + i] = f64Bytes[i]!;
  return p + 8;
}

const shared = new Encoder();

/**
 * The encoding of a value (an object or a bigint: the other primitives go
 * through putPrimitive), run before anything is written to the shared memory:
 * it may run user code. A view of an encoder's buffer, valid until the next
 * call (copy it to keep it longer).
 */
export function encodeValue(value: unknown): Uint8Array {
  return (shared.busy ? new Encoder() : shared).encodeRoot(value);
}

/**
 * Writes a primitive straight into `buf` at `p` (the scratch region; no user
 * code runs), given room for `room` bytes. Returns the end, or -1 when a string
 * needs more room than that (the caller makes room and calls again), or -2 when
 * `value` is not a primitive this writes.
 */
export function putPrimitive(buf: Buffer, p: number, room: number, value: unknown): number {
  switch (typeof value) {
    case 'string': return putTopString(buf, p, room, value);
    case 'number':
      if (room < 9) return -1;
      return putNumber(buf, p, value);
    case 'boolean':
      if (room < 1) return -1;
      buf[p] = value ? TRUE : FALSE;
      return p + 1;
    case 'undefined':
      if (room < 1) return -1;
      buf[p] = UNDEFINED;
      return p + 1;
    case 'object':
      if (value !== null) return -2;
      if (room < 1) return -1;
      buf[p] = NULL;
      return p + 1;
    default:
      return -2;
  }
}

/** The room putPrimitive needs for `value` (a primitive it writes), at most. */
export function primitiveBound(value: unknown): number {
  if (typeof value === 'string') {
    const n = value.length;
    const bytes = Buffer.byteLength(value, 'utf8');
    // An unpaired surrogate is kept as UTF-16 units: a tag, a varint, 2 bytes each.
    return bytes === n || value.isWellFormed() ? 1 + bytes : 6 + 2 * n;
  }
  return typeof value === 'number' ? 9 : 1;
}

function putTopString(buf: Buffer, p: number, room: number, s: string): number {
  const n = s.length;
  if (n <= ASCII_LOOP_MAX && n < room) {
    let i = 0;
    for (; i < n; i++) {
      const c = s.charCodeAt(i);
      if (c > 0x7f) break;
      buf[p + 1 + i] = c;
    }
    if (i === n) {
      buf[p] = TOP_ASCII;
      return p + 1 + n;
    }
  }
  // UTF-8 takes at most 3 bytes a unit; with less room than that, measure first.
  if (room < 1 + n * 3 && room < primitiveBound(s)) return -1;
  if (room >= 1 + n * 3 || s.isWellFormed()) {
    const written = utf8Write.call(buf, s, p + 1, room - 1);
    if (written === n) {
      buf[p] = TOP_ASCII;
      return p + 1 + n;
    }
    if (s.isWellFormed()) {
      buf[p] = TOP_UTF8;
      return p + 1 + written;
    }
    if (room < 6 + n * 2) return -1;
  }
  // UTF-8 would replace an unpaired surrogate: write the UTF-16 units instead, with their count.
  buf[p] = UTF16;
  let q = p + 1;
  let m = n;
  while (m > 0x7f) {
    buf[q++] = (m & 0x7f) | 0x80;
    m >>>= 7;
  }
  buf[q++] = m;
  return q + ucs2Write.call(buf, s, q, n * 2);
}

// ── decoding ───────────────────────────────────────────────────────────────

/** Object keys up to this many bytes go through the key cache. */
const KEY_CACHE_MAX = 32;
const KEY_CACHE_SIZE = 4096; // a power of two; ~32 KiB of pointers per thread
const keyCache: (string | undefined)[] = new Array<string | undefined>(KEY_CACHE_SIZE).fill(undefined);

// Map#set and Set#add as they were when this module loaded: a program that
// patches them later does not get its code called from inside a read.
const mapSet = Map.prototype.set;
const setAdd = Set.prototype.add;

/**
 * Reads one value from the shared memory (this thread's scratch). Runs no
 * user code: no getter, setter or method of the value is called (a key named
 * "__proto__" is defined, not assigned; Map and Set entries go in through the
 * methods as they were at load), so nothing can overwrite the scratch while
 * it reads. Except one thing: properties are assigned, so a setter that a
 * program defines on Object.prototype (or an index setter on Array.prototype)
 * runs, which JSON.parse's objects do not do. If that setter calls a map, it
 * overwrites the scratch and this decoder's state: the load returns a
 * truncated value or throws an untyped error (README, Limits).
 */
class Decoder {
  buf: Buffer = Buffer.alloc(0);
  pos = 0;
  readonly objects: unknown[] = [];

  varint(): number {
    const buf = this.buf;
    let b = buf[this.pos++]!;
    if (b < 0x80) return b;
    let n = b & 0x7f;
    let shift = 7;
    do {
      b = buf[this.pos++]!;
      n += (b & 0x7f) * 2 ** shift;
      shift += 7;
    } while (b >= 0x80);
    return n;
  }

  float(): number {
    const buf = this.buf;
    const p = this.pos;
    for (let i = 0; i < 8; i++) f64Bytes[i] = buf[p + i]!;
    this.pos = p + 8;
    return f64[0]!;
  }

  value(): unknown {
    const buf = this.buf;
    const tag = buf[this.pos++]!;
    switch (tag) {
      case UNDEFINED: return undefined;
      case NULL: return null;
      case FALSE: return false;
      case TRUE: return true;
      case INT32: {
        const p = this.pos;
        this.pos = p + 4;
        return buf[p]! | (buf[p + 1]! << 8) | (buf[p + 2]! << 16) | (buf[p + 3]! << 24);
      }
      case FLOAT64: return this.float();
      case BIGINT: return this.bigint();
      case ASCII: return this.ascii(this.varint());
      case UTF8: {
        const n = this.varint();
        const p = this.pos;
        this.pos = p + n;
        return utf8Slice.call(buf, p, p + n);
      }
      case UTF16: return this.utf16(this.varint());
      case LONG_ASCII:
      case LONG_UTF8: {
        const p = this.pos;
        const n = (buf[p]! | (buf[p + 1]! << 8) | (buf[p + 2]! << 16) | (buf[p + 3]! << 24)) >>> 0;
        this.pos = p + 4 + n;
        return (tag === LONG_ASCII ? latin1Slice : utf8Slice).call(buf, p + 4, p + 4 + n);
      }
      case OBJECT: return this.properties({});
      case NULL_OBJECT: return this.properties(Object.create(null) as object);
      case ARRAY: {
        const n = this.varint();
        const a = new Array<unknown>(n);
        this.objects.push(a);
        for (let i = 0; i < n; i++) a[i] = this.value();
        return a;
      }
      case SPARSE_ARRAY: {
        const a = new Array<unknown>(this.varint());
        return this.properties(a);
      }
      case DATE: {
        const d = new Date(this.float());
        this.objects.push(d);
        return d;
      }
      case REGEXP: {
        const index = this.objects.push(null) - 1;
        const source = this.value() as string;
        const re = new RegExp(source, this.value() as string);
        this.objects[index] = re;
        return re;
      }
      case MAP: {
        const m = new Map<unknown, unknown>();
        this.objects.push(m);
        for (let n = this.varint(); n > 0; n--) {
          const k = this.value();
          mapSet.call(m, k, this.value());
        }
        return m;
      }
      case SET: {
        const s = new Set<unknown>();
        this.objects.push(s);
        for (let n = this.varint(); n > 0; n--) setAdd.call(s, this.value());
        return s;
      }
      case ARRAY_BUFFER: {
        const n = this.varint();
        const ab = this.copy(n, undefined);
        this.objects.push(ab);
        return ab;
      }
      case RESIZABLE_ARRAY_BUFFER: {
        const n = this.varint();
        const ab = this.copy(n, this.varint());
        this.objects.push(ab);
        return ab;
      }
      case VIEW: {
        const type = buf[this.pos++]!;
        const n = this.varint();
        const ab = this.copy(n, undefined);
        let view: ArrayBufferView;
        if (type === BUFFER_TYPE) view = Buffer.from(ab);
        else if (type === DATA_VIEW_TYPE) view = new DataView(ab);
        else {
          const Type = VIEW_TYPES[type] as unknown as new (buffer: ArrayBuffer) => ArrayBufferView;
          view = new Type(ab);
        }
        this.objects.push(view);
        return view;
      }
      case ERROR: return this.error();
      case BOXED_NUMBER: return this.boxed(this.float());
      case BOXED_STRING: {
        const index = this.objects.push(null) - 1;
        const boxed = Object(this.value()) as object;
        this.objects[index] = boxed;
        return boxed;
      }
      case BOXED_BOOLEAN: return this.boxed(buf[this.pos++] === 1);
      case BOXED_BIGINT: return this.boxed(this.bigint());
      case REF: return this.objects[this.varint()];
      default: throw new Error(`syncmap-wasm: unknown tag ${tag} in a 'structured' value (a bug)`);
    }
  }

  boxed(primitive: unknown): object {
    const o = Object(primitive) as object;
    this.objects.push(o);
    return o;
  }

  bigint(): bigint {
    const buf = this.buf;
    const negative = buf[this.pos++] === 1;
    const n = this.varint();
    const p = this.pos;
    this.pos = p + n;
    let hex = '';
    for (let i = p + n - 1; i >= p; i--) hex += (buf[i]! < 16 ? '0' : '') + buf[i]!.toString(16);
    const magnitude = n === 0 ? 0n : BigInt(`0x${hex}`);
    return negative ? -magnitude : magnitude;
  }

  /** A fresh ArrayBuffer holding the next `n` bytes. */
  copy(n: number, maxByteLength: number | undefined): ArrayBuffer {
    const p = this.pos;
    this.pos = p + n;
    const ab = maxByteLength === undefined
      ? new ArrayBuffer(n)
      : new (ArrayBuffer as unknown as new (n: number, o: { maxByteLength: number }) => ArrayBuffer)(n, { maxByteLength });
    new Uint8Array(ab).set(this.buf.subarray(p, p + n));
    return ab;
  }

  ascii(n: number): string {
    const buf = this.buf;
    const p = this.pos;
    this.pos = p + n;
    if (n > 16) return latin1Slice.call(buf, p, p + n);
    return shortAscii(buf, p, n);
  }

  utf16(n: number): string {
    const p = this.pos;
    this.pos = p + n * 2;
    return ucs2Slice.call(this.buf, p, p + n * 2);
  }

  /** An object key: varint (length * 4 + form), then its bytes. */
  key(): string {
    const word = this.varint();
    const n = word >>> 2;
    const form = word & 3;
    if (form === 0) return n <= KEY_CACHE_MAX ? this.cachedKey(n) : this.ascii(n);
    if (form === 2) return this.utf16(n);
    const p = this.pos;
    this.pos = p + n;
    return utf8Slice.call(this.buf, p, p + n);
  }

  /**
   * Object keys repeat from value to value: the same string is handed out for
   * the same bytes, through a direct-mapped cache checked byte by byte, so
   * that V8 finds it already hashed and internalized.
   */
  cachedKey(n: number): string {
    const buf = this.buf;
    const p = this.pos;
    this.pos = p + n;
    // The length and three bytes pick the slot; the comparison below checks them all.
    const h = n === 0 ? 0 : Math.imul(n ^ (buf[p]! << 8) ^ (buf[p + (n >> 1)]! << 16) ^ (buf[p + n - 1]! << 24), 0x9e3779b1);
    const slot = (h >>> 20) & (KEY_CACHE_SIZE - 1);
    const hit = keyCache[slot];
    if (hit !== undefined && hit.length === n) {
      let i = 0;
      while (i < n && hit.charCodeAt(i) === buf[p + i]) i++;
      if (i === n) return hit;
    }
    const key = n > 16 ? latin1Slice.call(buf, p, p + n) : shortAscii(buf, p, n);
    keyCache[slot] = key;
    return key;
  }

  properties<T extends object>(o: T): T {
    this.objects.push(o);
    const n = this.varint();
    for (let i = 0; i < n; i++) {
      const key = this.key();
      const v = this.value();
      if (key === '__proto__') Object.defineProperty(o, key, { value: v, writable: true, enumerable: true, configurable: true });
      else (o as Record<string, unknown>)[key] = v;
    }
    return o;
  }

  error(): Error {
    const Class = ERROR_CLASSES[this.buf[this.pos++]!]!;
    const e = new Class();
    this.objects.push(e);
    delete (e as { stack?: string }).stack; // the decoder's own; the stored one follows
    const n = this.varint();
    for (let i = 0; i < n; i++) {
      const key = this.key();
      const enumerable = this.buf[this.pos++] === 1;
      Object.defineProperty(e, key, { value: this.value(), writable: true, enumerable, configurable: true });
    }
    return e;
  }
}

/** Up to 16 ASCII bytes as a string, built in JavaScript (a call into C++ costs more). */
function shortAscii(buf: Uint8Array, p: number, n: number): string {
  const c = String.fromCharCode;
  switch (n) {
    case 0: return '';
    case 1: return c(buf[p]!);
    case 2: return c(buf[p]!, buf[p + 1]!);
    case 3: return c(buf[p]!, buf[p + 1]!, buf[p + 2]!);
    case 4: return c(buf[p]!, buf[p + 1]!, buf[p + 2]!, buf[p + 3]!);
    case 5: return c(buf[p]!, buf[p + 1]!, buf[p + 2]!, buf[p + 3]!, buf[p + 4]!);
    case 6: return c(buf[p]!, buf[p + 1]!, buf[p + 2]!, buf[p + 3]!, buf[p + 4]!, buf[p + 5]!);
    case 7: return c(buf[p]!, buf[p + 1]!, buf[p + 2]!, buf[p + 3]!, buf[p + 4]!, buf[p + 5]!, buf[p + 6]!);
    case 8: return c(buf[p]!, buf[p + 1]!, buf[p + 2]!, buf[p + 3]!, buf[p + 4]!, buf[p + 5]!, buf[p + 6]!, buf[p + 7]!);
    default: {
      let s = c(buf[p]!, buf[p + 1]!, buf[p + 2]!, buf[p + 3]!, buf[p + 4]!, buf[p + 5]!, buf[p + 6]!, buf[p + 7]!);
      for (let i = 8; i < n; i++) s += c(buf[p + i]!);
      return s;
    }
  }
}

const decoder = new Decoder();

/** Decodes the value of `len` bytes at `p` in `buf` (a view of the whole memory). */
export function decodeValue(buf: Buffer, p: number, len: number): unknown {
  const tag = buf[p]!;
  // The primitives a value usually is, without the decoder's state.
  switch (tag) {
    case TOP_ASCII: return len <= 17 ? shortAscii(buf, p + 1, len - 1) : latin1Slice.call(buf, p + 1, p + len);
    case TOP_UTF8: return utf8Slice.call(buf, p + 1, p + len);
    case INT32: return buf[p + 1]! | (buf[p + 2]! << 8) | (buf[p + 3]! << 16) | (buf[p + 4]! << 24);
    case FLOAT64:
      for (let i = 0; i < 8; i++) f64Bytes[i] = buf[p + 1 + i]!;
      return f64[0]!;
    case UNDEFINED: return undefined;
    case NULL: return null;
    case FALSE: return false;
    case TRUE: return true;
  }
  const d = decoder;
  d.buf = buf;
  d.pos = p;
  try {
    return d.value();
  } finally {
    d.objects.length = 0;
  }
}
