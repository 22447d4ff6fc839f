/** `conclave init`: the files it writes load as a daemon would load them, and nothing is overwritten unasked. */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { Command, CommanderError } from 'commander';
import { loadConfig } from '../config/load.js';
import { exitCodeOf } from '../errors.js';
import { readSwarmKey, swarmKeyProblem } from '../p2p/swarm-key.js';
import { CONFIG_FILE, KEY_FILE, registerInitCommand, runInit } from './init.js';

const work = mkdtempSync(join(tmpdir(), 'conclave-init-test-'));
after(() => rmSync(work, { recursive: true, force: true }));
let serial = 0;
const freshDir = () => join(work, `d${serial++}`);
const DEFAULTS = { cluster: 'prod', protocol: 'bully', bootstrapExpect: 3, force: false } as const;

/** Runs `conclave init <args>` in-process the way main.ts does: usage errors exit 2, others their exitCode. */
async function init(args: string[]): Promise<{ code: number; out: string; err: string; error: Error | null }> {
  const run = { code: 0, out: '', err: '', error: null as Error | null };
  const program = new Command('conclave').exitOverride().configureOutput({ writeOut: (s) => (run.err += s), writeErr: (s) => (run.err += s) });
  registerInitCommand(program, (text) => (run.out += text));
  try {
    await program.parseAsync(['init', ...args], { from: 'user' });
  } catch (err) {
    run.error = err as Error;
    run.code = err instanceof CommanderError ? 2 : exitCodeOf(err);
  }
  return run;
}

/** The written config as `conclave start --config FILE` would load it (no CONCLAVE_* variables). */
function load(configPath: string) {
  return loadConfig({ file: configPath, env: { HOME: work }, flags: { name: 'n1' } });
}

describe('conclave init', () => {
  it('writes a key the swarm-key parser accepts, mode 0600, and a config naming it that the loader accepts', async () => {
    const dir = freshDir();
    const { keyPath, configPath } = runInit({ ...DEFAULTS, dir, cluster: 'prod', protocol: 'raft', bootstrapExpect: 5 });
    assert.equal(keyPath, join(dir, KEY_FILE));
    assert.equal(configPath, join(dir, CONFIG_FILE));
    assert.equal(swarmKeyProblem(readFileSync(keyPath, 'utf8')), null);
    assert.equal((await readSwarmKey(keyPath)).length, 21 + 1 + 8 + 1 + 64);
    assert.equal(statSync(keyPath).mode & 0o777, 0o600);
    const config = load(configPath);
    assert.equal(config.security.pskFile, keyPath, 'the key path is relative to the config, so both files move together');
    assert.deepEqual(config.cluster, { name: 'prod', bootstrapExpect: 5 });
    assert.equal(config.protocol, 'raft');
  });

  it('every run makes a new key', () => {
    const keys = [freshDir(), freshDir()].map((dir) => readFileSync(runInit({ ...DEFAULTS, dir }).keyPath, 'utf8'));
    assert.notEqual(keys[0], keys[1]);
  });

  it('a cluster name YAML would read as another type is still written as a string', () => {
    for (const cluster of ['true', 'null', '123', '0x1f']) {
      assert.equal(load(runInit({ ...DEFAULTS, dir: freshDir(), cluster }).configPath).cluster.name, cluster);
    }
  });

  it('refuses to overwrite either file without --force: exit 1, the file named, nothing written', async () => {
    for (const existing of [KEY_FILE, CONFIG_FILE]) {
      const dir = freshDir();
      mkdirSync(dir);
      writeFileSync(join(dir, existing), 'precious\n');
      const run = await init(['--dir', dir]);
      assert.equal(run.code, 1);
      assert.equal(run.error?.name, 'InitFileExistsError');
      assert.ok(run.error?.message.includes(join(dir, existing)), run.error?.message);
      assert.equal(readFileSync(join(dir, existing), 'utf8'), 'precious\n');
      const other = existing === KEY_FILE ? CONFIG_FILE : KEY_FILE;
      assert.equal(existsSync(join(dir, other)), false, 'the other file is not written either');
    }
  });

  it('a dangling symlink where a file would go counts as existing', async () => {
    const dir = freshDir();
    mkdirSync(dir);
    symlinkSync(join(dir, 'nowhere'), join(dir, KEY_FILE));
    assert.equal((await init(['--dir', dir])).error?.name, 'InitFileExistsError');
    assert.equal(existsSync(join(dir, 'nowhere')), false);
  });

  it('--force replaces both files with a new key, mode 0600 even if the old file was not', async () => {
    const dir = freshDir();
    mkdirSync(dir);
    writeFileSync(join(dir, KEY_FILE), 'old\n', { mode: 0o644 });
    writeFileSync(join(dir, CONFIG_FILE), 'old: true\n');
    const run = await init(['--dir', dir, '--force', '--cluster', 'lab']);
    assert.equal(run.code, 0, run.error?.message);
    assert.equal(swarmKeyProblem(readFileSync(join(dir, KEY_FILE), 'utf8')), null);
    assert.equal(statSync(join(dir, KEY_FILE)).mode & 0o777, 0o600);
    assert.equal(load(join(dir, CONFIG_FILE)).cluster.name, 'lab');
  });

  it('prints both files and the next commands: copy to every node, start with the config', async () => {
    const dir = freshDir();
    const run = await init(['--dir', dir, '--bootstrap-expect', '4']);
    assert.equal(run.code, 0, run.error?.message);
    assert.match(run.out, new RegExp(`^wrote ${join(dir, KEY_FILE)} .*0600`, 'm'));
    assert.match(run.out, new RegExp(`^wrote ${join(dir, CONFIG_FILE)} \\(cluster conclave, bully, bootstrapExpect 4`, 'm'));
    assert.match(run.out, /copy both files to the same directory on every node/);
    assert.ok(run.out.includes(`conclave start --config ${join(dir, CONFIG_FILE)}`), run.out);
    assert.ok(run.out.includes('start each of the 4 nodes'), run.out);
  });

  it('the default directory is the current one', async () => {
    const dir = freshDir();
    mkdirSync(dir);
    const cwd = process.cwd();
    process.chdir(dir);
    try {
      assert.equal((await init([])).code, 0);
    } finally {
      process.chdir(cwd);
    }
    assert.ok(existsSync(join(dir, KEY_FILE)) && existsSync(join(dir, CONFIG_FILE)));
  });

  it('a bad value exits 2 naming the flag, before writing anything', async () => {
    for (const args of [['--cluster', 'Not A Name'], ['--bootstrap-expect', 'three'], ['--bootstrap-expect', '0']]) {
      const dir = freshDir();
      const run = await init(['--dir', dir, ...args]);
      assert.equal(run.code, 2, args.join(' '));
      assert.equal(run.error?.name, 'ConfigError');
      assert.ok(run.error?.message.includes(args[0]!), run.error?.message);
      assert.equal(existsSync(dir), false);
    }
  });

  it('an unknown flag or protocol is a usage error (exit 2)', async () => {
    for (const args of [['--frobnicate'], ['--protocol', 'paxos']]) {
      const dir = freshDir();
      const run = await init(['--dir', dir, ...args]);
      assert.equal(run.code, 2, args.join(' '));
      assert.ok(run.error instanceof CommanderError);
      assert.equal(existsSync(dir), false);
    }
  });
});
