/** The API client's key-value calls, watches included, against a real server whose fake source keeps a real store, and against servers that are not Conclave. */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, beforeEach, describe, it } from 'node:test';
import { createKvStore } from '../../protocols/kv/store.js';
import { DEFAULT_KV_LIMITS, type KvEvent } from '../../protocols/kv/types.js';
import { createApiClient, type ApiClient } from './client.js';
import { ApiError, KvCompareFailedError } from './errors.js';
import { startApiServer, type ApiServer } from './server.js';
import { FakeControlSource } from './testing.js';

const workDir = mkdtempSync(join(tmpdir(), 'conclave-kv-client-test-'));
after(() => rmSync(workDir, { recursive: true, force: true }));
let serial = 0;

/** Far above what any wait here takes: not a bound on speed, only so that a broken behaviour fails naming what it waited for instead of hanging. */
const GIVE_UP_MS = 30_000;

/** Resolves once `done()` holds, checking every few ms; rejects naming `what` after GIVE_UP_MS. */
async function until(done: () => boolean, what: string): Promise<void> {
  const deadline = performance.now() + GIVE_UP_MS;
  while (!done()) {
    if (performance.now() > deadline) throw new Error(`still waiting, after ${GIVE_UP_MS} ms, for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** What a test asserts of a watch event: its type, key, value and revision. */
function brief(e: KvEvent): [string, string, string, number] {
  return [e.type, e.kv.key, e.kv.value, e.revision];
}

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

  it('kvPut with a session sends it: a session that does not exist is the store\'s refusal, 404 session-not-found', async () => {
    await assert.rejects(client.kvPut('k', 'v', { session: 'no-such-session' }), { name: 'ApiError', status: 404, code: 'session-not-found' });
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

  it('kvWatch from a revision delivers the history, then live changes, in revision order without gap or repeat', async () => {
    for (const [key, value] of [['jobs/a', '1'], ['other', 'x'], ['jobs/b', '2'], ['jobs/a', '3']]) await client.kvPut(key, value);
    const events: KvEvent[] = [];
    const stop = new AbortController();
    let opened = 0;
    const done = client.kvWatch({ prefix: 'jobs/' }, (e) => events.push(e), { fromRevision: 2, signal: stop.signal, onOpen: () => opened++ });
    await until(() => events.length >= 2, '2 events');
    assert.equal(opened, 1, 'told once the daemon accepted the watch');
    await client.kvDelete('jobs/a');
    await client.kvPut('other', 'y');
    await client.kvPut('jobs/c', '4');
    await until(() => events.length >= 4, '4 events');
    stop.abort();
    await done;
    assert.deepEqual(events.map(brief), [['put', 'jobs/b', '2', 3], ['put', 'jobs/a', '3', 4], ['delete', 'jobs/a', '', 5], ['put', 'jobs/c', '4', 7]]);
    assert.deepEqual(events[2]!.prevKv, { key: 'jobs/a', value: '3', createRevision: 1, modRevision: 4, version: 2, session: null }, 'a delete carries what it deleted');
    assert.equal(events[2]!.kv.modRevision, 5, 'and the deleting revision');
  });

  it('kvWatch of one key without fromRevision starts at the next change; keys are sent as ?key=, . and .. included', async () => {
    await client.kvPut('a/../b', 'before');
    const events: KvEvent[] = [];
    const stop = new AbortController();
    const done = client.kvWatch({ key: 'a/../b' }, (e) => events.push(e), { signal: stop.signal });
    await until(() => source.kvListeners.size === 1, 'the watch to be open on the daemon');
    await client.kvPut('b', 'another key');
    await client.kvPut('a/../b/c', 'under it, not it');
    await client.kvPut('a/../b', 'after');
    await until(() => events.length >= 1, '1 events');
    stop.abort();
    await done;
    assert.deepEqual(events.map(brief), [['put', 'a/../b', 'after', 4]]);
  });

  it('aborting a kvWatch resolves it and closes the stream on the daemon; an aborted signal never connects', async () => {
    const stop = new AbortController();
    const done = client.kvWatch({ prefix: '' }, () => assert.fail('no change was made'), { signal: stop.signal });
    await until(() => source.kvListeners.size === 1, 'the watch to be open on the daemon');
    stop.abort();
    await done;
    await until(() => source.kvListeners.size === 0, 'the watch to be closed on the daemon');
    const watchesBefore = source.kvRequests.length;
    await client.kvWatch({ prefix: '' }, () => undefined, { signal: AbortSignal.abort() });
    assert.equal(source.kvRequests.length, watchesBefore, 'nothing was asked of the store');
  });

  it('kvWatch from a compacted revision rejects with ApiError 410 compacted naming the oldest revision held', async () => {
    source.kvStore = createKvStore({ ...DEFAULT_KV_LIMITS, historyRevisions: 2 });
    for (let i = 0; i < 5; i++) await client.kvPut('k', String(i));
    await assert.rejects(client.kvWatch({ key: 'k' }, () => assert.fail('no event before the refusal'), { fromRevision: 1 }), (err: ApiError) => {
      assert.equal(err.name, 'ApiError');
      assert.equal(err.status, 410);
      assert.equal(err.code, 'compacted');
      assert.match(err.message, /oldest revision held is 4/);
      return true;
    });
    const events: KvEvent[] = [];
    const stop = new AbortController();
    const done = client.kvWatch({ key: 'k' }, (e) => events.push(e), { fromRevision: 4, signal: stop.signal });
    await until(() => events.length >= 2, '2 events');
    stop.abort();
    await done;
    assert.deepEqual(events.map((e) => e.revision), [4, 5], 'from the oldest revision held it replays');
  });

  it('kvWatch refusals before the stream are ApiErrors: 400 invalid, 501 not-raft; an unreachable daemon is ApiUnreachableError', async () => {
    await assert.rejects(client.kvWatch({ key: '' }, () => undefined), { name: 'ApiError', status: 400, code: 'invalid' });
    await assert.rejects(client.kvWatch({ prefix: 'p' }, () => undefined, { fromRevision: 0 }), { name: 'ApiError', status: 400, code: 'invalid-revision' });
    source.kvRefusal = { ok: false, code: 'not-raft', message: 'the key-value store needs protocol: raft' };
    await assert.rejects(client.kvWatch({ prefix: 'p' }, () => undefined), { name: 'ApiError', status: 501, code: 'not-raft' });
    const nowhere = createApiClient({ address: `unix:${join(workDir, 'nothing.sock')}` });
    await assert.rejects(nowhere.kvWatch({ prefix: 'p' }, () => undefined), { name: 'ApiUnreachableError' });
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

describe('API client: kvWatch against a scripted event stream', () => {
  /** What the server writes on each watch: its SSE text, then whether it ends the stream. */
  let script: { body: string; end: boolean };
  let server: Server;
  let client: ApiClient;
  let requests: string[];
  let open: ServerResponse[];
  beforeEach(async () => {
    requests = [];
    open = [];
    server = createServer((req: IncomingMessage, res) => {
      requests.push(req.url ?? '');
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      if (script.end) res.end(script.body);
      else {
        res.write(script.body);
        open.push(res);
      }
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    client = createApiClient({ address: `127.0.0.1:${(server.address() as { port: number }).port}` });
  });
  afterEach(() => {
    for (const res of open) res.destroy();
    return new Promise<void>((resolve) => server.close(() => resolve()));
  });

  const put = (key: string, value: string, revision: number): KvEvent => ({
    type: 'put', kv: { key, value, createRevision: revision, modRevision: revision, version: 1, session: null }, revision,
  });
  const sse = (name: string, data: unknown) => `id: ${(data as { revision?: number }).revision}\nevent: ${name}\ndata: ${JSON.stringify(data)}\n\n`;

  it('asks /v1/kv/watch with the key or prefix and fromRevision in the query, and resolves when the daemon ends the stream', async () => {
    script = { body: sse('put', put('a b', 'v', 3)), end: true };
    const events: KvEvent[] = [];
    await client.kvWatch({ key: 'a/../b c' }, (e) => events.push(e), { fromRevision: 3 });
    await client.kvWatch({ prefix: '' }, () => undefined);
    assert.deepEqual(requests, ['/v1/kv/watch?key=a%2F..%2Fb%20c&fromRevision=3', '/v1/kv/watch?prefix=']);
    assert.deepEqual(events, [put('a b', 'v', 3)]);
  });

  it('skips comments and events of other names (a newer daemon\'s); a put or delete of another shape is NotConclaveApiError', async () => {
    script = { body: `: watching from revision 1\n\n${sse('progress', { revision: 1 })}: keep-alive\n\n${sse('put', put('k', 'v', 1))}`, end: true };
    const events: KvEvent[] = [];
    await client.kvWatch({ prefix: '' }, (e) => events.push(e));
    assert.deepEqual(events, [put('k', 'v', 1)]);
    const malformed: unknown[] = [
      { ...put('k', 'v', 2), revision: '2' },
      { ...put('k', 'v', 2), kv: { key: 'k' } },
      { ...put('k', 'v', 2), type: 'delete' },
      { ...put('k', 'v', 2), prevKv: 'yes' },
      [put('k', 'v', 2)],
    ];
    for (const data of malformed) {
      script = { body: sse('put', data), end: false };
      await assert.rejects(client.kvWatch({ prefix: '' }, () => assert.fail('not delivered')), { name: 'NotConclaveApiError' }, JSON.stringify(data));
    }
  });

  it('what onEvent throws ends the watch with that error', async () => {
    script = { body: sse('put', put('k', 'v', 1)) + sse('put', put('k', 'w', 2)), end: false };
    let calls = 0;
    await assert.rejects(client.kvWatch({ key: 'k' }, () => {
      calls++;
      throw new Error('full');
    }), { message: 'full' });
    assert.equal(calls, 1, 'no event after the throw');
  });
});
