/**
 * Fuzzing the filter against a reference model written in TypeScript:
 * random header values (any length, any bytes, empty, repeated, absent) and
 * random configurations (valid ones, and valid ones broken at random). No
 * input may trap the VM; every refusal is one log line saying where; every
 * accepted configuration must be one the schema allows, and requests must then
 * get exactly what the model says. Seeds are fixed (a failure names its case);
 * PROXY_FUZZ_SEED=n shifts them all, for a longer hunt.
 */
import { describe, expect, test } from 'vitest';
import { LogLevel } from './abi-spec.js';
import { headerStrings, headerValue, type HeaderPair, type ProxyHost, type Vm } from './host.js';
import { PREVIOUS_STAYS, ROOT_UNCONFIGURED, TIMEOUT_HEADER, newHost, requestHeaders, startVm } from './plugin.js';
import { Random } from './random.js';

// ── the reference model ──────────────────────────────────────────────────

interface Policy {
  timeout: number;
  headers: Array<[string, string]>; // latin1 strings of the UTF-8 bytes
}

interface Model {
  header: string; // latin1 of the UTF-8 bytes
  fallback: Policy | undefined;
  policies: Map<string, Policy>;
}

const latin1 = (s: string) => Buffer.from(s, 'utf8').toString('latin1');
const TOKEN = /^[a-z0-9!#$%&'*+\-.^_`|~]+$/;
const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The model of a configuration, or undefined if the schema refuses it. */
function model(text: string): Model | undefined {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (!isObject(doc) || Object.keys(doc).some((k) => !['header', 'default', 'policies'].includes(k))) return undefined;
  const header = doc.header ?? 'x-region';
  if (typeof header !== 'string') return undefined;
  const bare = header.startsWith(':') ? header.slice(1) : header;
  if (!TOKEN.test(bare) || Buffer.byteLength(header) > 128) return undefined;
  if (!isObject(doc.policies)) return undefined;
  const policies = new Map<string, Policy>();
  for (const [name, p] of Object.entries(doc.policies)) {
    if (Buffer.byteLength(name) > 256 || name === '') return undefined;
    const policy = toPolicy(p);
    if (!policy) return undefined;
    policies.set(latin1(name), policy);
  }
  if (policies.size > 65536) return undefined;
  let fallback: Policy | undefined;
  if ('default' in doc) {
    fallback = toPolicy(doc.default);
    if (!fallback) return undefined;
  }
  return { header: latin1(header), fallback, policies };
}

function toPolicy(p: unknown): Policy | undefined {
  if (!isObject(p) || Object.keys(p).some((k) => k !== 'timeout_ms' && k !== 'headers')) return undefined;
  const timeout = p.timeout_ms;
  if (typeof timeout !== 'number' || !Number.isInteger(timeout) || timeout < 0 || timeout > 86_400_000) return undefined;
  const headers: Array<[string, string]> = [];
  if ('headers' in p) {
    if (!isObject(p.headers)) return undefined;
    for (const [name, value] of Object.entries(p.headers)) {
      if (!TOKEN.test(name) || name.length > 128 || name === TIMEOUT_HEADER) return undefined;
      if (typeof value !== 'string') return undefined;
      const b = Buffer.from(value, 'utf8');
      if (b.length > 4096 || b.some((c) => (c < 0x20 && c !== 0x09) || c === 0x7f)) return undefined;
      headers.push([name, b.toString('latin1')]);
    }
    if (headers.length > 16) return undefined;
  }
  return { timeout, headers };
}

/** What the model says a request gets: a policy, or undefined (left as it came). */
function policyFor(m: Model, headers: readonly HeaderPair[]): Policy | undefined {
  const values = headerStrings(headers).filter(([k]) => k === m.header);
  const hit = values.length === 1 ? m.policies.get(values[0]![1]) : undefined;
  return hit ?? m.fallback;
}

function check(vm: Vm, root: number, m: Model | undefined, sent: HeaderPair[], label: string): void {
  const got = vm.request(root, sent).headers;
  const policy = m && policyFor(m, sent);
  if (!policy) {
    expect(headerStrings(got), label).toEqual(headerStrings(sent));
    return;
  }
  expect(headerValue(got, TIMEOUT_HEADER), label).toBe(String(policy.timeout));
  for (const [name, value] of policy.headers) expect(headerValue(got, name), `${label} ${name}`).toBe(value);
}

// ── generators ───────────────────────────────────────────────────────────

const NAME_PIECES = ['cn-east', 'cn-north', 'eu-west-1', 'us', 'é', '区域', '😀', '\u0000', ' ', '"', '\\', '\t', 'A', 'z', '-', ''];
const HEADER_NAMES = ['x-route-policy', 'x-pool', 'x-b3-flags', "x-!#$%&'*+-.^_`|~", 'x-9', 'a'];

function randomName(r: Random): string {
  let name = '';
  for (let n = r.int(4); n >= 0; n--) name += r.pick(NAME_PIECES);
  return name;
}

function randomValue(r: Random): string {
  const chars = ['a', 'Z', '0', ' ', '\t', '/', '=', ';', 'é', '区', '"', '\\'];
  let v = '';
  for (let n = r.int(12); n > 0; n--) v += r.pick(chars);
  return v;
}

function randomConfig(r: Random): Record<string, unknown> {
  const config: Record<string, unknown> = {};
  if (r.chance(0.5)) config.header = r.pick(['x-region', 'x-tenant', ':authority', 'x-a.b_c']);
  const policy = () => {
    const p: Record<string, unknown> = { timeout_ms: r.chance(0.1) ? r.pick([0, 86_400_000]) : r.int(10_000) };
    if (r.chance(0.6)) {
      const headers: Record<string, string> = {};
      for (let n = r.int(5); n > 0; n--) headers[r.pick(HEADER_NAMES)] = randomValue(r);
      p.headers = headers;
    }
    return p;
  };
  if (r.chance(0.6)) config.default = policy();
  const policies: Record<string, unknown> = {};
  for (let n = r.int(25); n > 0; n--) policies[randomName(r) || 'x'] = policy(); // "" is refused (mutate tries it)
  config.policies = policies;
  return config;
}

/** Breaks a configuration's text at random: a byte, a cut, an insertion or a schema change. */
function mutate(r: Random, text: string): string | Uint8Array {
  const b = Buffer.from(text, 'utf8');
  const at = r.int(b.length + 1);
  switch (r.int(6)) {
    case 0: return b.subarray(0, at);
    case 1: {
      const c = Buffer.from(b);
      if (c.length) c[Math.min(at, c.length - 1)] = r.int(256);
      return c;
    }
    case 2: return Buffer.concat([b.subarray(0, at), Buffer.from(r.pick(['{', '}', '"', ',', ':', '[', '-', '.5', 'e9', '\\', 'null', '"x":1,', '\u0001'])), b.subarray(at)]);
    case 3: return text.replace(/"timeout_ms":\d+/, `"timeout_ms":${r.pick(['-1', '1.5', '1e2', '86400001', '"5"', 'null', '01'])}`);
    case 4: return text.replace(/"(x-[a-z-]*)":/, (_, n: string) => `"${r.pick([n.toUpperCase(), ':path', TIMEOUT_HEADER, ''])}":`);
    default: return text.replace(/\{/, r.pick(['{"unknown":1,', '{"policies":{},', '[', '{"header":"X",', '{"policies":{"":{"timeout_ms":1}},']));
  }
}

function randomRequest(r: Random, m: Model | undefined, header: string): HeaderPair[] {
  const headers: HeaderPair[] = requestHeaders().map(([k, v]) => [Buffer.from(k), Buffer.from(v)]);
  const names = m ? [...m.policies.keys()] : [];
  const value = (): Uint8Array => {
    if (names.length && r.chance(0.4)) return Buffer.from(r.pick(names), 'latin1');
    switch (r.int(7)) {
      case 0: return names.length ? Buffer.from(r.pick(names), 'latin1') : new Uint8Array(0);
      case 1: return names.length ? Buffer.concat([Buffer.from(r.pick(names), 'latin1'), r.bytes(1)]) : r.bytes(3);
      case 2: return new Uint8Array(0);
      case 3: return r.bytes(r.int(40));
      case 4: return r.bytes(200 + r.int(200)); // around the 256-byte name limit
      case 5: return r.chance(0.1) ? r.bytes(1 << (10 + r.int(8))) : r.bytes(r.int(8)); // up to 128 KiB
      default: return Buffer.from(randomName(r));
    }
  };
  const copies = r.pick([0, 1, 1, 1, 1, 2, 3]);
  for (let i = 0; i < copies; i++) headers.splice(r.int(headers.length + 1), 0, [Buffer.from(header, 'latin1'), value()]);
  for (let n = r.int(4); n > 0; n--) headers.push([r.bytes(1 + r.int(20)), r.bytes(r.int(50))]);
  return headers;
}

// ── the runs ─────────────────────────────────────────────────────────────

const SHIFT = Number(process.env.PROXY_FUZZ_SEED ?? 0);

function lastLog(host: ProxyHost, since: number): { level: number; message: string } {
  const lines = host.logs.slice(since);
  expect(lines).toHaveLength(1);
  return lines[0]!;
}

describe('fuzz', () => {
  test('random header values against random valid configurations', () => {
    const r = new Random(4 + SHIFT);
    const host = newHost();
    const { vm, root } = startVm(host);
    for (let c = 0; c < 60; c++) {
      const config = JSON.stringify(randomConfig(r));
      const m = model(config);
      expect(m, config).toBeDefined();
      expect(vm.configure(root, config), config).toBe(true);
      for (let i = 0; i < 50; i++) {
        check(vm, root, m, randomRequest(r, m, m!.header), `config ${c} request ${i}`);
      }
    }
    // The runs must reach both outcomes often.
    expect(Number(host.metric('syncmap_filter.hits'))).toBeGreaterThan(600);
    expect(Number(host.metric('syncmap_filter.misses'))).toBeGreaterThan(600);
  });

  test('random broken configurations: refused with one log line each, or accepted only when valid', () => {
    const r = new Random(7 + SHIFT);
    const host = newHost();
    const { vm, root } = startVm(host);
    let current: Model | undefined;
    let refusals = 0;
    let emptyNames = 0;
    for (let c = 0; c < 600; c++) {
      const valid = JSON.stringify(randomConfig(r));
      const config = r.chance(0.85) ? mutate(r, valid) : valid;
      const text = typeof config === 'string' ? config : Buffer.from(config).toString('utf8');
      const size = typeof config === 'string' ? Buffer.byteLength(config) : config.length;
      const label = `config ${c}: ${JSON.stringify(text.slice(0, 200))}`;
      const before = host.logs.length;
      const accepted = vm.configure(root, config);
      const line = lastLog(host, before);
      if (accepted) {
        expect(line.level, label).toBe(LogLevel.INFO);
        // Accepted: valid UTF-8 that the schema allows.
        expect(Buffer.from(text, 'utf8').equals(Buffer.from(config)), label).toBe(true);
        current = model(text);
        expect(current, `${label} was accepted`).toBeDefined();
      } else {
        refusals++;
        if (line.message.includes("policy '': the name is empty")) emptyNames++;
        expect(line.level, label).toBe(LogLevel.ERROR);
        const match = /^syncmap-filter: configuration refused at byte (\d+): .+; (.+)$/.exec(line.message);
        expect(match, `${label}\n${line.message}`).not.toBeNull();
        expect(Number(match![1]), label).toBeLessThanOrEqual(size);
        expect(match![2], label).toBe(current ? PREVIOUS_STAYS : ROOT_UNCONFIGURED);
      }
      // Whatever happened, the table in force answers as its model says.
      for (let i = 0; i < 5; i++) check(vm, root, current, randomRequest(r, current, current?.header ?? 'x-region'), label);
    }
    expect(refusals).toBeGreaterThan(300);
    expect(emptyNames).toBeGreaterThan(0);
    expect(host.metric('syncmap_filter.reloads_rejected')).toBe(BigInt(refusals));
  });

  test('random bytes as a configuration', () => {
    const r = new Random(11 + SHIFT);
    const host = newHost();
    const { vm, root } = startVm(host);
    for (let c = 0; c < 300; c++) {
      const before = host.logs.length;
      expect(vm.configure(root, r.bytes(r.int(64)))).toBe(false);
      expect(lastLog(host, before).message).toMatch(/^syncmap-filter: configuration refused at byte \d+: /);
    }
  });
});
