/**
 * bin/conclave, the command users run: the Node flags it starts the CLI with can be replaced
 * through CONCLAVE_NODE_FLAGS (to profile a daemon, or to give a busy node a larger young
 * generation), and that variable never reaches the daemon's config, which refuses CONCLAVE_*
 * names it does not know.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';

const ROOT = new URL('../../', import.meta.url).pathname;
const LAUNCHER = join(ROOT, 'bin/conclave');
const BUNDLE = join(ROOT, 'dist/bundle/daemon/cli/main.js');

function launch(args: string[], env: NodeJS.ProcessEnv) {
  return spawnSync(LAUNCHER, args, { encoding: 'utf8', env: { ...process.env, ...env }, timeout: 30_000 });
}

describe('bin/conclave', { skip: existsSync(BUNDLE) ? false : `${BUNDLE} is missing: build first` }, () => {
  it('CONCLAVE_NODE_FLAGS replaces the Node flags, and the config print never sees the variable', () => {
    const dir = mkdtempSync(join(tmpdir(), 'conclave-launcher-'));
    try {
      const result = launch(['config', 'print'], { CONCLAVE_NODE_FLAGS: `--cpu-prof --cpu-prof-dir=${dir}` });
      assert.equal(result.status, 0, `config print failed (${result.status}):\n${result.stdout}\n${result.stderr}`);
      const profiles = readdirSync(dir).filter((f) => f.endsWith('.cpuprofile'));
      assert.equal(profiles.length, 1, `Node ran with the flags given: one CPU profile in ${dir}, found ${readdirSync(dir).join(', ') || 'nothing'}`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('without it the CLI runs on the default flags (no profile), and an unknown CONCLAVE_ variable is still refused', () => {
    const dir = mkdtempSync(join(tmpdir(), 'conclave-launcher-'));
    try {
      const plain = launch(['config', 'print'], { CONCLAVE_NODE_FLAGS: undefined });
      assert.equal(plain.status, 0, plain.stderr);
      assert.deepEqual(readdirSync(dir), []);
      const unknown = launch(['config', 'print'], { CONCLAVE_NODE_FLAGZ: '--cpu-prof' });
      assert.equal(unknown.status, 2, unknown.stderr);
      assert.match(unknown.stderr, /CONCLAVE_NODE_FLAGZ: not a config variable/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
