#!/usr/bin/env node
// Builds the WebAssembly modules from assembly/ with the targets in asconfig.json.
//
// Each build is stamped with a hash of the AssemblyScript sources, asconfig.json
// and the compiler version (BUILD_STAMP). The creator of a map writes the stamp
// into the shared memory; an instance of any other build refuses to attach.
//
// Usage: node scripts/build-wasm.mjs [target ...]   (default: every target)

import { createHash } from 'node:crypto';
import { mkdir, readdir, readFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import asc from 'assemblyscript/asc';

const root = fileURLToPath(new URL('..', import.meta.url));

/**
 * Entry file and injected constants of each asconfig.json target:
 *   threads        build/syncmap.wasm, the published core (the map only)
 *   threads-debug  build/syncmap.debug.wasm, assertions and crash points, for tests
 *   bench          build/syncmap-bench.wasm, the core plus Go's benchmark loops, for bench/
 *   proxy          build/syncmap-filter.wasm, the proxy-wasm filter (no threads)
 */
const TARGETS = {
  threads: { entry: 'assembly/index-threads.ts', debug: 0 },
  'threads-debug': { entry: 'assembly/index-threads.ts', debug: 1 },
  bench: { entry: 'assembly/index-bench.ts', debug: 0 },
  proxy: { entry: 'assembly/index-proxy.ts', debug: 0 },
};

async function sourcesOf(dir) {
  const found = [];
  for (const item of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, item.name);
    if (item.isDirectory()) found.push(...(await sourcesOf(path)));
    else if (item.name.endsWith('.ts') || item.name.endsWith('.json')) found.push(path);
  }
  return found.sort();
}

async function buildStamp() {
  const hash = createHash('sha256');
  hash.update(`assemblyscript ${asc.version}\n`);
  for (const file of [...(await sourcesOf(join(root, 'assembly'))), join(root, 'asconfig.json')]) {
    hash.update(`${relative(root, file)}\n`);
    hash.update(await readFile(file));
  }
  // 31 bits: `--use` takes a decimal literal, and a positive i32 reads the same everywhere.
  return hash.digest().readUInt32LE(0) & 0x7fffffff;
}

/** Where the module's data segments end: its static data lies in [0, end). */
function staticDataEnd(bytes) {
  let at = 8; // magic and version
  const u32 = () => {
    let result = 0;
    for (let shift = 0; ; shift += 7) {
      const byte = bytes[at++];
      result += (byte & 0x7f) * 2 ** shift;
      if (!(byte & 0x80)) return result;
    }
  };
  const s32 = () => {
    let result = 0;
    let shift = 0;
    let byte;
    do {
      byte = bytes[at++];
      result |= (byte & 0x7f) << shift;
      shift += 7;
    } while (byte & 0x80);
    return shift < 32 && byte & 0x40 ? result | (-1 << shift) : result;
  };
  let end = 0;
  while (at < bytes.length) {
    const id = bytes[at++];
    const size = u32();
    const next = at + size;
    if (id === 11) {
      for (let count = u32(); count > 0; count--) {
        const flags = u32();
        if (flags === 1) {
          at += u32(); // passive: not placed in memory
          continue;
        }
        if (flags === 2) u32(); // memory index
        if (bytes[at++] !== 0x41) throw new Error('data segment offset is not an i32.const');
        const offset = s32();
        if (bytes[at++] !== 0x0b) throw new Error('data segment offset expression too long');
        const length = u32();
        at += length;
        end = Math.max(end, offset + length);
      }
    }
    at = next;
  }
  return end;
}

/** ROOT of assembly/config.ts for each build: the shared heap starts there. */
async function heapRoots() {
  const config = await readFile(join(root, 'assembly/config.ts'), 'utf8');
  const match = /ROOT: usize = ASC_FEATURE_THREADS \? (0x[0-9a-fA-F]+) : (0x[0-9a-fA-F]+);/.exec(config);
  if (!match) throw new Error('cannot read ROOT from assembly/config.ts');
  return { threads: Number(match[1]), single: Number(match[2]) };
}

async function build(target, stamp) {
  const { entry, debug } = TARGETS[target];
  const args = [
    entry,
    '--config', 'asconfig.json',
    '--target', target,
    '--use', 'abort=', // no env.abort import: a failed assertion traps as `unreachable`
    '--use', `SYNCMAP_DEBUG=${debug}`,
    '--use', `BUILD_STAMP=${stamp}`,
  ];
  const { error, stderr } = await asc.main(args, { stdout: process.stdout, stderr: process.stderr });
  if (error) throw new Error(`asc ${target} failed: ${error.message}\n${stderr.toString()}`);
  // The core lays its heap out from ROOT and refuses to start if static data
  // reaches it; the optimizer then removes everything as dead code. Fail here.
  const roots = await heapRoots();
  const heapRoot = target === 'proxy' ? roots.single : roots.threads;
  const outFile = JSON.parse(await readFile(join(root, 'asconfig.json'), 'utf8')).targets[target].outFile;
  const end = staticDataEnd(await readFile(join(root, outFile)));
  if (end > heapRoot) {
    throw new Error(`${outFile}: static data ends at ${end}, past the heap's ROOT (${heapRoot}); see assembly/config.ts`);
  }
}

const wanted = process.argv.slice(2);
const targets = wanted.length ? wanted : Object.keys(TARGETS);
for (const target of targets) {
  if (!(target in TARGETS)) throw new Error(`unknown target '${target}' (known: ${Object.keys(TARGETS).join(', ')})`);
}
process.chdir(root);
await mkdir('build', { recursive: true });
const stamp = await buildStamp();
for (const target of targets) await build(target, stamp);
console.log(`wasm: built ${targets.join(', ')} (stamp ${stamp.toString(16).padStart(8, '0')})`);
