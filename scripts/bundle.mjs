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
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const outdir = join(root, 'dist/bundle');
rmSync(outdir, { recursive: true, force: true });
/**
 * zod re-exports every locale it ships as `z.locales` (about 40 languages, 375 KB, half of zod in
 * the bundle), and a namespace import keeps them all. Its messages are English (the one locale
 * zod itself configures) and nothing here reads `z.locales`, so the namespace holds English only.
 */
const zodEnglishOnly = {
  name: 'zod-english-only',
  setup(b) {
    b.onResolve({ filter: /^\.\.\/locales\/index\.js$/ }, (args) =>
      args.importer.includes('/node_modules/zod/') ? { path: join(dirname(args.importer), '../locales/en.js'), namespace: 'zod-locales' } : undefined,
    );
    b.onLoad({ filter: /.*/, namespace: 'zod-locales' }, (args) => ({ contents: `export { default as en } from ${JSON.stringify(args.path)};`, resolveDir: dirname(args.path), loader: 'js' }));
  },
};

/**
 * prom-client's index also loads its Pushgateway (which loads `https`, `zlib` and `url`: TLS
 * alone is some 15 ms of a start) and its cluster aggregator; the daemon uses neither. Its
 * default process metrics take the OpenTelemetry API only to stamp exemplars, which the daemon
 * does not enable. So in the bundle `prom-client` is the modules the daemon imports from it.
 */
const PROM_CLIENT_USED = { Registry: 'registry', Counter: 'counter', Gauge: 'gauge', Histogram: 'histogram', collectDefaultMetrics: 'defaultMetrics' };
const promClientCore = {
  name: 'prom-client-core',
  setup(b) {
    b.onResolve({ filter: /^prom-client$/ }, (args) => ({ path: join(args.resolveDir, 'prom-client'), namespace: 'prom-client-core' }));
    b.onLoad({ filter: /.*/, namespace: 'prom-client-core' }, () => ({
      contents: Object.entries(PROM_CLIENT_USED)
        .map(([name, file]) => `export { default as ${name} } from 'prom-client/lib/${file}.js';`)
        .join('\n'),
      resolveDir: root,
      loader: 'js',
    }));
    b.onResolve({ filter: /^@opentelemetry\/api$/ }, (args) => (args.importer.includes('/node_modules/prom-client/') ? { path: 'otel-unused', namespace: 'prom-client-core-otel' } : undefined));
    b.onLoad({ filter: /.*/, namespace: 'prom-client-core-otel' }, () => ({
      contents: "const off = () => { throw new Error('prom-client exemplars are not built into conclave'); };\nmodule.exports = { trace: { getSpan: off }, context: { active: off } };",
      loader: 'js',
    }));
  },
};

/**
 * libp2p's peer store sorts a peer's protocols and addresses with `localeCompare` each time it
 * saves a peer (its own record too, as the daemon starts). The first `localeCompare` of a process
 * sets up an ICU collator: 8-10 ms, about a thirtieth of a daemon's start-up, on its way to the
 * API answering. The order only makes the stored record deterministic, and these strings are
 * ASCII (protocol ids, multiaddrs), so here they sort by code point instead. The build fails if
 * the files no longer hold the calls, rather than quietly keep the cost.
 */
const PEER_STORE_SORTS = /@libp2p\/peer-store\/dist\/src\/utils\/(to-peer-pb|dedupe-addresses)\.js$/;
const peerStoreCodePointSort = {
  name: 'peer-store-code-point-sort',
  setup(b) {
    b.onLoad({ filter: PEER_STORE_SORTS }, async (args) => {
      const source = await readFile(args.path, 'utf8');
      let replaced = 0;
      const contents = source.replace(/([\w$]+(?:\.[\w$]+(?:\(\))?)*)\.localeCompare\(/g, (_, receiver) => {
        replaced++;
        return `__conclaveCodePointCompare(${receiver}, `;
      });
      if (replaced === 0) throw new Error(`${args.path}: no localeCompare call left to replace; update peerStoreCodePointSort in scripts/bundle.mjs`);
      return { contents: `const __conclaveCodePointCompare = (a, b) => (a < b ? -1 : a > b ? 1 : 0);\n${contents}`, loader: 'js' };
    });
  },
};

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
  // No keepNames: it wraps every function and class the bundle defines in a `__name(...)` call,
  // run as each module loads and again each time a closure is made (the libraries make them on
  // every message: it-pushable, race-signal). Without it a daemon answers its API some 20 ms
  // sooner and a busy leader spends 2-3 % less CPU. What it kept: `.name` of a function or class
  // whose name collides with another's in the bundle (esbuild renames one: TimeoutError2). Our
  // errors set `name` explicitly; the log takes an error's type from `name` (daemon/log.ts).
  keepNames: false,
  // Whitespace, comments and syntax, not names: a third of the bytes every start reads, decodes
  // and deserializes from the compile cache; stack traces keep their function names, and the
  // source maps beside the chunks lead back to dist/.
  minifyWhitespace: true,
  minifySyntax: true,
  plugins: [zodEnglishOnly, promClientCore, peerStoreCodePointSort],
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
