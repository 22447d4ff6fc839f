/** What `POST /v1/leave` does with each answer the election can give to removing this node. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decideLeave, removeSelf } from './leave.js';
import { FakeControlSource, SELF_ID } from './testing.js';

const raft = { name: 'n3', protocol: 'raft', hasConfiguration: true, force: false };
const bully = { name: 'n3', protocol: 'bully', hasConfiguration: false, force: false };

describe('decideLeave', () => {
  it('a removal that succeeded stops, saying so', () => {
    assert.deepEqual(decideLeave({ ok: true, detail: 'removed at 12' }, raft), { ok: true, removed: true, detail: 'removed at 12', stopping: true });
  });

  it('bully answers unsupported: nothing to leave, the graceful stop announces the leave', () => {
    const outcome = decideLeave({ ok: false, code: 'unsupported', message: 'bully has no configuration' }, bully);
    assert.ok('ok' in outcome && outcome.removed === false);
  });

  it('a daemon that runs no election stops too', () => {
    assert.ok('ok' in decideLeave({ ok: false, code: 'not-implemented', message: 'none' }, { ...raft, hasConfiguration: false }));
  });

  it('under raft a failed removal (no leader, timeout, unsupported) refuses with its code, unless forced', () => {
    for (const code of ['no-leader', 'timeout', 'unsupported', 'busy']) {
      const refused = decideLeave({ ok: false, code, message: 'why' }, raft);
      assert.ok(!('ok' in refused), code);
      assert.equal(refused.code, code);
      assert.match(refused.message, /n3 .*keeps running.*--force/);
      const forced = decideLeave({ ok: false, code, message: 'why' }, { ...raft, force: true });
      assert.ok('ok' in forced && forced.removed === false && forced.detail.includes(code), code);
    }
  });
});

describe('removeSelf', () => {
  it('sends remove for this node and returns the answer', async () => {
    const source = new FakeControlSource();
    assert.deepEqual(await removeSelf(source, SELF_ID), { ok: true, detail: 'done' });
    assert.deepEqual(source.commands, [{ kind: 'remove', id: SELF_ID }]);
  });

  it('no election is not-implemented; no answer in time is a timeout', async () => {
    const source = new FakeControlSource();
    source.commandResult = null;
    assert.equal(((await removeSelf(source, SELF_ID)) as { code: string }).code, 'not-implemented');
    source.commandResult = () => new Promise(() => undefined);
    assert.equal(((await removeSelf(source, SELF_ID, 10)) as { code: string }).code, 'timeout');
  });
});
