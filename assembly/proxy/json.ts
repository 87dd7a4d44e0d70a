// A JSON reader (RFC 8259) over bytes in memory, for config.ts, which drives it
// field by field as its schema says: nothing is built but what the caller asks
// for, and the schema has a fixed depth, so nothing here recurses.
//
// Input is hostile (any bytes the operator, or a fuzzer, puts in the plugin
// configuration): every read is bounds-checked against the end, strings are
// checked to be UTF-8 with no lone surrogates and no raw control characters,
// and the first error stops the reader with a position and a reason
// (jsonErrorAt, jsonError) for the caller's log line.

import { pushByte, pushBytes } from "./bytes";
import { Text } from "./texts";

let base: usize = 0; // the first byte of the document
let at: usize = 0; // the next byte to read
let end: usize = 0; // one past the last byte

/** Where the first error was found (a byte offset), and what it was. */
export let jsonErrorAt: usize = 0;
export let jsonError: Text = Text.COUNT; // COUNT: no error

export function jsonBegin(ptr: usize, len: usize): void {
  base = ptr;
  at = ptr;
  end = ptr + len;
  jsonErrorAt = 0;
  jsonError = Text.COUNT;
}

/** True once an error has been recorded. */
// @ts-ignore: decorator
@inline export function jsonFailed(): bool {
  return jsonError != Text.COUNT;
}

/** The offset of the next unread byte (after skipping white space). */
export function jsonOffset(): usize {
  skipSpace();
  return at - base;
}

/** Records the first error at the current position; always false. */
export function jsonFail(reason: Text): bool {
  return jsonFailAt(at - base, reason);
}

/** Records the first error at byte `offset`; always false. */
export function jsonFailAt(offset: usize, reason: Text): bool {
  if (!jsonFailed()) {
    jsonErrorAt = offset;
    jsonError = reason;
  }
  return false;
}

function skipSpace(): void {
  while (at < end) {
    const c = <u32>load<u8>(at);
    if (c != 0x20 && c != 0x0A && c != 0x0D && c != 0x09) return;
    at++;
  }
}

/** The next byte after white space, or -1 at the end. Consumes nothing else. */
export function jsonPeek(): i32 {
  skipSpace();
  return at < end ? <i32>load<u8>(at) : -1;
}

/** Consumes `c` if it is the next byte after white space. */
export function jsonEat(c: u32): bool {
  if (jsonPeek() != <i32>c) return false;
  at++;
  return true;
}

/** True when only white space is left. */
export function jsonAtEnd(): bool {
  return jsonPeek() < 0;
}

/**
 * Reads a string, appending its unescaped bytes (UTF-8) to builder `out`.
 * False, with the error recorded, if the next value is not a valid string.
 */
export function jsonString(out: usize): bool {
  if (!jsonEat(0x22)) return jsonFail(Text.STRING_EXPECTED);
  while (true) {
    if (at >= end) return jsonFail(Text.UNTERMINATED);
    const c = <u32>load<u8>(at);
    if (c == 0x22) {
      at++;
      return true;
    }
    if (c == 0x5C) {
      if (!escape(out)) return false;
    } else if (c < 0x20) {
      return jsonFail(Text.CONTROL_CHARACTER);
    } else if (c < 0x80) {
      pushByte(out, c);
      at++;
    } else {
      const n = utf8Length(at);
      if (!n) return jsonFail(Text.BAD_UTF8);
      pushBytes(out, at, n);
      at += n;
    }
  }
}

function escape(out: usize): bool {
  if (end - at < 2) return jsonFail(Text.UNTERMINATED);
  const c = <u32>load<u8>(at + 1);
  let byte: u32 = 0;
  if (c == 0x22 || c == 0x5C || c == 0x2F) byte = c;
  else if (c == 0x62) byte = 0x08;
  else if (c == 0x66) byte = 0x0C;
  else if (c == 0x6E) byte = 0x0A;
  else if (c == 0x72) byte = 0x0D;
  else if (c == 0x74) byte = 0x09;
  else if (c == 0x75) return unicodeEscape(out);
  else return jsonFail(Text.BAD_ESCAPE);
  pushByte(out, byte);
  at += 2;
  return true;
}

/** \uXXXX, or a surrogate pair \uD8XX\uDCXX, at `at`; appended as UTF-8. */
function unicodeEscape(out: usize): bool {
  let code = hex4(at + 2);
  if (code < 0) return jsonFail(Text.BAD_ESCAPE);
  at += 6;
  if (code >= 0xDC00 && code <= 0xDFFF) return jsonFail(Text.LONE_SURROGATE);
  if (code >= 0xD800 && code <= 0xDBFF) {
    const low = end - at >= 6 && load<u8>(at) == 0x5C && load<u8>(at + 1) == 0x75 ? hex4(at + 2) : -1;
    if (low < 0xDC00 || low > 0xDFFF) return jsonFail(Text.LONE_SURROGATE);
    at += 6;
    code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00);
  }
  const u = <u32>code;
  if (u < 0x80) {
    pushByte(out, u);
  } else if (u < 0x800) {
    pushByte(out, 0xC0 | (u >> 6));
    pushByte(out, 0x80 | (u & 0x3F));
  } else if (u < 0x10000) {
    pushByte(out, 0xE0 | (u >> 12));
    pushByte(out, 0x80 | ((u >> 6) & 0x3F));
    pushByte(out, 0x80 | (u & 0x3F));
  } else {
    pushByte(out, 0xF0 | (u >> 18));
    pushByte(out, 0x80 | ((u >> 12) & 0x3F));
    pushByte(out, 0x80 | ((u >> 6) & 0x3F));
    pushByte(out, 0x80 | (u & 0x3F));
  }
  return true;
}

/** Four hex digits at `p` (bounds-checked), or -1. */
function hex4(p: usize): i32 {
  if (p > end || end - p < 4) return -1;
  let v: i32 = 0;
  for (let i: usize = 0; i < 4; i++) {
    const c = <i32>load<u8>(p + i);
    let d: i32;
    if (c >= 0x30 && c <= 0x39) d = c - 0x30;
    else if (c >= 0x61 && c <= 0x66) d = c - 0x57;
    else if (c >= 0x41 && c <= 0x46) d = c - 0x37;
    else return -1;
    v = (v << 4) | d;
  }
  return v;
}

/**
 * The length (2 to 4) of the well-formed UTF-8 sequence at `p`, or 0 (Unicode
 * table 3-7: no overlong forms, no surrogates, nothing past U+10FFFF).
 */
function utf8Length(p: usize): usize {
  const c = <u32>load<u8>(p);
  let n: usize;
  let low: u32 = 0x80; // allowed range of the second byte
  let high: u32 = 0xBF;
  if (c >= 0xC2 && c <= 0xDF) n = 2;
  else if (c >= 0xE0 && c <= 0xEF) {
    n = 3;
    if (c == 0xE0) low = 0xA0;
    if (c == 0xED) high = 0x9F;
  } else if (c >= 0xF0 && c <= 0xF4) {
    n = 4;
    if (c == 0xF0) low = 0x90;
    if (c == 0xF4) high = 0x8F;
  } else return 0;
  if (end - p < n) return 0;
  const second = <u32>load<u8>(p + 1);
  if (second < low || second > high) return 0;
  for (let i: usize = 2; i < n; i++) {
    if ((<u32>load<u8>(p + i) & 0xC0) != 0x80) return 0;
  }
  return n;
}

/**
 * Reads a number that must be a whole number from 0 to `max` written without
 * sign, fraction or exponent: its value, or -1 (error recorded) otherwise. Any
 * JSON number is consumed whole first, so the error points at its start.
 */
export function jsonWholeNumber(max: u32, reason: Text): i64 {
  const c = jsonPeek();
  if (c != 0x2D && (c < 0x30 || c > 0x39)) return fail64(reason);
  const start = at;
  let value: u64 = 0;
  let whole = true;
  if (load<u8>(at) == 0x2D) {
    whole = false;
    at++;
  }
  const digits = at;
  while (at < end && load<u8>(at) >= 0x30 && load<u8>(at) <= 0x39) {
    if (value <= <u64>max) value = value * 10 + <u64>(load<u8>(at) - 0x30);
    at++;
  }
  if (at == digits || (at - digits > 1 && load<u8>(digits) == 0x30)) whole = false;
  while (at < end) { // fraction and exponent: consumed, then refused
    const d = <u32>load<u8>(at);
    if ((d >= 0x30 && d <= 0x39) || d == 0x2E || d == 0x65 || d == 0x45 || d == 0x2B || d == 0x2D) {
      whole = false;
      at++;
    } else break;
  }
  if (!whole || value > <u64>max) {
    at = start;
    return fail64(reason);
  }
  return <i64>value;
}

function fail64(reason: Text): i64 {
  jsonFail(reason);
  return -1;
}
