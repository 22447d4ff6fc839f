#!/usr/bin/env node
// The `conclave` command as one bundle (dist/bundle/), built after tsc from its output: loading
// the daemon as a few large files instead of some 1,400 modules, each resolved, read and compiled
// on its own, halves the time from spawn to a listening daemon (`npm run bench -- startup`).
// Commands still load only what they need: every dynamic import becomes its own chunk.
// blessed stays outside: it loads its widgets and terminfo by path at run time. Chunks live
// beside the entry, so the paths the code computes from its own location at run time (the
// dashboard's module, see daemon/cli/dashboard.ts) mean the same in the bundle as in dist/.
import { build } from 'esbuild';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const outdir = join(root, 'dist/bundle');
rmSync(outdir, { recursive: true, force: true });
const result = await build({
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
  write: false,
});
for (const file of result.outputFiles) {
  mkdirSync(dirname(file.path), { recursive: true });
  writeFileSync(file.path, file.path.endsWith('.js') ? asciiOnly(file.text) : file.contents);
}

/**
 * esbuild escapes non-ASCII characters in code (its default `charset`), but keeps comments as
 * written, and one `§` or `→` in a comment makes V8 hold the whole file's source as a two-byte
 * string: the daemon's two largest chunks took 4.7 MB of heap instead of 2.4 MB. In a comment an
 * escape reads the same; anywhere else esbuild has escaped already. Columns in the source map
 * shift only on the lines of those comments.
 */
function asciiOnly(text) {
  return text.replace(/[^\x00-\x7f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
