/**
 * ConfigReloader over the loader a daemon starts with and a real config file: what reaches the
 * logger, the hooks and membership, flags that still win over the file, and a malformed file
 * refused whole.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { after, describe, it } from 'node:test';
import { pino } from 'pino';
import type { MembershipTimings } from '../protocols/membership/types.js';
import type { ProtocolName } from '../protocols/types.js';
import { loadConfig, type LoadConfigOptions } from './config/load.js';
import type { ConclaveConfig, LogLevel } from './config/types.js';
import { ConfigReloader, type ReloadTargets } from './reload.js';

const dir = mkdtempSync(join(tmpdir(), 'conclave-reload-test-'));
after(() => rmSync(dir, { recursive: true, force: true }));
let serial = 0;

interface Harness {
  reloader: ConfigReloader;
  /** Rewrites the config file the daemon started with. */
  write(yaml: string): void;
  calls: { logLevel: LogLevel[]; hooks: ConclaveConfig['hooks'][]; timings: MembershipTimings[]; protocol: ProtocolName[] };
  records: { level: number; msg: string; [key: string]: unknown }[];
}

/** A daemon's reloader as `conclave start --config FILE <flags>` builds it, FILE holding `yaml`. */
function harness(yaml: string, opts: { flags?: LoadConfigOptions['flags']; switchable?: boolean } = {}): Harness {
  const file = join(dir, `conclave-${++serial}.yaml`);
  const write = (text: string) => writeFileSync(file, text);
  write(yaml);
  const sources: LoadConfigOptions = { file, flags: { name: 'n1', ...opts.flags }, env: { HOME: dir }, cwd: dir };
  const calls: Harness['calls'] = { logLevel: [], hooks: [], timings: [], protocol: [] };
  const targets: ReloadTargets = {
    setLogLevel: (level) => calls.logLevel.push(level),
    setHooks: (hooks) => calls.hooks.push(hooks),
    setMembershipTimings: (timings) => calls.timings.push(timings),
    ...(opts.switchable ? { requestProtocol: (protocol: ProtocolName) => calls.protocol.push(protocol) } : {}),
  };
  const records: Harness['records'] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString('utf8').split('\n')) if (line) records.push(JSON.parse(line) as Harness['records'][number]);
      done();
    },
  });
  const reloader = new ConfigReloader({ config: loadConfig(sources), load: () => loadConfig(sources), targets, log: pino({ level: 'info' }, sink) });
  return { reloader, write, calls, records };
}

const PINO = { info: 30, warn: 40, error: 50 };

describe('config reload', () => {
  it('hands each live change to what runs it, keeps the running value of the rest, and logs both lists', () => {
    const h = harness('log: { level: info }\nmessaging: { maxFrameBytes: 65536 }\n');
    h.write(
      'log: { level: debug }\nmessaging: { maxFrameBytes: 131072 }\n' +
        'hooks: { onLeader: "echo lead", timeoutMs: 5000 }\nmembership: { heartbeatIntervalMs: 500, suspectAfterMs: 1500 }\n',
    );
    const reply = h.reloader.reload('SIGHUP');
    assert.deepEqual(
      reply.applied.map((c) => [c.field, c.to]),
      [['membership.heartbeatIntervalMs', 500], ['membership.suspectAfterMs', 1500], ['hooks.onLeader', 'echo lead'], ['hooks.timeoutMs', 5000], ['log.level', 'debug']],
    );
    assert.deepEqual(reply.needsRestart, [{ field: 'messaging.maxFrameBytes', from: 65536, to: 131072 }]);
    assert.equal(reply.unchanged, false);
    assert.deepEqual(h.calls.logLevel, ['debug']);
    assert.deepEqual(h.calls.hooks.map((hooks) => [hooks.onLeader, hooks.timeoutMs]), [['echo lead', 5000]]);
    assert.equal(h.calls.timings.length, 1);
    assert.deepEqual(h.calls.timings[0], { heartbeatIntervalMs: 500, suspectAfterMs: 1500, suspicionMinMs: 600, suspicionMaxMs: 2000, forgetAfterMs: 60_000, maxHealthMultiplier: 4 }, 'the timings alone, not the preset name');
    assert.equal(h.reloader.config.log.level, 'debug');
    assert.equal(h.reloader.config.messaging.maxFrameBytes, 65536, 'a restart field keeps its running value');

    const info = h.records.find((r) => r.level === PINO.info)!;
    assert.match(info.msg, /^config reloaded: applied membership\.heartbeatIntervalMs 1000 → 500, .*log\.level "info" → "debug"$/);
    assert.equal(info.trigger, 'SIGHUP');
    const warn = h.records.find((r) => r.level === PINO.warn)!;
    assert.match(warn.msg, /restart: messaging\.maxFrameBytes 65536 → 131072$/);
  });

  it('the next reload compares with what runs: a restart field still changed is listed again, an applied one is not', () => {
    const h = harness('log: { level: info }\n');
    h.write('log: { level: warn }\nnode: { priority: 3 }\n');
    h.reloader.reload('api');
    const again = h.reloader.reload('api');
    assert.deepEqual(again.applied, []);
    assert.deepEqual(again.needsRestart, [{ field: 'node.priority', from: 0, to: 3 }]);
    assert.deepEqual(h.calls.logLevel, ['warn'], 'nothing reapplied');
    h.write('log: { level: warn }\n');
    assert.deepEqual(h.reloader.reload('api'), { applied: [], needsRestart: [], unchanged: true });
    assert.equal(h.records.at(-1)?.msg, 'config reloaded: nothing changed');
  });

  it('flags given at start still win over the file, as they did at start', () => {
    const h = harness('log: { level: info }\nmembership: { preset: lan }\n', { flags: { logLevel: 'debug', preset: 'local' } });
    assert.equal(h.reloader.config.log.level, 'debug');
    h.write('log: { level: error }\nmembership: { preset: wan }\nhooks: { onFollower: "true" }\n');
    const reply = h.reloader.reload('SIGHUP');
    assert.deepEqual(reply.applied.map((c) => c.field), ['hooks.onFollower']);
    assert.deepEqual(reply.needsRestart, []);
    assert.deepEqual([h.calls.logLevel, h.calls.timings], [[], []]);
    assert.equal(h.reloader.config.membership.preset, 'local');
  });

  it('a malformed file is refused whole with the loader\'s field paths: nothing applied, the running config kept, the error logged', () => {
    const h = harness('log: { level: info }\n');
    const running = h.reloader.config;
    h.write('log: { level: loud }\nhooks: { onLeader: "echo lead" }\nmembership: { heartbeatIntervalMs: 3000 }\n');
    assert.throws(() => h.reloader.reload('SIGHUP'), (err: Error & { issues?: { path: string }[] }) => {
      assert.equal(err.name, 'ConfigError');
      assert.deepEqual(err.issues?.map((i) => i.path), ['log.level']);
      return true;
    });
    // Valid field by field, but the combination cannot run: the same cross-field check as at start.
    h.write('hooks: { onLeader: "echo lead" }\nmembership: { heartbeatIntervalMs: 3000 }\n');
    assert.throws(() => h.reloader.reload('api'), (err: Error & { issues?: { path: string }[] }) => {
      assert.deepEqual(err.issues?.map((i) => i.path), ['membership.suspectAfterMs']);
      return true;
    });
    assert.deepEqual(h.calls, { logLevel: [], hooks: [], timings: [], protocol: [] });
    assert.equal(h.reloader.config, running);
    const errors = h.records.filter((r) => r.level === PINO.error);
    assert.equal(errors.length, 2);
    assert.match(errors[0]!.msg, /^config reload refused, still running the previous config: log\.level: expected one of/);
    assert.match(errors[1]!.msg, /membership\.suspectAfterMs: must be greater than heartbeatIntervalMs/);
  });

  it('a changed protocol is requested of the cluster when the daemon can ask, else listed as needing a restart', () => {
    const switchable = harness('protocol: bully\n', { switchable: true });
    switchable.write('protocol: raft\n');
    assert.deepEqual(switchable.reloader.reload('api').applied, [{ field: 'protocol', from: 'bully', to: 'raft', note: 'requested' }]);
    assert.deepEqual(switchable.calls.protocol, ['raft']);
    assert.equal(switchable.reloader.config.protocol, 'raft', 'what the node asks for now');
    // Edited back before or after the switch: asked again (integration: a reload there and back).
    switchable.write('protocol: bully\n');
    assert.deepEqual(switchable.reloader.reload('api').applied, [{ field: 'protocol', from: 'raft', to: 'bully', note: 'requested' }]);
    assert.deepEqual(switchable.calls.protocol, ['raft', 'bully']);

    const fixed = harness('protocol: bully\n');
    fixed.write('protocol: raft\n');
    assert.deepEqual(fixed.reloader.reload('api').needsRestart, [{ field: 'protocol', from: 'bully', to: 'raft' }]);
  });
});
