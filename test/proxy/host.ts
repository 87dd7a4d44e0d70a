/**
 * A proxy-wasm host emulator, written from the ABI 0.2.1 specification
 * (proxy-wasm/spec, abi-versions/v0.2.1/README.md), with the reference host's
 * behaviour (proxy-wasm-cpp-host, which Envoy embeds) where the spec leaves a
 * choice, and Envoy's where PLATFORM.md records it.
 *
 * - Linking: only the functions the spec lists, with the spec's signatures, are
 *   offered; a module importing anything else, importing a memory, or defining
 *   a shared memory is refused (Envoy's hosts fail such modules the same way).
 * - One `Vm` per simulated worker thread: its own instance and memory. A call
 *   into a VM that is already running a callback throws: the host never makes
 *   two calls into one VM at once. The only call into a running VM is
 *   proxy_on_memory_allocate, made from inside a host function, as the spec has it.
 * - Statuses are the spec's. Buffers returned to the plugin are allocated
 *   through proxy_on_memory_allocate; an empty result allocates nothing and
 *   returns (0, 0), as the reference host's copyToPointerSize does.
 * - Header maps are serialized as the spec's "Serialization" section says.
 * - Shared data (process-wide, as for one vm_id): a write to a missing key
 *   ignores the CAS, every write bumps the CAS (never 0), nothing deletes a key.
 * - Metrics are process-wide by name; ids are opaque and never 0; a counter
 *   refuses a negative increment with BAD_ARGUMENT.
 * - In a root context (or any callback but request headers) the request header
 *   map is unavailable: BAD_ARGUMENT, as in Envoy.
 *
 * `ProxyHost.onSharedData` runs before every shared-data call, while the
 * calling VM is inside a host function: a test uses it to run requests on other
 * (idle) VMs at that moment, which is how real worker threads interleave.
 */
import { webcrypto } from 'node:crypto';
import {
  Action, BufferType, Errno, HOST_FUNCTIONS, LogLevel, MapType, MetricType, PLUGIN_EXPORTS, Status,
} from './abi-spec.js';
import { readModule, signature, type FuncType, type ModuleInfo } from './wasm-binary.js';

export type Bytes = Uint8Array;
export type HeaderPair = [Bytes, Bytes];

export interface LogRecord {
  vm: number;
  context: number;
  level: number;
  message: string;
}

export interface HostOptions {
  /** Serialize an empty header map as the single byte 0x00 instead of (0, 0). */
  emptyMapAsNulByte?: boolean;
  /** Make WASI random_get fail (INVAL). */
  randomGetFails?: boolean;
  /** Hand out metric ids from 0 (the spec allows it; Envoy's are never 0). */
  metricIdsFromZero?: boolean;
}

export class LinkError extends Error {}

/** A trap (or host-side abort) while a VM ran a callback. */
export class VmCrash extends Error {}

const utf8 = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: false });

export function bytes(s: string | Bytes): Bytes {
  return typeof s === 'string' ? utf8.encode(s) : s;
}

// Buffer's native latin1 decoder, applied to any Uint8Array: every byte value
// maps to one character, so the string is an exact key for the bytes.
const latin1Slice = (Buffer.prototype as unknown as { latin1Slice(this: Uint8Array, start: number, end: number): string }).latin1Slice;

function keyOf(b: Bytes): string {
  return latin1Slice.call(b, 0, b.length);
}

function sameBytes(a: Bytes, b: Bytes): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function sameSignature(a: FuncType, b: FuncType): boolean {
  return signature(a) === signature(b);
}

/** Serializes header pairs as the spec's "Serialization" section says. */
export function serializePairs(pairs: readonly HeaderPair[]): Bytes {
  const out = new Uint8Array(serializedSize(pairs));
  serializeInto(pairs, out, 0);
  return out;
}

function serializedSize(pairs: readonly HeaderPair[]): number {
  let size = 4;
  for (const [k, v] of pairs) size += 8 + k.length + 1 + v.length + 1;
  return size;
}

/** Writes the serialization at `out[start…]` (which must be zeroed or is overwritten whole). */
function serializeInto(pairs: readonly HeaderPair[], out: Uint8Array, start: number): void {
  const view = new DataView(out.buffer, out.byteOffset + start);
  view.setUint32(0, pairs.length, true);
  let at = 4;
  for (const [k, v] of pairs) {
    view.setUint32(at, k.length, true);
    view.setUint32(at + 4, v.length, true);
    at += 8;
  }
  at += start;
  for (const [k, v] of pairs) {
    out.set(k, at);
    at += k.length;
    out[at++] = 0;
    out.set(v, at);
    at += v.length;
    out[at++] = 0;
  }
}

/** The inverse of serializePairs; throws on anything malformed. */
export function deserializePairs(data: Bytes): HeaderPair[] {
  if (data.length === 0 || (data.length === 1 && data[0] === 0)) return [];
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  if (data.length < 4) throw new Error('pairs: too short');
  const count = view.getUint32(0, true);
  if (4 + count * 8 > data.length) throw new Error('pairs: sizes past the end');
  const sizes: Array<[number, number]> = [];
  for (let i = 0; i < count; i++) sizes.push([view.getUint32(4 + i * 8, true), view.getUint32(8 + i * 8, true)]);
  let at = 4 + count * 8;
  const pairs: HeaderPair[] = [];
  for (const [k, v] of sizes) {
    if (at + k + 1 + v + 1 > data.length) throw new Error('pairs: past the end');
    const key = data.slice(at, at + k);
    if (data[at + k] !== 0) throw new Error('pairs: key not NUL-terminated');
    at += k + 1;
    const value = data.slice(at, at + v);
    if (data[at + v] !== 0) throw new Error('pairs: value not NUL-terminated');
    at += v + 1;
    pairs.push([key, value]);
  }
  if (at !== data.length) throw new Error('pairs: trailing bytes');
  return pairs;
}

interface Metric {
  name: string;
  type: number;
  value: bigint;
}

export class ProxyHost {
  readonly module: WebAssembly.Module;
  readonly info: ModuleInfo;
  readonly logs: LogRecord[] = [];
  readonly vms: Vm[] = [];
  /** Shared data: key (latin1 of its bytes) → value and CAS token. */
  readonly shared = new Map<string, { value: Bytes; cas: number }>();
  readonly stats = { sharedGets: 0, sharedSets: 0, casMismatches: 0, hostcalls: new Map<string, number>(), hostNs: 0n };
  /** When set, stats.hostNs adds up the time spent inside host functions. */
  profile = false;
  onSharedData: ((vm: Vm) => void) | undefined;
  private nextCas = 1;
  private readonly metrics = new Map<number, Metric>();
  private readonly metricIds = new Map<string, number>();

  constructor(binary: Bytes, readonly options: HostOptions = {}) {
    this.info = readModule(binary);
    link(this.info);
    this.module = new WebAssembly.Module(binary as Uint8Array<ArrayBuffer>);
  }

  /** Starts a new VM (a worker thread's): instantiates, runs _initialize. */
  newVm(): Vm {
    const vm = new Vm(this, this.vms.length);
    this.vms.push(vm);
    return vm;
  }

  log(vm: Vm, level: number, message: string): void {
    this.logs.push({ vm: vm.id, context: vm.currentContext, level, message });
  }

  // ── metrics ──

  defineMetric(type: number, name: string): number {
    const key = `${type}:${name}`;
    let id = this.metricIds.get(key);
    if (id === undefined) {
      // Opaque ids: the type in the low bits, as Envoy does, and never 0 unless asked.
      id = ((this.metricIds.size + (this.options.metricIdsFromZero ? 0 : 1)) << 4) | type;
      this.metricIds.set(key, id);
      this.metrics.set(id, { name, type, value: 0n });
    }
    return id;
  }

  incrementMetric(id: number, delta: bigint): number {
    const m = this.metrics.get(id);
    if (!m) return Status.NOT_FOUND;
    if (m.type === MetricType.COUNTER && delta < 0n) return Status.BAD_ARGUMENT;
    m.value += delta;
    return Status.OK;
  }

  recordMetric(id: number, value: bigint): number {
    const m = this.metrics.get(id);
    if (!m) return Status.NOT_FOUND;
    m.value = value;
    return Status.OK;
  }

  /** A metric's value by name, or undefined if it was never defined. */
  metric(name: string): bigint | undefined {
    for (const m of this.metrics.values()) if (m.name === name) return m.value;
    return undefined;
  }

  metricNames(): string[] {
    return [...this.metrics.values()].map((m) => m.name);
  }

  // ── shared data (proxy-wasm-cpp-host src/shared_data.cc semantics) ──

  getShared(key: Bytes): { value: Bytes; cas: number } | undefined {
    this.stats.sharedGets++;
    return this.shared.get(keyOf(key));
  }

  setShared(key: Bytes, value: Bytes, cas: number): number {
    this.stats.sharedSets++;
    const k = keyOf(key);
    const found = this.shared.get(k);
    if (found && cas !== 0 && cas !== found.cas) {
      this.stats.casMismatches++;
      return Status.CAS_MISMATCH;
    }
    // A missing key is written whatever the CAS: the ABI has no insert-if-absent.
    this.shared.set(k, { value: value.slice(), cas: this.takeCas() });
    return Status.OK;
  }

  private takeCas(): number {
    const cas = this.nextCas;
    this.nextCas = (this.nextCas + 1) >>> 0;
    if (this.nextCas === 0) this.nextCas = 1; // 0 is not a valid CAS value
    return cas;
  }

  /** Reads a shared value as a little-endian u64 count (undefined if absent). */
  sharedCount(key: string | Bytes): bigint | undefined {
    const found = this.shared.get(keyOf(bytes(key)));
    if (!found) return undefined;
    if (found.value.length !== 8) throw new Error(`shared value of ${found.value.length} bytes`);
    return new DataView(found.value.buffer, found.value.byteOffset, 8).getBigUint64(0, true);
  }

  countHostcall(name: string): void {
    this.stats.hostcalls.set(name, (this.stats.hostcalls.get(name) ?? 0) + 1);
  }
}

/** Checks a module against the ABI before instantiating it. Throws LinkError. */
export function link(info: ModuleInfo): void {
  for (const imp of info.imports) {
    const where = `${imp.module}.${imp.name}`;
    if (imp.desc.kind !== 'function') {
      throw new LinkError(`import ${where}: a plugin imports only functions (it exports its own memory)`);
    }
    const spec = HOST_FUNCTIONS[imp.module]?.[imp.name];
    if (!spec) throw new LinkError(`import ${where} is not a function of proxy-wasm ABI 0.2.1`);
    if (!sameSignature(spec, imp.desc.type)) {
      throw new LinkError(`import ${where}: signature ${signature(imp.desc.type)}, the ABI says ${signature(spec)}`);
    }
  }
  for (const mem of info.memories) {
    if (mem.shared) throw new LinkError('invalid limits flags: the plugin defines a shared memory');
  }
  const names = new Set(info.exports.map((e) => e.name));
  if (!names.has('proxy_abi_version_0_2_1')) throw new LinkError('no proxy_abi_version_0_2_1 export');
  if (!info.exports.some((e) => e.name === 'memory' && e.kind === 'memory')) throw new LinkError('no memory export');
  for (const e of info.exports) {
    const spec = PLUGIN_EXPORTS[e.name];
    if (!spec || e.kind !== 'function') continue;
    const actual = exportedType(info, e.index);
    if (actual && !sameSignature(spec, actual)) {
      throw new LinkError(`export ${e.name}: signature ${signature(actual)}, the ABI says ${signature(spec)}`);
    }
  }
}

function exportedType(info: ModuleInfo, index: number): FuncType | undefined {
  const imported = info.imports.filter((i) => i.desc.kind === 'function');
  if (index < imported.length) {
    const d = imported[index]!.desc;
    return d.kind === 'function' ? d.type : undefined;
  }
  return info.functions[index - imported.length];
}

interface Stream {
  root: number;
  requestHeaders: HeaderPair[];
}

type Callback = (...args: Array<number | bigint>) => number | bigint | undefined;

/** One VM: one plugin instance with its own memory, driven by one worker thread. */
export class Vm {
  readonly instance: WebAssembly.Instance;
  readonly memory: WebAssembly.Memory;
  /** How many top-level callbacks are running (0 or 1: more is a host bug and throws). */
  private running = 0;
  private inHostcall = 0;
  private crashed: unknown = undefined;
  private nextContextId = 1;
  /** The context of the callback in progress (0 when none) and its kind. */
  currentContext = 0;
  private currentKind: 'root' | 'stream' | 'none' = 'none';
  private currentCallback = '';
  private pluginConfig: Bytes | undefined;
  private vmConfig: Bytes | undefined;
  readonly roots = new Set<number>();
  readonly streams = new Map<number, Stream>();
  private u8 = new Uint8Array(0);
  private view = new DataView(new ArrayBuffer(0));
  /** The host functions as linked into this VM (for tests of the host itself). */
  private hostFunctions: { env: Record<string, Callback>; wasi: Record<string, Callback> } = { env: {}, wasi: {} };

  constructor(readonly host: ProxyHost, readonly id: number) {
    this.instance = new WebAssembly.Instance(host.module, this.importObject());
    const memory = this.instance.exports.memory;
    if (!(memory instanceof WebAssembly.Memory)) throw new LinkError('memory export is not a memory');
    if (memory.buffer instanceof SharedArrayBuffer) throw new LinkError('invalid limits flags: shared memory');
    this.memory = memory;
    // _initialize when exported, else _start (spec: Integration); main after _initialize.
    if (this.has('_initialize')) {
      this.call('_initialize');
      if (this.has('main')) this.call('main', 0, 0);
    } else if (this.has('_start')) {
      this.call('_start');
    }
  }

  has(name: string): boolean {
    return typeof this.instance.exports[name] === 'function';
  }

  get busy(): boolean {
    return this.running > 0;
  }

  // ── driving the plugin, as a host's worker thread would ──

  /** Creates a root context and starts the VM in it (proxy_on_vm_start). */
  createRoot(vmConfiguration: string | Bytes = ''): { context: number; started: boolean } {
    const context = this.nextContextId++;
    this.roots.add(context);
    this.inContext(context, 'root', 'proxy_on_context_create', () => this.call('proxy_on_context_create', context, 0));
    this.vmConfig = bytes(vmConfiguration);
    const started = this.inContext(context, 'root', 'proxy_on_vm_start', () =>
      this.call('proxy_on_vm_start', context, this.vmConfig!.length),
    );
    this.vmConfig = undefined;
    return { context, started: started === undefined || started !== 0 };
  }

  /** proxy_on_configure with this plugin configuration: true if the plugin accepted it. */
  configure(root: number, configuration: string | Bytes): boolean {
    this.pluginConfig = bytes(configuration);
    try {
      const ok = this.inContext(root, 'root', 'proxy_on_configure', () =>
        this.call('proxy_on_configure', root, this.pluginConfig!.length),
      );
      return ok !== undefined && ok !== 0;
    } finally {
      this.pluginConfig = undefined;
    }
  }

  /**
   * One HTTP request through the filter: a stream context under `root`,
   * proxy_on_request_headers, then done and delete. Returns the action and the
   * request headers as the plugin left them.
   */
  request(root: number, headers: ReadonlyArray<[string | Bytes, string | Bytes]>): { action: number; headers: HeaderPair[] } {
    const context = this.openStream(root, headers);
    const action = this.requestHeaders(context);
    const result = this.streams.get(context)!.requestHeaders;
    this.closeContext(context);
    return { action, headers: result };
  }

  openStream(root: number, headers: ReadonlyArray<[string | Bytes, string | Bytes]>): number {
    const context = this.nextContextId++;
    this.streams.set(context, { root, requestHeaders: headers.map(([k, v]) => [bytes(k), bytes(v)]) });
    this.inContext(context, 'stream', 'proxy_on_context_create', () => this.call('proxy_on_context_create', context, root));
    return context;
  }

  requestHeaders(context: number): number {
    const stream = this.streams.get(context)!;
    const action = this.inContext(context, 'stream', 'proxy_on_request_headers', () =>
      this.call('proxy_on_request_headers', context, stream.requestHeaders.length, 1),
    );
    return Number(action ?? Action.CONTINUE);
  }

  /** proxy_on_done, then proxy_on_delete (the plugin's answer to done is not waited on). */
  closeContext(context: number): void {
    const kind = this.roots.has(context) ? 'root' : 'stream';
    this.inContext(context, kind, 'proxy_on_done', () => this.call('proxy_on_done', context));
    this.inContext(context, kind, 'proxy_on_delete', () => this.call('proxy_on_delete', context));
    this.streams.delete(context);
    this.roots.delete(context);
  }

  /** Runs `fn` as if the host were inside callback `name` of `context` (for host-function tests). */
  inContext<T>(context: number, kind: 'root' | 'stream', name: string, fn: () => T): T {
    const saved = [this.currentContext, this.currentKind, this.currentCallback] as const;
    this.currentContext = context;
    this.currentKind = kind;
    this.currentCallback = name;
    try {
      return fn();
    } finally {
      [this.currentContext, this.currentKind, this.currentCallback] = saved;
    }
  }

  /** Calls an exported callback, if the plugin exports it. */
  call(name: string, ...args: Array<number | bigint>): number | bigint | undefined {
    if (this.crashed) throw new VmCrash(`VM ${this.id} crashed earlier: ${String(this.crashed)}`);
    const fn = this.instance.exports[name] as Callback | undefined;
    if (typeof fn !== 'function') return undefined;
    if (this.running) throw new Error(`VM ${this.id}: ${name} called while another callback runs (two calls into one VM)`);
    this.running++;
    try {
      return fn(...args);
    } catch (e) {
      this.crashed = e;
      throw new VmCrash(`VM ${this.id} trapped in ${name}: ${String(e)}`);
    } finally {
      this.running--;
    }
  }

  /** Calls a host function as the plugin would (tests of the host itself). */
  hostcall(name: string, ...args: Array<number | bigint>): number {
    const [module, fn] = name.startsWith('wasi:') ? ['wasi', name.slice(5)] as const : ['env', name] as const;
    const impl = this.hostFunctions[module][fn];
    if (!impl) throw new Error(`no host function ${name}`);
    return Number(impl(...args));
  }

  /** Writes bytes into guest memory (tests of the host itself). */
  write(ptr: number, data: Bytes): void {
    if (!this.inBounds(ptr, data.length)) throw new Error('write out of bounds');
    this.mem().set(data, ptr);
  }

  u32(ptr: number): number {
    return this.dv().getUint32(ptr, true);
  }

  // ── guest memory ──

  mem(): Uint8Array {
    // A non-shared memory's buffer is detached (length 0) when the memory grows;
    // only then is the (costly) buffer getter read again.
    if (this.u8.length === 0) {
      this.u8 = new Uint8Array(this.memory.buffer);
      this.view = new DataView(this.memory.buffer);
    }
    return this.u8;
  }

  private dv(): DataView {
    this.mem();
    return this.view;
  }

  private inBounds(ptr: number, len: number): boolean {
    return ptr >= 0 && len >= 0 && ptr + len <= this.mem().length;
  }

  /** A copy of guest bytes, or undefined when out of bounds. */
  read(ptr: number, len: number): Bytes | undefined {
    return this.inBounds(ptr, len) ? this.mem().slice(ptr, ptr + len) : undefined;
  }

  /** A view of guest bytes (valid until the plugin runs again), or undefined when out of bounds. */
  private peek(ptr: number, len: number): Bytes | undefined {
    return this.inBounds(ptr, len) ? this.mem().subarray(ptr, ptr + len) : undefined;
  }

  private setU32(ptr: number, value: number): boolean {
    if (!this.inBounds(ptr, 4)) return false;
    this.dv().setUint32(ptr, value >>> 0, true);
    return true;
  }

  private setU64(ptr: number, value: bigint): boolean {
    if (!this.inBounds(ptr, 8)) return false;
    this.dv().setBigUint64(ptr, value, true);
    return true;
  }

  /**
   * Copies `data` into memory the plugin allocates (proxy_on_memory_allocate,
   * called while the VM is inside this host function) and writes its pointer
   * and size; (0, 0) for empty data. False maps to INVALID_MEMORY_ACCESS.
   */
  private copyOut(data: Bytes, ptrPtr: number, sizePtr: number): boolean {
    return this.handOver(data.length, ptrPtr, sizePtr, (mem, at) => mem.set(data, at));
  }

  /** copyOut for `size` bytes that `fill` writes straight into the plugin's memory. */
  private handOver(size: number, ptrPtr: number, sizePtr: number, fill: (mem: Uint8Array, at: number) => void): boolean {
    let ptr = 0;
    if (size > 0) {
      if (!this.inHostcall) throw new Error('proxy_on_memory_allocate outside a host function');
      const allocate = this.instance.exports.proxy_on_memory_allocate as Callback | undefined;
      if (typeof allocate !== 'function') return false;
      try {
        ptr = Number(allocate(size)) >>> 0;
      } catch (e) {
        this.crashed = e;
        throw new VmCrash(`VM ${this.id} trapped in proxy_on_memory_allocate: ${String(e)}`);
      }
      if (ptr === 0 || !this.inBounds(ptr, size)) return false;
      fill(this.mem(), ptr);
    }
    return this.setU32(ptrPtr, ptr) && this.setU32(sizePtr, size);
  }

  private requestHeaderMap(type: number): HeaderPair[] | undefined {
    if (type !== MapType.HTTP_REQUEST_HEADERS || this.currentKind !== 'stream') return undefined;
    if (this.currentCallback !== 'proxy_on_request_headers') return undefined;
    return this.streams.get(this.currentContext)?.requestHeaders;
  }

  // ── host functions ──

  private importObject(): WebAssembly.Imports {
    const env: Record<string, Callback> = {};
    const wasi: Record<string, Callback> = {};
    for (const name of Object.keys(HOST_FUNCTIONS.env!)) env[name] = () => Status.UNIMPLEMENTED;
    for (const name of Object.keys(HOST_FUNCTIONS.wasi_snapshot_preview1!)) wasi[name] = () => Errno.NOTSUP;
    wasi.proc_exit = (code) => {
      throw new Error(`proc_exit(${code}): the spec says this is never called`);
    };

    env.proxy_log = (level, ptr, size) => {
      const l = Number(level);
      if (l < LogLevel.TRACE || l > LogLevel.CRITICAL) return Status.BAD_ARGUMENT;
      const message = this.peek(Number(ptr), Number(size));
      if (!message) return Status.INVALID_MEMORY_ACCESS;
      this.host.log(this, l, decoder.decode(message));
      return Status.OK;
    };

    env.proxy_get_buffer_bytes = (type, start, maxSize, ptrPtr, sizePtr) => {
      const t = Number(type);
      if (t < 0 || t > BufferType.FOREIGN_FUNCTION_ARGUMENTS) return Status.BAD_ARGUMENT;
      let buffer: Bytes | undefined;
      if (t === BufferType.PLUGIN_CONFIGURATION && this.currentCallback === 'proxy_on_configure') buffer = this.pluginConfig;
      if (t === BufferType.VM_CONFIGURATION && this.currentCallback === 'proxy_on_vm_start') buffer = this.vmConfig;
      if (!buffer) return Status.NOT_FOUND;
      const from = Number(start) >>> 0;
      let length = Number(maxSize) >>> 0;
      if (from > buffer.length) length = 0;
      else if (from + length > buffer.length) length = buffer.length - from;
      if (length === 0) {
        return this.setU32(Number(ptrPtr), 0) && this.setU32(Number(sizePtr), 0) ? Status.OK : Status.INVALID_MEMORY_ACCESS;
      }
      return this.copyOut(buffer.subarray(from, from + length), Number(ptrPtr), Number(sizePtr))
        ? Status.OK
        : Status.INVALID_MEMORY_ACCESS;
    };

    env.proxy_get_header_map_pairs = (type, ptrPtr, sizePtr) => {
      const t = Number(type);
      if (t < 0 || t > MapType.HTTP_CALL_RESPONSE_TRAILERS) return Status.BAD_ARGUMENT;
      const map = this.requestHeaderMap(t);
      if (!map) return Status.BAD_ARGUMENT;
      let ok: boolean;
      if (map.length) ok = this.handOver(serializedSize(map), Number(ptrPtr), Number(sizePtr), (mem, at) => serializeInto(map, mem, at));
      else if (this.host.options.emptyMapAsNulByte) ok = this.copyOut(new Uint8Array(1), Number(ptrPtr), Number(sizePtr));
      else ok = this.copyOut(new Uint8Array(0), Number(ptrPtr), Number(sizePtr));
      return ok ? Status.OK : Status.INVALID_MEMORY_ACCESS;
    };

    env.proxy_get_header_map_value = (type, keyPtr, keySize, ptrPtr, sizePtr) => {
      const map = this.requestHeaderMap(Number(type));
      if (!map) return Status.BAD_ARGUMENT;
      const key = this.peek(Number(keyPtr), Number(keySize));
      if (!key) return Status.INVALID_MEMORY_ACCESS;
      const found = map.find(([k]) => sameBytes(k, key));
      if (!found) return Status.NOT_FOUND;
      return this.copyOut(found[1], Number(ptrPtr), Number(sizePtr)) ? Status.OK : Status.INVALID_MEMORY_ACCESS;
    };

    env.proxy_replace_header_map_value = (type, keyPtr, keySize, valuePtr, valueSize) => {
      const t = Number(type);
      if (t < 0 || t > MapType.HTTP_CALL_RESPONSE_TRAILERS) return Status.BAD_ARGUMENT;
      const map = this.requestHeaderMap(t);
      if (!map) return Status.BAD_ARGUMENT;
      const key = this.read(Number(keyPtr), Number(keySize));
      const value = this.read(Number(valuePtr), Number(valueSize));
      if (!key || !value) return Status.INVALID_MEMORY_ACCESS;
      // Envoy's setCopy: the first header of that name takes the value, the others go.
      const first = map.findIndex(([name]) => sameBytes(name, key));
      if (first < 0) {
        map.push([key, value]);
      } else {
        map[first] = [key, value];
        for (let i = map.length - 1; i > first; i--) if (sameBytes(map[i]![0], key)) map.splice(i, 1);
      }
      return Status.OK;
    };

    env.proxy_define_metric = (type, namePtr, nameSize, idPtr) => {
      const t = Number(type);
      if (t < MetricType.COUNTER || t > MetricType.HISTOGRAM) return Status.BAD_ARGUMENT;
      const name = this.peek(Number(namePtr), Number(nameSize));
      if (!name) return Status.INVALID_MEMORY_ACCESS;
      const id = this.host.defineMetric(t, decoder.decode(name));
      return this.setU32(Number(idPtr), id) ? Status.OK : Status.INVALID_MEMORY_ACCESS;
    };

    env.proxy_increment_metric = (id, delta) => this.host.incrementMetric(Number(id) >>> 0, BigInt.asIntN(64, BigInt(delta)));
    env.proxy_record_metric = (id, value) => this.host.recordMetric(Number(id) >>> 0, BigInt.asUintN(64, BigInt(value)));

    env.proxy_get_shared_data = (keyPtr, keySize, ptrPtr, sizePtr, casPtr) => {
      this.host.onSharedData?.(this);
      const key = this.peek(Number(keyPtr), Number(keySize));
      if (!key) return Status.INVALID_MEMORY_ACCESS;
      const found = this.host.getShared(key);
      if (!found) return Status.NOT_FOUND;
      if (!this.copyOut(found.value, Number(ptrPtr), Number(sizePtr))) return Status.INVALID_MEMORY_ACCESS;
      return this.setU32(Number(casPtr), found.cas) ? Status.OK : Status.INVALID_MEMORY_ACCESS;
    };

    env.proxy_set_shared_data = (keyPtr, keySize, valuePtr, valueSize, cas) => {
      this.host.onSharedData?.(this);
      const key = this.peek(Number(keyPtr), Number(keySize));
      const value = this.peek(Number(valuePtr), Number(valueSize));
      if (!key || !value) return Status.INVALID_MEMORY_ACCESS;
      return this.host.setShared(key, value, Number(cas) >>> 0); // setShared copies the value
    };

    env.proxy_get_current_time_nanoseconds = (timePtr) =>
      this.setU64(Number(timePtr), process.hrtime.bigint()) ? Status.OK : Status.INVALID_MEMORY_ACCESS;

    wasi.random_get = (ptr, size) => {
      const p = Number(ptr) >>> 0;
      const n = Number(size) >>> 0;
      if (this.host.options.randomGetFails) return Errno.INVAL;
      if (n > 1 << 20) return Errno.INVAL;
      if (!this.inBounds(p, n)) return Errno.FAULT;
      for (let at = 0; at < n; at += 65536) {
        webcrypto.getRandomValues(this.mem().subarray(p + at, p + Math.min(n, at + 65536)));
      }
      return Errno.SUCCESS;
    };

    // Every host function: counted, and run with the VM marked as inside one
    // (only then may the host call proxy_on_memory_allocate).
    const wrap = (table: Record<string, Callback>, prefix: string) => {
      for (const [name, impl] of Object.entries(table)) {
        const counted = prefix + name;
        table[name] = (...args) => {
          this.host.countHostcall(counted);
          const start = this.host.profile ? process.hrtime.bigint() : 0n;
          this.inHostcall++;
          try {
            return impl(...args);
          } finally {
            this.inHostcall--;
            if (this.host.profile) this.host.stats.hostNs += process.hrtime.bigint() - start;
          }
        };
      }
    };
    wrap(env, '');
    wrap(wasi, 'wasi:');
    this.hostFunctions = { env, wasi };
    return { env, wasi_snapshot_preview1: wasi };
  }
}

/** Header pairs as strings (latin1, so that any byte survives), for assertions. */
export function headerStrings(pairs: readonly HeaderPair[]): Array<[string, string]> {
  return pairs.map(([k, v]) => [keyOf(k), keyOf(v)]);
}

/** The value of the first header `name` (latin1), or undefined. */
export function headerValue(pairs: readonly HeaderPair[], name: string): string | undefined {
  const found = pairs.find(([k]) => keyOf(k) === name);
  return found ? keyOf(found[1]) : undefined;
}
