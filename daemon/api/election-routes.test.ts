/** The named-election routes against a fake source backed by a real store: campaign, resign, observe, and the keys the daemon keeps. */
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { until } from '../../shared/testing.js';
import { candidateKey } from '../../protocols/kv/election.js';
import { kvRequestError } from '../../protocols/kv/requests.js';
import { callJson, openStream } from './http-testing.js';
import { MAX_CAMPAIGNS } from './election-routes.js';
import { startFakeDaemon, type FakeDaemon } from './fake-daemon.js';
import type { FakeControlSource } from './testing.js';
import type { ElectionObserved } from './types.js';

describe('/v1/elections', () => {
  let daemon: FakeDaemon;
  let source: FakeControlSource;
  let port: number;
  beforeEach(async () => {
    daemon = await startFakeDaemon({ tcp: true });
    source = daemon.source;
    port = daemon.port!;
  });
  afterEach(() => daemon.close());

  const call = (method: string, path: string, body?: unknown, signal?: AbortSignal) => callJson(port, method, path, body, signal);
  const session = async () => (await call('POST', '/v1/sessions', { ttlMs: 5000 })).json.id as string;

  it('the first campaign leads under its create revision; the second waits, and leads under a higher token once the first resigns; observers see each leader', async () => {
    const [s1, s2] = [await session(), await session()];
    const first = await call('POST', '/v1/elections/jobs/campaign', { session: s1, value: 'host-a' });
    assert.equal(first.status, 200, JSON.stringify(first.json));
    assert.equal(first.json.elected, true);
    const leader1 = first.json.leader as { key: string; token: number; value: string; session: string };
    assert.deepEqual([leader1.key, leader1.value, leader1.session], [candidateKey('jobs', s1), 'host-a', s1]);
    assert.equal(leader1.token, source.kvStore.get(leader1.key)!.createRevision, 'the token is the key\'s create revision');

    const observer = await openStream<ElectionObserved>(port, '/v1/elections/jobs/observe');
    assert.equal(observer.status, 200);
    await until('the first leader observed', () => observer.events.length === 1);
    assert.equal(observer.events[0]!.data.leader?.token, leader1.token);

    let second: Awaited<ReturnType<typeof call>> | null = null;
    const waiting = call('POST', '/v1/elections/jobs/campaign', { session: s2, value: 'host-b' }).then((r) => (second = r));
    await until('the second key', () => source.kvStore.get(candidateKey('jobs', s2)) !== null);
    await sleep(50);
    assert.equal(second, null, 'the second waits while the first leads');
    const shown = await call('GET', '/v1/elections/jobs');
    assert.deepEqual((shown.json.candidates as { session: string }[]).map((c) => c.session), [s1, s2]);
    assert.equal((shown.json.leader as { session: string }).session, s1);

    const resigned = await call('POST', '/v1/elections/jobs/resign', { session: s1, token: leader1.token });
    assert.deepEqual([resigned.status, resigned.json.resigned], [200, true]);
    await waiting;
    assert.equal(second!.status, 200);
    const leader2 = second!.json.leader as { token: number; session: string };
    assert.equal(leader2.session, s2);
    assert.ok(leader2.token > leader1.token, 'a higher token');
    await until('the second leader observed', () => observer.events.length === 2);
    assert.equal(observer.events[1]!.data.leader?.session, s2);
    observer.close();

    const again = await call('POST', '/v1/elections/jobs/resign', { session: s1, token: leader1.token });
    assert.equal(again.json.resigned, false, 'resigning a key already gone changes nothing');
    const listed = await call('GET', '/v1/elections');
    assert.deepEqual(listed.json.elections, [{ name: 'jobs', leader: second!.json.leader, candidates: 1 }]);
  });

  it('closing a waiting campaign withdraws its candidate; a session ended while waiting answers 409 lost', async () => {
    const [s1, s2, s3] = [await session(), await session(), await session()];
    await call('POST', '/v1/elections/jobs/campaign', { session: s1 });
    const abort = new AbortController();
    const withdrawn = call('POST', '/v1/elections/jobs/campaign', { session: s2 }, abort.signal).catch((err: Error) => err);
    await until('the second key', () => source.kvStore.get(candidateKey('jobs', s2)) !== null);
    abort.abort();
    await withdrawn;
    await until('the withdrawn key deleted', () => source.kvStore.get(candidateKey('jobs', s2)) === null);

    const lost = call('POST', '/v1/elections/jobs/campaign', { session: s3 });
    await until('the third key', () => source.kvStore.get(candidateKey('jobs', s3)) !== null);
    await call('DELETE', `/v1/sessions/${s3}`);
    const reply = await lost;
    assert.deepEqual([reply.status, reply.json.error?.code], [409, 'lost']);
  });

  it('a campaign that waits past waitMs answers elected: false and stays queued; campaigning again resumes its place', async () => {
    const [s1, s2] = [await session(), await session()];
    await call('POST', '/v1/elections/jobs/campaign', { session: s1 });
    const waited = await call('POST', '/v1/elections/jobs/campaign?waitMs=50', { session: s2, value: 'b' });
    const key = candidateKey('jobs', s2);
    const token = source.kvStore.get(key)!.createRevision;
    assert.deepEqual(waited.json, { elected: false, queued: { key, token } });
    const resumed = call('POST', '/v1/elections/jobs/campaign', { session: s2, value: 'b' });
    await call('POST', '/v1/elections/jobs/resign', { session: s1 });
    const reply = await resumed;
    assert.deepEqual([reply.json.elected, (reply.json.leader as { token: number }).token], [true, token], 'the same key, the same token');
    assert.equal((await call('POST', '/v1/elections/jobs/campaign?waitMs=x', { session: s2 })).status, 400);
  });

  it(`at most ${MAX_CAMPAIGNS} campaigns wait at once on one daemon: the next is 503 too-many-campaigns, and a slot frees when they end`, async () => {
    const [s1, s2] = [await session(), await session()];
    await call('POST', '/v1/elections/jobs/campaign', { session: s1 });
    const abort = new AbortController();
    const waiting = Array.from({ length: MAX_CAMPAIGNS }, () => call('POST', '/v1/elections/jobs/campaign', { session: s2 }, abort.signal).catch(() => null));
    await until('every campaign waiting', () => source.kvRequests.filter((r) => r.kind === 'write' && r.op.kind === 'txn' && r.op.success.some((o) => o.kind === 'put' && o.key.endsWith(s2))).length >= MAX_CAMPAIGNS);
    const refused = await call('POST', '/v1/elections/jobs/campaign', { session: s2 });
    assert.deepEqual([refused.status, refused.json.error?.code], [503, 'too-many-campaigns']);
    abort.abort();
    await Promise.all(waiting);
    // The server sees the aborted requests close a moment after the client does.
    let again = await call('POST', '/v1/elections/jobs/campaign?waitMs=10', { session: s2 });
    for (let i = 0; i < 100 && again.status === 503; i++) {
      await sleep(20);
      again = await call('POST', '/v1/elections/jobs/campaign?waitMs=10', { session: s2 });
    }
    assert.equal(again.status, 200, JSON.stringify(again.json));
  });

  it('refusals: a missing or unknown session, a bad name, an invalid value, no Raft', async () => {
    assert.equal((await call('POST', '/v1/elections/jobs/campaign', {})).status, 400);
    const unknown = await call('POST', '/v1/elections/jobs/campaign', { session: 'nope' });
    assert.deepEqual([unknown.status, unknown.json.error?.code], [404, 'session-not-found']);
    const badName = await call('GET', '/v1/elections/a%20b');
    assert.deepEqual([badName.status, badName.json.error?.code], [400, 'invalid']);
    const s = await session();
    const badValue = await call('POST', '/v1/elections/jobs/campaign', `{"session":"${s}","value":"\\ud800"}`);
    assert.deepEqual([badValue.status, badValue.json.error?.code], [400, 'invalid'], 'a lone surrogate never reaches the log');
    assert.equal((await call('POST', '/v1/elections/jobs/elect', { session: s })).status, 404);
    source.kvRefusal = kvRequestError('not-raft', 'the key-value store needs protocol: raft');
    const bully = await call('POST', '/v1/elections/jobs/campaign', { session: s });
    assert.deepEqual([bully.status, bully.json.error?.code], [501, 'not-raft']);
    assert.equal((await call('GET', '/v1/elections')).status, 501);
  });

  it('plain writes to the keys the daemon keeps are 403 reserved-key; reading them is free', async () => {
    const s = await session();
    await call('POST', '/v1/elections/jobs/campaign', { session: s });
    for (const [method, path, body] of [
      ['PUT', `/v1/kv/${candidateKey('jobs', 'forged')}`, { value: 'x' }],
      ['PUT', '/v1/kv/conclave/leader', { value: 'x' }],
      ['DELETE', `/v1/kv?key=${encodeURIComponent(candidateKey('jobs', s))}`, undefined],
      ['DELETE', '/v1/kv?prefix=', undefined],
      ['DELETE', '/v1/kv?prefix=conc', undefined],
      ['POST', '/v1/kv/txn', { success: [{ kind: 'deletePrefix', prefix: 'conclave/elections/' }] }],
    ] as const) {
      const reply = await call(method, path, body);
      assert.deepEqual([reply.status, reply.json.error?.code], [403, 'reserved-key'], `${method} ${path}`);
    }
    assert.notEqual(source.kvStore.get(candidateKey('jobs', s)), null, 'the candidate is untouched');
    const read = await call('GET', `/v1/kv?key=${encodeURIComponent(candidateKey('jobs', s))}`);
    assert.equal(read.status, 200);
    assert.equal((await call('DELETE', '/v1/kv?prefix=app/')).status, 200, 'other prefixes are free');
  });
});
