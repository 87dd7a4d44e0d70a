/**
 * What `npm pack` ships: the core, the filter, the bindings, the docs and examples a
 * user reads, nothing test- or bench-only; and no script that an install of
 * the package would run (npm 11 warns of each: preinstall, install,
 * postinstall, and prepare for a tarball or git dependency).
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('..', import.meta.url));

describe('the published package', () => {
  it('ships the map, the filter and the bindings, and no bench-only, debug or internal file', () => {
    const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
    const { status, stdout } = spawnSync(npm, ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: root, encoding: 'utf8' });
    expect(status).toBe(0);
    const files: string[] = JSON.parse(stdout)[0].files.map((f: { path: string }) => f.path);
    for (const wanted of [
      'build/syncmap.wasm', 'build/syncmap-filter.wasm', 'build/bindings/index.js', 'build/bindings/index.d.ts',
      'README.md', 'CHANGELOG.md', 'LICENSE', 'package.json',
      // What the README links to, for a reader of the installed package.
      'docs/metrics.md', 'docs/proxy-filter.md', 'docs/benchmarks.md', 'examples/README.md', 'examples/envoy.yaml',
      'examples/quick-start.mjs', 'examples/worker-pool/main.mjs',
    ]) {
      expect(files).toContain(wanted);
    }
    const unwanted = /^bench\/|bench-core|syncmap-bench|debug|internal|\.wat$|^test\/|^demo\//;
    expect(files.filter((f) => unwanted.test(f))).toEqual([]);
  });

  it('exports the filter, so that a config or a script can find it by the package name', () => {
    const require = createRequire(import.meta.url);
    const resolved = require.resolve('syncmap-wasm/syncmap-filter.wasm');
    expect(resolved).toBe(fileURLToPath(new URL('../build/syncmap-filter.wasm', import.meta.url)));
    expect(WebAssembly.validate(readFileSync(resolved))).toBe(true);
  });

  it('has no install-time script', () => {
    const { scripts } = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
    for (const name of ['preinstall', 'install', 'postinstall', 'prepare']) expect(scripts).not.toHaveProperty(name);
    expect(scripts.prepack).toBe('npm run build'); // what npm pack and npm publish build with
    expect(scripts.preprepare).toBe('npm run build'); // what a clone's npm install builds with
  });
});
