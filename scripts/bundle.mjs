#!/usr/bin/env node
// The `conclave` command as one bundle (dist/bundle/), built after tsc from its output: loading
// the daemon as a few large files instead of some 1,400 modules, each resolved, read and compiled
// on its own, halves the time from spawn to a listening daemon (`npm run bench -- startup`).
// Commands still load only what they need: every dynamic import becomes its own chunk.
// blessed stays outside: it loads its widgets and terminfo by path at run time. Chunks live
// beside the entry, so the paths the code computes from its own location at run time (the
// dashboard's module, see daemon/cli/dashboard.ts) mean the same in the bundle as in dist/.
import { build } from 'esbuild';
import { rmSync } from 'node:fs';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const outdir = join(root, 'dist/bundle');
rmSync(outdir, { recursive: true, force: true });
await build({
  entryPoints: [join(root, 'dist/daemon/cli/main.js'), join(root, 'dist/tui/main.js')],
  outbase: join(root, 'dist'),
  outdir,
  chunkNames: 'daemon/cli/[name]-[hash]',
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  external: ['blessed', 'blessed-contrib'],
  // CommonJS dependencies call require(); an ES module has none of its own.
  banner: { js: "import { createRequire as __conclaveRequire } from 'node:module'; const require = __conclaveRequire(import.meta.url);" },
  keepNames: true,
  sourcemap: true,
  logLevel: 'warning',
});
