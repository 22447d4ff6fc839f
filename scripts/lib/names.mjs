// Prints the names cluster.sh accepts, space-separated, from the build: protocols/types.ts and
// protocols/membership/presets.ts hold the one list of each, so the script never drifts from
// the daemon. `node names.mjs protocols|presets`; exit 1 when the build is missing.
import { existsSync } from 'node:fs';

const dist = new URL('../../dist/protocols/', import.meta.url);
const sources = {
  protocols: async () => (await import(new URL('types.js', dist).href)).PROTOCOL_NAMES,
  presets: async () => (await import(new URL('membership/presets.js', dist).href)).MEMBERSHIP_PRESET_NAMES,
};

const kind = process.argv[2];
if (!Object.hasOwn(sources, kind)) {
  process.stderr.write(`usage: node names.mjs ${Object.keys(sources).join('|')}\n`);
  process.exit(2);
}
if (!existsSync(dist)) process.exit(1);
console.log((await sources[kind]()).join(' '));
