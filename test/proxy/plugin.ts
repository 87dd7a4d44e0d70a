/**
 * The built plugin (build/syncmap-filter.wasm, rebuilt by `pretest`) and small
 * helpers to run it in the emulator.
 */
import { readFileSync } from 'node:fs';
import { ProxyHost, type HostOptions, type Vm } from './host.js';

export const PLUGIN_PATH = new URL('../../build/syncmap-filter.wasm', import.meta.url);
export const pluginBinary: Uint8Array = readFileSync(PLUGIN_PATH);

export const METRICS = [
  'syncmap_filter.lookups',
  'syncmap_filter.hits',
  'syncmap_filter.misses',
  'syncmap_filter.reloads',
  'syncmap_filter.reloads_rejected',
] as const;

export const TIMEOUT_HEADER = 'x-envoy-upstream-rq-timeout-ms';
export const POLICY_COUNTER = 'syncmap-filter/requests/policy/';
export const DEFAULT_COUNTER = 'syncmap-filter/requests/default';

/**
 * The ends of a refusal's log line: a root context that had a table keeps it;
 * one that had none (how Envoy applies every new configuration: a new root
 * context) stays without, and the line says what Envoy does then.
 */
export const PREVIOUS_STAYS = 'the previous configuration stays in force';
export const ROOT_UNCONFIGURED = 'this root context has no configuration ' +
  '(Envoy rejects the update and keeps serving with the previous root context, if any)';

/** A per-region route policy for an Envoy filter: east 1.2 s, north 1.8 s, default 3 s. */
export const REGION_POLICY_CONFIG = {
  header: 'x-region',
  default: { timeout_ms: 3000, headers: { 'x-route-policy': 'default' } },
  policies: {
    'cn-east': { timeout_ms: 1200, headers: { 'x-route-policy': 'east', 'x-upstream-pool': 'east-1' } },
    'cn-north': { timeout_ms: 1800, headers: { 'x-route-policy': 'north' } },
  },
};

export function newHost(options: HostOptions = {}): ProxyHost {
  return new ProxyHost(pluginBinary, options);
}

/** A VM with one root context, started and (if given) configured. */
export function startVm(host: ProxyHost, config?: unknown): { vm: Vm; root: number; accepted: boolean } {
  const vm = host.newVm();
  const { context: root, started } = vm.createRoot();
  if (!started) throw new Error('proxy_on_vm_start returned false');
  let accepted = true;
  if (config !== undefined) accepted = vm.configure(root, typeof config === 'string' ? config : JSON.stringify(config));
  return { vm, root, accepted };
}

/** Requests headers for a typical request carrying `region` in x-region (or none). */
export function requestHeaders(region?: string | Uint8Array, header = 'x-region'): Array<[string | Uint8Array, string | Uint8Array]> {
  const headers: Array<[string | Uint8Array, string | Uint8Array]> = [
    [':authority', 'api.example.com'],
    [':path', '/v1/orders/6b9f1a2e'],
    [':method', 'GET'],
    [':scheme', 'https'],
    ['user-agent', 'curl/8.5.0'],
    ['accept', '*/*'],
    ['x-request-id', '0f8fad5b-d9cb-469f-a165-70867728950e'],
  ];
  if (region !== undefined) headers.push([header, region]);
  return headers;
}
