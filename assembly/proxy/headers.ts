// Reading a serialized header map (proxy_get_header_map_pairs), as the spec's
// "Serialization" section defines it, little endian:
//
//   ┌───────────┬─────────────────────────────────────┬──────────────────────────────────┐
//   │ count u32 │ (nameLen u32, valueLen u32) × count │ (name, 0x00, value, 0x00) × count │
//   └───────────┴─────────────────────────────────────┴──────────────────────────────────┘
//
// An empty map is 0 bytes or the single byte 0x00. The bytes come from the host
// but carry the client's header values, so the walk checks every length against
// the end (in 64 bits: a count or length near 2^32 cannot wrap) and every
// terminator, and a map that does not parse counts as having no such header.

import { bytesEqual } from "../entry";

/** Where headerFind found the header's first value. */
export let foundValue: usize = 0;
export let foundValueLen: usize = 0;

/** Return values of headerFind besides a count of 0 or 1. */
// @ts-ignore: decorator
@inline export const HEADER_REPEATED: i32 = 2;
// @ts-ignore: decorator
@inline export const HEADER_MALFORMED: i32 = -1;

/**
 * Looks for the header `name` (nameLen bytes; the host gives names lowercased)
 * in the `size` serialized bytes at `data`. Returns 0 (absent), 1 (present
 * once; foundValue/foundValueLen set), HEADER_REPEATED or HEADER_MALFORMED.
 */
export function headerFind(data: usize, size: usize, name: usize, nameLen: usize): i32 {
  foundValue = 0;
  foundValueLen = 0;
  if (size < 4) return size == 0 || (size == 1 && load<u8>(data) == 0) ? 0 : HEADER_MALFORMED;
  const count = <u64>load<u32>(data);
  const end = <u64>data + <u64>size;
  let lengths = <u64>data + 4;
  let at = lengths + count * 8;
  if (at > end) return HEADER_MALFORMED;
  let found: i32 = 0;
  for (let i: u64 = 0; i < count; i++) {
    const keyLen = <u64>load<u32>(<usize>lengths);
    const valueLen = <u64>load<u32>(<usize>lengths + 4);
    lengths += 8;
    if (at + keyLen + valueLen + 2 > end) return HEADER_MALFORMED;
    const key = <usize>at;
    const value = <usize>(at + keyLen + 1);
    if (load<u8>(key + <usize>keyLen) != 0 || load<u8>(value + <usize>valueLen) != 0) return HEADER_MALFORMED;
    if (keyLen == <u64>nameLen && bytesEqual(key, name, nameLen)) {
      if (found) {
        found = HEADER_REPEATED; // keep walking: a malformed tail still counts as malformed
      } else {
        found = 1;
        foundValue = value;
        foundValueLen = <usize>valueLen;
      }
    }
    at += keyLen + valueLen + 2;
  }
  return at == end ? found : HEADER_MALFORMED;
}

