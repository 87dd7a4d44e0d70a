/**
 * examples/envoy.yaml: the plugin configuration it embeds loads, and requests
 * get what the file's comments promise.
 */
import { readFileSync } from 'node:fs';
import { expect, test } from 'vitest';
import { headerValue } from './host.js';
import { TIMEOUT_HEADER, newHost, requestHeaders, startVm } from './plugin.js';

/** The block scalar under `value: |` in the wasm filter's configuration. */
function embeddedConfiguration(yaml: string): string {
  const lines = yaml.split('\n');
  const start = lines.findIndex((l) => /^\s*value: \|\s*$/.test(l));
  expect(start).toBeGreaterThan(0);
  const indent = lines[start]!.search(/\S/);
  const block: string[] = [];
  for (const line of lines.slice(start + 1)) {
    if (line.trim() && line.search(/\S/) <= indent) break;
    block.push(line);
  }
  return block.join('\n');
}

test('the configuration in examples/envoy.yaml loads and routes as documented', () => {
  const yaml = readFileSync(new URL('../../examples/envoy.yaml', import.meta.url), 'utf8');
  expect(yaml).toMatch(/runtime: envoy\.wasm\.runtime\.v8/);
  expect(yaml).toMatch(/name: envoy\.filters\.http\.wasm/);
  expect(yaml).toMatch(/filename: build\/syncmap-filter\.wasm/);
  const host = newHost();
  const { vm, root, accepted } = startVm(host, embeddedConfiguration(yaml));
  expect(accepted).toBe(true);
  expect(host.logs.at(-1)!.message).toBe("syncmap-filter: configuration loaded: 3 policies on header 'x-region', default timeout 3000 ms");
  const timeout = (region?: string) => headerValue(vm.request(root, requestHeaders(region)).headers, TIMEOUT_HEADER);
  expect([timeout('cn-east'), timeout('cn-north'), timeout('cn-south'), timeout('eu-west'), timeout()])
    .toEqual(['1200', '1800', '1500', '3000', '3000']);
});
