// The plugin configuration: JSON, read once per proxy_on_configure into a new
// policy table (policy.ts), or refused with one log line that says where and why.
//
//   {
//     "header": "x-region",                     optional, default "x-region"
//     "default": { "timeout_ms": 3000 },        optional: for requests that miss
//     "policies": {                             required (may be empty)
//       "cn-east":  { "timeout_ms": 1200, "headers": { "x-route-policy": "east" } },
//       "cn-north": { "timeout_ms": 1800 }
//     }
//   }
//
// A policy: "timeout_ms" (required, a whole number 0 … 86400000; Envoy reads 0
// as no timeout) and "headers" (optional, at most 16: lowercase header names
// to values). The policy name, any non-empty JSON string up to 256 bytes once
// unescaped, is matched byte for byte against the request header value.
//
// Strict on purpose, so that a typo is refused rather than silently ignored:
// unknown or repeated fields, a policy defined twice or named "", a header set twice,
// header names that are not lowercase HTTP tokens, pseudo-headers and
// x-envoy-upstream-rq-timeout-ms among a policy's headers (timeout_ms sets that
// one), header values with control characters, and anything after the object.
//
// The reader is driven by this schema (json.ts); it builds the new table as it
// reads, off to the side, and destroys it on the first error.

import { LogLevel } from "./abi";
import { DATA, LEN, builderClear, builderFailed, builderNew, equalsText, pushBytes, pushText } from "./bytes";
import {
  jsonAtEnd, jsonBegin, jsonEat, jsonError, jsonErrorAt, jsonFail, jsonFailAt, jsonFailed, jsonOffset, jsonPeek, jsonString,
  jsonWholeNumber,
} from "./json";
import { Text } from "./texts";
import { logEmit, logNumber, logQuoted, logStart, logText } from "./log";
import {
  MAX_HEADER_NAME_BYTES, MAX_HEADER_VALUE_BYTES, MAX_POLICIES, MAX_POLICY_HEADERS, MAX_POLICY_NAME_BYTES, MAX_TIMEOUT_MS,
  policyAddHeader, policyBegin, policyEnd, policyHeaderCount, policyTableAdd, policyTableDestroy, policyTableNew,
  policyTableSeal, policyTableSetDefault, policyTableSetHeader,
} from "./policy";
import { Status } from "../status";

/** The largest configuration read; a bigger one is refused before it is read. */
// @ts-ignore: decorator
@inline export const MAX_CONFIG_BYTES: usize = 4 << 20;

// Builders, made once (configInit) and reused by every load.
let field: usize = 0; // the field name being read
let policyName: usize = 0; // the name of the policy being read
let text: usize = 0; // a header name or value being read
let encoded: usize = 0; // the policy being encoded
let detail: usize = 0; // bytes quoted in the refusal ("unknown field 'x'")

// What the refusal names: which policy was being read (when it is not the
// top level), and the bytes to quote after the reason.
let where: i32 = 0; // WHERE_*
// @ts-ignore: decorator
@inline const WHERE_TOP: i32 = 0;
// @ts-ignore: decorator
@inline const WHERE_POLICY: i32 = 1;
// @ts-ignore: decorator
@inline const WHERE_DEFAULT: i32 = 2;
let quote: bool = false;

export function configInit(): bool {
  if (!field) field = builderNew();
  if (!policyName) policyName = builderNew();
  if (!text) text = builderNew();
  if (!encoded) encoded = builderNew();
  if (!detail) detail = builderNew();
  return field != 0 && policyName != 0 && text != 0 && encoded != 0 && detail != 0;
}

/**
 * Reads the configuration (`len` bytes at `ptr`) into a new policy table and
 * returns it; or logs one ERROR line saying why it is refused and returns 0.
 * `previous` says whether a configuration stays in force (for the log line).
 */
export function configLoad(ptr: usize, len: usize, previous: bool): usize {
  where = WHERE_TOP;
  quote = false;
  builderClear(detail);
  jsonBegin(ptr, len);
  const table = policyTableNew();
  if (!table) {
    jsonFail(Text.OUT_OF_MEMORY);
  } else if (!len) {
    jsonFail(Text.EMPTY);
  } else if (readTop(table)) {
    policyTableSeal(table);
    return table;
  }
  if (table) policyTableDestroy(table);
  if (!jsonFailed()) jsonFailAt(0, Text.OUT_OF_MEMORY); // every refusal records why; never reached
  refusalStart(jsonErrorAt);
  if (where == WHERE_POLICY) {
    logText(Text.POLICY);
    logQuoted(DATA(policyName), LEN(policyName));
    logText(Text.COLON);
  } else if (where == WHERE_DEFAULT) {
    logText(Text.DEFAULT_POLICY);
  }
  logText(jsonError);
  if (quote) {
    logText(Text.SPACE);
    logQuoted(DATA(detail), LEN(detail));
  }
  refusalEnd(previous);
  return 0;
}

// Every refusal, whether configLoad or proxy_on_configure (filter.ts) finds
// it, is one ERROR line of one format:
//
//   syncmap-filter: configuration refused at byte <offset>: <why>; <what stays>
//
// <offset> is where in the configuration the reader stopped (0 when the bytes
// could not be read at all, MAX_CONFIG_BYTES when there are too many). <what
// stays> depends on the root context being configured: one that has a table
// keeps it ("the previous configuration stays in force"); one that has none,
// which is how Envoy applies every new configuration (a new root context,
// checked first in a VM of its own), stays without, and Envoy then rejects the
// update and keeps the previous root context serving.

/** Starts a refusal's log line: the prefix and the byte offset. */
export function refusalStart(at: usize): void {
  logStart();
  logText(Text.REFUSED_AT);
  logNumber(at);
  logText(Text.COLON);
}

/** Ends a refusal's log line with what stays in force, and logs it. */
export function refusalEnd(previous: bool): void {
  logText(previous ? Text.PREVIOUS_STAYS : Text.ROOT_UNCONFIGURED);
  logEmit(LogLevel.ERROR);
}

/** Records an error that quotes the bytes in builder `b`; always false. */
function failQuoting(offset: usize, reason: Text, b: usize): bool {
  if (!jsonFailed()) {
    builderClear(detail);
    pushBytes(detail, DATA(b), LEN(b));
    quote = true;
  }
  return jsonFailAt(offset, reason);
}

/** Reads `"name":` into `field`; false (error recorded) if it is not there. */
function readFieldName(): bool {
  builderClear(field);
  if (jsonPeek() != 0x22) return jsonFail(Text.FIELD_NAME_EXPECTED);
  if (!jsonString(field)) return false;
  return jsonEat(0x3A) || jsonFail(Text.COLON_EXPECTED);
}

/** After a member: true to read another, false at the closing brace or on error. */
function another(): bool {
  if (jsonEat(0x2C)) return true;
  if (jsonEat(0x7D)) return false;
  return jsonFail(Text.COMMA_EXPECTED);
}

function readTop(table: usize): bool {
  if (!jsonEat(0x7B)) return jsonFail(Text.NOT_AN_OBJECT);
  let seenHeader = false;
  let seenDefault = false;
  let seenPolicies = false;
  if (!jsonEat(0x7D)) {
    do {
      const at = jsonOffset();
      if (!readFieldName()) return false;
      if (isField(Text.FIELD_HEADER)) {
        if (seenHeader) return failQuoting(at, Text.REPEATED_FIELD, field);
        seenHeader = true;
        if (!readMatchHeader(table)) return false;
      } else if (isField(Text.FIELD_DEFAULT)) {
        if (seenDefault) return failQuoting(at, Text.REPEATED_FIELD, field);
        seenDefault = true;
        where = WHERE_DEFAULT;
        if (!readPolicy(0, 0)) return false;
        if (!policyTableSetDefault(table, encoded)) return jsonFail(Text.OUT_OF_MEMORY);
        where = WHERE_TOP;
      } else if (isField(Text.FIELD_POLICIES)) {
        if (seenPolicies) return failQuoting(at, Text.REPEATED_FIELD, field);
        seenPolicies = true;
        if (!readPolicies(table)) return false;
      } else {
        return failQuoting(at, Text.UNKNOWN_TOP_FIELD, field);
      }
    } while (another());
    if (jsonFailed()) return false;
  }
  if (!jsonAtEnd()) return jsonFail(Text.TRAILING_DATA);
  if (!seenPolicies) return jsonFailAt(0, Text.MISSING_POLICIES);
  if (!seenHeader) {
    builderClear(text);
    pushText(text, Text.DEFAULT_HEADER);
    if (builderFailed(text) || !policyTableSetHeader(table, DATA(text), LEN(text))) {
      return jsonFail(Text.OUT_OF_MEMORY);
    }
  }
  return true;
}

function readMatchHeader(table: usize): bool {
  const at = jsonOffset();
  builderClear(text);
  if (jsonPeek() != 0x22) return failQuoting(at, Text.STRING_EXPECTED_FOR, field);
  if (!jsonString(text)) return false;
  const len = LEN(text);
  const data = DATA(text);
  // A pseudo-header (":authority") may be matched, never set (readHeaders).
  const start: usize = len && load<u8>(data) == 0x3A ? 1 : 0;
  if (!isHeaderName(data + start, len - start)) {
    return failQuoting(at, Text.BAD_HEADER_NAME, text);
  }
  if (!policyTableSetHeader(table, data, len)) return jsonFail(Text.OUT_OF_MEMORY);
  return true;
}

function readPolicies(table: usize): bool {
  if (!jsonEat(0x7B)) return failQuoting(jsonOffset(), Text.OBJECT_EXPECTED_FOR, field);
  if (jsonEat(0x7D)) return true;
  let policies: u32 = 0;
  do {
    const at = jsonOffset();
    builderClear(policyName);
    if (jsonPeek() != 0x22) return jsonFail(Text.STRING_EXPECTED);
    if (!jsonString(policyName)) return false;
    if (!jsonEat(0x3A)) return jsonFail(Text.COLON_EXPECTED);
    where = WHERE_POLICY;
    if (LEN(policyName) > MAX_POLICY_NAME_BYTES) return jsonFailAt(at, Text.NAME_TOO_LONG);
    // An empty header value is a miss (filter.ts), so a policy named "" could
    // only ever be reached by accident: refused, as a typo would be.
    if (!LEN(policyName)) return jsonFailAt(at, Text.EMPTY_NAME);
    if (++policies > MAX_POLICIES) return jsonFailAt(at, Text.TOO_MANY_POLICIES);
    if (!readPolicy(DATA(policyName), LEN(policyName))) return false;
    const status = policyTableAdd(table, DATA(policyName), LEN(policyName), encoded);
    if (status == Status.ABSENT) return jsonFailAt(at, Text.DUPLICATE_POLICY);
    if (status != Status.OK) return jsonFail(Text.OUT_OF_MEMORY);
    where = WHERE_TOP;
  } while (another());
  return !jsonFailed();
}

/** Reads a policy object into `encoded` (policy.ts), its counter key naming `name`. */
function readPolicy(name: usize, nameLen: usize): bool {
  const start = jsonOffset();
  builderClear(encoded);
  policyBegin(encoded, where == WHERE_DEFAULT ? Text.COUNTER_KEY_DEFAULT : Text.COUNTER_PREFIX_POLICY, name, nameLen);
  if (!jsonEat(0x7B)) return jsonFail(Text.NOT_AN_OBJECT);
  let timeout: i64 = -1;
  let seenHeaders = false;
  if (!jsonEat(0x7D)) {
    do {
      const at = jsonOffset();
      if (!readFieldName()) return false;
      if (isField(Text.FIELD_TIMEOUT_MS)) {
        if (timeout >= 0) return failQuoting(at, Text.REPEATED_FIELD, field);
        timeout = jsonWholeNumber(MAX_TIMEOUT_MS, Text.TIMEOUT_RANGE);
        if (timeout < 0) return false;
      } else if (isField(Text.FIELD_HEADERS)) {
        if (seenHeaders) return failQuoting(at, Text.REPEATED_FIELD, field);
        seenHeaders = true;
        if (!readHeaders()) return false;
      } else {
        return failQuoting(at, Text.UNKNOWN_POLICY_FIELD, field);
      }
    } while (another());
    if (jsonFailed()) return false;
  }
  if (timeout < 0) return jsonFailAt(start, Text.MISSING_TIMEOUT);
  policyEnd(encoded, <u32>timeout);
  return !builderFailed(encoded) || jsonFail(Text.OUT_OF_MEMORY);
}

function readHeaders(): bool {
  if (!jsonEat(0x7B)) return failQuoting(jsonOffset(), Text.OBJECT_EXPECTED_FOR, field);
  if (jsonEat(0x7D)) return true;
  do {
    const at = jsonOffset();
    builderClear(field);
    if (jsonPeek() != 0x22) return jsonFail(Text.STRING_EXPECTED);
    if (!jsonString(field)) return false;
    if (!jsonEat(0x3A)) return jsonFail(Text.COLON_EXPECTED);
    if (!isHeaderName(DATA(field), LEN(field))) {
      return failQuoting(at, Text.BAD_HEADER_NAME, field);
    }
    if (isField(Text.TIMEOUT_HEADER)) return failQuoting(at, Text.TIMEOUT_HEADER_SET, field);
    const valueAt = jsonOffset();
    builderClear(text);
    if (jsonPeek() != 0x22) return jsonFail(Text.STRING_EXPECTED);
    if (!jsonString(text)) return false;
    if (!isHeaderValue(DATA(text), LEN(text))) {
      return failQuoting(valueAt, Text.BAD_HEADER_VALUE, field);
    }
    if (policyHeaderCount(encoded) >= MAX_POLICY_HEADERS) return jsonFailAt(at, Text.TOO_MANY_HEADERS);
    if (!policyAddHeader(encoded, DATA(field), LEN(field), DATA(text), LEN(text))) {
      return failQuoting(at, Text.DUPLICATE_HEADER, field);
    }
  } while (another());
  return !jsonFailed();
}

// @ts-ignore: decorator
@inline function isField(name: Text): bool {
  return equalsText(DATA(field), LEN(field), name);
}

/** RFC 9110 token characters, lowercase only (HTTP/2 and Envoy lowercase names). */
function isHeaderName(ptr: usize, len: usize): bool {
  if (!len || len > MAX_HEADER_NAME_BYTES) return false;
  for (let i: usize = 0; i < len; i++) {
    const c = <u32>load<u8>(ptr + i);
    const ok = (c >= 0x61 && c <= 0x7A) || (c >= 0x30 && c <= 0x39) ||
      c == 0x21 || (c >= 0x23 && c <= 0x27) || c == 0x2A || c == 0x2B || c == 0x2D || c == 0x2E ||
      c == 0x5E || c == 0x5F || c == 0x60 || c == 0x7C || c == 0x7E;
    if (!ok) return false;
  }
  return true;
}

/** RFC 9110 field-value bytes: visible ASCII, space, tab and obs-text; no CR, LF, NUL or DEL. */
function isHeaderValue(ptr: usize, len: usize): bool {
  if (len > MAX_HEADER_VALUE_BYTES) return false;
  for (let i: usize = 0; i < len; i++) {
    const c = <u32>load<u8>(ptr + i);
    if ((c < 0x20 && c != 0x09) || c == 0x7F) return false;
  }
  return true;
}
