/**
 * `npm run build` (and `npm pack`, through prepack): the package's JavaScript and declarations in dist/, or
 * in the directory given. This repository runs its .ts sources directly, but Node strips no types under
 * node_modules, where an installed copy lives: that copy runs the built files, which `exports` points at.
 */
import { execFileSync } from 'node:child_process';
import { cpSync, rmSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '..');
const outDir = resolve(process.argv[2] ?? join(root, 'dist'));
const tsc = join(dirname(createRequire(import.meta.url).resolve('typescript/package.json')), 'bin', 'tsc');

// A clean directory: a module deleted from src must not live on in the package.
rmSync(outDir, { recursive: true, force: true });
execFileSync(process.execPath, [tsc, '-p', join(root, 'tsconfig.build.json'), '--outDir', outDir], {
  stdio: 'inherit',
});
// The Lua scripts are read beside the modules that load them (new URL('./x.lua', import.meta.url)).
cpSync(join(root, 'src'), outDir, {
  recursive: true,
  filter: (source) => statSync(source).isDirectory() || source.endsWith('.lua'),
});
