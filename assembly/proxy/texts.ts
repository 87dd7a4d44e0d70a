// Every text the filter writes: log lines, field names, header names, metric
// names and shared-data keys, as ASCII.
//
// Why one literal: the module's static data must end below the core's ROOT
// (4 KiB, heap.ts), and an AssemblyScript string literal costs a 20-byte header
// plus two bytes a character (UTF-16). Separate literals for these texts took
// 6.5 KiB; one literal with a line per text takes half, and _initialize
// narrows it to ASCII in place (textsInit), so that each text is then a plain
// (pointer, length) with no copy.
//
// The lines of TEXTS are in the order of `Text`: add to both, in the same
// place. textsInit checks the count, and the tests check the texts they see.

export const enum Text {
  // Keys and names (hot paths use copies made at load time, not these).
  COUNTER_PREFIX_POLICY,
  COUNTER_KEY_DEFAULT,
  DEFAULT_HEADER,
  TIMEOUT_HEADER,
  METRIC_LOOKUPS,
  METRIC_HITS,
  METRIC_MISSES,
  METRIC_RELOADS,
  METRIC_RELOADS_REJECTED,
  FIELD_HEADER,
  FIELD_DEFAULT,
  FIELD_POLICIES,
  FIELD_TIMEOUT_MS,
  FIELD_HEADERS,
  // Pieces of log lines.
  LOG_PREFIX,
  INIT_FAILED,
  METRIC_REFUSED,
  REFUSED_AT,
  COLON,
  POLICY,
  DEFAULT_POLICY,
  SPACE,
  CUT_OPEN,
  CUT_CLOSE,
  BYTES,
  PREVIOUS_STAYS,
  ROOT_UNCONFIGURED,
  LOADED,
  POLICIES_ON,
  POLICY_ON,
  DEFAULT_TIMEOUT,
  MS,
  NO_DEFAULT,
  WEAK_KEY,
  // Why a configuration is refused.
  OUT_OF_MEMORY,
  TOO_LARGE,
  READ_FAILED,
  BAD_BUFFER,
  EMPTY,
  NOT_AN_OBJECT,
  FIELD_NAME_EXPECTED,
  COLON_EXPECTED,
  COMMA_EXPECTED,
  STRING_EXPECTED,
  UNTERMINATED,
  BAD_ESCAPE,
  LONE_SURROGATE,
  CONTROL_CHARACTER,
  BAD_UTF8,
  TRAILING_DATA,
  REPEATED_FIELD,
  UNKNOWN_TOP_FIELD,
  UNKNOWN_POLICY_FIELD,
  MISSING_POLICIES,
  MISSING_TIMEOUT,
  OBJECT_EXPECTED_FOR,
  STRING_EXPECTED_FOR,
  BAD_HEADER_NAME,
  NAME_TOO_LONG,
  EMPTY_NAME,
  TOO_MANY_POLICIES,
  DUPLICATE_POLICY,
  TIMEOUT_RANGE,
  TIMEOUT_HEADER_SET,
  BAD_HEADER_VALUE,
  TOO_MANY_HEADERS,
  DUPLICATE_HEADER,
  COUNT,
}

const TEXTS = `syncmap-filter/requests/policy/
syncmap-filter/requests/default
x-region
x-envoy-upstream-rq-timeout-ms
syncmap_filter.lookups
syncmap_filter.hits
syncmap_filter.misses
syncmap_filter.reloads
syncmap_filter.reloads_rejected
header
default
policies
timeout_ms
headers
syncmap-filter: 
syncmap-filter: could not lay out its heap in this VM's memory; the filter is off
the host refused to define a metric; it is not counted
configuration refused at byte 
: 
policy 
default policy: 
 
... (
 bytes)
 bytes
; the previous configuration stays in force
; this root context has no configuration (Envoy rejects the update and keeps serving with the previous root context, if any)
configuration loaded: 
 policies on header 
 policy on header 
, default timeout 
 ms
, no default policy
; WASI random_get failed: the hash key is fixed
out of memory
the configuration is over 4 MiB: 
cannot read the plugin configuration: host status 
the host returned a bad configuration buffer: 
the configuration is empty; expected a JSON object
expected a JSON object
expected a field name in double quotes
expected ':'
expected ',' or '}'
expected a string
unterminated string
invalid escape in a string
lone surrogate in a string
control character in a string
invalid UTF-8 in a string
unexpected data after the configuration object
repeated field
unknown field (expected header, default, policies):
unknown field (expected timeout_ms, headers):
missing field 'policies'
missing field 'timeout_ms'
expected an object for
expected a string for
not a lowercase HTTP header name of at most 128 bytes:
the name is longer than 256 bytes
the name is empty, and an empty header value names no policy
more than 65536 policies
the policy is defined twice
timeout_ms must be a whole number from 0 to 86400000
timeout_ms sets this header; it cannot be in headers:
header values must be at most 4096 bytes, without control characters; header
a policy sets at most 16 headers
header set twice:`;

// Where each text starts in the narrowed TEXTS and how long it is:
// [start u16 | length u16] × Text.COUNT, in the heap.
let index: usize = 0;
let narrowed: bool = false;

/** Narrows TEXTS to ASCII in place (needs no heap). Idempotent. */
export function textsNarrow(): void {
  if (narrowed) return;
  const at = changetype<usize>(TEXTS);
  const n = <usize>TEXTS.length;
  // Byte i is written at or before where code unit i is read, so one forward pass works.
  for (let i: usize = 0; i < n; i++) store<u8>(at + i, <u8>load<u16>(at + (i << 1)));
  narrowed = true;
}

/**
 * Builds the index in `block` (Text.COUNT × 4 bytes, from the heap). False if
 * TEXTS does not have one line per Text.
 */
export function textsIndex(block: usize): bool {
  textsNarrow();
  const at = changetype<usize>(TEXTS);
  const n = <usize>TEXTS.length;
  let line: u32 = 0;
  let start: usize = 0;
  for (let i: usize = 0; i <= n; i++) {
    if (i < n && load<u8>(at + i) != 0x0A) continue;
    if (line >= <u32>Text.COUNT) return false;
    store<u16>(block + (<usize>line << 2), <u16>start);
    store<u16>(block + (<usize>line << 2) + 2, <u16>(i - start));
    line++;
    start = i + 1;
  }
  if (line != <u32>Text.COUNT) return false;
  index = block;
  return true;
}

// @ts-ignore: decorator
@inline export const TEXTS_INDEX_SIZE: usize = (<usize>Text.COUNT) << 2;

/** The first byte of a text (after textsIndex). */
// @ts-ignore: decorator
@inline export function TEXT_AT(text: Text): usize {
  return changetype<usize>(TEXTS) + <usize>load<u16>(index + (<usize>text << 2));
}

/** The length of a text in bytes (after textsIndex). */
// @ts-ignore: decorator
@inline export function TEXT_LEN(text: Text): usize {
  return <usize>load<u16>(index + (<usize>text << 2) + 2);
}

/** Finds a text by scanning (for when the heap, and so the index, is missing). */
export function textScan(text: Text): usize {
  textsNarrow();
  const at = changetype<usize>(TEXTS);
  let i: usize = 0;
  for (let line: u32 = 0; line < <u32>text; i++) if (load<u8>(at + i) == 0x0A) line++;
  return at + i;
}

/** The length of the text starting at `p` (up to its newline or the end). */
export function textScanLength(p: usize): usize {
  const end = changetype<usize>(TEXTS) + <usize>TEXTS.length;
  let q = p;
  while (q < end && load<u8>(q) != 0x0A) q++;
  return q - p;
}
