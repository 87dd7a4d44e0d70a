/**
 * The per-request cost of a policy lookup, measured in the emulator: the time
 * of proxy_on_request_headers for a typical request (8 headers), including the
 * header-map round trip (serialize, proxy_on_memory_allocate, copy, parse),
 * the lookup in the core map, the header replacements, two metric increments
 * and the shared-counter compare-and-swap. A second, profiled pass splits that
 * time between the host functions (the emulator's JavaScript, which a real host
 * replaces with its own) and the rest; and the plugin runs once more under
 * stubbed host functions that answer with constants, which leaves the plugin's
 * own work plus the crossings into JavaScript. Printed for the README; the
 * bound asserted is loose, only to catch a pathology.
 *
 * Run alone: npx vitest run test/proxy/cost.test.ts
 */
import { expect, test } from 'vitest';
import { REGION_POLICY_CONFIG, newHost, pluginBinary, requestHeaders, startVm } from './plugin.js';
import { bytes, serializePairs, type HeaderPair, type ProxyHost, type Vm } from './host.js';

const N = 20_000;
const ROUNDS = 5;

function encoded(region?: string): HeaderPair[] {
  return requestHeaders(region).map(([k, v]) => [bytes(k), bytes(v)]);
}

/** What two process.hrtime.bigint() calls cost back to back (subtracted from every sample): the least of 5 warm runs. */
function clockCost(): number {
  let least = Infinity;
  for (let run = 0; run < 5; run++) {
    let total = 0n;
    for (let i = 0; i < N; i++) {
      const t = process.hrtime.bigint();
      total += process.hrtime.bigint() - t;
    }
    least = Math.min(least, Number(total) / N);
  }
  return least;
}

/**
 * Median over ROUNDS of the mean ns per proxy_on_request_headers, each call
 * timed alone on a fresh stream (one stream open at a time, as in a proxy: many
 * open streams only measure the emulator's garbage collector), with the share
 * spent inside host functions when host.profile is set.
 */
function perCall(host: ProxyHost, vm: Vm, root: number, headers: HeaderPair[], clock: number): { total: number; host: number } {
  const totals: number[] = [];
  const hosts: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    let elapsed = 0n;
    host.stats.hostNs = 0n;
    for (let i = 0; i < N; i++) {
      const stream = vm.openStream(root, headers);
      const start = process.hrtime.bigint();
      vm.requestHeaders(stream);
      elapsed += process.hrtime.bigint() - start;
      vm.closeContext(stream);
    }
    totals.push(Number(elapsed) / N - clock);
    hosts.push(Number(host.stats.hostNs) / N);
  }
  const median = (xs: number[]) => xs.sort((a, b) => a - b)[ROUNDS >> 1]!;
  return { total: median(totals), host: median(hosts) };
}

type Fn = (...args: number[]) => number;

/**
 * The plugin under host functions that do the least the ABI allows: constant
 * answers, buffers copied in from bytes prepared once. Returns the mean ns per
 * proxy_on_request_headers (median of ROUNDS), the clock cost subtracted.
 */
function stubbed(headers: HeaderPair[], clock: number): number {
  let memory: WebAssembly.Memory | undefined;
  let plugin: Record<string, Fn> = {};
  const pairs = serializePairs(headers);
  const config = Buffer.from(JSON.stringify(REGION_POLICY_CONFIG));
  const count = new Uint8Array(8);
  const put = (data: Uint8Array, ptrPtr: number, sizePtr: number): number => {
    const ptr = plugin.proxy_on_memory_allocate!(data.length);
    const u8 = new Uint8Array(memory!.buffer);
    u8.set(data, ptr);
    const view = new DataView(memory!.buffer);
    view.setUint32(ptrPtr, ptr, true);
    view.setUint32(sizePtr, data.length, true);
    return 0;
  };
  const env: Record<string, Fn> = {
    proxy_log: () => 0,
    proxy_get_buffer_bytes: (_t, _s, _m, ptrPtr, sizePtr) => put(config, ptrPtr!, sizePtr!),
    proxy_get_header_map_pairs: (_t, ptrPtr, sizePtr) => put(pairs, ptrPtr!, sizePtr!),
    proxy_replace_header_map_value: () => 0,
    proxy_define_metric: (_t, _n, _l, idPtr) => (new DataView(memory!.buffer).setUint32(idPtr!, 16, true), 0),
    proxy_increment_metric: () => 0,
    proxy_get_shared_data: (_k, _l, ptrPtr, sizePtr, casPtr) => {
      new DataView(memory!.buffer).setUint32(casPtr!, 1, true);
      return put(count, ptrPtr!, sizePtr!);
    },
    proxy_set_shared_data: () => 0,
  };
  const instance = new WebAssembly.Instance(new WebAssembly.Module(pluginBinary as Uint8Array<ArrayBuffer>), {
    env,
    wasi_snapshot_preview1: { random_get: () => 0 },
  });
  memory = instance.exports.memory as WebAssembly.Memory;
  plugin = instance.exports as unknown as Record<string, Fn>;
  plugin._initialize!();
  plugin.proxy_on_context_create!(1, 0);
  plugin.proxy_on_vm_start!(1, 0);
  if (!plugin.proxy_on_configure!(1, config.length)) throw new Error('stubbed: configuration refused');
  let context = 2;
  const samples: number[] = [];
  for (let round = 0; round <= ROUNDS; round++) { // round 0 warms up
    let elapsed = 0n;
    for (let i = 0; i < N; i++) {
      plugin.proxy_on_context_create!(context, 1);
      const start = process.hrtime.bigint();
      plugin.proxy_on_request_headers!(context, headers.length, 1);
      elapsed += process.hrtime.bigint() - start;
      plugin.proxy_on_delete!(context++);
    }
    if (round) samples.push(Number(elapsed) / N - clock);
  }
  return samples.sort((a, b) => a - b)[ROUNDS >> 1]!;
}

test('per-request cost of a policy lookup', () => {
  const host = newHost();
  const { vm, root } = startVm(host, REGION_POLICY_CONFIG);
  const idle = vm.createRoot().context; // a root with no configuration: the call alone
  const hit = encoded('cn-east');
  const miss = encoded('eu-west');
  const clock = clockCost();
  perCall(host, vm, root, hit, clock); // warm-up: tiers up the Wasm and the emulator

  const before = new Map(host.stats.hostcalls);
  vm.request(root, hit);
  const hostcalls = [...host.stats.hostcalls]
    .map(([name, n]) => `${name} x${n - (before.get(name) ?? 0)}`)
    .filter((s) => !s.endsWith(' x0'));

  const rows: Array<[string, number]> = [];
  const hitPlain = perCall(host, vm, root, hit, clock).total;
  rows.push(['hit (cn-east: timeout + 2 headers, counter CAS)', hitPlain]);
  rows.push(['miss, default applied (timeout + 1 header, counter CAS)', perCall(host, vm, root, miss, clock).total]);
  rows.push(['no configuration (the callback alone, no host call)', perCall(host, vm, idle, hit, clock).total]);
  host.profile = true;
  const split = perCall(host, vm, root, hit, clock);
  host.profile = false;
  rows.push(['hit, profiled: inside host functions (emulator JS)', split.host]);
  rows.push(['hit, profiled: the rest (plugin, call glue, the profiling)', split.total - split.host]);
  rows.push(['hit, host functions stubbed: the plugin and its 8 host calls', stubbed(hit, clock)]);

  console.log(
    `proxy_on_request_headers in the emulator (Node ${process.version}, median of ${ROUNDS} x ${N} calls, ` +
      `clock cost ${clock.toFixed(0)} ns subtracted):\n` +
      rows.map(([k, v]) => `  ${k.padEnd(62)} ${v.toFixed(0).padStart(6)} ns`).join('\n') +
      `\n  host calls per hit: ${hostcalls.join(', ')}`,
  );
  expect(hitPlain).toBeLessThan(100_000);
});
