/**
 * The per-request cost of a policy lookup, measured in the emulator: the time
 * of proxy_on_request_headers for a typical request (8 headers), including the
 * header-map round trip (serialize, proxy_on_memory_allocate, copy, parse),
 * the lookup in the core map, the header replacements, two metric increments
 * and the shared-counter compare-and-swap. A second, profiled pass splits that
 * time between the host functions (the emulator's JavaScript, which a real host
 * replaces with its own) and the plugin. Printed for the README; the bound
 * asserted is loose, only to catch a pathology.
 *
 * Run alone: npx vitest run test/proxy/cost.test.ts
 */
import { expect, test } from 'vitest';
import { SEED_CONFIG, newHost, requestHeaders, startVm } from './plugin.js';
import { bytes, type HeaderPair, type ProxyHost, type Vm } from './host.js';

const N = 10_000;
const ROUNDS = 5;

function encoded(region?: string): HeaderPair[] {
  return requestHeaders(region).map(([k, v]) => [bytes(k), bytes(v)]);
}

/** Median ns per proxy_on_request_headers over ROUNDS rounds of N fresh streams; with the host's share. */
function perCall(host: ProxyHost, vm: Vm, root: number, headers: HeaderPair[]): { total: number; host: number } {
  const totals: number[] = [];
  const hosts: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    const streams = Array.from({ length: N }, () => vm.openStream(root, headers));
    host.stats.hostNs = 0n;
    const start = process.hrtime.bigint();
    for (const s of streams) vm.requestHeaders(s);
    totals.push(Number(process.hrtime.bigint() - start) / N);
    hosts.push(Number(host.stats.hostNs) / N);
    for (const s of streams) vm.closeContext(s);
  }
  const median = (xs: number[]) => xs.sort((a, b) => a - b)[ROUNDS >> 1]!;
  return { total: median(totals), host: median(hosts) };
}

test('per-request cost of a policy lookup', () => {
  const host = newHost();
  const { vm, root } = startVm(host, SEED_CONFIG);
  const idle = vm.createRoot().context; // a root with no configuration: the call alone
  const hit = encoded('cn-east');
  const miss = encoded('eu-west');
  perCall(host, vm, root, hit); // warm-up: tiers up the Wasm and the emulator

  const before = new Map(host.stats.hostcalls);
  vm.request(root, hit);
  const hostcalls = [...host.stats.hostcalls]
    .map(([name, n]) => `${name} x${n - (before.get(name) ?? 0)}`)
    .filter((s) => !s.endsWith(' x0'));

  const rows: Array<[string, number]> = [];
  const hitPlain = perCall(host, vm, root, hit).total;
  rows.push(['hit (cn-east: timeout + 2 headers, counter CAS)', hitPlain]);
  rows.push(['miss, default applied (timeout + 1 header, counter CAS)', perCall(host, vm, root, miss).total]);
  rows.push(['no configuration (the callback alone, no host call)', perCall(host, vm, idle, hit).total]);
  host.profile = true;
  const split = perCall(host, vm, root, hit);
  host.profile = false;
  rows.push(['hit, profiled: inside host functions (emulator JS)', split.host]);
  rows.push(['hit, profiled: in the plugin (total - host functions)', split.total - split.host]);

  console.log(
    `proxy_on_request_headers in the emulator (Node ${process.version}, median of ${ROUNDS} x ${N} calls):\n` +
      rows.map(([k, v]) => `  ${k.padEnd(58)} ${v.toFixed(0).padStart(6)} ns`).join('\n') +
      `\n  host calls per hit: ${hostcalls.join(', ')}`,
  );
  expect(hitPlain).toBeLessThan(100_000);
});
