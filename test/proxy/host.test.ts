/**
 * The emulator itself, against the ABI 0.2.1 specification: linking, the
 * statuses host functions return, header-map serialization, shared-data CAS
 * semantics, buffer hand-over, and one call at a time per VM. A tiny guest
 * written in WAT (compiled with binaryen) drives the host functions directly.
 */
import binaryen from 'binaryen';
import { describe, expect, test } from 'vitest';
import { Errno, HOST_FUNCTIONS, LogLevel, MapType, MetricType, Status, BufferType } from './abi-spec.js';
import { LinkError, ProxyHost, bytes, deserializePairs, serializePairs, type Vm } from './host.js';
import { pluginBinary } from './plugin.js';

/** A module from WAT text (features: MVP plus what the text asks for). */
function wat(text: string, features = binaryen.Features.MVP): Uint8Array {
  const module = binaryen.parseText(text);
  module.setFeatures(features);
  const binary = module.emitBinary();
  module.dispose();
  return binary;
}

// What every test guest has: a memory with a bump allocator from 32 KiB up, and the ABI marker.
const GUEST_BASE = `
  (memory (export "memory") 1)
  (global $top (mut i32) (i32.const 32768))
  (func (export "proxy_abi_version_0_2_1"))
  (func (export "proxy_on_memory_allocate") (param $n i32) (result i32) (local $p i32)
    (local.set $p (global.get $top))
    (global.set $top (i32.add (global.get $top) (local.get $n)))
    (local.get $p))`;

const GUEST = `(module
  (import "env" "proxy_log" (func $log (param i32 i32 i32) (result i32)))
  ${GUEST_BASE}
  (func (export "proxy_on_context_create") (param i32 i32))
)`;

function guest(): { host: ProxyHost; vm: Vm } {
  const host = new ProxyHost(wat(GUEST));
  return { host, vm: host.newVm() };
}

const RET = 1024; // where the tests let host functions write results
const KEY = 2048;
const VALUE = 3072;

describe('linking', () => {
  test('the plugin links', () => {
    expect(() => new ProxyHost(pluginBinary).newVm()).not.toThrow();
  });

  test('an import the ABI does not define is refused', () => {
    const text = `(module (import "env" "abort" (func (param i32 i32 i32 i32)))
      (memory (export "memory") 1) (func (export "proxy_abi_version_0_2_1")))`;
    expect(() => new ProxyHost(wat(text))).toThrow(/env\.abort is not a function of proxy-wasm ABI 0\.2\.1/);
  });

  test('an ABI function imported with the wrong signature is refused', () => {
    const text = `(module (import "env" "proxy_log" (func (param i32 i32) (result i32)))
      (memory (export "memory") 1) (func (export "proxy_abi_version_0_2_1")))`;
    expect(() => new ProxyHost(wat(text))).toThrow(/proxy_log: signature \(i32, i32\) -> \(i32\)/);
  });

  test('an imported memory, a shared memory and a missing marker are refused', () => {
    expect(() => new ProxyHost(wat(`(module (import "env" "memory" (memory 1))
      (func (export "proxy_abi_version_0_2_1")))`))).toThrow(LinkError);
    const shared = wat(`(module (memory (export "memory") 1 1 shared) (func (export "proxy_abi_version_0_2_1")))`,
      binaryen.Features.Atomics);
    expect(() => new ProxyHost(shared)).toThrow(/invalid limits flags/);
    expect(() => new ProxyHost(wat(`(module (memory (export "memory") 1))`))).toThrow(/proxy_abi_version_0_2_1/);
  });

  test('a callback exported with the wrong signature is refused', () => {
    const text = `(module (memory (export "memory") 1) (func (export "proxy_abi_version_0_2_1"))
      (func (export "proxy_on_configure") (param i32) (result i32) (i32.const 1)))`;
    expect(() => new ProxyHost(wat(text))).toThrow(/proxy_on_configure: signature/);
  });

  test('the ABI offers no way to delete shared data', () => {
    expect(Object.keys(HOST_FUNCTIONS.env!).filter((n) => /shared_data/.test(n)).sort())
      .toEqual(['proxy_get_shared_data', 'proxy_set_shared_data']);
  });
});

describe('header map serialization', () => {
  test('the spec layout: count, (key len, value len) pairs, then NUL-terminated keys and values', () => {
    // The spec's example, {{"a": "1"}, {"b": "22"}} (its table prints '1' and
    // '2' as 0x49 and 0x50; the bytes are ASCII).
    const data = serializePairs([[bytes('a'), bytes('1')], [bytes('b'), bytes('22')]]);
    expect([...data]).toEqual([
      2, 0, 0, 0,
      1, 0, 0, 0, 1, 0, 0, 0,
      1, 0, 0, 0, 2, 0, 0, 0,
      0x61, 0, 0x31, 0, 0x62, 0, 0x32, 0x32, 0,
    ]);
    expect(deserializePairs(data).map(([k, v]) => [Buffer.from(k).toString(), Buffer.from(v).toString()]))
      .toEqual([['a', '1'], ['b', '22']]);
  });

  test('empty maps, and malformed input refused', () => {
    expect(deserializePairs(new Uint8Array(0))).toEqual([]);
    expect(deserializePairs(new Uint8Array([0]))).toEqual([]);
    const good = serializePairs([[bytes('k'), bytes('v')]]);
    expect(() => deserializePairs(good.subarray(0, good.length - 1))).toThrow();
    const noNul = good.slice();
    noNul[noNul.length - 1] = 0x41;
    expect(() => deserializePairs(noNul)).toThrow();
  });

  test('proxy_get_header_map_pairs hands the map over in memory the plugin allocated', () => {
    const { vm } = guest();
    const context = vm.openStream(0, [['x-region', 'cn-east'], ['accept', '*/*']]);
    const status = vm.inContext(context, 'stream', 'proxy_on_request_headers', () =>
      vm.hostcall('proxy_get_header_map_pairs', MapType.HTTP_REQUEST_HEADERS, RET, RET + 4));
    expect(status).toBe(Status.OK);
    const ptr = vm.u32(RET);
    expect(ptr).toBeGreaterThanOrEqual(32768); // from the guest's allocator
    const data = vm.read(ptr, vm.u32(RET + 4))!;
    expect(deserializePairs(data).map(([k]) => Buffer.from(k).toString())).toEqual(['x-region', 'accept']);
  });

  test('an empty map is (0, 0): nothing allocated', () => {
    const { vm } = guest();
    const context = vm.openStream(0, []);
    vm.write(RET, new Uint8Array(8).fill(0xff));
    const status = vm.inContext(context, 'stream', 'proxy_on_request_headers', () =>
      vm.hostcall('proxy_get_header_map_pairs', MapType.HTTP_REQUEST_HEADERS, RET, RET + 4));
    expect([status, vm.u32(RET), vm.u32(RET + 4)]).toEqual([Status.OK, 0, 0]);
  });
});

describe('statuses', () => {
  test('proxy_log: OK, BAD_ARGUMENT for an unknown level, INVALID_MEMORY_ACCESS past the memory', () => {
    const { host, vm } = guest();
    vm.write(KEY, bytes('hello'));
    expect(vm.hostcall('proxy_log', LogLevel.INFO, KEY, 5)).toBe(Status.OK);
    expect(host.logs.at(-1)!.message).toBe('hello');
    expect(vm.hostcall('proxy_log', 6, KEY, 5)).toBe(Status.BAD_ARGUMENT);
    expect(vm.hostcall('proxy_log', LogLevel.INFO, 65530, 100)).toBe(Status.INVALID_MEMORY_ACCESS);
  });

  test('header maps: BAD_ARGUMENT for an unknown map and in a root context', () => {
    const { vm } = guest();
    const context = vm.openStream(0, [['a', 'b']]);
    expect(vm.inContext(context, 'stream', 'proxy_on_request_headers', () =>
      vm.hostcall('proxy_get_header_map_pairs', 99, RET, RET + 4))).toBe(Status.BAD_ARGUMENT);
    expect(vm.inContext(1, 'root', 'proxy_on_configure', () =>
      vm.hostcall('proxy_get_header_map_pairs', MapType.HTTP_REQUEST_HEADERS, RET, RET + 4))).toBe(Status.BAD_ARGUMENT);
    vm.write(KEY, bytes('x'));
    expect(vm.inContext(1, 'root', 'proxy_on_configure', () =>
      vm.hostcall('proxy_replace_header_map_value', MapType.HTTP_REQUEST_HEADERS, KEY, 1, KEY, 1))).toBe(Status.BAD_ARGUMENT);
  });

  test('buffers: BAD_ARGUMENT for an unknown type, NOT_FOUND outside its callback, clamped reads', () => {
    const { vm } = guest();
    expect(vm.hostcall('proxy_get_buffer_bytes', 99, 0, 10, RET, RET + 4)).toBe(Status.BAD_ARGUMENT);
    expect(vm.hostcall('proxy_get_buffer_bytes', BufferType.PLUGIN_CONFIGURATION, 0, 10, RET, RET + 4))
      .toBe(Status.NOT_FOUND);
    // Inside proxy_on_configure: read from byte 2, at most 100 bytes.
    const reader = new ProxyHost(wat(`(module
      (import "env" "proxy_get_buffer_bytes" (func $get (param i32 i32 i32 i32 i32) (result i32)))
      ${GUEST_BASE}
      (func (export "proxy_on_configure") (param $root i32) (param $size i32) (result i32)
        (i32.eqz (call $get (i32.const 7) (i32.const 2) (i32.const 100) (i32.const ${RET}) (i32.const ${RET + 4})))))`)).newVm();
    const { context } = reader.createRoot();
    expect(reader.configure(context, 'abcdef')).toBe(true); // the call returned OK
    expect(reader.read(reader.u32(RET), reader.u32(RET + 4))).toEqual(bytes('cdef'));
  });

  test('metrics: ids never 0, BAD_ARGUMENT for a bad type or a negative counter increment, NOT_FOUND for an unknown id', () => {
    const { host, vm } = guest();
    vm.write(KEY, bytes('m'));
    expect(vm.hostcall('proxy_define_metric', 7, KEY, 1, RET)).toBe(Status.BAD_ARGUMENT);
    expect(vm.hostcall('proxy_define_metric', MetricType.COUNTER, KEY, 1, RET)).toBe(Status.OK);
    const id = vm.u32(RET);
    expect(id).not.toBe(0);
    expect(vm.hostcall('proxy_increment_metric', id, 5n)).toBe(Status.OK);
    expect(vm.hostcall('proxy_increment_metric', id, -1n)).toBe(Status.BAD_ARGUMENT);
    expect(vm.hostcall('proxy_increment_metric', id + 1000, 1n)).toBe(Status.NOT_FOUND);
    expect(host.metric('m')).toBe(5n);
  });

  test('functions the emulator does not implement say UNIMPLEMENTED; WASI ones NOTSUP', () => {
    const { vm } = guest();
    expect(vm.hostcall('proxy_http_call', 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)).toBe(Status.UNIMPLEMENTED);
    expect(vm.hostcall('wasi:fd_write', 1, 0, 0, RET)).toBe(Errno.NOTSUP);
  });

  test('random_get: SUCCESS, FAULT past the memory', () => {
    const { vm } = guest();
    expect(vm.hostcall('wasi:random_get', KEY, 16)).toBe(Errno.SUCCESS);
    expect(vm.read(KEY, 16)!.some((b) => b !== 0)).toBe(true);
    expect(vm.hostcall('wasi:random_get', 65530, 16)).toBe(Errno.FAULT);
  });
});

describe('shared data (as proxy-wasm-cpp-host does it)', () => {
  function get(vm: Vm, key: string): { status: number; value?: string; cas?: number } {
    vm.write(KEY, bytes(key));
    const status = vm.hostcall('proxy_get_shared_data', KEY, key.length, RET, RET + 4, RET + 8);
    if (status !== Status.OK) return { status };
    return { status, value: Buffer.from(vm.read(vm.u32(RET), vm.u32(RET + 4))!).toString(), cas: vm.u32(RET + 8) };
  }
  function set(vm: Vm, key: string, value: string, cas: number): number {
    vm.write(KEY, bytes(key));
    vm.write(VALUE, bytes(value));
    return vm.hostcall('proxy_set_shared_data', KEY, key.length, VALUE, value.length, cas);
  }

  test('a missing key is NOT_FOUND; a write to it ignores the CAS', () => {
    const { vm } = guest();
    expect(get(vm, 'k').status).toBe(Status.NOT_FOUND);
    expect(set(vm, 'k', 'one', 12345)).toBe(Status.OK);
    expect(get(vm, 'k')).toMatchObject({ status: Status.OK, value: 'one' });
  });

  test('every write bumps the CAS; a stale CAS is CAS_MISMATCH; CAS 0 writes unconditionally', () => {
    const { host, vm } = guest();
    set(vm, 'k', 'a', 0);
    const first = get(vm, 'k').cas!;
    expect(first).not.toBe(0);
    expect(set(vm, 'k', 'b', first)).toBe(Status.OK);
    const second = get(vm, 'k').cas!;
    expect(second).not.toBe(first);
    expect(set(vm, 'k', 'c', first)).toBe(Status.CAS_MISMATCH);
    expect(get(vm, 'k').value).toBe('b');
    expect(set(vm, 'k', 'd', 0)).toBe(Status.OK);
    expect(get(vm, 'k').value).toBe('d');
    expect(host.stats.casMismatches).toBe(1);
  });

  test('one store for every VM', () => {
    const host = new ProxyHost(wat(GUEST));
    const [a, b] = [host.newVm(), host.newVm()];
    set(a, 'k', 'from a', 0);
    expect(get(b, 'k').value).toBe('from a');
  });
});

describe('calls into a VM', () => {
  test('never two at once: calling into a VM that is running a callback throws; another VM may run', () => {
    // Each VM's proxy_on_context_create calls proxy_get_shared_data, during which
    // the host's hook tries to call into VMs.
    const host = new ProxyHost(wat(`(module
      (import "env" "proxy_get_shared_data" (func $get (param i32 i32 i32 i32 i32) (result i32)))
      (memory (export "memory") 1)
      (func (export "proxy_abi_version_0_2_1"))
      (func (export "proxy_on_context_create") (param i32 i32)
        (drop (call $get (i32.const 0) (i32.const 1) (i32.const 16) (i32.const 20) (i32.const 24)))))`));
    const busy = host.newVm();
    const idle = host.newVm();
    let nestedSelf: unknown;
    let nestedOther = false;
    let depth = 0;
    host.onSharedData = (caller) => {
      if (depth++ > 0) return;
      try {
        caller.call('proxy_on_context_create', 2, 0);
      } catch (e) {
        nestedSelf = e;
      }
      idle.call('proxy_on_context_create', 3, 0);
      nestedOther = true;
    };
    busy.call('proxy_on_context_create', 1, 0);
    expect(String(nestedSelf)).toMatch(/two calls into one VM/);
    expect(nestedOther).toBe(true);
  });
});
