/**
 * The shipped types compile in the setups users have, not only in ours (which
 * has the DOM lib): a project that installed the package and compiles with
 * @types/node and no DOM lib, with skipLibCheck off and on, and one with the DOM
 * lib too (our WebAssembly declarations must merge with its). Each runs tsc on
 * a small consumer in a scratch folder where `syncmap-wasm` resolves to this
 * package through node_modules, as after `npm install`.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('..', import.meta.url));
const tsc = join(root, 'node_modules/typescript/bin/tsc');
const dir = mkdtempSync(join(tmpdir(), 'syncmap-types-'));
mkdirSync(join(dir, 'node_modules'));
symlinkSync(root, join(dir, 'node_modules/syncmap-wasm'), 'dir');
// The newest @types/node major too (a devDependency under another name): what a
// project that runs `npm install @types/node` today gets, where ours pins 20.
mkdirSync(join(dir, 'types-node-26'));
symlinkSync(join(root, 'node_modules/@types/node-26'), join(dir, 'types-node-26/node'), 'dir');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const consumer = `
import { SyncMap, type SyncMapHandle } from 'syncmap-wasm';

const map = SyncMap.createSync<string, { n: number }>();
const handle: SyncMapHandle = map.handle;
const bytes: number = handle.memory.buffer.byteLength;
// @ts-expect-error: handle.memory is a WebAssembly.Memory, not any
handle.memory.notAMember();
// @ts-expect-error: nor is handle.module any
handle.module.notAMember();
{
  using scoped = SyncMap.createSync({ values: 'number' });
  scoped.store('k', bytes);
}
map.close();
`;
writeFileSync(join(dir, 'consumer.ts'), consumer);

/** Runs tsc with these compiler options on the consumer; returns its output ('' when it compiles). */
function compile(name: string, options: Record<string, unknown>): string {
  const config = {
    compilerOptions: {
      target: 'ES2022',
      module: 'NodeNext',
      moduleResolution: 'NodeNext',
      strict: true,
      noEmit: true,
      types: ['node'],
      typeRoots: [join(root, 'node_modules/@types')],
      ...options,
    },
    files: ['consumer.ts'],
  };
  writeFileSync(join(dir, `${name}.json`), JSON.stringify(config));
  try {
    execFileSync(process.execPath, [tsc, '-p', join(dir, `${name}.json`)], { cwd: dir, encoding: 'utf8' });
    return '';
  } catch (error) {
    return String((error as { stdout?: string }).stdout ?? error);
  }
}

describe('the shipped types', () => {
  it('compile with @types/node alone, skipLibCheck off (no TS2503 for WebAssembly)', () => {
    expect(compile('plain', { lib: ['ES2022'], skipLibCheck: false })).toBe('');
  });

  it('compile with @types/node 26, skipLibCheck off (it renamed a util type the bindings once imported)', () => {
    expect(compile('node26', { lib: ['ES2022'], skipLibCheck: false, typeRoots: [join(dir, 'types-node-26')] })).toBe('');
  });

  it('name no typed array with a type argument, which TypeScript before 5.7 cannot read', () => {
    // TypeScript 5.7 made the typed arrays generic, and emits Float64Array<ArrayBuffer> for a
    // type it inferred: TypeScript 5.0 to 5.6 then fail on our declarations (TS2315), whatever
    // the project's own code. (Checked by hand with each of 5.0 to 5.9 on the consumer above.)
    const generic = /\b(?:Uint8|Uint8Clamped|Int8|Uint16|Int16|Uint32|Int32|Float32|Float64|BigInt64|BigUint64)Array</;
    const dts = join(root, 'build/bindings');
    const found = readdirSync(dts)
      .filter((f) => f.endsWith('.d.ts'))
      .flatMap((f) => readFileSync(join(dts, f), 'utf8').split('\n').filter((line) => generic.test(line)).map((line) => `${f}: ${line.trim()}`));
    expect(found).toEqual([]);
  });

  it('type handle.memory with skipLibCheck on (not silently any)', () => {
    expect(compile('skip', { lib: ['ES2022'], skipLibCheck: true })).toBe('');
  });

  it('merge with the DOM lib', () => {
    // Our declarations come after the lib's, so a clash would be reported in
    // ours: the lib files themselves need no checking (slow for DOM).
    expect(compile('dom', { lib: ['ES2022', 'DOM'], skipLibCheck: false, skipDefaultLibCheck: true })).toBe('');
  });
});
