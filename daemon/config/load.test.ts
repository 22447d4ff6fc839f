import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { MEMBERSHIP_PRESETS } from '../../protocols/membership/presets.js';
import { DEFAULT_RAFT_CONFIG } from '../../protocols/raft/config.js';
import { RAFT_PRESETS } from '../../protocols/raft/presets.js';
import { ConfigError } from '../errors.js';
import { DEFAULT_BULLY_CONFIG } from './defaults.js';
import { loadConfig, type LoadConfigOptions } from './load.js';

const dir = mkdtempSync(join(tmpdir(), 'conclave-config-test-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const HOME = '/home/tester';
let fileCounter = 0;

function writeConfig(text: string, name = `c${++fileCounter}.yaml`): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

function load(opts: LoadConfigOptions = {}) {
  return loadConfig({ cwd: dir, ...opts, env: { HOME, ...opts.env } });
}

/** The ConfigError loadConfig throws; fails the test if it does not throw one. */
function configError(opts: LoadConfigOptions): ConfigError {
  try {
    load(opts);
  } catch (err) {
    assert.equal((err as Error).name, 'ConfigError');
    assert.equal((err as ConfigError).exitCode, 2);
    return err as ConfigError;
  }
  assert.fail('expected a ConfigError');
}

function issuePaths(err: ConfigError): string[] {
  return err.issues.map((i) => i.path);
}

describe('defaults', () => {
  it('without file, env or flags every field has its documented default', () => {
    const c = load({ flags: { name: 'n1' } });
    assert.equal(c.cluster.name, 'conclave');
    assert.deepEqual(c.node, { name: 'n1', priority: 0 });
    assert.equal(c.protocol, 'bully');
    assert.deepEqual(c.listen, ['/ip4/0.0.0.0/tcp/7401']);
    assert.deepEqual(c.api, { listen: '127.0.0.1:7400', token: null });
    assert.deepEqual(c.discovery, { mdns: { enabled: true, intervalMs: 1000, idleIntervalMs: 30_000 }, bootstrap: [], reconnectTimeoutMs: 3_600_000 });
    assert.deepEqual(c.membership, { preset: 'lan', ...MEMBERSHIP_PRESETS.lan });
    assert.deepEqual(c.messaging, { maxFrameBytes: 65536, linkPort: 0 });
    assert.deepEqual(c.bully, { ...DEFAULT_BULLY_CONFIG });
    assert.deepEqual(c.raft, { ...DEFAULT_RAFT_CONFIG });
    assert.deepEqual(c.security, { pskFile: null });
    assert.deepEqual(c.log, { level: 'info', format: 'pretty', file: null });
  });

  it('dataDir defaults to ~/.local/state/conclave/<cluster>/<node>, or under an absolute XDG_STATE_HOME', () => {
    assert.equal(load({ flags: { name: 'n1', cluster: 'blue' } }).dataDir, `${HOME}/.local/state/conclave/blue/n1`);
    assert.equal(load({ flags: { name: 'n1' }, env: { XDG_STATE_HOME: '/var/state' } }).dataDir, '/var/state/conclave/conclave/n1');
    // The XDG spec says relative values are to be ignored.
    assert.equal(load({ flags: { name: 'n1' }, env: { XDG_STATE_HOME: 'rel' } }).dataDir, `${HOME}/.local/state/conclave/conclave/n1`);
  });

  it('loading twice gives independent objects (defaults are not shared or mutated)', () => {
    const a = load({ flags: { name: 'a' } });
    a.listen.push('/ip4/127.0.0.1/tcp/1');
    a.bully.leaseMs = 1;
    const b = load({ flags: { name: 'b' } });
    assert.deepEqual(b.listen, ['/ip4/0.0.0.0/tcp/7401']);
    assert.equal(b.bully.leaseMs, 3000);
  });
});

describe('precedence: defaults < file < env < flags, field by field', () => {
  const file = writeConfig(
    [
      'cluster: from-file',
      'node: { name: file-node, priority: 1 }',
      'protocol: raft',
      'dataDir: /data/file',
      'listen: [/ip4/127.0.0.1/tcp/1001]',
      'api: { listen: "127.0.0.1:1002", token: file-token }',
      'discovery: { mdns: { enabled: true, intervalMs: 250 }, bootstrap: [/ip4/127.0.0.1/tcp/1003] }',
      'membership: { preset: local }',
      'security: { pskFile: /keys/file.key }',
      'log: { level: warn, format: json }',
    ].join('\n'),
  );
  const env = {
    CONCLAVE_CLUSTER: 'from-env',
    CONCLAVE_NODE_NAME: 'env-node',
    CONCLAVE_NODE_PRIORITY: '2',
    CONCLAVE_PROTOCOL: 'bully',
    CONCLAVE_DATA_DIR: '/data/env',
    CONCLAVE_LISTEN: '/ip4/127.0.0.1/tcp/2001,/ip4/127.0.0.2/tcp/2001',
    CONCLAVE_API: '127.0.0.1:2002',
    CONCLAVE_API_TOKEN: 'env-token',
    CONCLAVE_MDNS: 'false',
    CONCLAVE_BOOTSTRAP: '/ip4/127.0.0.1/tcp/2003',
    CONCLAVE_LOG_LEVEL: 'debug',
    CONCLAVE_LOG_FORMAT: 'pretty',
    CONCLAVE_PSK_FILE: '/keys/env.key',
    CONCLAVE_MEMBERSHIP_PRESET: 'wan',
  };
  const flags = {
    cluster: 'from-flags',
    name: 'flag-node',
    priority: '3',
    protocol: 'raft',
    dataDir: '/data/flags',
    listen: ['/ip4/127.0.0.1/tcp/3001'],
    api: '127.0.0.1:3002',
    bootstrap: ['/ip4/127.0.0.1/tcp/3003'],
    mdns: true,
    logLevel: 'error',
    logFormat: 'json',
    preset: 'lan',
  };

  it('the file overrides defaults', () => {
    const c = load({ file });
    assert.equal(c.cluster.name, 'from-file');
    assert.deepEqual(c.node, { name: 'file-node', priority: 1 });
    assert.equal(c.protocol, 'raft');
    assert.equal(c.dataDir, '/data/file');
    assert.deepEqual(c.listen, ['/ip4/127.0.0.1/tcp/1001']);
    assert.deepEqual(c.api, { listen: '127.0.0.1:1002', token: 'file-token' });
    assert.deepEqual(c.discovery, { mdns: { enabled: true, intervalMs: 250, idleIntervalMs: 30_000 }, bootstrap: ['/ip4/127.0.0.1/tcp/1003'], reconnectTimeoutMs: 3_600_000 });
    assert.equal(c.membership.preset, 'local');
    assert.equal(c.security.pskFile, '/keys/file.key');
    assert.deepEqual(c.log, { level: 'warn', format: 'json', file: null });
  });

  it('env overrides the file, and leaves fields it does not set alone', () => {
    const c = load({ file, env });
    assert.equal(c.cluster.name, 'from-env');
    assert.deepEqual(c.node, { name: 'env-node', priority: 2 });
    assert.equal(c.protocol, 'bully');
    assert.equal(c.dataDir, '/data/env');
    assert.deepEqual(c.listen, ['/ip4/127.0.0.1/tcp/2001', '/ip4/127.0.0.2/tcp/2001']);
    assert.deepEqual(c.api, { listen: '127.0.0.1:2002', token: 'env-token' });
    assert.deepEqual(c.discovery, { mdns: { enabled: false, intervalMs: 250, idleIntervalMs: 30_000 }, bootstrap: ['/ip4/127.0.0.1/tcp/2003'], reconnectTimeoutMs: 3_600_000 });
    assert.deepEqual(c.membership, { preset: 'wan', ...MEMBERSHIP_PRESETS.wan });
    assert.equal(c.security.pskFile, '/keys/env.key');
    assert.deepEqual(c.log, { level: 'debug', format: 'pretty', file: null });
  });

  it('flags override env and the file', () => {
    const c = load({ file, env, flags });
    assert.equal(c.cluster.name, 'from-flags');
    assert.deepEqual(c.node, { name: 'flag-node', priority: 3 });
    assert.equal(c.protocol, 'raft');
    assert.equal(c.dataDir, '/data/flags');
    assert.deepEqual(c.listen, ['/ip4/127.0.0.1/tcp/3001']);
    // No flag sets the token: env's stays.
    assert.deepEqual(c.api, { listen: '127.0.0.1:3002', token: 'env-token' });
    assert.deepEqual(c.discovery, { mdns: { enabled: true, intervalMs: 250, idleIntervalMs: 30_000 }, bootstrap: ['/ip4/127.0.0.1/tcp/3003'], reconnectTimeoutMs: 3_600_000 });
    assert.deepEqual(c.membership, { preset: 'lan', ...MEMBERSHIP_PRESETS.lan });
    assert.deepEqual(c.log, { level: 'error', format: 'json', file: null });
  });

  it('--no-mdns (mdns: false) turns off discovery a file turned on', () => {
    assert.equal(load({ file, flags: { mdns: false } }).discovery.mdns.enabled, false);
  });

  it('CONCLAVE_CONFIG names the file when no --config is given; --config wins over it', () => {
    const other = writeConfig('cluster: other-file\n');
    assert.equal(load({ env: { CONCLAVE_CONFIG: file } }).cluster.name, 'from-file');
    assert.equal(load({ file: other, env: { CONCLAVE_CONFIG: file } }).cluster.name, 'other-file');
  });
});

describe('membership preset and overrides', () => {
  it('an explicit timing overrides its preset value, even when a later layer picks the preset', () => {
    const file = writeConfig('membership:\n  preset: lan\n  heartbeatIntervalMs: 250\n');
    const c = load({ file, flags: { preset: 'wan', name: 'n' } });
    assert.deepEqual(c.membership, { ...MEMBERSHIP_PRESETS.wan, preset: 'wan', heartbeatIntervalMs: 250 });
  });

  it('raft timings follow the preset; a raft field set explicitly overrides it', () => {
    assert.deepEqual(load({ flags: { preset: 'wan', name: 'n' } }).raft, { ...DEFAULT_RAFT_CONFIG, ...RAFT_PRESETS.wan });
    const file = writeConfig('raft:\n  electionTimeoutMs: 2000\n');
    assert.deepEqual(load({ file, flags: { preset: 'wan', name: 'n' } }).raft, { ...DEFAULT_RAFT_CONFIG, ...RAFT_PRESETS.wan, electionTimeoutMs: 2000 });
    assert.notDeepEqual(RAFT_PRESETS.wan, RAFT_PRESETS.lan, 'the presets differ, so this test can tell them apart');
  });
});

describe('paths', () => {
  it('relative paths in a file are relative to the file; in env and flags, to cwd', () => {
    const sub = join(dir, 'sub');
    mkdirSync(sub, { recursive: true });
    const file = writeConfig('dataDir: data\nsecurity: { pskFile: ../swarm.key }\nlog: { file: logs/d.log }\n', 'sub/paths.yaml');
    const fromFile = load({ file });
    assert.equal(fromFile.dataDir, join(sub, 'data'));
    assert.equal(fromFile.security.pskFile, join(dir, 'swarm.key'));
    assert.equal(fromFile.log.file, join(sub, 'logs/d.log'));
    const cwd = '/srv/conclave';
    assert.equal(load({ file, cwd, env: { CONCLAVE_DATA_DIR: 'env-data' } }).dataDir, '/srv/conclave/env-data');
    assert.equal(load({ file, cwd, flags: { dataDir: 'flag-data' } }).dataDir, '/srv/conclave/flag-data');
  });

  it('a leading ~/ is the home directory', () => {
    assert.equal(load({ flags: { dataDir: '~/conclave' } }).dataDir, `${HOME}/conclave`);
  });
});

describe('file errors', () => {
  it('an unknown key is an error naming its full path, with a suggestion', () => {
    const err = configError({ file: writeConfig('bully:\n  answerTimeoutMS: 100\n') });
    assert.deepEqual(issuePaths(err), ['bully.answerTimeoutMS']);
    assert.match(err.issues[0]!.message, /unknown key/);
    assert.match(err.issues[0]!.message, /answerTimeoutMs/);
  });

  it('a wrong type names the path and the reason, with the file line', () => {
    const file = writeConfig('node:\n  priority: high\n', 'wrong-type.yaml');
    const err = configError({ file });
    assert.deepEqual(issuePaths(err), ['node.priority']);
    assert.match(err.issues[0]!.message, /expected a number, got "high"/);
    assert.match(err.issues[0]!.message, /wrong-type\.yaml:2:/);
  });

  it('messaging.linkPort takes a port, 0 or null, and names the field otherwise', () => {
    assert.equal(load({ file: writeConfig('messaging: { linkPort: 7401 }\n', 'link-fixed.yaml') }).messaging.linkPort, 7401);
    assert.equal(load({ file: writeConfig('messaging: { linkPort: null }\n', 'link-off.yaml') }).messaging.linkPort, null);
    for (const bad of ['-1', '65536', '1.5', 'seven']) {
      const err = configError({ file: writeConfig(`messaging: { linkPort: ${bad} }\n`, 'link-bad.yaml') });
      assert.deepEqual(issuePaths(err), ['messaging.linkPort'], bad);
    }
  });

  it('every issue is reported, not just the first', () => {
    const file = writeConfig(
      ['protocl: bully', 'node: { priority: 1.5 }', 'protocol: paxos', 'listen: [/ip4/127.0.0.1/udp/1]', 'bully: { expectedSize: 0 }', 'cluster: Upper Case'].join('\n'),
    );
    const err = configError({ file });
    assert.deepEqual(issuePaths(err).sort(), ['bully.expectedSize', 'cluster.name', 'listen[0]', 'node.priority', 'protocl', 'protocol']);
    for (const path of issuePaths(err)) assert.ok(err.message.includes(`${path}: `), `message lists ${path}`);
  });

  it('a YAML syntax error reports file:line:col', () => {
    const file = writeConfig('cluster: a\nnode:\n  name: [unclosed\n', 'syntax.yaml');
    const err = configError({ file });
    assert.ok(err.issues.length >= 1);
    assert.match(err.issues[0]!.path, /syntax\.yaml:\d+:\d+$/);
  });

  it('a missing file is an error naming it', () => {
    const err = configError({ file: join(dir, 'nope.yaml') });
    assert.match(err.issues[0]!.path, /nope\.yaml$/);
  });

  it('a file that is not a mapping is an error at the root', () => {
    const err = configError({ file: writeConfig('- a\n- b\n') });
    assert.deepEqual(issuePaths(err), ['(root)']);
  });

  it('an empty file means all defaults; JSON is accepted', () => {
    assert.equal(load({ file: writeConfig(''), flags: { name: 'n' } }).cluster.name, 'conclave');
    assert.equal(load({ file: writeConfig('{"cluster": "json-cluster"}', 'c.json') }).cluster.name, 'json-cluster');
  });

  it('api accepts a host:port shorthand', () => {
    assert.deepEqual(load({ file: writeConfig('api: "[::1]:7500"\n') }).api, { listen: '[::1]:7500', token: null });
  });
});

describe('env errors', () => {
  it('unparseable values name the variable', () => {
    const err = configError({ env: { CONCLAVE_NODE_PRIORITY: 'high', CONCLAVE_MDNS: 'maybe', CONCLAVE_PROTOCOL: 'paxos' } });
    assert.deepEqual(issuePaths(err).sort(), ['env CONCLAVE_MDNS', 'env CONCLAVE_NODE_PRIORITY', 'env CONCLAVE_PROTOCOL']);
  });

  it('an unknown config-like CONCLAVE_ variable is an error with a suggestion; others are left alone', () => {
    const err = configError({ env: { CONCLAVE_LOG_LEVLE: 'debug', CONCLAVE_BULLY_LEASE_MS: '5', CONCLAVE_KEEP_TEST_LOGS: '1', CONCLAVE_WHATEVER: 'x' } });
    assert.deepEqual(issuePaths(err).sort(), ['env CONCLAVE_BULLY_LEASE_MS', 'env CONCLAVE_LOG_LEVLE']);
    assert.match(err.issues.find((i) => i.path === 'env CONCLAVE_LOG_LEVLE')!.message, /CONCLAVE_LOG_LEVEL/);
  });

  it('an empty variable counts as unset', () => {
    assert.equal(load({ env: { CONCLAVE_CLUSTER: '' } }).cluster.name, 'conclave');
  });

  it('a bad list item names the variable', () => {
    const err = configError({ env: { CONCLAVE_BOOTSTRAP: '/ip4/127.0.0.1/tcp/1,not-an-addr' } });
    assert.deepEqual(issuePaths(err), ['env CONCLAVE_BOOTSTRAP']);
  });
});

describe('cluster.bootstrapExpect', () => {
  it('defaults to 3; `cluster: NAME` is shorthand and keeps it; the mapping form sets both', () => {
    assert.deepEqual(load({}).cluster, { name: 'conclave', bootstrapExpect: 3 });
    assert.deepEqual(load({ file: writeConfig('cluster: blue\n') }).cluster, { name: 'blue', bootstrapExpect: 3 });
    assert.deepEqual(load({ file: writeConfig('cluster: { name: blue, bootstrapExpect: 5 }\n') }).cluster, { name: 'blue', bootstrapExpect: 5 });
  });

  it('env CONCLAVE_BOOTSTRAP_EXPECT and --bootstrap-expect set it, flags over env over file; the name stays', () => {
    const file = writeConfig('cluster: { name: blue, bootstrapExpect: 5 }\n');
    assert.deepEqual(load({ file, env: { CONCLAVE_BOOTSTRAP_EXPECT: '4' } }).cluster, { name: 'blue', bootstrapExpect: 4 });
    assert.deepEqual(load({ file, env: { CONCLAVE_BOOTSTRAP_EXPECT: '4' }, flags: { bootstrapExpect: '1' } }).cluster, { name: 'blue', bootstrapExpect: 1 });
  });

  it('must be a whole number from 1: each source is named', () => {
    assert.deepEqual(issuePaths(configError({ file: writeConfig('cluster: { bootstrapExpect: 0 }\n') })), ['cluster.bootstrapExpect']);
    assert.deepEqual(issuePaths(configError({ env: { CONCLAVE_BOOTSTRAP_EXPECT: 'three' } })), ['env CONCLAVE_BOOTSTRAP_EXPECT']);
    assert.deepEqual(issuePaths(configError({ flags: { bootstrapExpect: '2.5' } })), ['--bootstrap-expect']);
    assert.deepEqual(issuePaths(configError({ file: writeConfig('cluster: { name: a, expect: 3 }\n') })), ['cluster.expect']);
  });
});

describe('flag errors', () => {
  it('name the flag', () => {
    const err = configError({ flags: { priority: 'x', api: 'nope', listen: ['/dns4/a/tcp/1'] } });
    assert.deepEqual(issuePaths(err).sort(), ['--api', '--listen', '--priority']);
  });
});

describe('cross-field checks', () => {
  it('a non-loopback api.listen without a token is refused; with a token it is accepted', () => {
    const err = configError({ flags: { api: '0.0.0.0:7400' } });
    assert.deepEqual(issuePaths(err), ['api.token']);
    assert.equal(load({ flags: { api: '0.0.0.0:7400' }, env: { CONCLAVE_API_TOKEN: 's3cret' } }).api.token, 's3cret');
    for (const loopback of ['127.0.0.1:7400', '127.1.2.3:1', 'localhost:7400', '[::1]:7400']) {
      assert.equal(load({ flags: { api: loopback } }).api.token, null, loopback);
    }
  });

  it('membership timings must be consistent', () => {
    const err = configError({ file: writeConfig('membership: { heartbeatIntervalMs: 2000, suspicionMinMs: 3000 }\n') });
    assert.deepEqual(issuePaths(err).sort(), ['membership.suspectAfterMs', 'membership.suspicionMinMs']);
  });

  it('raft.heartbeatIntervalMs must be at most half the election timeout; raft fields are range-checked by path', () => {
    assert.deepEqual(issuePaths(configError({ file: writeConfig('raft: { electionTimeoutMs: 300, heartbeatIntervalMs: 200 }\n') })), ['raft.heartbeatIntervalMs']);
    assert.deepEqual(issuePaths(configError({ file: writeConfig('raft: { maxEntriesPerAppend: 100000, maxInflight: 0 }\n') })).sort(), ['raft.maxEntriesPerAppend', 'raft.maxInflight']);
  });

  it('raft.minQuorum must not exceed raft.maxVoters; voter counts are range-checked', () => {
    assert.deepEqual(issuePaths(configError({ file: writeConfig('raft: { minQuorum: 5, maxVoters: 3 }\n') })), ['raft.minQuorum']);
    assert.deepEqual(issuePaths(configError({ file: writeConfig('raft: { minQuorum: 0, maxVoters: 100, stabilizationMs: -1 }\n') })).sort(), ['raft.maxVoters', 'raft.minQuorum', 'raft.stabilizationMs']);
    const c = load({ file: writeConfig('raft: { maxVoters: 7, minQuorum: 2, stabilizationMs: 5000, deadVoterRemoveMs: 60000 }\n'), flags: { name: 'n' } }).raft;
    assert.deepEqual([c.maxVoters, c.minQuorum, c.stabilizationMs, c.deadVoterRemoveMs], [7, 2, 5000, 60000]);
  });

  it('bully.coordinatorTimeoutMs must cover answerTimeoutMs', () => {
    const err = configError({ file: writeConfig('bully: { answerTimeoutMs: 500, coordinatorTimeoutMs: 100 }\n') });
    assert.deepEqual(issuePaths(err), ['bully.coordinatorTimeoutMs']);
  });
});

describe('hooks', () => {
  it('default to none, with a 30 s timeout', () => {
    assert.deepEqual(load({ flags: { name: 'n1' } }).hooks, { onLeader: null, onFollower: null, onLeaderChange: null, timeoutMs: 30_000 });
  });

  it('take a shell command (string) or an argv list; a later layer may turn one off with null', () => {
    const file = writeConfig('hooks:\n  onLeader: echo "$CONCLAVE_FENCING_TOKEN" >> /tmp/x\n  onFollower: [/usr/bin/logger, stepped down]\n  timeoutMs: 500\n');
    const c = load({ file, flags: { name: 'n1' } });
    assert.deepEqual(c.hooks, { onLeader: 'echo "$CONCLAVE_FENCING_TOKEN" >> /tmp/x', onFollower: ['/usr/bin/logger', 'stepped down'], onLeaderChange: null, timeoutMs: 500 });
  });

  it('bad hooks are reported by field path: empty command, empty argv, wrong type, unknown hook, short timeout', () => {
    const err = configError({
      file: writeConfig('hooks:\n  onLeader: "  "\n  onFollower: []\n  onLeaderChange: 42\n  onLeaderChnage: x\n  timeoutMs: 5\n'),
    });
    assert.deepEqual(issuePaths(err).sort(), ['hooks.onFollower', 'hooks.onLeader', 'hooks.onLeaderChange', 'hooks.onLeaderChnage', 'hooks.timeoutMs']);
    assert.match(err.message, /hooks\.onLeaderChange: expected a shell command \(string\), an argv list of strings, or null/);
    assert.match(err.message, /hooks\.onLeaderChnage: unknown key; did you mean onLeaderChange\?/);
    assert.deepEqual(issuePaths(configError({ file: writeConfig('hooks:\n  onLeader: ["", x]\n') })), ['hooks.onLeader']);
    assert.deepEqual(issuePaths(configError({ file: writeConfig('hooks:\n  onLeader: [x, 3]\n') })), ['hooks.onLeader']);
  });

  it('the variables hooks get are never mistaken for config variables', () => {
    const env = { CONCLAVE_FENCING_TOKEN: '3', CONCLAVE_TERM: '3', CONCLAVE_LEADER_ID: 'x', CONCLAVE_LEADER_NAME: 'n2', CONCLAVE_ROLE: 'leader', CONCLAVE_PREVIOUS_LEADER: '', CONCLAVE_HOOK: 'onLeader' };
    assert.equal(load({ env, flags: { name: 'n1' } }).node.name, 'n1');
    assert.deepEqual(issuePaths(configError({ env: { CONCLAVE_HOOKS_ON_LEADER: 'x' } })), ['env CONCLAVE_HOOKS_ON_LEADER']);
  });
});
