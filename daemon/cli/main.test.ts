/** The `conclave` binary as users run it: spawned from dist, exit codes and output. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { parse } from 'yaml';

const ROOT = new URL('../../../', import.meta.url).pathname;
const CLI = join(ROOT, 'dist/daemon/cli/main.js');
const work = mkdtempSync(join(tmpdir(), 'conclave-cli-test-'));
after(() => rmSync(work, { recursive: true, force: true }));

/** The shell running the tests may export CONCLAVE_* variables: none of them leak in. */
const baseEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('CONCLAVE_')));

function conclave(args: string[], env: Record<string, string> = {}) {
  return spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', env: { ...baseEnv, HOME: work, ...env }, cwd: work });
}

describe('conclave config check', () => {
  const examples = readdirSync(join(ROOT, 'config')).filter((f) => f.endsWith('.yaml'));

  it('accepts every example file in config/', () => {
    assert.ok(examples.length >= 3, `found ${examples.join(', ')}`);
    for (const name of examples) {
      const file = join(ROOT, 'config', name);
      const r = conclave(['config', 'check', file]);
      assert.equal(r.status, 0, `${name}: ${r.stderr}`);
      assert.equal(r.stdout, `ok: ${file}\n`);
    }
  });

  it('a bad file exits 2 and lists every problem by field path', () => {
    const file = join(work, 'bad.yaml');
    writeFileSync(file, 'node:\n  priority: high\nprotocl: bully\napi: 0.0.0.0:7400\n');
    const r = conclave(['config', 'check', file]);
    assert.equal(r.status, 2);
    assert.equal(r.stdout, '');
    assert.match(r.stderr, /^conclave: /);
    assert.match(r.stderr, /node\.priority: /);
    assert.match(r.stderr, /protocl: /);
    assert.ok(r.stderr.includes(file), 'names the file');
  });

  it('a non-loopback api without a token is reported', () => {
    const file = join(work, 'open-api.yaml');
    writeFileSync(file, 'api: 0.0.0.0:7400\n');
    const r = conclave(['config', 'check', file]);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /api\.token: /);
  });

  it('checks the file alone: CONCLAVE_* variables of the calling shell do not change the verdict', () => {
    const file = join(ROOT, 'config', 'bully.yaml');
    assert.equal(conclave(['config', 'check', file], { CONCLAVE_PROTOCOL: 'paxos', CONCLAVE_LOG_LEVLE: 'x' }).status, 0);
  });
});

describe('conclave config print', () => {
  it('prints the effective config as YAML, flags over env, with the token redacted', () => {
    const r = conclave(['config', 'print', '--name', 'printer', '--priority', '7', '--no-mdns'], { CONCLAVE_API_TOKEN: 'top-secret', CONCLAVE_CLUSTER: 'env-cluster', CONCLAVE_NODE_NAME: 'env-name' });
    assert.equal(r.status, 0, r.stderr);
    assert.ok(!r.stdout.includes('top-secret'), 'token must not be printed');
    const config = parse(r.stdout) as { cluster: { name: string }; node: { name: string; priority: number }; api: { token: string }; discovery: { mdns: { enabled: boolean } } };
    assert.equal(config.cluster.name, 'env-cluster');
    assert.deepEqual(config.node, { name: 'printer', priority: 7 });
    assert.equal(config.api.token, '<redacted>');
    assert.equal(config.discovery.mdns.enabled, false);
  });

  it('--json prints JSON; a file given with --config is applied', () => {
    const file = join(work, 'print.yaml');
    writeFileSync(file, 'cluster: from-file\nnode: { name: filed }\n');
    const r = conclave(['config', 'print', '--json', '--config', file]);
    assert.equal(r.status, 0, r.stderr);
    const config = JSON.parse(r.stdout) as { cluster: { name: string }; node: { name: string }; api: { token: null } };
    assert.equal(config.cluster.name, 'from-file');
    assert.equal(config.node.name, 'filed');
    assert.equal(config.api.token, null);
  });
});

describe('conclave init', () => {
  it('writes swarm.key and conclave.yaml that `config check` accepts; a second run refuses, exit 1, naming the file', () => {
    const dir = join(work, 'init');
    const first = conclave(['init', '--dir', dir, '--cluster', 'lab']);
    assert.equal(first.status, 0, first.stderr);
    assert.match(first.stdout, /^wrote .*swarm\.key/m);
    assert.equal(conclave(['config', 'check', join(dir, 'conclave.yaml')]).status, 0);
    const again = conclave(['init', '--dir', dir]);
    assert.equal(again.status, 1);
    assert.match(again.stderr, /^conclave: .*swarm\.key already exists/);
  });

  it('an unknown flag prints usage and exits 2', () => {
    const r = conclave(['init', '--frobnicate']);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /Usage: conclave init/);
  });
});

describe('usage errors', () => {
  it('an unknown flag prints the error and usage on stderr and exits 2', () => {
    const r = conclave(['start', '--frobnicate']);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /--frobnicate/);
    assert.match(r.stderr, /Usage: conclave start/);
  });

  it('an unknown command exits 2', () => {
    const r = conclave(['frobnicate']);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /frobnicate/);
  });

  it('a bad flag value for start exits 2 naming the flag, before creating any data dir', () => {
    const dataDir = join(work, 'never');
    const r = conclave(['start', '--priority', 'high', '--data-dir', dataDir]);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /--priority: /);
    assert.equal(existsSync(dataDir), false);
  });

  it('--version prints the package version and exits 0', () => {
    const r = conclave(['--version']);
    assert.equal(r.status, 0);
    const { version } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
    assert.equal(r.stdout.trim(), version);
  });
});

describe('the fast path of the reporting commands', () => {
  it('status, leader, is-leader, kv, elections, run and reload load no libp2p, blessed, zod, config or dashboard module, and the first three not even commander', () => {
    for (const args of [['status'], ['leader'], ['is-leader'], ['kv', 'get', 'k'], ['elections', 'show', 'jobs'], ['run', '--help'], ['reload']]) {
      const record = join(work, `loads-${args[0]}.txt`);
      spawnSync(process.execPath, ['--import', join(ROOT, 'test/support/record-loads.mjs'), CLI, ...args, '--api', 'unix:/nonexistent'], {
        encoding: 'utf8',
        env: { ...baseEnv, CONCLAVE_RECORD_LOADS: record },
      });
      const loaded = readFileSync(record, 'utf8').split('\n').filter(Boolean);
      assert.ok(loaded.some((url) => url.endsWith('/dist/daemon/cli/report-actions.js')), `${args[0]}: recorded`);
      const heavy = loaded.filter((url) => /libp2p|multiformats|blessed|\/zod\/|\/yaml\/|pino|prom-client|\/daemon\/config\/|\/tui\/|\/daemon\/cli\/start\.js/.test(url));
      assert.deepEqual(heavy, [], args.join(' '));
      // The plain forms of the three are answered without commander (quick.ts); `kv` and `run` need it.
      const parser = loaded.filter((url) => /\/commander\//.test(url));
      if (args[0] === 'run' || args[0] === 'kv' || args[0] === 'elections' || args[0] === 'reload') assert.notDeepEqual(parser, [], `${args[0]}: through commander`);
      else assert.deepEqual(parser, [], `${args[0]}: no commander`);
    }
  });
});
