/** The key-value routes against a fake source backed by a real store: the contract of types.ts, refusals, and what never reaches the store. */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, beforeEach, describe, it } from 'node:test';
import { parseHostPort } from '../config/addresses.js';
import { startApiServer, type ApiServer } from './server.js';
import { createKvStore } from '../../protocols/kv/store.js';
import { DEFAULT_KV_LIMITS, type KvEvent } from '../../protocols/kv/types.js';
import { callJson, openStream } from './http-testing.js';
import { FakeControlSource } from './testing.js';

const workDir = mkdtempSync(join(tmpdir(), 'conclave-kv-api-test-'));
after(() => rmSync(workDir, { recursive: true, force: true }));
let serial = 0;

describe('/v1/kv', () => {
  let source: FakeControlSource;
  let api: ApiServer;
  let port: number;
  beforeEach(async () => {
    source = new FakeControlSource();
    api = await startApiServer({ source, tcpListen: '127.0.0.1:0', socketPath: join(workDir, `kv-${serial++}.sock`), token: null });
    port = parseHostPort(api.tcpAddress!)!.port;
  });
  afterEach(() => api.close());

  const call = (method: string, path: string, body?: unknown) => callJson(port, method, path, body);

  it('PUT then GET a key with slashes in the path; the revisions of etcd\'s model', async () => {
    const put = await call('PUT', '/v1/kv/app/config/db', { value: 'postgres://a' });
    assert.equal(put.status, 200, JSON.stringify(put.json));
    assert.deepEqual(put.json, { revision: 1, prevKv: null, index: 1 });
    const again = await call('PUT', '/v1/kv/app%2Fconfig%2Fdb', { value: 'postgres://b' });
    assert.equal((again.json.prevKv as { value: string }).value, 'postgres://a', 'a percent-encoded slash names the same key');
    const got = await call('GET', '/v1/kv/app/config/db');
    assert.equal(got.status, 200);
    assert.deepEqual(got.json, { kv: { key: 'app/config/db', value: 'postgres://b', createRevision: 1, modRevision: 2, version: 2, session: null }, revision: 2 });
    assert.deepEqual(source.kvRequests.at(-1), { kind: 'read', read: { kind: 'get', key: 'app/config/db' }, consistency: 'linearizable' });
    const missing = await call('GET', '/v1/kv?key=nothing&serializable=true');
    assert.deepEqual(missing.json, { kv: null, revision: 2 });
    assert.equal((source.kvRequests.at(-1) as { consistency: string }).consistency, 'serializable');
  });

  it('a failed compare-and-set is 409 compare-failed with the key\'s revisions; a successful one writes', async () => {
    assert.equal((await call('PUT', '/v1/kv/lock', { value: 'a', ifModRevision: 0 })).status, 200);
    const lost = await call('PUT', '/v1/kv/lock', { value: 'b', ifModRevision: 0 });
    assert.equal(lost.status, 409);
    assert.equal(lost.json.error?.code, 'compare-failed');
    assert.deepEqual(lost.json.current, { createRevision: 1, modRevision: 1, version: 1 });
    assert.equal(lost.json.revision, 1, 'and the store\'s revision when it failed');
    assert.equal((await call('DELETE', '/v1/kv/lock?ifModRevision=7')).status, 409);
    const deleted = await call('DELETE', '/v1/kv/lock?ifModRevision=1');
    assert.deepEqual(deleted.json, { revision: 2, deleted: 1, index: 4 }, 'each refused write took a log index too');
  });

  it('a prefix lists keys in order with a limit, and deletes them in one write; a txn applies atomically', async () => {
    for (const k of ['jobs/b', 'jobs/a', 'jobs/c', 'other']) await call('PUT', `/v1/kv/${k}`, { value: k });
    const listed = await call('GET', '/v1/kv?prefix=jobs/&limit=2');
    assert.deepEqual((listed.json.kvs as { key: string }[]).map((kv) => kv.key), ['jobs/a', 'jobs/b']);
    assert.equal(listed.json.more, true);
    const txn = await call('POST', '/v1/kv/txn', {
      compare: [{ key: 'other', target: 'version', op: '=', value: 1 }],
      success: [{ kind: 'put', key: 'jobs/d', value: 'd' }, { kind: 'get', key: 'other' }],
      failure: [],
    });
    assert.equal(txn.status, 200, JSON.stringify(txn.json));
    assert.equal(txn.json.succeeded, true);
    assert.equal((txn.json.responses as unknown[]).length, 2);
    const gone = await call('DELETE', '/v1/kv?prefix=jobs/');
    assert.equal(gone.json.deleted, 4);
    assert.deepEqual((await call('GET', '/v1/kv?prefix=')).json.kvs, [(await call('GET', '/v1/kv/other')).json.kv]);
  });

  it('malformed requests are 400 and never reach the store; the store\'s own limits are 413', async () => {
    const before = source.kvRequests.length;
    const bad: [string, string, unknown][] = [
      ['PUT', '/v1/kv/k', { value: 5 }],
      ['PUT', '/v1/kv/k', { value: 'v', extra: 1 }],
      ['PUT', '/v1/kv/k', '[1]'],
      ['PUT', '/v1/kv?key=', { value: 'v' }],
      ['PUT', '/v1/kv/k', { value: 'v', ifModRevision: -1 }],
      ['POST', '/v1/kv/txn', { compare: [{ key: 'k', target: 'color', op: '=', value: 1 }] }],
      ['GET', '/v1/kv?key=a&prefix=b', undefined],
      ['GET', '/v1/kv/%E0%A4%A', undefined],
      ['GET', '/v1/kv?prefix=&limit=-1', undefined],
      ['DELETE', '/v1/kv?prefix=a&ifModRevision=1', undefined],
    ];
    for (const [method, path, body] of bad) {
      const reply = await call(method, path, body);
      assert.equal(reply.status, 400, `${method} ${path} ${JSON.stringify(body)}: ${JSON.stringify(reply.json)}`);
      assert.equal(reply.json.error?.code, 'invalid');
    }
    assert.equal(source.kvRequests.length, before, 'none reached the store');
    const big = await call('PUT', '/v1/kv/k', { value: 'x'.repeat(64 * 1024 + 1) });
    assert.ok(big.status === 400 || big.status === 413, `${big.status}`);
  });

  it('sessions: open one (owned by this node), attach a key, keep it alive, revoke it and its key goes; unknown ids are 404, a TTL out of range 400', async () => {
    const opened = await call('POST', '/v1/sessions', { ttlMs: 5000 });
    assert.equal(opened.status, 200, JSON.stringify(opened.json));
    const id = opened.json.id as string;
    assert.match(id, /^[0-9a-f-]{36}$/);
    assert.equal(opened.json.ttlMs, 5000);
    const grant = source.kvRequests.at(-1) as { op: { kind: string; node: string } };
    assert.deepEqual([grant.op.kind, grant.op.node], ['sessionGrant', source.status().id]);
    assert.equal((await call('PUT', '/v1/kv/services/web', { value: 'up', session: id })).status, 200);
    assert.equal((await call('POST', `/v1/sessions/${id}/keepalive`)).status, 200);
    const revoked = await call('DELETE', `/v1/sessions/${id}`);
    assert.deepEqual([revoked.status, revoked.json.deleted], [200, 1]);
    assert.deepEqual((await call('GET', '/v1/kv/services/web')).json.kv, null, 'the key went with the session');
    assert.equal((await call('POST', `/v1/sessions/${id}/keepalive`)).json.error?.code, 'session-not-found');
    assert.equal((await call('POST', `/v1/sessions/${id}/keepalive`)).status, 404);
    assert.equal((await call('POST', '/v1/sessions', { ttlMs: 10 })).status, 400);
    assert.equal((await call('POST', '/v1/sessions', { ttl: 5000 })).status, 400);
    assert.equal((await call('POST', `/v1/sessions/${id}/bogus`)).status, 404);
    assert.equal((await call('PUT', '/v1/kv/k', { value: 'v', session: 'nope' })).status, 404);
  });

  /** Opens a watch; resolves with its status, and collects its events until `close`. */
  const openWatch = (query: string) => openStream<KvEvent>(port, `/v1/kv/watch?${query}`);

  it('a watch from a revision gets the history in revision order, then live changes, with no gap and no repeat; a compacted start is 410 naming the oldest revision', async () => {
    for (const [k, v] of [['jobs/a', '1'], ['other', 'x'], ['jobs/b', '2'], ['jobs/a', '3']]) await call('PUT', `/v1/kv/${k}`, { value: v });
    const w = await openWatch('prefix=jobs/&fromRevision=2');
    assert.equal(w.status, 200);
    await call('DELETE', '/v1/kv/jobs/a');
    await call('PUT', '/v1/kv/other', { value: 'y' });
    await call('PUT', '/v1/kv/jobs/c', { value: '4' });
    // One write that deletes two keys: two events at one revision, both delivered.
    await call('DELETE', '/v1/kv?prefix=jobs/');
    while (w.events.length < 6) await new Promise((r) => setTimeout(r, 10));
    w.close();
    assert.deepEqual(w.events.map((e) => [e.event, e.data.kv.key, e.data.revision]), [
      ['put', 'jobs/b', 3],
      ['put', 'jobs/a', 4],
      ['delete', 'jobs/a', 5],
      ['put', 'jobs/c', 7],
      ['delete', 'jobs/b', 8],
      ['delete', 'jobs/c', 8],
    ]);
    const fromNow = await openWatch('key=other');
    await call('PUT', '/v1/kv/other', { value: 'z' });
    while (fromNow.events.length < 1) await new Promise((r) => setTimeout(r, 10));
    fromNow.close();
    assert.deepEqual(fromNow.events.map((e) => [e.data.kv.value, e.data.revision]), [['z', 9]], 'without fromRevision: from the next change');
    source.kvStore = createKvStore({ ...DEFAULT_KV_LIMITS, historyRevisions: 2 });
    for (let i = 0; i < 5; i++) await call('PUT', '/v1/kv/k', { value: String(i) });
    const gone = await openWatch('key=k&fromRevision=1');
    assert.equal(gone.status, 410);
    await new Promise((r) => setTimeout(r, 20));
    assert.match(gone.body, /"code":"compacted".*oldest revision held is 4/);
    assert.equal((await openWatch('fromRevision=1')).status, 400, 'neither key nor prefix');
  });

  it('the store\'s refusals keep their codes: 501 not-raft under Bully, 503 no-leader with retry-after, 504 timeout', async () => {
    const cases: [string, number][] = [
      ['not-raft', 501],
      ['no-leader', 503],
      ['timeout', 504],
      ['entry-too-large', 413],
    ];
    for (const [code, status] of cases) {
      source.kvRefusal = { ok: false, code: code as 'not-raft', message: `said ${code}` };
      for (const [method, path, body] of [['GET', '/v1/kv/k', undefined], ['PUT', '/v1/kv/k', { value: 'v' }]] as const) {
        const reply = await call(method, path, body);
        assert.equal(reply.status, status, `${code} on ${method}`);
        assert.deepEqual(reply.json.error, { code, message: `said ${code}` });
      }
    }
  });
});
