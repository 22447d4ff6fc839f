/** planReload: which changed fields a running daemon takes on, which wait for a restart, and the config it keeps. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LIVE_FIELDS, planReload, SWITCH_FIELD } from './reload.js';
import { loadConfig } from './load.js';
import type { ConclaveConfig } from './types.js';

const base = (): ConclaveConfig => loadConfig({ env: { HOME: '/home/tester' }, flags: { name: 'n1' }, cwd: '/' });

/** `base()` with `edit` applied to a copy. */
function edited(edit: (c: ConclaveConfig) => void): ConclaveConfig {
  const c = base();
  edit(c);
  return c;
}

const fields = (changes: { field: string }[]) => changes.map((c) => c.field);

describe('planReload', () => {
  it('live fields are applied, every other changed field needs a restart, each with its dotted path and both values', () => {
    const running = base();
    const next = edited((c) => {
      c.log.level = 'debug';
      c.hooks.onLeader = ['/usr/bin/systemctl', 'start', 'job'];
      c.hooks.timeoutMs = 5000;
      c.membership.suspectAfterMs = 3000;
      c.messaging.maxFrameBytes = 131_072;
      c.listen = ['/ip4/0.0.0.0/tcp/7501'];
      c.bully.leaseMs = 9000;
      c.raft.electionTimeoutMs = 4000;
      c.cluster.bootstrapExpect = 5;
      c.log.format = 'json';
    });
    const plan = planReload(running, next, { canSwitchProtocol: false });
    assert.deepEqual(plan.applied, [
      { field: 'membership.suspectAfterMs', from: running.membership.suspectAfterMs, to: 3000 },
      { field: 'hooks.onLeader', from: null, to: ['/usr/bin/systemctl', 'start', 'job'] },
      { field: 'hooks.timeoutMs', from: 30_000, to: 5000 },
      { field: 'log.level', from: 'info', to: 'debug' },
    ]);
    assert.deepEqual(fields(plan.needsRestart), ['cluster.bootstrapExpect', 'listen', 'messaging.maxFrameBytes', 'bully.leaseMs', 'raft.electionTimeoutMs', 'log.format']);
    assert.deepEqual(plan.needsRestart.find((c) => c.field === 'listen'), { field: 'listen', from: ['/ip4/0.0.0.0/tcp/7401'], to: ['/ip4/0.0.0.0/tcp/7501'] });
    assert.equal(plan.requestProtocol, null);
  });

  it('the new config takes the applied values and keeps the running value of every field that needs a restart', () => {
    const running = base();
    const before = structuredClone(running);
    const next = edited((c) => {
      c.log.level = 'warn';
      c.membership.heartbeatIntervalMs = 500;
      c.node.priority = 9;
      c.dataDir = '/elsewhere';
    });
    const { config } = planReload(running, next, { canSwitchProtocol: false });
    assert.deepEqual(config, { ...before, log: { ...before.log, level: 'warn' }, membership: { ...before.membership, heartbeatIntervalMs: 500 } });
    assert.deepEqual(running, before, 'the running config is not modified');
    next.hooks.timeoutMs = 1;
    assert.equal(config.hooks.timeoutMs, before.hooks.timeoutMs, 'shares nothing with the loaded config');
  });

  it('a changed membership preset applies its timings live; the raft timings fitted to it need a restart', () => {
    const running = base();
    const next = loadConfig({ env: { HOME: '/home/tester' }, flags: { name: 'n1', preset: 'wan' }, cwd: '/' });
    const plan = planReload(running, next, { canSwitchProtocol: false });
    assert.ok(fields(plan.applied).every((f) => f.startsWith('membership.')), JSON.stringify(plan.applied));
    assert.ok(fields(plan.applied).includes('membership.preset') && fields(plan.applied).includes('membership.suspectAfterMs'));
    assert.ok(plan.needsRestart.length > 0 && fields(plan.needsRestart).every((f) => f.startsWith('raft.')), JSON.stringify(plan.needsRestart));
  });

  it('protocol: requested of the cluster when a switch can be asked (the config then holds what the node asks for), else a restart', () => {
    const running = base();
    const next = edited((c) => (c.protocol = 'raft'));
    const asked = planReload(running, next, { canSwitchProtocol: true });
    assert.deepEqual(asked.applied, [{ field: 'protocol', from: 'bully', to: 'raft', note: 'requested' }]);
    assert.deepEqual(asked.needsRestart, []);
    assert.equal(asked.requestProtocol, 'raft');
    assert.equal(asked.config.protocol, 'raft', 'what the node asks for: the next reload diffs against it');
    assert.equal(planReload(asked.config, running, { canSwitchProtocol: true }).requestProtocol, 'bully', 'edited back: asked again');
    const restart = planReload(running, next, { canSwitchProtocol: false });
    assert.deepEqual(restart.applied, []);
    assert.deepEqual(restart.needsRestart, [{ field: 'protocol', from: 'bully', to: 'raft' }]);
    assert.equal(restart.requestProtocol, null);
  });

  it('nothing changed: both lists empty', () => {
    const plan = planReload(base(), base(), { canSwitchProtocol: true });
    assert.deepEqual([plan.applied, plan.needsRestart, plan.requestProtocol], [[], [], null]);
  });

  it('a changed API token is listed as needing a restart without showing either token', () => {
    const running = edited((c) => (c.api.token = 'old-secret'));
    const plan = planReload(running, edited((c) => (c.api.token = 'new-secret')), { canSwitchProtocol: false });
    assert.deepEqual(plan.needsRestart, [{ field: 'api.token', from: '<redacted>', to: '<redacted>' }]);
    assert.deepEqual(planReload(base(), running, { canSwitchProtocol: false }).needsRestart, [{ field: 'api.token', from: null, to: '<redacted>' }]);
  });

  it('every live field names a field of the config, so a renamed one cannot silently turn into a restart', () => {
    const config = base() as unknown as Record<string, Record<string, unknown>>;
    for (const field of [...LIVE_FIELDS, SWITCH_FIELD]) {
      const [head, leaf] = field.split('.');
      const value = leaf === undefined ? config[head!] : config[head!]?.[leaf];
      assert.notEqual(value, undefined, field);
    }
  });
});
