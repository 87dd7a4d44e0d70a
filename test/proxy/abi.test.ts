/**
 * build/syncmap-filter.wasm as a host sees it: exactly these imports and
 * exports, valid with the threads feature off (no atomic instruction, no
 * shared memory), a memory of its own.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import binaryen from 'binaryen';
import { describe, expect, test } from 'vitest';
import { exportedFunctionType, readModule, signature } from './wasm-binary.js';
import { pluginBinary } from './plugin.js';

const info = readModule(pluginBinary);

/** The features Envoy's runtimes take; threads (atomics, shared memory) and bulk memory are off. */
const FEATURES = binaryen.Features.MVP | binaryen.Features.SignExt | binaryen.Features.MutableGlobals |
  binaryen.Features.NontrappingFPToInt;

function validates(binary: Uint8Array): boolean {
  const module = binaryen.readBinary(binary);
  try {
    module.setFeatures(FEATURES);
    return module.validate() !== 0;
  } finally {
    module.dispose();
  }
}

/**
 * Validates in a child process and returns its verdict with what binaryen printed. binaryen
 * prints a validation error on stderr through a console.error it bound when it loaded, which no
 * spy in this process reaches; in a child, the stderr is captured, so a failing check can be
 * asserted (and for which reason) without a passing run printing an alarming error.
 */
function validateApart(binary: Uint8Array): { valid: boolean; stderr: string } {
  const script = `import binaryen from 'binaryen';
    const chunks = [];
    for await (const chunk of process.stdin) chunks.push(chunk);
    const module = binaryen.readBinary(new Uint8Array(Buffer.concat(chunks)));
    module.setFeatures(${FEATURES});
    process.stdout.write(module.validate() ? 'valid' : 'invalid');`;
  const child = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
    input: binary, encoding: 'utf8', cwd: fileURLToPath(new URL('../..', import.meta.url)), timeout: 60_000,
  });
  if (child.status !== 0 || !/^(in)?valid$/.test(child.stdout)) {
    throw new Error(`validation child failed (status ${child.status}): ${child.stderr}`);
  }
  return { valid: child.stdout === 'valid', stderr: child.stderr };
}

describe('build/syncmap-filter.wasm', () => {
  test('imports exactly the proxy_* functions and the one WASI call it uses, with the ABI signatures', () => {
    const imports = info.imports.map((i) => `${i.module}.${i.name} ${i.desc.kind === 'function' ? signature(i.desc.type) : i.desc.kind}`);
    expect(imports.sort()).toEqual([
      'env.proxy_define_metric (i32, i32, i32, i32) -> (i32)',
      'env.proxy_get_buffer_bytes (i32, i32, i32, i32, i32) -> (i32)',
      'env.proxy_get_header_map_pairs (i32, i32, i32) -> (i32)',
      'env.proxy_get_shared_data (i32, i32, i32, i32, i32) -> (i32)',
      'env.proxy_increment_metric (i32, i64) -> (i32)',
      'env.proxy_log (i32, i32, i32) -> (i32)',
      'env.proxy_replace_header_map_value (i32, i32, i32, i32, i32) -> (i32)',
      'env.proxy_set_shared_data (i32, i32, i32, i32, i32) -> (i32)',
      'wasi_snapshot_preview1.random_get (i32, i32) -> (i32)',
    ]);
  });

  test('exports the ABI 0.2.1 marker, memory, _initialize, the allocator and the callbacks it uses', () => {
    const exports = info.exports.map((e) =>
      e.kind === 'function' ? `${e.name} ${signature(exportedFunctionType(info, e.name)!)}` : `${e.name} ${e.kind}`);
    expect(exports.sort()).toEqual([
      '_initialize () -> ()',
      'memory memory',
      'proxy_abi_version_0_2_1 () -> ()',
      'proxy_on_configure (i32, i32) -> (i32)',
      'proxy_on_context_create (i32, i32) -> ()',
      'proxy_on_delete (i32) -> ()',
      'proxy_on_done (i32) -> (i32)',
      'proxy_on_memory_allocate (i32) -> (i32)',
      'proxy_on_request_headers (i32, i32, i32) -> (i32)',
      'proxy_on_vm_start (i32, i32) -> (i32)',
    ]);
  });

  test('has one memory of its own, not shared', () => {
    expect(info.imports.filter((i) => i.desc.kind === 'memory')).toEqual([]);
    expect(info.memories).toHaveLength(1);
    expect(info.memories[0]!.shared).toBe(false);
  });

  test('validates with the threads feature off', () => {
    expect(validates(pluginBinary)).toBe(true);
  });

  test('(the check bites: one atomic instruction fails it, for that reason)', () => {
    const module = binaryen.parseText(`(module (memory 1 1)
      (func (export "f") (result i32) (i32.atomic.load (i32.const 0))))`);
    module.setFeatures(binaryen.Features.Atomics);
    const atomic = module.emitBinary();
    module.dispose();
    const { valid, stderr } = validateApart(atomic);
    expect(valid).toBe(false);
    expect(stderr).toMatch(/Atomic operations require threads/);
    expect(validateApart(pluginBinary)).toEqual({ valid: true, stderr: '' });
  });

  test('holds no atomic opcode (0xFE prefix) in its text form', () => {
    const module = binaryen.readBinary(pluginBinary);
    const text = module.emitText();
    module.dispose();
    expect(text).not.toMatch(/atomic|memory\.copy|memory\.fill/);
  });
});
