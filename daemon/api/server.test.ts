/** The API server against a fake ControlSource: the contract route by route, auth, errors, lifecycle. */
import assert from 'node:assert/strict';
import { connect, createServer as createNetServer } from 'node:net';
import { mkdtempSync, renameSync, rmSync, statSync, writeFileSync, readFileSync, existsSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, beforeEach, describe, it } from 'node:test';
import { startApiServer, type ApiServer, type ApiServerOptions } from './server.js';
import { FakeControlSource, GAMMA_ID, PEER_ID, SELF_ID, fakeMember } from './testing.js';
import { MAX_BODY_BYTES } from './http.js';
import { parseHostPort } from '../config/addresses.js';

const workDir = mkdtempSync(join(tmpdir(), 'conclave-api-test-'));
after(() => rmSync(workDir, { recursive: true, force: true }));
let serial = 0;

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
  json: () => unknown;
}

type Via = { port: number } | { socketPath: string };

function http(via: Via, path: string, opts: { method?: string; headers?: Record<string, string>; body?: string | Buffer } = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', ...via, method: opts.method ?? 'GET', path, headers: opts.headers, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body, json: () => JSON.parse(body) as unknown }));
    });
    req.on('error', reject);
    req.end(opts.body);
  });
}

function errorCode(reply: Reply): string {
  const body = reply.json() as { error: { code: unknown; message: unknown } };
  assert.equal(typeof body.error.message, 'string', 'error bodies carry a message');
  return body.error.code as string;
}

async function start(source: FakeControlSource, overrides: Partial<ApiServerOptions> = {}): Promise<{ api: ApiServer; tcp: Via; unix: Via; errors: Error[] }> {
  const errors: Error[] = [];
  const api = await startApiServer({ source, tcpListen: '127.0.0.1:0', socketPath: join(workDir, `api-${serial++}.sock`), token: null, onError: (e) => errors.push(e), ...overrides });
  const port = api.tcpAddress ? parseHostPort(api.tcpAddress)!.port : 0;
  return { api, tcp: { port }, unix: { socketPath: api.socketPath }, errors };
}

/** Opens /v1/events and collects parsed events until the stream ends. */
function openEvents(via: Via, query = ''): { events: { name: string; data: Record<string, unknown> }[]; raw: () => string; ended: Promise<void>; close: () => void; next: (n: number) => Promise<void> } {
  const events: { name: string; data: Record<string, unknown> }[] = [];
  let raw = '';
  let waiter: { n: number; resolve: () => void } | null = null;
  let closeReq: () => void = () => undefined;
  const ended = new Promise<void>((resolve, reject) => {
    const req = request({ host: '127.0.0.1', ...via, path: `/v1/events${query}`, agent: false }, (res) => {
      assert.equal(res.statusCode, 200);
      assert.match(String(res.headers['content-type']), /^text\/event-stream/);
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        raw += chunk;
        const blocks = raw.split('\n\n').slice(0, -1).filter((b) => !b.startsWith(':'));
        events.length = 0;
        for (const block of blocks) {
          const name = /^event: (.*)$/m.exec(block)?.[1] ?? '';
          const data = JSON.parse(/^data: (.*)$/m.exec(block)?.[1] ?? 'null') as Record<string, unknown>;
          events.push({ name, data });
        }
        if (waiter && events.length >= waiter.n) waiter.resolve();
      });
      res.on('end', resolve);
      res.on('error', () => resolve());
    });
    req.on('error', reject);
    req.end();
    closeReq = () => req.destroy();
  });
  const next = (n: number) => new Promise<void>((resolve) => (events.length >= n ? resolve() : (waiter = { n, resolve })));
  return { events, raw: () => raw, ended, close: closeReq === undefined ? () => undefined : () => closeReq(), next };
}

async function until(what: string, check: () => boolean): Promise<void> {
  for (let i = 0; i < 2000; i++) {
    if (check()) return;
    await new Promise((r) => setTimeout(r, 5));
  }
  assert.fail(`never happened: ${what}`);
}

describe('control API server', () => {
  let source: FakeControlSource;
  let server: Awaited<ReturnType<typeof start>>;
  beforeEach(async () => {
    source = new FakeControlSource();
    server = await start(source);
  });
  afterEach(async () => {
    await server.api.close();
    assert.deepEqual(server.errors, [], 'no unexpected errors');
  });

  it('GET /v1/status returns every StatusResponse field with its type, on TCP and on the Unix socket', async () => {
    for (const via of [server.tcp, server.unix]) {
      const reply = await http(via, '/v1/status');
      assert.equal(reply.status, 200);
      assert.match(String(reply.headers['content-type']), /^application\/json/);
      const s = reply.json() as Record<string, unknown>;
      assert.deepEqual(Object.keys(s).sort(), ['bootstrap', 'cluster', 'fencingToken', 'id', 'leader', 'leaseRemainingMs', 'members', 'name', 'protocol', 'revision', 'role', 'security', 'term', 'uptimeMs', 'version']);
      assert.equal(s.id, SELF_ID);
      assert.equal(s.name, 'alpha');
      assert.equal(s.cluster, 'test');
      assert.equal(s.protocol, 'bully');
      assert.equal(s.role, 'leader');
      assert.equal(s.term, 3);
      assert.deepEqual(s.leader, { id: SELF_ID, name: 'alpha' });
      assert.equal(s.fencingToken, 11);
      assert.deepEqual(s.members, { alive: 2, suspect: 0, dead: 0, left: 0 });
      assert.equal(s.uptimeMs, 1234);
      assert.equal(s.version, '0.1.0');
      assert.equal(s.leaseRemainingMs, 2500);
      assert.deepEqual(s.bootstrap, { expect: 3, seen: 3, complete: true });
      assert.deepEqual(s.security, { psk: true });
      assert.equal(s.revision, 100);
    }
  });

  it('GET /v1/members returns every MemberResponse field with its type', async () => {
    const reply = await http(server.tcp, '/v1/members');
    assert.equal(reply.status, 200);
    const { members } = reply.json() as { members: Record<string, unknown>[] };
    assert.equal(members.length, 2);
    const expectedKeys = ['addrs', 'id', 'incarnation', 'lastSeenMs', 'leader', 'name', 'priority', 'protocol', 'role', 'self', 'state', 'term', 'version'];
    for (const m of members) {
      assert.deepEqual(Object.keys(m).sort(), expectedKeys);
      assert.ok(Array.isArray(m.addrs) && (m.addrs as unknown[]).every((a) => typeof a === 'string'));
      for (const key of ['id', 'name', 'state', 'protocol', 'role', 'version']) assert.equal(typeof m[key], 'string', key);
      for (const key of ['incarnation', 'lastSeenMs', 'term', 'priority']) assert.equal(typeof m[key], 'number', key);
      assert.equal(typeof m.self, 'boolean');
      assert.ok(m.leader === null || typeof m.leader === 'string');
    }
    assert.equal(members[1]!.id, PEER_ID);
    assert.equal(members[1]!.lastSeenMs, 312);
  });

  it('GET /v1/leader returns leader, term, fencing token, role, lease and revision', async () => {
    const reply = await http(server.tcp, '/v1/leader');
    assert.equal(reply.status, 200);
    assert.deepEqual(reply.json(), { leader: { id: SELF_ID, name: 'alpha' }, term: 3, fencingToken: 11, role: 'leader', leaseRemainingMs: 2500, revision: 100 });
  });

  it('GET /v1/leader?waitMs&after long-polls until the revision differs from `after`', async () => {
    const subscribers = source.listeners.size;
    const pending = http(server.tcp, '/v1/leader?waitMs=120000&after=100');
    await until('the poll is waiting', () => source.listeners.size > subscribers);
    source.changeLeader('beta', PEER_ID);
    const reply = await pending;
    assert.equal(reply.status, 200);
    assert.deepEqual(reply.json(), { leader: { id: PEER_ID, name: 'beta' }, term: 4, fencingToken: 12, role: 'follower', leaseRemainingMs: null, revision: 101 });
    assert.equal(source.listeners.size, subscribers, 'the poll unsubscribed');
  });

  it('the long-poll wakes on a step-down that keeps leader-less term and token (only the role changed)', async () => {
    const subscribers = source.listeners.size;
    const pending = http(server.tcp, '/v1/leader?waitMs=120000&after=100');
    await until('the poll is waiting', () => source.listeners.size > subscribers);
    source.leaderNow = { ...source.leaderNow, leader: null, role: 'follower', leaseRemainingMs: null, revision: 101 };
    source.emit({ type: 'role-changed', from: 'leader', to: 'follower', term: 3 });
    const reply = (await pending).json() as { role: string; fencingToken: number; revision: number };
    assert.deepEqual([reply.role, reply.fencingToken, reply.revision], ['follower', 11, 101]);
  });

  it('a long-poll whose `after` already differs answers at once; one that sees no change answers at waitMs', async () => {
    const stale = await http(server.tcp, '/v1/leader?waitMs=120000&after=3');
    assert.equal((stale.json() as { revision: number }).revision, 100);
    const timedOut = await http(server.tcp, '/v1/leader?waitMs=30&after=100');
    assert.equal(timedOut.status, 200);
    assert.deepEqual(timedOut.json(), { leader: { id: SELF_ID, name: 'alpha' }, term: 3, fencingToken: 11, role: 'leader', leaseRemainingMs: 2500, revision: 100 });
  });

  it('a long-poll without `after` waits for a change from what is reported now', async () => {
    const subscribers = source.listeners.size;
    const pending = http(server.tcp, '/v1/leader?waitMs=120000');
    await until('the poll is waiting', () => source.listeners.size > subscribers);
    source.changeLeader('beta', PEER_ID);
    assert.equal(((await pending).json() as { fencingToken: number }).fencingToken, 12);
  });

  it('malformed long-poll parameters are 400 invalid', async () => {
    for (const query of ['waitMs=abc', 'waitMs=-5', 'waitMs=1.5', 'waitMs=10&after=x', 'after=']) {
      const reply = await http(server.tcp, `/v1/leader?${query}`);
      assert.equal(reply.status, 400, query);
      assert.equal(errorCode(reply), 'invalid', query);
    }
  });

  it('GET /v1/events sends a snapshot first, then pushed events with `event:` and `data:` lines', async () => {
    const stream = openEvents(server.tcp);
    await stream.next(1);
    const [snapshot] = stream.events;
    assert.equal(snapshot!.name, 'snapshot');
    assert.equal(snapshot!.data.type, 'snapshot');
    assert.ok(!Number.isNaN(Date.parse(snapshot!.data.at as string)));
    assert.equal((snapshot!.data.status as { name: string }).name, 'alpha');
    assert.equal((snapshot!.data.members as unknown[]).length, 2);
    const gamma = fakeMember({ id: 'gamma-id', name: 'gamma', self: false });
    source.emit({ type: 'member-joined', member: gamma });
    await stream.next(2);
    const pushed = stream.events[1]!;
    assert.equal(pushed.name, 'member-joined');
    assert.equal(pushed.data.type, 'member-joined');
    assert.equal(typeof pushed.data.at, 'string');
    assert.deepEqual(pushed.data.member, gamma);
    stream.close();
    await until('the stream unsubscribed', () => source.listeners.size === 0);
  });

  it('GET /v1/events?types= filters live events but always starts with the snapshot', async () => {
    const stream = openEvents(server.tcp, '?types=leader-changed');
    await stream.next(1);
    source.emit({ type: 'member-joined', member: fakeMember() });
    source.changeLeader('beta', PEER_ID);
    await stream.next(2);
    assert.deepEqual(stream.events.map((e) => e.name), ['snapshot', 'leader-changed']);
    stream.close();
    const bad = await http(server.tcp, '/v1/events?types=Bad%20Type');
    assert.equal(bad.status, 400);
    assert.equal(errorCode(bad), 'invalid');
  });

  it('GET /metrics serves the source\'s Prometheus text; GET /healthz is {"ok":true}', async () => {
    const metrics = await http(server.tcp, '/metrics');
    assert.equal(metrics.status, 200);
    assert.match(String(metrics.headers['content-type']), /^text\/plain/);
    assert.match(metrics.body, /^conclave_term 3$/m);
    const health = await http(server.unix, '/healthz');
    assert.equal(health.status, 200);
    assert.deepEqual(health.json(), { ok: true });
  });

  it('unknown routes are 404, wrong methods 405 with Allow, bad JSON and oversized bodies 400', async () => {
    const missing = await http(server.tcp, '/v1/nope');
    assert.equal(missing.status, 404);
    assert.equal(errorCode(missing), 'not-found');
    const wrongMethod = await http(server.tcp, '/v1/election');
    assert.equal(wrongMethod.status, 405);
    assert.equal(errorCode(wrongMethod), 'method-not-allowed');
    assert.equal(wrongMethod.headers.allow, 'POST');
    const postStatus = await http(server.tcp, '/v1/status', { method: 'POST' });
    assert.equal(postStatus.status, 405);
    const badJson = await http(server.tcp, '/v1/leadership/transfer', { method: 'POST', body: '{"to": ' });
    assert.equal(badJson.status, 400);
    assert.equal(errorCode(badJson), 'bad-json');
    const huge = await http(server.tcp, '/v1/election', { method: 'POST', body: Buffer.alloc(MAX_BODY_BYTES + 1, 0x20) });
    assert.equal(huge.status, 400);
    assert.equal(errorCode(huge), 'body-too-large');
    assert.equal(source.commands.length, 0, 'no command ran');
  });

  it('leadership commands answer 200 {ok, detail} and pass the command to the source', async () => {
    for (const [path, kind] of [['/v1/leadership/resign', 'resign'], ['/v1/election', 'elect'], ['/v1/leadership/transfer', 'transfer']] as const) {
      const reply = await http(server.tcp, path, { method: 'POST' });
      assert.equal(reply.status, 200, path);
      assert.deepEqual(reply.json(), { ok: true, detail: 'done' });
      assert.equal(source.commands.at(-1)?.kind, kind);
    }
    assert.deepEqual(source.commands.at(-1), { kind: 'transfer', to: null });
  });

  it('transfer resolves a member name to its id; an id passes as is; an unknown node is 404 unknown-node', async () => {
    await http(server.tcp, '/v1/leadership/transfer', { method: 'POST', body: JSON.stringify({ to: 'beta' }) });
    assert.deepEqual(source.commands.at(-1), { kind: 'transfer', to: PEER_ID });
    await http(server.tcp, '/v1/leadership/transfer', { method: 'POST', body: JSON.stringify({ to: PEER_ID }) });
    assert.deepEqual(source.commands.at(-1), { kind: 'transfer', to: PEER_ID });
    const before = source.commands.length;
    const unknown = await http(server.tcp, '/v1/leadership/transfer', { method: 'POST', body: JSON.stringify({ to: 'nobody' }) });
    assert.equal(unknown.status, 404);
    assert.equal(errorCode(unknown), 'unknown-node');
    assert.equal(source.commands.length, before, 'an unknown node never reaches the protocol');
    const wrongType = await http(server.tcp, '/v1/leadership/transfer', { method: 'POST', body: JSON.stringify({ to: 7 }) });
    assert.equal(wrongType.status, 400);
    assert.equal(errorCode(wrongType), 'invalid');
  });

  it('a name shared by a dead and a live member resolves to the live one', async () => {
    source.memberList.push({ ...source.memberList[1]!, id: 'old-beta-id', state: 'dead' });
    await http(server.tcp, '/v1/leadership/transfer', { method: 'POST', body: JSON.stringify({ to: 'beta' }) });
    assert.deepEqual(source.commands.at(-1), { kind: 'transfer', to: PEER_ID });
  });

  it('a command the protocol does not implement is 501 not-implemented', async () => {
    source.commandResult = null;
    for (const path of ['/v1/leadership/transfer', '/v1/leadership/resign', '/v1/election']) {
      const reply = await http(server.tcp, path, { method: 'POST', body: '{}' });
      assert.equal(reply.status, 501, path);
      assert.equal(errorCode(reply), 'not-implemented');
    }
  });

  it('a command error maps its code to a status and keeps the error body', async () => {
    const cases: [string, number][] = [['not-leader', 409], ['unknown-node', 404], ['no-candidate', 409], ['busy', 409], ['invalid', 400], ['timeout', 504], ['no-leader', 503], ['not-a-member', 404]];
    for (const [code, status] of cases) {
      source.commandResult = async () => ({ ok: false, code, message: `because ${code}` });
      const reply = await http(server.tcp, '/v1/leadership/resign', { method: 'POST' });
      assert.equal(reply.status, status, code);
      assert.deepEqual(reply.json(), { error: { code, message: `because ${code}` } });
    }
  });

  it('a failing source is a 500 internal reply, reported through onError, and the server keeps serving', async () => {
    source.failStatus = new Error('boom');
    const reply = await http(server.tcp, '/v1/status');
    assert.equal(reply.status, 500);
    assert.equal(errorCode(reply), 'internal');
    assert.equal(server.errors.length, 1);
    server.errors.length = 0;
    source.failStatus = null;
    assert.equal((await http(server.tcp, '/v1/status')).status, 200);
  });

  it('the Unix socket is mode 0600', () => {
    assert.equal(statSync(server.api.socketPath).mode & 0o777, 0o600);
  });
});

describe('control API server: auth, start-up and shutdown', () => {
  it('with a token, TCP requests need `Authorization: Bearer <token>` (401 otherwise); the Unix socket does not', async () => {
    const source = new FakeControlSource();
    const { api, tcp, unix } = await start(source, { token: 's3cret' });
    try {
      const none = await http(tcp, '/v1/status');
      assert.equal(none.status, 401);
      assert.equal(errorCode(none), 'unauthorized');
      assert.equal(none.headers['www-authenticate'], 'Bearer');
      const wrong = await http(tcp, '/v1/status', { headers: { authorization: 'Bearer s3cre' } });
      assert.equal(wrong.status, 401);
      const basic = await http(tcp, '/healthz', { headers: { authorization: 'Basic s3cret' } });
      assert.equal(basic.status, 401);
      const unknownRoute = await http(tcp, '/v1/nope');
      assert.equal(unknownRoute.status, 401, 'routes are not revealed before auth');
      const right = await http(tcp, '/v1/status', { headers: { authorization: 'Bearer s3cret' } });
      assert.equal(right.status, 200);
      assert.equal((await http(unix, '/v1/status')).status, 200);
    } finally {
      await api.close();
    }
  });

  it('a non-loopback TCP address without a token is refused with ApiConfigError (exit code 2) and leaves no socket', async () => {
    const socketPath = join(workDir, 'refused.sock');
    for (const tcpListen of ['0.0.0.0:7400', '192.168.1.10:7400', '[::]:7400']) {
      await assert.rejects(startApiServer({ source: new FakeControlSource(), tcpListen, socketPath, token: null }), (err: Error & { exitCode?: number }) => {
        assert.equal(err.name, 'ApiConfigError');
        assert.equal(err.exitCode, 2);
        return true;
      });
    }
    assert.equal(existsSync(socketPath), false);
    await assert.rejects(startApiServer({ source: new FakeControlSource(), tcpListen: 'not an address', socketPath, token: null }), { name: 'ApiConfigError' });
  });

  it('a socket path longer than a Unix socket allows is refused instead of silently truncated', async () => {
    const socketPath = join(workDir, `${'s'.repeat(120)}.sock`);
    await assert.rejects(start(new FakeControlSource(), { socketPath }), { name: 'ApiConfigError' });
  });

  it('tcpListen null serves the Unix socket only', async () => {
    const { api, unix } = await start(new FakeControlSource(), { tcpListen: null });
    try {
      assert.equal(api.tcpAddress, null);
      assert.equal((await http(unix, '/healthz')).status, 200);
    } finally {
      await api.close();
    }
  });

  it('a TCP port already in use is an ApiConfigError naming the address', async () => {
    const first = await start(new FakeControlSource());
    try {
      await assert.rejects(start(new FakeControlSource(), { tcpListen: first.api.tcpAddress }), (err: Error) => {
        assert.equal(err.name, 'ApiConfigError');
        assert.ok(err.message.includes(first.api.tcpAddress!));
        return true;
      });
    } finally {
      await first.api.close();
    }
  });

  it('a stale socket file from a dead daemon is replaced; a regular file in its place is refused and kept', async () => {
    const stale = join(workDir, 'stale.sock');
    // A socket file nobody listens on: bind elsewhere, move the file, then close (which unlinks only the old name).
    const holder = createNetServer();
    const bound = join(workDir, 'holder.sock');
    await new Promise<void>((resolve) => holder.listen(bound, resolve));
    renameSync(bound, stale);
    await new Promise<void>((resolve) => holder.close(() => resolve()));
    assert.ok(statSync(stale).isSocket());
    const { api, unix } = await start(new FakeControlSource(), { socketPath: stale, tcpListen: null });
    try {
      assert.equal((await http(unix, '/healthz')).status, 200);
    } finally {
      await api.close();
    }
    const plain = join(workDir, 'plain.sock');
    writeFileSync(plain, 'keep me');
    await assert.rejects(start(new FakeControlSource(), { socketPath: plain }), { name: 'ApiConfigError' });
    assert.equal(readFileSync(plain, 'utf8'), 'keep me');
  });

  it('close() ends event streams and pending long-polls, removes the socket, and is safe to call twice', async () => {
    const source = new FakeControlSource();
    const { api, tcp } = await start(source);
    const stream = openEvents(tcp);
    await stream.next(1);
    const poll = http(tcp, '/v1/leader?waitMs=120000&after=100');
    await until('the poll is waiting', () => source.listeners.size === 2);
    await Promise.all([api.close(), api.close()]);
    await stream.ended;
    assert.equal((await poll).status, 200);
    assert.equal(source.listeners.size, 0);
    assert.equal(existsSync(api.socketPath), false);
    await api.close();
  });

  it('an event client that stops reading is dropped once its buffer is full', async () => {
    const source = new FakeControlSource();
    const { api, unix } = await start(source, { maxEventBufferBytes: 64 * 1024, tcpListen: null });
    try {
      const socket = connect((unix as { socketPath: string }).socketPath);
      await new Promise<void>((resolve) => socket.once('connect', resolve));
      socket.write('GET /v1/events HTTP/1.1\r\nHost: x\r\n\r\n');
      socket.pause();
      await until('the stream subscribed', () => source.listeners.size === 1);
      const payload = 'x'.repeat(16 * 1024);
      for (let i = 0; i < 20_000 && source.listeners.size > 0; i++) {
        source.emit({ type: 'member-left', id: PEER_ID, name: payload });
        await new Promise((r) => setImmediate(r));
      }
      assert.equal(source.listeners.size, 0, 'the slow client was dropped');
      socket.destroy();
    } finally {
      await api.close();
    }
  });

  it('keep-alive comments arrive on the stream', async () => {
    const { api, tcp } = await start(new FakeControlSource(), { keepAliveMs: 20 });
    try {
      const stream = openEvents(tcp);
      await until('a keep-alive comment', () => stream.raw().includes('\n\n: keep-alive\n\n'));
      stream.close();
    } finally {
      await api.close();
    }
  });

  it('onRequest sees each request with its route (unknown for no route) and status', async () => {
    const seen: string[] = [];
    const { api, tcp } = await start(new FakeControlSource(), { onRequest: (route, status) => seen.push(`${route} ${status}`) });
    try {
      await http(tcp, '/v1/status');
      await http(tcp, '/v1/whatever?x=1');
      await until('both requests counted', () => seen.length === 2);
      assert.deepEqual(seen.sort(), ['/v1/status 200', 'unknown 404']);
    } finally {
      await api.close();
    }
  });
});

describe('control API server: /v1/raft, /v1/leave and /v1/reload', () => {
  let source: FakeControlSource;
  let server: Awaited<ReturnType<typeof start>>;
  beforeEach(async () => {
    source = new FakeControlSource();
    server = await start(source);
  });
  afterEach(async () => {
    await server.api.close();
    assert.deepEqual(server.errors, [], 'no unexpected errors');
  });

  it('GET /v1/raft on the leader: term, role, indexes, configuration by name, and each peer\'s progress', async () => {
    source.useRaft('leader');
    const reply = await http(server.tcp, '/v1/raft');
    assert.equal(reply.status, 200);
    const r = reply.json() as Record<string, unknown>;
    assert.deepEqual(Object.keys(r).sort(), ['appliedIndex', 'commitIndex', 'configuration', 'id', 'lastIndex', 'lastTerm', 'leader', 'name', 'peers', 'revision', 'role', 'snapshotIndex', 'term']);
    assert.equal(r.role, 'leader');
    assert.deepEqual(r.leader, { id: SELF_ID, name: 'alpha' });
    assert.equal(r.commitIndex, 42);
    assert.deepEqual(r.configuration, { voters: [{ id: SELF_ID, name: 'alpha' }, { id: PEER_ID, name: 'beta' }], learners: [{ id: GAMMA_ID, name: 'gamma' }] });
    const peers = r.peers as Record<string, unknown>[];
    assert.deepEqual(Object.keys(peers[0]!).sort(), ['id', 'lag', 'lastContactMs', 'matchIndex', 'name', 'nextIndex', 'state', 'vote']);
    assert.deepEqual(peers.map((p) => [p.name, p.vote, p.lag, p.state]), [['beta', 'voter', 0, 'replicate'], ['gamma', 'learner', 14, 'probe']]);
  });

  it('GET /v1/raft on a follower has no progress and names the leader, where it lives', async () => {
    source.useRaft('follower');
    const r = (await http(server.unix, '/v1/raft')).json() as { peers: unknown[]; leader: unknown; role: string };
    assert.deepEqual(r.peers, []);
    assert.equal(r.role, 'follower');
    assert.deepEqual(r.leader, { id: PEER_ID, name: 'beta' });
  });

  it('GET /v1/raft under bully is 409 not-raft, naming the protocol', async () => {
    const reply = await http(server.tcp, '/v1/raft');
    assert.equal(reply.status, 409);
    assert.equal(errorCode(reply), 'not-raft');
    assert.match((reply.json() as { error: { message: string } }).error.message, /runs bully/);
  });

  it('/v1/status under raft carries the snapshot index and the leader\'s peer progress (additive)', async () => {
    source.useRaft('leader');
    const s = (await http(server.tcp, '/v1/status')).json() as { raft: { snapshotIndex: number; peers: { name: string }[] } };
    assert.equal(s.raft.snapshotIndex, 0);
    assert.deepEqual(s.raft.peers.map((p) => p.name), ['beta', 'gamma']);
  });

  /** Waits for the server's `finish` on the reply, after which the route asks the daemon to stop. */
  async function stopsAfterReply(): Promise<string[]> {
    for (let i = 0; i < 100 && source.stops.length === 0; i++) await new Promise((resolve) => setTimeout(resolve, 5));
    return source.stops;
  }

  it('POST /v1/leave under raft removes this node from the configuration, then stops once the reply is sent', async () => {
    source.useRaft('follower');
    source.commandResult = async () => ({ ok: true, detail: 'alpha removed from the configuration at index 45' });
    const reply = await http(server.tcp, '/v1/leave', { method: 'POST' });
    assert.equal(reply.status, 200);
    assert.deepEqual(reply.json(), { ok: true, removed: true, detail: 'alpha removed from the configuration at index 45', stopping: true });
    assert.deepEqual(source.commands, [{ kind: 'remove', id: SELF_ID }]);
    assert.equal((await stopsAfterReply()).length, 1);
  });

  it('POST /v1/leave under bully (the machine answers unsupported) just stops gracefully', async () => {
    source.commandResult = async () => ({ ok: false, code: 'unsupported', message: 'bully has no configuration' });
    const reply = await http(server.tcp, '/v1/leave', { method: 'POST', body: '{}' });
    assert.equal(reply.status, 200);
    const body = reply.json() as { removed: boolean; detail: string };
    assert.equal(body.removed, false);
    assert.match(body.detail, /bully keeps no configuration/);
    assert.equal((await stopsAfterReply()).length, 1);
  });

  it('POST /v1/leave with a failed removal reports it and keeps running; with force it stops anyway', async () => {
    source.useRaft('follower');
    source.commandResult = async () => ({ ok: false, code: 'no-leader', message: 'no leader to relay the removal to' });
    const refused = await http(server.tcp, '/v1/leave', { method: 'POST' });
    assert.equal(refused.status, 503);
    assert.equal(errorCode(refused), 'no-leader');
    assert.match((refused.json() as { error: { message: string } }).error.message, /keeps running/);
    await new Promise((resolve) => setTimeout(resolve, 20));
    assert.deepEqual(source.stops, [], 'a failed removal never stops the daemon');
    const forced = await http(server.tcp, '/v1/leave', { method: 'POST', body: JSON.stringify({ force: true }) });
    assert.equal(forced.status, 200);
    assert.equal((forced.json() as { removed: boolean }).removed, false);
    assert.equal((await stopsAfterReply()).length, 1);
  });

  it('POST /v1/leave under raft treats unsupported as a failed removal (stopping would strand a voter)', async () => {
    source.useRaft('leader');
    source.commandResult = async () => ({ ok: false, code: 'unsupported', message: 'configuration changes are not implemented yet' });
    const reply = await http(server.tcp, '/v1/leave', { method: 'POST' });
    assert.equal(reply.status, 409);
    assert.equal(errorCode(reply), 'unsupported');
    assert.deepEqual(source.stops, []);
  });

  it('POST /v1/leave refuses a malformed body before asking the election anything', async () => {
    for (const body of ['[]', '{"force":"yes"}']) {
      const reply = await http(server.tcp, '/v1/leave', { method: 'POST', body });
      assert.equal(reply.status, 400, body);
      assert.equal(errorCode(reply), 'invalid');
    }
    assert.deepEqual(source.commands, []);
    assert.deepEqual(source.stops, []);
  });


  it('POST /v1/reload reloads once and answers what was applied and what needs a restart', async () => {
    const reply = await http(server.unix, '/v1/reload', { method: 'POST' });
    assert.equal(reply.status, 200);
    assert.deepEqual(reply.json(), {
      applied: [{ field: 'log.level', from: 'info', to: 'debug' }],
      needsRestart: [{ field: 'messaging.maxFrameBytes', from: 65536, to: 131072 }],
      unchanged: false,
    });
    assert.equal(source.reloads, 1);
  });

  it('a config that does not load is 400 invalid-config with every problem by field path', async () => {
    source.refuseReload([
      { path: 'log.level', message: 'expected one of trace, debug, info, warn, error, silent; got "loud"' },
      { path: 'membership.suspectAfterMs', message: 'must be greater than heartbeatIntervalMs (1000)' },
    ]);
    const reply = await http(server.tcp, '/v1/reload', { method: 'POST', body: '{}' });
    assert.equal(reply.status, 400);
    assert.equal(errorCode(reply), 'invalid-config');
    const body = reply.json() as { error: { message: string }; issues: { path: string }[] };
    assert.deepEqual(body.issues.map((i) => i.path), ['log.level', 'membership.suspectAfterMs']);
    assert.match(body.error.message, /keeps running its previous configuration; invalid configuration \(config file \/etc\/conclave\.yaml\):\n {2}log\.level: expected/);
  });

  it('only POST, and only an empty body: a reload takes nothing but the config file', async () => {
    assert.equal((await http(server.tcp, '/v1/reload')).status, 405);
    const reply = await http(server.tcp, '/v1/reload', { method: 'POST', body: '{"file":"/tmp/other.yaml"}' });
    assert.equal(reply.status, 400);
    assert.equal(errorCode(reply), 'invalid');
    assert.equal(source.reloads, 0);
  });
});
