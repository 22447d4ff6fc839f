/** The API client's key-value calls against a real server whose fake source keeps a real store, and against servers that are not Conclave. */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, beforeEach, describe, it } from 'node:test';
import { createApiClient, type ApiClient } from './client.js';
import { ApiError, KvCompareFailedError } from './errors.js';
import { startApiServer, type ApiServer } from './server.js';
import { FakeControlSource } from './testing.js';

const workDir = mkdtempSync(join(tmpdir(), 'conclave-kv-client-test-'));
after(() => rmSync(workDir, { recursive: true, force: true }));
let serial = 0;

describe('API client: the key-value store', () => {
  let source: FakeControlSource;
  let api: ApiServer;
  let client: ApiClient;
  beforeEach(async () => {
    source = new FakeControlSource();
    api = await startApiServer({ source, tcpListen: '127.0.0.1:0', socketPath: join(workDir, `kv${serial++}.sock`), token: null });
    client = createApiClient({ address: `unix:${api.socketPath}` });
  });
  afterEach(() => api.close());

  it('kvPut then kvGet round-trip a key; an absent key is kv null; serializable reaches the store', async () => {
    assert.deepEqual(await client.kvPut('app/db', 'postgres://a'), { revision: 1, prevKv: null, index: 1 });
    const replaced = await client.kvPut('app/db', 'postgres://b');
    assert.equal(replaced.prevKv?.value, 'postgres://a');
    assert.deepEqual(await client.kvGet('app/db'), {
      kv: { key: 'app/db', value: 'postgres://b', createRevision: 1, modRevision: 2, version: 2, session: null },
      revision: 2,
    });
    assert.deepEqual(source.kvRequests.at(-1), { kind: 'read', read: { kind: 'get', key: 'app/db' }, consistency: 'linearizable' });
    assert.deepEqual(await client.kvGet('nothing', { serializable: true }), { kv: null, revision: 2 });
    assert.deepEqual(source.kvRequests.at(-1), { kind: 'read', read: { kind: 'get', key: 'nothing' }, consistency: 'serializable' });
  });

  it('kvRange lists a prefix in key order, cut by limit; an empty prefix lists every key', async () => {
    for (const key of ['jobs/b', 'jobs/a', 'jobs/c', 'other']) await client.kvPut(key, `v-${key}`);
    const cut = await client.kvRange('jobs/', { limit: 2 });
    assert.deepEqual(cut.kvs.map((kv) => kv.key), ['jobs/a', 'jobs/b']);
    assert.equal(cut.more, true);
    assert.equal(cut.revision, 4);
    const all = await client.kvRange('', { serializable: true });
    assert.deepEqual(all.kvs.map((kv) => [kv.key, kv.value]), [['jobs/a', 'v-jobs/a'], ['jobs/b', 'v-jobs/b'], ['jobs/c', 'v-jobs/c'], ['other', 'v-other']]);
    assert.equal(all.more, false);
    assert.deepEqual(source.kvRequests.at(-1), { kind: 'read', read: { kind: 'range', prefix: '', limit: 0 }, consistency: 'serializable' });
  });

  it('kvDelete deletes one key (0 when absent), kvDeletePrefix every key under a prefix', async () => {
    for (const key of ['jobs/a', 'jobs/b', 'other']) await client.kvPut(key, 'v');
    assert.deepEqual(await client.kvDelete('other'), { revision: 4, deleted: 1, index: 4 });
    assert.equal((await client.kvDelete('other')).deleted, 0);
    assert.equal((await client.kvDeletePrefix('jobs/')).deleted, 2);
    assert.deepEqual((await client.kvRange('')).kvs, []);
  });

  it('a lost compare-and-set is KvCompareFailedError: an ApiError 409 compare-failed carrying the key\'s revisions now', async () => {
    await client.kvPut('lock', 'a', { ifModRevision: 0 });
    const lost = (err: unknown, current: unknown) => {
      assert.ok(err instanceof ApiError, 'an ApiError, so every caller that shows ApiErrors shows it');
      assert.equal(err.name, 'KvCompareFailedError');
      assert.equal(err.status, 409);
      assert.equal(err.code, 'compare-failed');
      assert.equal(err.exitCode, 1);
      assert.deepEqual((err as KvCompareFailedError).current, current);
      return true;
    };
    await assert.rejects(client.kvPut('lock', 'b', { ifModRevision: 0 }), (err) => lost(err, { createRevision: 1, modRevision: 1, version: 1 }));
    await assert.rejects(client.kvDelete('lock', { ifModRevision: 7 }), (err) => lost(err, { createRevision: 1, modRevision: 1, version: 1 }));
    await assert.rejects(client.kvPut('absent', 'b', { ifModRevision: 3 }), (err) => lost(err, null));
    assert.equal((await client.kvPut('lock', 'b', { ifModRevision: 1 })).prevKv?.value, 'a', 'the right revision wins');
    assert.equal((await client.kvDelete('lock', { ifModRevision: 2 })).deleted, 1, 'a refused write moves no revision');
  });

  it('kvPut with a session sends it: a session that does not exist is the store\'s refusal, 400', async () => {
    await assert.rejects(client.kvPut('k', 'v', { session: 'no-such-session' }), { name: 'ApiError', status: 400, code: 'session-not-found' });
    const last = source.kvRequests.at(-1);
    assert.deepEqual(last, { kind: 'write', op: { kind: 'put', key: 'k', value: 'v', session: 'no-such-session' } });
  });

  it('kvTxn applies the success branch when the compares hold, the failure branch otherwise', async () => {
    const request = {
      compare: [{ key: 'leader', target: 'version' as const, op: '=' as const, value: 0 }],
      success: [{ kind: 'put' as const, key: 'leader', value: 'alpha' }],
      failure: [{ kind: 'get' as const, key: 'leader' }],
    };
    const won = await client.kvTxn(request);
    assert.deepEqual(won, { succeeded: true, responses: [{ kind: 'put', prevKv: null }], revision: 1, index: 1 });
    const lost = await client.kvTxn(request);
    assert.equal(lost.succeeded, false);
    assert.deepEqual(lost.responses.map((r) => (r.kind === 'get' ? r.kv?.value : null)), ['alpha']);
  });

  it('keys with . and .. segments, %, +, spaces, unicode and the key txn reach the store as they are', async () => {
    const keys = ['a/../b', '..', '.', './x/./y', '100%', '%2F', 'a+b c', 'txn', 'clé/日本/🦀', '?key=x&prefix=y#z'];
    for (const key of keys) {
      const put = await client.kvPut(key, `value of ${key}`);
      assert.equal(put.prevKv, null, `${key}: a key of its own`);
      assert.equal((await client.kvGet(key)).kv?.value, `value of ${key}`, key);
    }
    assert.deepEqual((await client.kvRange('')).kvs.map((kv) => kv.key).sort(), [...keys].sort());
    assert.deepEqual((await client.kvRange('a/..')).kvs.map((kv) => kv.key), ['a/../b']);
    assert.equal((await client.kvDelete('a/../b')).deleted, 1);
    assert.equal((await client.kvGet('b')).kv, null, 'never normalized to another key');
    assert.equal((await client.kvDeletePrefix('%')).deleted, 1);
    assert.equal((await client.kvGet('100%')).kv?.value, 'value of 100%');
  });

  it('a key that is not valid UTF-16 rejects before anything is sent', async () => {
    const before = source.kvRequests.length;
    await assert.rejects(client.kvGet('\ud800'), { name: 'URIError' });
    assert.equal(source.kvRequests.length, before);
  });

  it('the store\'s refusals are ApiErrors with their status and code: 501 not-raft under Bully, 503, 504', async () => {
    const cases: [string, number][] = [
      ['not-raft', 501],
      ['no-leader', 503],
      ['timeout', 504],
    ];
    for (const [code, status] of cases) {
      source.kvRefusal = { ok: false, code: code as 'not-raft', message: `said ${code}` };
      for (const attempt of [() => client.kvGet('k'), () => client.kvRange('p'), () => client.kvPut('k', 'v'), () => client.kvDelete('k'), () => client.kvDeletePrefix('p'), () => client.kvTxn({ compare: [], success: [], failure: [] })]) {
        await assert.rejects(attempt(), (err: ApiError) => {
          assert.equal(err.name, 'ApiError', `${code}: ${err.name}`);
          assert.equal(err.status, status);
          assert.equal(err.code, code);
          assert.equal(err.message, `said ${code}`);
          return true;
        });
      }
    }
  });
});

describe('API client: key-value replies from a server that is not Conclave', () => {
  let answer: { status: number; body: unknown };
  let server: Server;
  let client: ApiClient;
  let requests: { method: string; url: string }[];
  beforeEach(async () => {
    requests = [];
    server = createServer((req: IncomingMessage, res) => {
      requests.push({ method: req.method ?? '', url: req.url ?? '' });
      res.writeHead(answer.status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(answer.body));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    client = createApiClient({ address: `127.0.0.1:${(server.address() as { port: number }).port}` });
  });
  afterEach(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('asks with ?key= and the query fields, never the key in the path', async () => {
    answer = { status: 200, body: { kv: null, revision: 0 } };
    await client.kvGet('a/../b c', { serializable: true });
    answer = { status: 200, body: { kvs: [], more: false, revision: 0 } };
    await client.kvRange('jobs/', { limit: 5 });
    answer = { status: 200, body: { revision: 1, deleted: 0, index: 1 } };
    await client.kvDelete('k', { ifModRevision: 3 });
    await client.kvDeletePrefix('');
    assert.deepEqual(requests, [
      { method: 'GET', url: '/v1/kv?key=a%2F..%2Fb%20c&serializable=true' },
      { method: 'GET', url: '/v1/kv?prefix=jobs%2F&limit=5' },
      { method: 'DELETE', url: '/v1/kv?key=k&ifModRevision=3' },
      { method: 'DELETE', url: '/v1/kv?prefix=' },
    ]);
  });

  it('replies of another shape are NotConclaveApiError', async () => {
    const cases: [() => Promise<unknown>, unknown][] = [
      [() => client.kvGet('k'), { kv: { key: 'k' }, revision: 1 }],
      [() => client.kvGet('k'), { value: 'v' }],
      [() => client.kvRange('p'), { kvs: [{ key: 'k', value: 1 }], more: false, revision: 1 }],
      [() => client.kvPut('k', 'v'), { ok: true }],
      [() => client.kvDelete('k'), { revision: 1, deleted: '1', index: 1 }],
      [() => client.kvTxn({ compare: [], success: [], failure: [] }), { succeeded: 'yes', responses: [], revision: 1, index: 1 }],
    ];
    for (const [attempt, body] of cases) {
      answer = { status: 200, body };
      await assert.rejects(attempt(), { name: 'NotConclaveApiError' }, JSON.stringify(body));
    }
  });

  it('a compare-failed without readable revisions is still an ApiError with its code, not a KvCompareFailedError', async () => {
    answer = { status: 409, body: { error: { code: 'compare-failed', message: 'lost' }, current: 'yes' } };
    await assert.rejects(client.kvPut('k', 'v', { ifModRevision: 0 }), { name: 'ApiError', status: 409, code: 'compare-failed', message: 'lost' });
  });
});
