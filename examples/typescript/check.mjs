#!/usr/bin/env node
// npm run example:typescript: this folder as a user's project would be, against
// the package as published. Packs the repository (npm pack, which builds it),
// installs the tarball into a copy of this folder in a temporary directory,
// type-checks it strictly (tsc --noEmit: strict, lib ES2022 and types
// ["node"] only, no DOM, skipLibCheck false), then compiles and runs it.
//
//   node examples/typescript/check.mjs [--no-build] [--keep]
//
// --no-build packs without running prepack (build/ must be current: npm test's
// pretest has just built it); --keep leaves the temporary directory in place.
// The example's devDependencies (typescript, @types/node) are linked from the
// repository's node_modules rather than downloaded. Fails if installing the
// tarball prints any npm warning.
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = fileURLToPath(new URL('.', import.meta.url));
const root = fileURLToPath(new URL('../..', import.meta.url));
const args = new Set(process.argv.slice(2));
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';

class StepFailed extends Error {}

/** Runs a command; if it fails, prints its output and what failed, and ends the check. */
function step(what, command, commandArgs, cwd) {
  const result = spawnSync(command, commandArgs, { cwd, encoding: 'utf8' });
  if (result.status !== 0) {
    process.stdout.write(result.stdout);
    process.stdout.write(result.stderr);
    throw new StepFailed(`${what}: failed (exit ${result.status ?? result.signal})`);
  }
  return result;
}

const tmp = mkdtempSync(join(tmpdir(), 'syncmap-wasm-example-ts-'));
try {
  // 1. The package as published.
  const packArgs = ['pack', '--json', '--pack-destination', tmp, ...(args.has('--no-build') ? ['--ignore-scripts'] : [])];
  const packOutput = step('npm pack', npm, packArgs, root).stdout;
  const [packed] = JSON.parse(packOutput.slice(packOutput.search(/^\[/m))); // after prepack's own output
  const tarball = join(tmp, packed.filename);
  console.log(`packed ${packed.filename}: ${packed.entryCount} files`);

  // 2. A project of its own: this folder's sources and tsconfig, the tarball installed.
  const app = join(tmp, 'app');
  mkdirSync(app);
  cpSync(join(here, 'src'), join(app, 'src'), { recursive: true });
  cpSync(join(here, 'tsconfig.json'), join(app, 'tsconfig.json'));
  writeFileSync(join(app, 'package.json'), `${JSON.stringify({ name: 'app', private: true, type: 'module' }, null, 2)}\n`);
  const install = step('npm install', npm, ['install', '--offline', '--no-audit', '--no-fund', tarball], app);
  const warnings = `${install.stdout}\n${install.stderr}`.split('\n').filter((line) => /\bwarn/i.test(line));
  if (warnings.length) throw new StepFailed(`npm install of the tarball printed warnings:\n${warnings.join('\n')}`);
  console.log('installed the tarball: no warning');
  mkdirSync(join(app, 'node_modules', '@types'), { recursive: true });
  symlinkSync(join(root, 'node_modules', 'typescript'), join(app, 'node_modules', 'typescript'), 'dir');
  symlinkSync(join(root, 'node_modules', '@types', 'node'), join(app, 'node_modules', '@types', 'node'), 'dir');

  // 3. Strict type check against the published .d.ts, then compile and run.
  const tsc = join(app, 'node_modules', 'typescript', 'bin', 'tsc');
  step('tsc --noEmit', process.execPath, [tsc, '--noEmit', '-p', app], app);
  console.log('tsc --noEmit: no errors');
  step('tsc', process.execPath, [tsc, '-p', app], app);
  const run = step('node dist/main.js', process.execPath, [join(app, 'dist', 'main.js')], app);
  process.stdout.write(run.stdout);
  console.log(`compiled ${readdirSync(join(app, 'dist')).filter((f) => f.endsWith('.js')).length} files and ran dist/main.js`);
} catch (error) {
  if (!(error instanceof StepFailed)) throw error;
  console.log(error.message);
  process.exitCode = 1;
} finally {
  if (args.has('--keep')) console.log(`kept ${tmp}`);
  else rmSync(tmp, { recursive: true, force: true });
}
