// Log lines through proxy_log, assembled piece by piece in one builder.
//
//   logStart(); logText("…"); logQuoted(ptr, len); logNumber(n); logEmit(LogLevel.ERROR);
//
// Every line begins with "syncmap-filter: ". Bytes that came from outside
// (configuration fields, policy names) are quoted and escaped: printable ASCII
// stays, everything else becomes \xNN, and anything past LOG_QUOTE_MAX bytes is
// cut and marked, so a hostile configuration cannot make a log line huge or
// put control characters into the host's log.

import { proxy_log } from "./abi";
import { DATA, LEN, builderClear, builderNew, pushByte, pushDecimal, pushText } from "./bytes";
import { Text } from "./texts";

// How much of a quoted value is shown: enough to recognise a policy name or a
// field, short enough to keep one refusal on one line.
// @ts-ignore: decorator
@inline const LOG_QUOTE_MAX: usize = 64;

let line: usize = 0; // the builder; 0 until logInit

export function logInit(): bool {
  if (!line) line = builderNew();
  return line != 0;
}

export function logStart(): void {
  if (!line) return;
  builderClear(line);
  pushText(line, Text.LOG_PREFIX);
}

export function logText(text: Text): void {
  if (line) pushText(line, text);
}

export function logNumber(value: u64): void {
  if (line) pushDecimal(line, value);
}

/** Appends 'bytes', escaped and cut at LOG_QUOTE_MAX. */
export function logQuoted(ptr: usize, len: usize): void {
  if (!line) return;
  pushByte(line, 0x27);
  const shown = len < LOG_QUOTE_MAX ? len : LOG_QUOTE_MAX;
  for (let i: usize = 0; i < shown; i++) {
    const c = <u32>load<u8>(ptr + i);
    if (c >= 0x20 && c < 0x7F && c != 0x27 && c != 0x5C) {
      pushByte(line, c);
    } else {
      pushByte(line, 0x5C); // \xNN
      pushByte(line, 0x78);
      pushByte(line, hexDigit(c >> 4));
      pushByte(line, hexDigit(c & 15));
    }
  }
  pushByte(line, 0x27);
  if (shown < len) {
    logText(Text.CUT_OPEN);
    logNumber(len);
    logText(Text.CUT_CLOSE);
  }
}

/** Sends the line at `level` (proxy_log_level_t). */
export function logEmit(level: u32): void {
  if (line) proxy_log(level, DATA(line), LEN(line));
}

// @ts-ignore: decorator
@inline function hexDigit(v: u32): u32 {
  return v < 10 ? 0x30 + v : 0x57 + v;
}
