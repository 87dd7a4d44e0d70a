/**
 * The filter in the emulator: policy lookups, the default, hostile header
 * values, configuration reloads (good and bad, each refusal with its log line),
 * metrics, per-policy counters, several root contexts in one VM.
 */
import { describe, expect, test } from 'vitest';
import { LogLevel } from './abi-spec.js';
import { headerStrings, headerValue, type ProxyHost, type Vm } from './host.js';
import {
  DEFAULT_COUNTER, METRICS, POLICY_COUNTER, PREVIOUS_STAYS, REGION_POLICY_CONFIG, ROOT_UNCONFIGURED, TIMEOUT_HEADER, newHost,
  requestHeaders, startVm,
} from './plugin.js';

function metrics(host: ProxyHost): Record<string, number> {
  return Object.fromEntries(METRICS.map((m) => [m.replace('syncmap_filter.', ''), Number(host.metric(m) ?? -1)]));
}

function errors(host: ProxyHost): string[] {
  return host.logs.filter((l) => l.level >= LogLevel.ERROR).map((l) => l.message);
}

describe('policy lookups', () => {
  test('a header value naming a policy gets its timeout and headers', () => {
    const host = newHost();
    const { vm, root } = startVm(host, REGION_POLICY_CONFIG);
    const east = vm.request(root, requestHeaders('cn-east')).headers;
    expect(headerValue(east, TIMEOUT_HEADER)).toBe('1200');
    expect(headerValue(east, 'x-route-policy')).toBe('east');
    expect(headerValue(east, 'x-upstream-pool')).toBe('east-1');
    const north = vm.request(root, requestHeaders('cn-north')).headers;
    expect(headerValue(north, TIMEOUT_HEADER)).toBe('1800');
    expect(headerValue(north, 'x-route-policy')).toBe('north');
    expect(headerValue(north, 'x-upstream-pool')).toBeUndefined();
  });

  test('the policy replaces a timeout header the client sent', () => {
    const { vm, root } = startVm(newHost(), REGION_POLICY_CONFIG);
    const sent = [...requestHeaders('cn-east'), [TIMEOUT_HEADER, '999999'], [TIMEOUT_HEADER, '1']] as Array<[string, string]>;
    const out = headerStrings(vm.request(root, sent).headers).filter(([k]) => k === TIMEOUT_HEADER);
    expect(out).toEqual([[TIMEOUT_HEADER, '1200']]);
  });

  test('anything else gets the default: an unknown value, no header, an empty one, a repeated one', () => {
    const { vm, root } = startVm(newHost(), REGION_POLICY_CONFIG);
    for (const headers of [
      requestHeaders('eu-west'),
      requestHeaders(),
      requestHeaders(''),
      requestHeaders('CN-EAST'),
      requestHeaders('cn-east\0'),
      [...requestHeaders('cn-east'), ['x-region', 'cn-east']] as Array<[string, string]>, // repeated: ambiguous
      [...requestHeaders('cn-east'), ['x-region', 'cn-north']] as Array<[string, string]>,
    ]) {
      const out = vm.request(root, headers).headers;
      expect(headerValue(out, TIMEOUT_HEADER)).toBe('3000');
      expect(headerValue(out, 'x-route-policy')).toBe('default');
    }
  });

  test('with no default, a miss leaves the request as it came', () => {
    const { vm, root } = startVm(newHost(), { policies: REGION_POLICY_CONFIG.policies });
    const sent = requestHeaders('eu-west');
    expect(headerStrings(vm.request(root, sent).headers)).toEqual(sent);
  });

  test('another header, a pseudo-header, and names with escapes and NUL bytes', () => {
    const host = newHost();
    const { vm, root } = startVm(host, {
      header: 'x-tenant',
      policies: { 'acme': { timeout_ms: 5 }, 'caf\u00e9': { timeout_ms: 6 }, 'a\u0000b': { timeout_ms: 7 }, '\u0000': { timeout_ms: 8 } },
    });
    const timeout = (value: string | Uint8Array) =>
      headerValue(vm.request(root, requestHeaders(value, 'x-tenant')).headers, TIMEOUT_HEADER);
    expect(timeout('acme')).toBe('5');
    expect(timeout(Buffer.from('café'))).toBe('6'); // UTF-8 bytes of \u00e9
    expect(timeout(new Uint8Array([0x61, 0, 0x62]))).toBe('7');
    expect(timeout(new Uint8Array([0]))).toBe('8'); // one NUL byte: a name, unlike the empty value
    expect(timeout('')).toBeUndefined();
    expect(headerValue(vm.request(root, requestHeaders('acme')).headers, TIMEOUT_HEADER)).toBeUndefined(); // x-region: ignored

    const byHost = startVm(host, { header: ':authority', policies: { 'api.example.com': { timeout_ms: 250 } } });
    expect(headerValue(byHost.vm.request(byHost.root, requestHeaders()).headers, TIMEOUT_HEADER)).toBe('250');
  });

  test('hostile values never trap: huge, binary, all 256 byte values', () => {
    const { vm, root } = startVm(newHost(), REGION_POLICY_CONFIG);
    const values: Uint8Array[] = [
      new Uint8Array(1 << 20).fill(0x41),
      new Uint8Array(257).fill(0x61),
      Uint8Array.from({ length: 256 }, (_, i) => i),
      new Uint8Array(4096),
      Buffer.concat([Buffer.from('cn-east'), new Uint8Array(300)]),
    ];
    for (const value of values) {
      const out = vm.request(root, requestHeaders(value)).headers;
      expect(headerValue(out, TIMEOUT_HEADER)).toBe('3000');
    }
    // A huge header map: 2000 headers.
    const many = Array.from({ length: 2000 }, (_, i) => [`x-h${i}`, 'v'.repeat(i % 50)] as [string, string]);
    expect(headerValue(vm.request(root, [...many, ['x-region', 'cn-north']]).headers, TIMEOUT_HEADER)).toBe('1800');
  });

  test('a policy named "" is refused, so an empty header value is always a miss', () => {
    const host = newHost();
    const { vm, root } = startVm(host, REGION_POLICY_CONFIG);
    const withEmpty = { ...REGION_POLICY_CONFIG, policies: { ...REGION_POLICY_CONFIG.policies, '': { timeout_ms: 8 } } };
    const text = JSON.stringify(withEmpty);
    expect(vm.configure(root, text)).toBe(false);
    expect(errors(host)).toEqual([
      `syncmap-filter: configuration refused at byte ${text.indexOf('"":')}: policy '': the name is empty, ` +
      `and an empty header value names no policy; ${PREVIOUS_STAYS}`,
    ]);
    expect(headerValue(vm.request(root, requestHeaders('')).headers, TIMEOUT_HEADER)).toBe('3000'); // the default
    expect(metrics(host)).toMatchObject({ hits: 0, misses: 1, reloads_rejected: 1 });
  });

  test('an empty header map, sent as the single byte 0x00, is a miss', () => {
    const { vm, root } = startVm(newHost({ emptyMapAsNulByte: true }), REGION_POLICY_CONFIG);
    expect(headerValue(vm.request(root, []).headers, TIMEOUT_HEADER)).toBe('3000');
  });

  test('if WASI random_get fails, the table is keyed with a fixed key, says so, and works', () => {
    const host = newHost({ randomGetFails: true });
    const { vm, root, accepted } = startVm(host, REGION_POLICY_CONFIG);
    expect(accepted).toBe(true);
    expect(host.logs.at(-1)!.message).toMatch(/WASI random_get failed: the hash key is fixed/);
    expect(headerValue(vm.request(root, requestHeaders('cn-north')).headers, TIMEOUT_HEADER)).toBe('1800');
  });
});

describe('metrics and counters', () => {
  test('lookups = hits + misses; reloads and rejected reloads', () => {
    const host = newHost();
    const { vm, root } = startVm(host, REGION_POLICY_CONFIG);
    for (const region of ['cn-east', 'cn-east', 'cn-north', 'eu-west', undefined]) vm.request(root, requestHeaders(region));
    vm.configure(root, '{');
    vm.configure(root, JSON.stringify(REGION_POLICY_CONFIG));
    expect(metrics(host)).toEqual({ lookups: 5, hits: 3, misses: 2, reloads: 2, reloads_rejected: 1 });
  });

  test('a metric whose id is 0 is counted too: the spec does not say ids are never 0', () => {
    const host = newHost({ metricIdsFromZero: true });
    const { vm, root } = startVm(host, REGION_POLICY_CONFIG);
    for (const region of ['cn-east', 'eu-west']) vm.request(root, requestHeaders(region));
    expect(metrics(host)).toEqual({ lookups: 2, hits: 1, misses: 1, reloads: 1, reloads_rejected: 0 });
    expect(host.logs.some((l) => /refused to define a metric/.test(l.message))).toBe(false);
  });

  test('reloads and reloads_rejected count once per root context that loads or refuses, so once per VM', () => {
    const host = newHost();
    const vms = Array.from({ length: 4 }, () => startVm(host, REGION_POLICY_CONFIG));
    expect(metrics(host)).toMatchObject({ reloads: 4, reloads_rejected: 0 });
    for (const { vm, root } of vms) vm.configure(root, '{"policies": 5}');
    expect(metrics(host)).toMatchObject({ reloads: 4, reloads_rejected: 4 });
    // Envoy's style: each configuration in a new root context, per VM.
    for (const { vm } of vms) vm.configure(vm.createRoot().context, JSON.stringify({ policies: {} }));
    expect(metrics(host)).toMatchObject({ reloads: 8, reloads_rejected: 4 });
  });

  test('per-policy request counts in shared data, created at load time', () => {
    const host = newHost();
    const { vm, root } = startVm(host, REGION_POLICY_CONFIG);
    expect(host.sharedCount(POLICY_COUNTER + 'cn-east')).toBe(0n);
    expect(host.sharedCount(POLICY_COUNTER + 'cn-north')).toBe(0n);
    expect(host.sharedCount(DEFAULT_COUNTER)).toBe(0n);
    for (const region of ['cn-east', 'cn-east', 'cn-north', 'xx', 'yy', 'zz']) vm.request(root, requestHeaders(region));
    expect(host.sharedCount(POLICY_COUNTER + 'cn-east')).toBe(2n);
    expect(host.sharedCount(POLICY_COUNTER + 'cn-north')).toBe(1n);
    expect(host.sharedCount(DEFAULT_COUNTER)).toBe(3n);
    // A reload keeps counting where the counts are.
    vm.configure(root, JSON.stringify(REGION_POLICY_CONFIG));
    vm.request(root, requestHeaders('cn-east'));
    expect(host.sharedCount(POLICY_COUNTER + 'cn-east')).toBe(3n);
  });
});

describe('configuration reloads', () => {
  test('a good configuration replaces the table as one step', () => {
    const host = newHost();
    const { vm, root } = startVm(host, REGION_POLICY_CONFIG);
    expect(vm.configure(root, JSON.stringify({ policies: { 'cn-west': { timeout_ms: 900 } } }))).toBe(true);
    expect(headerValue(vm.request(root, requestHeaders('cn-west')).headers, TIMEOUT_HEADER)).toBe('900');
    // The old policies and the old default are gone together.
    const east = vm.request(root, requestHeaders('cn-east')).headers;
    expect(headerValue(east, TIMEOUT_HEADER)).toBeUndefined();
    expect(headerValue(east, 'x-route-policy')).toBeUndefined();
    expect(host.logs.at(-1)!.message).toBe("syncmap-filter: configuration loaded: 1 policy on header 'x-region', no default policy");
  });

  test('reloading again and again does not grow the memory', () => {
    const { vm, root } = startVm(newHost());
    const policies = Object.fromEntries(Array.from({ length: 1000 }, (_, i) => [`region-${i}`, {
      timeout_ms: i, headers: { 'x-pool': `pool-${i}` },
    }]));
    const config = JSON.stringify({ default: { timeout_ms: 1 }, policies });
    for (let i = 0; i < 5; i++) expect(vm.configure(root, config)).toBe(true);
    const settled = vm.memory.buffer.byteLength;
    for (let i = 0; i < 50; i++) expect(vm.configure(root, config)).toBe(true);
    expect(vm.memory.buffer.byteLength).toBe(settled);
    expect(headerValue(vm.request(root, requestHeaders('region-777')).headers, 'x-pool')).toBe('pool-777');
  });

  // [configuration, what the log line must say]
  const refused: Array<[string | Uint8Array, RegExp]> = [
    ['', /at byte 0: the configuration is empty; expected a JSON object/],
    ['null', /at byte 0: expected a JSON object/],
    ['[]', /at byte 0: expected a JSON object/],
    ['{}', /missing field 'policies'/],
    ['{"policies": {}} x', /at byte 17: unexpected data after the configuration object/],
    ['{"policies": {} "header": "x"}', /at byte 16: expected ',' or '}'/],
    ['{"policies" {}}', /at byte 12: expected ':'/],
    ['{policies: {}}', /at byte 1: expected a field name in double quotes/],
    ['{"polices": {}}', /at byte 1: unknown field \(expected header, default, policies\): 'polices'/],
    ['{"policies": {}, "policies": {}}', /at byte 17: repeated field 'policies'/],
    ['{"policies": []}', /expected an object for 'policies'/],
    ['{"header": 5, "policies": {}}', /expected a string for 'header'/],
    ['{"header": "X-Region", "policies": {}}', /not a lowercase HTTP header name of at most 128 bytes: 'X-Region'/],
    ['{"header": "", "policies": {}}', /not a lowercase HTTP header name/],
    ['{"policies": {"": {"timeout_ms": 1}}}', /at byte 14: policy '': the name is empty, and an empty header value names no policy/],
    ['{"policies": {"\\u0041": {"timeout_ms": 1}, "": {}}}', /at byte 43: policy '': the name is empty/],
    ['{"policies": {"a": {}}}', /policy 'a': missing field 'timeout_ms'/],
    ['{"policies": {"a": {"timeout_ms": -1}}}', /policy 'a': timeout_ms must be a whole number from 0 to 86400000/],
    ['{"policies": {"a": {"timeout_ms": 1.5}}}', /at byte 34: policy 'a': timeout_ms must be/],
    ['{"policies": {"a": {"timeout_ms": 1e3}}}', /timeout_ms must be/],
    ['{"policies": {"a": {"timeout_ms": 01}}}', /timeout_ms must be/],
    ['{"policies": {"a": {"timeout_ms": 86400001}}}', /timeout_ms must be/],
    ['{"policies": {"a": {"timeout_ms": 99999999999999999999999}}}', /timeout_ms must be/],
    ['{"policies": {"a": {"timeout_ms": "100"}}}', /timeout_ms must be/],
    ['{"policies": {"a": {"timeout_ms": 1, "timeout_ms": 2}}}', /policy 'a': repeated field 'timeout_ms'/],
    ['{"policies": {"a": {"timeout": 1}}}', /policy 'a': unknown field \(expected timeout_ms, headers\): 'timeout'/],
    ['{"policies": {"a": {"timeout_ms": 1}, "a": {"timeout_ms": 2}}}', /at byte 38: policy 'a': the policy is defined twice/],
    ['{"default": 5, "policies": {}}', /default policy: expected a JSON object/],
    ['{"policies": {"a": {"timeout_ms": 1, "headers": "x"}}}', /expected an object for 'headers'/],
    ['{"policies": {"a": {"timeout_ms": 1, "headers": {"X-Pool": "p"}}}}', /not a lowercase HTTP header name of at most 128 bytes: 'X-Pool'/],
    ['{"policies": {"a": {"timeout_ms": 1, "headers": {":path": "/"}}}}', /not a lowercase HTTP header name/],
    ['{"policies": {"a": {"timeout_ms": 1, "headers": {"x-envoy-upstream-rq-timeout-ms": "5"}}}}', /timeout_ms sets this header; it cannot be in headers: 'x-envoy-upstream-rq-timeout-ms'/],
    ['{"policies": {"a": {"timeout_ms": 1, "headers": {"x-a": "line\\nbreak"}}}}', /header values must be at most 4096 bytes, without control characters; header 'x-a'/],
    ['{"policies": {"a": {"timeout_ms": 1, "headers": {"x-a": 5}}}}', /expected a string/],
    ['{"policies": {"a": {"timeout_ms": 1, "headers": {"x-a": "1", "x-a": "2"}}}}', /header set twice: 'x-a'/],
    [JSON.stringify({ policies: { a: { timeout_ms: 1, headers: { 'x-a': 'v'.repeat(4097) } } } }), /header values must be at most 4096 bytes/],
    [JSON.stringify({ policies: { a: { timeout_ms: 1, headers: Object.fromEntries(Array.from({ length: 17 }, (_, i) => [`x-${i}`, 'v'])) } } }), /a policy sets at most 16 headers/],
    [JSON.stringify({ policies: { ['n'.repeat(257)]: { timeout_ms: 1 } } }), /policy 'n{64}'\.\.\. \(257 bytes\): the name is longer than 256 bytes/],
    ['{"policies": {"a\\u00', /invalid escape in a string/],
    ['{"policies": {"\\ud800": {"timeout_ms": 1}}}', /lone surrogate in a string/],
    ['{"policies": {"\\q": {"timeout_ms": 1}}}', /invalid escape in a string/],
    ['{"policies": {"a\tb": {"timeout_ms": 1}}}', /control character in a string/],
    ['{"policies": {"abc', /unterminated string/],
    [Uint8Array.from([...Buffer.from('{"policies": {"'), 0xff, ...Buffer.from('": {"timeout_ms": 1}}}')]), /invalid UTF-8 in a string/],
    [Uint8Array.from([...Buffer.from('{"policies": {"'), 0xed, 0xa0, 0x80, ...Buffer.from('": {"timeout_ms": 1}}}')]), /invalid UTF-8 in a string/],
  ];

  test.each(refused.map(([c, m]) => [typeof c === 'string' ? c.slice(0, 70) : `<${c.length} bytes>`, c, m] as const))(
    'refused with one clear log line: %s',
    (_, config, message) => {
      const host = newHost();
      const { vm, root } = startVm(host, REGION_POLICY_CONFIG);
      const before = host.logs.length;
      expect(vm.configure(root, config)).toBe(false);
      const lines = host.logs.slice(before);
      expect(lines).toHaveLength(1);
      expect(lines[0]!.level).toBe(LogLevel.ERROR);
      expect(lines[0]!.message).toMatch(/^syncmap-filter: configuration refused at byte \d+: /);
      expect(lines[0]!.message).toMatch(message);
      expect(lines[0]!.message).toMatch(/; the previous configuration stays in force$/);
      // ... and it does.
      expect(headerValue(vm.request(root, requestHeaders('cn-north')).headers, TIMEOUT_HEADER)).toBe('1800');
      expect(metrics(host).reloads_rejected).toBe(1);
    },
  );

  test('a first configuration refused leaves the filter passing requests through', () => {
    const host = newHost();
    const { vm, root, accepted } = startVm(host, '{"policies": 1}');
    expect(accepted).toBe(false);
    expect(errors(host)).toEqual([
      "syncmap-filter: configuration refused at byte 13: expected an object for 'policies'; " + ROOT_UNCONFIGURED,
    ]);
    const sent = requestHeaders('cn-east');
    expect(headerStrings(vm.request(root, sent).headers)).toEqual(sent);
  });

  test('a configuration the host cannot hand over is refused in the same format', () => {
    const host = newHost();
    const { vm, root } = startVm(host, REGION_POLICY_CONFIG);
    // proxy_on_configure announces 10 bytes, but the host has none to give (NOT_FOUND, 1).
    expect(vm.inContext(root, 'root', 'proxy_on_configure', () => vm.call('proxy_on_configure', root, 10))).toBe(0);
    expect(host.logs.at(-1)!.message).toBe(
      `syncmap-filter: configuration refused at byte 0: cannot read the plugin configuration: host status 1; ${PREVIOUS_STAYS}`,
    );
    expect(metrics(host).reloads_rejected).toBe(1);
  });

  test('a configuration over 4 MiB is refused unread; 65536 policies load, 65537 do not', () => {
    const host = newHost();
    const { vm, root } = startVm(host, REGION_POLICY_CONFIG);
    expect(vm.configure(root, ' '.repeat((4 << 20) + 1))).toBe(false);
    expect(host.logs.at(-1)!.message).toBe('syncmap-filter: configuration refused at byte 4194304: ' +
      'the configuration is over 4 MiB: 4194305 bytes; the previous configuration stays in force');
    expect(vm.configure(root, ' '.repeat(4 << 20))).toBe(false); // 4 MiB exactly: read, and refused as JSON
    expect(host.logs.at(-1)!.message).toMatch(/^syncmap-filter: configuration refused at byte 4194304: expected a JSON object; /);
    const many = (n: number) => `{"policies": {${Array.from({ length: n }, (_, i) => `"${i}": {"timeout_ms": ${i % 1000}}`).join(',')}}}`;
    expect(vm.configure(root, many(65536))).toBe(true);
    expect(headerValue(vm.request(root, requestHeaders('65535')).headers, TIMEOUT_HEADER)).toBe('535');
    expect(vm.configure(root, many(65537))).toBe(false);
    expect(host.logs.at(-1)!.message).toMatch(/policy '65536': more than 65536 policies/);
    expect(headerValue(vm.request(root, requestHeaders('65535')).headers, TIMEOUT_HEADER)).toBe('535');
  });
});

describe('contexts', () => {
  test('each root context has its own table (Envoy applies a new configuration as a new root context)', () => {
    const host = newHost();
    const vm: Vm = host.newVm();
    const a = vm.createRoot().context;
    const b = vm.createRoot().context;
    expect(vm.configure(a, JSON.stringify(REGION_POLICY_CONFIG))).toBe(true);
    expect(vm.configure(b, JSON.stringify({ policies: { 'cn-east': { timeout_ms: 77 } } }))).toBe(true);
    expect(headerValue(vm.request(a, requestHeaders('cn-east')).headers, TIMEOUT_HEADER)).toBe('1200');
    expect(headerValue(vm.request(b, requestHeaders('cn-east')).headers, TIMEOUT_HEADER)).toBe('77');
    // The old root goes while one of its requests is still open: the request
    // passes through, and closing it frees the root's record.
    const open = vm.openStream(a, requestHeaders('cn-east'));
    vm.closeContext(a);
    vm.requestHeaders(open);
    expect(headerValue(vm.streams.get(open)!.requestHeaders, TIMEOUT_HEADER)).toBeUndefined();
    vm.closeContext(open);
    expect(headerValue(vm.request(b, requestHeaders('cn-east')).headers, TIMEOUT_HEADER)).toBe('77');
  });

  test('refused in a new root context (as Envoy reloads): the line says the previous root context keeps serving', () => {
    const host = newHost();
    const vm = host.newVm();
    const serving = vm.createRoot().context;
    expect(vm.configure(serving, JSON.stringify(REGION_POLICY_CONFIG))).toBe(true);
    const fresh = vm.createRoot().context;
    expect(vm.configure(fresh, '{"policies": {"cn-east": {"timeout_ms": "900"}}}')).toBe(false);
    expect(errors(host)).toEqual([
      "syncmap-filter: configuration refused at byte 40: policy 'cn-east': timeout_ms must be a whole number " +
      `from 0 to 86400000; ${ROOT_UNCONFIGURED}`,
    ]);
    // Envoy keeps the previous root context: it goes on serving its table ...
    expect(headerValue(vm.request(serving, requestHeaders('cn-east')).headers, TIMEOUT_HEADER)).toBe('1200');
    // ... and a request that reached the refused one would pass untouched.
    const sent = requestHeaders('cn-east');
    expect(headerStrings(vm.request(fresh, sent).headers)).toEqual(sent);
    // The same refusal logged in a VM that never had a configuration (Envoy checks each new
    // configuration in a fresh VM first) ends the same way.
    const check = host.newVm();
    const checkRoot = check.createRoot().context;
    expect(check.configure(checkRoot, ' '.repeat((4 << 20) + 1))).toBe(false);
    expect(host.logs.at(-1)!.message).toBe('syncmap-filter: configuration refused at byte 4194304: ' +
      `the configuration is over 4 MiB: 4194305 bytes; ${ROOT_UNCONFIGURED}`);
    expect(metrics(host)).toMatchObject({ reloads: 1, reloads_rejected: 2 });
  });

  test('request headers called on a root context: nothing happens, nothing is counted', () => {
    const host = newHost();
    const { vm, root } = startVm(host, REGION_POLICY_CONFIG);
    const action = vm.inContext(root, 'root', 'proxy_on_request_headers', () => vm.call('proxy_on_request_headers', root, 0, 1));
    expect(action).toBe(0);
    expect(metrics(host).lookups).toBe(0);
  });

  test('thousands of streams open at once, and a stream of an unknown root', () => {
    const { vm, root } = startVm(newHost(), REGION_POLICY_CONFIG);
    const streams = Array.from({ length: 3000 }, (_, i) => vm.openStream(root, requestHeaders(i % 2 ? 'cn-east' : 'cn-north')));
    for (const s of streams) vm.requestHeaders(s);
    streams.forEach((s, i) => expect(headerValue(vm.streams.get(s)!.requestHeaders, TIMEOUT_HEADER)).toBe(i % 2 ? '1200' : '1800'));
    for (const s of streams.reverse()) vm.closeContext(s);
    const orphan = vm.openStream(12345, requestHeaders('cn-east'));
    vm.requestHeaders(orphan);
    expect(headerValue(vm.streams.get(orphan)!.requestHeaders, TIMEOUT_HEADER)).toBeUndefined();
    vm.closeContext(orphan);
    expect(headerValue(vm.request(root, requestHeaders('cn-east')).headers, TIMEOUT_HEADER)).toBe('1200');
  });
});
