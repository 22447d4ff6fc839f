import { readFileSync } from 'node:fs';

/**
 * The daemon's software version, gossiped to peers and served by the API: the `version` of the
 * conclave package.json in the nearest folder above this file. Nearest, not at a fixed depth: this
 * code runs from dist/daemon/ and from a chunk of the bundle (scripts/bundle.mjs), one level deeper.
 */
export const VERSION: string = packageVersion(new URL('.', import.meta.url));

function packageVersion(dir: URL): string {
  for (let at = dir; ; at = new URL('..', at)) {
    const pkg = readPackage(new URL('package.json', at));
    if (pkg?.name === 'conclave' && typeof pkg.version === 'string') return pkg.version;
    if (at.pathname === '/') throw new Error(`no package.json of conclave above ${dir.pathname}`);
  }
}

function readPackage(file: URL): { name?: unknown; version?: unknown } | null {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as { name?: unknown; version?: unknown };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}
