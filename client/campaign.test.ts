/**
 * The client library's named elections against a real API server over a fake daemon with a real
 * store: campaign resolves once leading with the key's create revision as token, hands over on
 * resign, and its signal aborts when the session ends, when no keep-alive gets through in time,
 * or when the caller gives up; observe() follows the leader.
 */
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { startFakeDaemon, type FakeDaemon } from '../daemon/api/fake-daemon.js';
import type { FakeControlSource } from '../daemon/api/testing.js';
import { until } from '../shared/testing.js';
import type { ElectionObserved } from '../daemon/api/types.js';
import { candidateKey } from '../protocols/kv/election.js';
import { kvRequestError } from '../protocols/kv/requests.js';
import { LeadershipLostError } from './errors.js';
import { Conclave } from './index.js';

const reasonOf = (signal: AbortSignal) => (signal.reason as LeadershipLostError).reason;

describe('Conclave.campaign and observe', () => {
  let daemon: FakeDaemon;
  let source: FakeControlSource;
  let conclave: Conclave;
  beforeEach(async () => {
    daemon = await startFakeDaemon();
    source = daemon.source;
    conclave = new Conclave({ api: daemon.api });
  });
  afterEach(() => daemon.close());

  it('the first campaign leads with its key\'s create revision; the second leads under a higher token once the first resigns', async () => {
    const observed: ElectionObserved[] = [];
    const stopObserving = new AbortController();
    const observing = (async () => {
      for await (const o of conclave.observe('jobs', { signal: stopObserving.signal })) observed.push(o);
    })();
    const first = await conclave.campaign('jobs', { value: 'host-a' });
    assert.equal(first.fencingToken, source.kvStore.get(first.key)!.createRevision);
    assert.equal((await conclave.electionLeader('jobs'))?.value, 'host-a');
    let secondDone = false;
    const second = conclave.campaign('jobs', { value: 'host-b' }).then((r) => {
      secondDone = true;
      return r;
    });
    await until('two candidates', () => source.kvStore.range('conclave/elections/jobs/').kvs.length === 2);
    await sleep(50);
    assert.equal(secondDone, false, 'the second waits while the first leads');
    await first.resign();
    assert.equal(reasonOf(first.signal), 'closed');
    assert.equal(source.kvStore.session(first.session), null, 'its session is ended too');
    const reign = await second;
    assert.ok(reign.fencingToken > first.fencingToken);
    assert.equal(reign.signal.aborted, false);
    await until('both leaders observed', () => observed.filter((o) => o.leader !== null).length >= 2);
    assert.deepEqual(observed.filter((o) => o.leader !== null).map((o) => o.leader!.value).slice(0, 2), ['host-a', 'host-b']);
    assert.deepEqual((await conclave.elections()).map((e) => [e.name, e.leader?.value, e.candidates]), [['jobs', 'host-b', 1]]);
    stopObserving.abort();
    await observing;
    await reign.resign();
  });

  it('the session ended under the reign (its node declared dead): the signal aborts `lost`', async () => {
    const reign = await conclave.campaign('jobs', { ttlMs: 5000 });
    await source.kv({ kind: 'write', op: { kind: 'sessionRevoke', id: reign.session, reason: 'node-dead' } });
    await until('lost', () => reign.signal.aborted);
    assert.ok(reign.signal.reason instanceof LeadershipLostError);
    assert.equal(reasonOf(reign.signal), 'lost');
    assert.equal(reign.signal.reason.fencingToken, reign.fencingToken);
  });

  it('no keep-alive gets through within the TTL: the signal aborts `lease-expired` (the session may be gone by now)', async () => {
    const reign = await conclave.campaign('jobs', { ttlMs: 1000 });
    source.kvRefusal = kvRequestError('no-leader', 'electing');
    await until('expired', () => reign.signal.aborted);
    assert.equal(reasonOf(reign.signal), 'lease-expired');
    source.kvRefusal = null;
  });

  it('the daemon gone (its socket refuses connections) ends the reign at once: `daemon-gone`, well before the TTL', async () => {
    const reign = await conclave.campaign('jobs', { ttlMs: 60_000 });
    await daemon.server.close();
    await until('ended', () => reign.signal.aborted);
    assert.equal(reasonOf(reign.signal), 'daemon-gone');
  });

  it('giving up before leading withdraws the candidate and ends its session', async () => {
    const first = await conclave.campaign('jobs');
    const controller = new AbortController();
    const waiting = conclave.campaign('jobs', { signal: controller.signal });
    await until('queued', () => source.kvStore.range('conclave/elections/jobs/').kvs.length === 2);
    controller.abort(new Error('not needed'));
    await assert.rejects(waiting, /not needed/);
    await until('withdrawn', () => source.kvStore.range('conclave/elections/jobs/').kvs.length === 1);
    assert.equal(source.kvStore.sessions().length, 1, 'only the leader\'s session is left');
    assert.notEqual(source.kvStore.get(candidateKey('jobs', first.session)), null);
    await first.resign();
  });

  it('the session ends while the candidate waits: the campaign rejects with SessionEndedError', async () => {
    const first = await conclave.campaign('jobs');
    const waiting = conclave.campaign('jobs');
    await until('queued', () => source.kvStore.range('conclave/elections/jobs/').kvs.length === 2);
    const second = source.kvStore.range('conclave/elections/jobs/').kvs.find((kv) => kv.session !== first.session)!;
    await source.kv({ kind: 'write', op: { kind: 'sessionRevoke', id: second.session!, reason: 'expired' } });
    await assert.rejects(waiting, { name: 'SessionEndedError' });
    await first.resign();
  });

  it('under Bully (no store) a campaign rejects with ApiError not-raft', async () => {
    source.kvRefusal = kvRequestError('not-raft', 'the key-value store needs protocol: raft');
    await assert.rejects(conclave.campaign('jobs'), { name: 'ApiError', code: 'not-raft' });
  });
});
