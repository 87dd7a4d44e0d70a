/**
 * docs/proxy-filter.md against the built filter: the log lines it shows are the ones the filter
 * writes, its metric names and import/export lists are the binary's, and it keeps the
 * documentation's form (lines under 100 characters).
 */
import { readFileSync } from 'node:fs';
import { describe, expect, test } from 'vitest';
import { METRICS, REGION_POLICY_CONFIG, newHost, pluginBinary, startVm } from './plugin.js';
import { readModule } from './wasm-binary.js';

const doc = readFileSync(new URL('../../docs/proxy-filter.md', import.meta.url), 'utf8');

/** The fenced block that follows the first line containing `after`. */
function blockAfter(after: string): string[] {
  const lines = doc.split('\n');
  const start = lines.findIndex((l) => l.includes(after));
  expect(start, after).toBeGreaterThanOrEqual(0);
  const open = lines.findIndex((l, i) => i > start && l.startsWith('```'));
  const close = lines.findIndex((l, i) => i > open && l.startsWith('```'));
  return lines.slice(open + 1, close);
}

/** Log lines wrapped in the doc: a line starting with two spaces continues the one before. */
function unwrap(lines: string[]): string[] {
  const out: string[] = [];
  for (const line of lines) {
    if (line.startsWith('  ')) out[out.length - 1] += ' ' + line.trimStart();
    else out.push(line);
  }
  return out;
}

/** The names in backquotes in one Markdown list item that starts with `label`. */
function listed(label: string): string[] {
  const item = doc.slice(doc.indexOf(`- ${label}:`)).split(/\n(?! )/)[0]!;
  return [...item.matchAll(/`([^`]+)`/g)].map((m) => m[1]!);
}

describe('docs/proxy-filter.md', () => {
  test('reads as our docs do: lines under 100 characters, the use case named in words', () => {
    doc.split('\n').forEach((line, i) => expect(line.length, `line ${i + 1}`).toBeLessThan(100));
    expect(doc).not.toMatch(/seed/i);
  });

  test('the refusals it shows are the lines the filter logs', () => {
    const host = newHost();
    const lines: string[] = [];
    const refuse = (vm: ReturnType<typeof startVm>['vm'], root: number, config: string) => {
      expect(vm.configure(root, config)).toBe(false);
      lines.push(host.logs.at(-1)!.message);
    };
    const serving = startVm(host, REGION_POLICY_CONFIG);
    refuse(serving.vm, serving.root, '{"policies": {"cn-east": {"timeout_ms": "900"}}}');
    const check = startVm(host); // Envoy's check VM: a fresh root context, never configured
    refuse(check.vm, check.root, '{"policies": {"cn-east": {"timeout_ms": 900}, "": {"timeout_ms": 1}}}');
    refuse(serving.vm, serving.root, `{${' '.repeat(4 << 20)}}`);
    expect(unwrap(blockAfter('Examples (each one line in the log, wrapped here)'))).toEqual(lines);

    const format = blockAfter('One log line per refusal, one format')[0]!;
    const pattern = new RegExp(`^${format.replace(/<[a-z ]+>/g, '.+')}$`);
    for (const line of lines) expect(line).toMatch(pattern);
  });

  test('the configuration it shows loads, with the INFO line it shows', () => {
    const host = newHost();
    const config = blockAfter('is JSON:').join('\n');
    expect(startVm(host, config).accepted).toBe(true);
    expect(blockAfter('An accepted configuration logs one INFO line')).toEqual([host.logs.at(-1)!.message]);
  });

  test('its metrics are the filter\'s, and it says how reloads are counted', () => {
    const rows = [...doc.matchAll(/^\| `(syncmap_filter\.[a-z_]+)` \|/gm)].map((m) => m[1]);
    expect(rows).toEqual([...METRICS]);
    expect(doc).toMatch(/count per root context, so per VM, not per configuration/);
  });

  test('its import and export lists are the binary\'s', () => {
    const info = readModule(pluginBinary);
    expect(listed('imports').sort()).toEqual(info.imports.map((i) => `${i.module}.${i.name}`).sort());
    expect(listed('exports').sort()).toEqual(info.exports.map((e) => e.name).sort());
  });
});
