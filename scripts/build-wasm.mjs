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

/** Entry file and injected constants of each asconfig.json target. */
const TARGETS = {
  threads: { entry: 'assembly/index-threads.ts', debug: 0 },
  'threads-debug': { entry: 'assembly/index-threads.ts', debug: 1 },
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
