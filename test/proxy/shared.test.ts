/**
 * Per-policy counters across 4 VMs (4 simulated worker threads) sharing one
 * store. While a VM is inside a shared-data host function, the emulator runs
 * requests on other idle VMs, as real workers would interleave; increments then
 * meet CAS_MISMATCH and retry, and no count may be lost.
 */
import { expect, test } from 'vitest';
import { DEFAULT_COUNTER, POLICY_COUNTER, REGION_POLICY_CONFIG, newHost, requestHeaders, startVm } from './plugin.js';
import { Random } from './random.js';

test('4 VMs count every request exactly once, through CAS retries', () => {
  const host = newHost();
  const workers = Array.from({ length: 4 }, () => startVm(host, REGION_POLICY_CONFIG));
  expect(workers.every((w) => w.accepted)).toBe(true);

  const random = new Random(20261126);
  const regions = ['cn-east', 'cn-north', 'eu-west', undefined] as const;
  const queues = workers.map(() => Array.from({ length: 1000 }, () => random.pick(regions)));
  const expected = new Map<string, bigint>();
  for (const region of queues.flat()) {
    const key = region === 'cn-east' || region === 'cn-north' ? POLICY_COUNTER + region : DEFAULT_COUNTER;
    expected.set(key, (expected.get(key) ?? 0n) + 1n);
  }

  const runOne = (i: number) => {
    const region = queues[i]!.shift();
    workers[i]!.vm.request(workers[i]!.root, requestHeaders(region));
  };
  // Another worker runs while this one waits on the shared store.
  host.onSharedData = () => {
    if (!random.chance(0.5)) return;
    const idle = workers.map((_, i) => i).filter((i) => !workers[i]!.vm.busy && queues[i]!.length);
    if (idle.length) runOne(random.pick(idle));
  };
  for (;;) {
    const ready = workers.map((_, i) => i).filter((i) => queues[i]!.length);
    if (!ready.length) break;
    runOne(random.pick(ready));
  }

  for (const [key, count] of expected) expect(host.sharedCount(key), key).toBe(count);
  expect(host.metric('syncmap_filter.lookups')).toBe(4000n);
  expect(host.stats.casMismatches).toBeGreaterThan(100);
  console.log(`shared counters: 4000 requests on 4 VMs, ${host.stats.casMismatches} CAS retries`);
});

test('a VM started later reads and continues the counts the others made', () => {
  const host = newHost();
  const first = startVm(host, REGION_POLICY_CONFIG);
  for (let i = 0; i < 5; i++) first.vm.request(first.root, requestHeaders('cn-east'));
  const late = startVm(host, REGION_POLICY_CONFIG); // its configure must not reset existing keys
  expect(host.sharedCount(POLICY_COUNTER + 'cn-east')).toBe(5n);
  late.vm.request(late.root, requestHeaders('cn-east'));
  expect(host.sharedCount(POLICY_COUNTER + 'cn-east')).toBe(6n);
});
