/**
 * bin/conclave, the command users run: the Node flags it starts the CLI with can be replaced
 * through CONCLAVE_NODE_FLAGS (to profile a daemon, or to give a busy node a larger young
 * generation), and that variable never reaches the daemon's config, which refuses CONCLAVE_*
 * names it does not know. `conclave start` compiles the code of a take-over as it loads
 * (daemon/eager.ts) and the rest of the daemon at first call.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { LAUNCHER, ROOT, launcherFlags } from './support/local-cluster.js';

const BUNDLE = join(ROOT, 'dist/bundle/daemon/cli/main.js');

/** Names of the functions V8 compiled to bytecode, from a --log-function-events log. */
function compiledFunctions(log: string): Set<string> {
  const names = new Set<string>();
  for (const line of log.split('\n')) {
    // function,interpreter,<script>,<start>,<end>,<ms>,<µs>,<name>
    const fields = line.split(',');
    if (fields[0] === 'function' && fields[1] === 'interpreter' && fields.length >= 8) names.add(fields.slice(7).join(','));
  }
  return names;
}

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

  it('start compiles the take-over code of a node that never led as it loads, and the rest of the daemon only when called', () => {
    const dir = mkdtempSync(join(tmpdir(), 'conclave-launcher-'));
    try {
      // A daemon that loads and then stops at once: its identity file is unreadable (exit 2).
      const dataDir = join(dir, 'data');
      mkdirSync(dataDir);
      writeFileSync(join(dataDir, 'peer.key'), 'not a key\n');
      const v8log = join(dir, 'v8.log');
      const flags = `${launcherFlags().join(' ')} --log-function-events --no-logfile-per-isolate --logfile=${v8log}`;
      const result = launch(['start', '--protocol', 'raft', '--data-dir', dataDir, '--no-mdns', '--api', '127.0.0.1:0', '--listen', '/ip4/127.0.0.1/tcp/0'], {
        CONCLAVE_NODE_FLAGS: flags,
      });
      assert.equal(result.status, 2, `start with a bad peer.key exits 2:\n${result.stdout}\n${result.stderr}`);
      assert.match(result.stderr, /identity file .*peer\.key is not a base64-encoded libp2p private key/);
      const compiled = compiledFunctions(readFileSync(v8log, 'utf8'));
      // Leader-only code of the Raft machine (leader.ts), never called here.
      for (const name of ['becomeLeader', 'handOver', 'mostCaughtUp']) assert.ok(compiled.has(name), `${name} was compiled as the daemon loaded`);
      // The API server (daemon/api/server.ts) is not on a take-over's path and was never started.
      assert.ok(!compiled.has('startApiServer'), 'startApiServer stayed lazy');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
