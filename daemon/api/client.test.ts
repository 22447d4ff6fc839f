/** The API client against a real server with a fake source, and against nothing at all. */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer as createHttpServer, type Server } from 'node:http';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, beforeEach, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { createApiClient, resolveApiAddress, type ApiClient } from './client.js';
import { ApiError } from './errors.js';
import { startApiServer, type ApiServer } from './server.js';
import { FakeControlSource, PEER_ID, SELF_ID, fakeMember } from './testing.js';
import type { StreamEvent } from './types.js';

const workDir = mkdtempSync(join(tmpdir(), 'conclave-client-test-'));
after(() => rmSync(workDir, { recursive: true, force: true }));
let serial = 0;

async function freePort(): Promise<number> {
  return await new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

describe('API client against a server', () => {
  let source: FakeControlSource;
  let api: ApiServer;
  let clients: { tcp: ApiClient; unix: ApiClient };
  beforeEach(async () => {
    source = new FakeControlSource();
    api = await startApiServer({ source, tcpListen: '127.0.0.1:0', socketPath: join(workDir, `c${serial++}.sock`), token: null });
    clients = { tcp: createApiClient({ address: api.tcpAddress! }), unix: createApiClient({ address: `unix:${api.socketPath}` }) };
  });
  afterEach(() => api.close());

  it('status, members, leader and healthz decode the replies, over TCP and the Unix socket', async () => {
    for (const client of [clients.tcp, clients.unix]) {
      assert.equal((await client.status()).id, SELF_ID);
      assert.deepEqual((await client.members()).members.map((m) => m.name), ['alpha', 'beta']);
      assert.deepEqual(await client.leader(), source.leader());
      assert.deepEqual(await client.healthz(), { ok: true });
    }
  });

  it('raft() decodes /v1/raft; under bully it is ApiError 409 not-raft', async () => {
    await assert.rejects(clients.tcp.raft(), { name: 'ApiError', status: 409, code: 'not-raft' });
    const expected = source.useRaft('leader');
    assert.deepEqual(await clients.unix.raft(), expected);
  });

  it('leave() asks for the removal and reports it; leave({force}) sends force', async () => {
    source.useRaft('follower');
    source.commandResult = async () => ({ ok: false, code: 'no-leader', message: 'no leader' });
    await assert.rejects(clients.tcp.leave(), { name: 'ApiError', status: 503, code: 'no-leader' });
    const forced = await clients.tcp.leave({ force: true });
    assert.equal(forced.removed, false);
    assert.equal(forced.stopping, true);
    assert.deepEqual(source.commands.map((c) => c.kind), ['remove', 'remove']);
  });

  it('reload() returns what was applied and what needs a restart; a refused config is InvalidConfigError with the issues, exit code 2', async () => {
    assert.deepEqual(await clients.unix.reload(), source.reload());
    source.refuseReload();
    await assert.rejects(clients.tcp.reload(), (err: Error & { status?: number; code?: string; exitCode?: number; issues?: unknown }) => {
      assert.equal(err.name, 'InvalidConfigError');
      assert.deepEqual([err.status, err.code, err.exitCode], [400, 'invalid-config', 2]);
      assert.deepEqual(err.issues, [{ path: 'log.level', message: 'expected one of trace, debug, info, warn, error, silent; got "loud"' }]);
      assert.match(err.message, /log\.level: expected one of/);
      return true;
    });
  });

  it('leader({waitMs, after: revision}) returns the new leader once the revision changes', async () => {
    const pending = clients.tcp.leader({ waitMs: 120_000, after: source.leader().revision });
    while (source.listeners.size === 0) await sleep(5);
    source.changeLeader('beta', PEER_ID);
    const changed = await pending;
    assert.deepEqual(changed.leader, { id: PEER_ID, name: 'beta' });
    assert.deepEqual(changed, source.leader());
  });

  it('a long-poll is not cut short by timeoutMs: it ends when the leader changes', async () => {
    const timeoutMs = 100;
    const client = createApiClient({ address: api.tcpAddress!, timeoutMs });
    // The client allows this poll timeoutMs + 60 s; the server answers only when the leader changes.
    const outcome = client.leader({ waitMs: 60_000, after: source.leader().revision }).then(
      (reply) => ({ reply, error: null }),
      (error: Error) => ({ reply: null, error }),
    );
    let settled = false;
    void outcome.then(() => (settled = true));
    while (source.listeners.size === 0) await sleep(5);
    // At least three timeouts after the server took the poll. A loaded machine only makes this
    // wait longer, which makes the check stricter, never wrong.
    await sleep(3 * timeoutMs);
    if (settled) assert.fail(`the poll ended before the leader changed: ${JSON.stringify(await outcome)}`);
    source.changeLeader('beta', PEER_ID);
    const { reply, error } = await outcome;
    assert.equal(error, null);
    assert.deepEqual(reply!.leader, { id: PEER_ID, name: 'beta' });
  });

  it('transfer, resign and elect send their commands and return {ok, detail}', async () => {
    assert.deepEqual(await clients.tcp.transfer('beta'), { ok: true, detail: 'done' });
    assert.deepEqual(source.commands.at(-1), { kind: 'transfer', to: PEER_ID });
    await clients.tcp.transfer();
    assert.deepEqual(source.commands.at(-1), { kind: 'transfer', to: null });
    await clients.unix.resign();
    assert.deepEqual(source.commands.at(-1), { kind: 'resign' });
    await clients.unix.elect();
    assert.deepEqual(source.commands.at(-1), { kind: 'elect' });
  });

  it('error replies become ApiError with status and code (exit code 1)', async () => {
    source.commandResult = async () => ({ ok: false, code: 'not-leader', message: 'only the leader can resign' });
    await assert.rejects(clients.tcp.resign(), (err: Error & { status?: number; code?: string; exitCode?: number }) => {
      assert.equal(err.name, 'ApiError');
      assert.equal(err.status, 409);
      assert.equal(err.code, 'not-leader');
      assert.equal(err.message, 'only the leader can resign');
      assert.equal(err.exitCode, 1);
      return true;
    });
    await assert.rejects(clients.tcp.transfer('nobody'), { name: 'ApiError', status: 404, code: 'unknown-node' });
    source.commandResult = null;
    await assert.rejects(clients.tcp.elect(), { name: 'ApiError', status: 501, code: 'not-implemented' });
  });

  it('events() delivers the snapshot first, then live events, and resolves on abort', async () => {
    const controller = new AbortController();
    const seen: StreamEvent[] = [];
    const done = clients.unix.events((event) => {
      seen.push(event);
      if (event.type === 'snapshot') source.emit({ type: 'role-changed', from: 'follower', to: 'leader', term: 4 });
      else controller.abort();
    }, { signal: controller.signal });
    await done;
    const [snapshot, changed] = seen;
    assert.equal(seen.length, 2);
    assert.equal(snapshot?.type, 'snapshot');
    assert.equal(snapshot.status.name, 'alpha');
    assert.deepEqual(snapshot.members, source.memberList);
    assert.equal(changed?.type, 'role-changed');
    assert.equal(changed.to, 'leader');
    assert.ok(Number.isFinite(Date.parse(changed.at)));
  });

  it('events() skips, and reports to onIgnored, events of unknown types or with malformed fields; the stream goes on', async () => {
    const controller = new AbortController();
    const seen: string[] = [];
    const ignored: string[] = [];
    const done = clients.tcp.events((event) => {
      seen.push(event.type);
      if (event.type === 'snapshot') {
        source.emitRaw({ type: 'member-teleported', at: new Date().toISOString(), id: PEER_ID });
        source.emitRaw({ type: 'member-dead', at: new Date().toISOString(), id: PEER_ID, name: 'beta', incarnation: '2', suspectedForMs: 900 });
        source.emitRaw({ type: 'member-joined', at: new Date().toISOString(), member: { name: 'gamma' } });
        source.emit({ type: 'member-left', id: PEER_ID, name: 'beta' });
      } else controller.abort();
    }, { signal: controller.signal, onIgnored: (reason) => ignored.push(reason) });
    await done;
    assert.deepEqual(seen, ['snapshot', 'member-left']);
    assert.equal(ignored.length, 3);
    assert.match(ignored[0]!, /unknown type "member-teleported"/);
    assert.match(ignored[1]!, /malformed "member-dead" event: incarnation:/);
    assert.match(ignored[2]!, /malformed "member-joined" event: member\./);
  });

  it('events() without onIgnored drops what it cannot read silently', async () => {
    const controller = new AbortController();
    const seen: string[] = [];
    const done = clients.tcp.events((event) => {
      seen.push(event.type);
      if (event.type === 'snapshot') {
        source.emitRaw({ type: 'leader-changed', at: new Date().toISOString(), to: 'beta' });
        source.changeLeader('beta', PEER_ID);
      } else controller.abort();
    }, { signal: controller.signal });
    await done;
    assert.deepEqual(seen, ['snapshot', 'leader-changed']);
  });

  it('events({types}) asks the server to filter', async () => {
    const controller = new AbortController();
    const seen: string[] = [];
    const done = clients.tcp.events((event) => {
      seen.push(event.type);
      if (event.type === 'snapshot') {
        source.emit({ type: 'member-joined', member: fakeMember({ id: 'gamma-id', name: 'gamma', self: false }) });
        source.changeLeader('beta', PEER_ID);
      } else controller.abort();
    }, { signal: controller.signal, types: ['leader-changed'] });
    await done;
    assert.deepEqual(seen, ['snapshot', 'leader-changed']);
  });

  it('events() resolves when the daemon closes the stream', async () => {
    let sawSnapshot = false;
    const done = clients.tcp.events((event) => {
      sawSnapshot ||= event.type === 'snapshot';
      if (event.type === 'snapshot') void api.close();
    });
    await done;
    assert.ok(sawSnapshot);
  });

  it('an error thrown by onEvent rejects events() and closes the stream', async () => {
    await assert.rejects(clients.tcp.events(() => {
      throw new RangeError('consumer failed');
    }), { name: 'RangeError' });
    while (source.listeners.size > 0) await sleep(5);
  });

  it('a token is sent as a bearer header; without it a protected TCP API is ApiError 401', async () => {
    const guarded = await startApiServer({ source, tcpListen: '127.0.0.1:0', socketPath: join(workDir, `g${serial++}.sock`), token: 'tok' });
    try {
      await assert.rejects(createApiClient({ address: guarded.tcpAddress! }).status(), { name: 'ApiError', status: 401, code: 'unauthorized' });
      await assert.rejects(createApiClient({ address: guarded.tcpAddress! }).events(() => undefined), { name: 'ApiError', status: 401 });
      assert.equal((await createApiClient({ address: guarded.tcpAddress!, token: 'tok' }).status()).id, SELF_ID);
    } finally {
      await guarded.close();
    }
  });
});

describe('API client without a daemon', () => {
  it('a closed TCP port is ApiUnreachableError naming the address and the fix (exit code 1)', async () => {
    const address = `127.0.0.1:${await freePort()}`;
    const client = createApiClient({ address });
    for (const attempt of [() => client.status(), () => client.events(() => undefined), () => client.leader({ waitMs: 10 })]) {
      await assert.rejects(attempt(), (err: Error & { exitCode?: number; address?: string; reason?: string }) => {
        assert.equal(err.name, 'ApiUnreachableError');
        assert.equal(err.reason, 'connection refused');
        assert.equal(err.exitCode, 1);
        assert.equal(err.address, address);
        assert.ok(err.message.includes(address), err.message);
        assert.ok(err.message.includes('conclave start'), err.message);
        return true;
      });
    }
  });

  it('a missing socket file is ApiUnreachableError naming the path', async () => {
    const address = `unix:${join(workDir, 'nothing-here.sock')}`;
    await assert.rejects(createApiClient({ address }).members(), (err: Error) => {
      assert.equal(err.name, 'ApiUnreachableError');
      assert.ok(err.message.includes(address));
      return true;
    });
  });

  // The server never answers, so only the client's timeout can end these calls; the test's own
  // bound is generous, so a slow machine delays the answer but cannot change it.
  it('a server that accepts but never answers is ApiUnreachableError caused by the timeout', { timeout: 60_000 }, async () => {
    const silent = createServer(() => undefined);
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = silent.address() as { port: number };
      const client = createApiClient({ address: `127.0.0.1:${port}`, timeoutMs: 50 });
      for (const attempt of [() => client.status(), () => client.leader({ waitMs: 10 }), () => client.events(() => undefined)]) {
        await assert.rejects(attempt(), (err: Error & { reason?: string }) => {
          assert.equal(err.name, 'ApiUnreachableError');
          assert.equal((err.cause as Error | undefined)?.name, 'TimeoutError');
          assert.match(err.reason ?? '', /^no answer within \d+ ms$/);
          return true;
        });
      }
    } finally {
      silent.close();
      (silent as unknown as { closeAllConnections?: () => void }).closeAllConnections?.();
    }
  });

  it('a malformed address is a UsageError (exit code 2)', () => {
    for (const address of ['localhost', 'unix:', '127.0.0.1:99999', 'http://127.0.0.1:7400']) {
      assert.throws(() => createApiClient({ address }), (err: Error & { exitCode?: number }) => err.name === 'UsageError' && err.exitCode === 2, address);
    }
  });

  it('resolveApiAddress: flag, then CONCLAVE_API, then 127.0.0.1:7400', () => {
    assert.equal(resolveApiAddress('unix:/x.sock', { CONCLAVE_API: '10.0.0.1:1' }), 'unix:/x.sock');
    assert.equal(resolveApiAddress(undefined, { CONCLAVE_API: '10.0.0.1:1' }), '10.0.0.1:1');
    assert.equal(resolveApiAddress(undefined, { CONCLAVE_API: '' }), '127.0.0.1:7400');
    assert.equal(resolveApiAddress(undefined, {}), '127.0.0.1:7400');
  });
});

describe('API client against a server that is not conclave', () => {
  let reply: { status: number; type: string | null; body: string };
  let server: Server;
  let address: string;
  beforeEach(async () => {
    server = createHttpServer((_req, res) => {
      res.writeHead(reply.status, reply.type === null ? {} : { 'content-type': reply.type });
      res.end(reply.body);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    address = `127.0.0.1:${(server.address() as { port: number }).port}`;
  });
  afterEach(() => new Promise<void>((resolve) => server.close(() => resolve())));

  /** Rejects with NotConclaveApiError naming address, status and type, and never echoing the body. */
  function notConclave(status: number, type: string) {
    return (err: Error & { status?: number; code?: string; contentType?: string; exitCode?: number }) => {
      assert.equal(err.name, 'NotConclaveApiError');
      assert.equal(err instanceof ApiError, true, 'an ApiError, so every caller that shows ApiErrors shows it');
      assert.equal(err.code, 'not-conclave-api');
      assert.equal(err.exitCode, 1);
      assert.equal(err.status, status);
      assert.equal(err.contentType, type);
      for (const part of [address, `HTTP ${status}`, type, 'not the conclave API', '--api']) assert.ok(err.message.includes(part), err.message);
      assert.ok(!err.message.includes('SECRET-BODY'), err.message);
      return true;
    };
  }

  it('an HTML 404 page is NotConclaveApiError, not an error code made of the page', async () => {
    reply = { status: 404, type: 'text/html; charset=utf-8', body: '<html><body>SECRET-BODY Not Found</body></html>' };
    const client = createApiClient({ address });
    await assert.rejects(client.status(), notConclave(404, 'text/html'));
    await assert.rejects(client.resign(), notConclave(404, 'text/html'));
    await assert.rejects(client.events(() => undefined), notConclave(404, 'text/html'));
  });

  it('a plain-text 200 is NotConclaveApiError', async () => {
    reply = { status: 200, type: 'text/plain', body: 'SECRET-BODY hello' };
    const client = createApiClient({ address });
    await assert.rejects(client.leader(), notConclave(200, 'text/plain'));
    await assert.rejects(client.events(() => undefined), notConclave(200, 'text/plain'));
  });

  it('JSON of another shape, or JSON without its content type, is NotConclaveApiError', async () => {
    reply = { status: 200, type: 'application/json', body: '{"SECRET-BODY": true, "members": 3}' };
    const client = createApiClient({ address });
    for (const attempt of [() => client.status(), () => client.members(), () => client.leader(), () => client.elect(), () => client.healthz()]) {
      await assert.rejects(attempt(), notConclave(200, 'application/json'));
    }
    reply = { status: 500, type: 'application/json', body: '{"message": "SECRET-BODY"}' };
    await assert.rejects(client.status(), notConclave(500, 'application/json'));
    reply = { status: 200, type: null, body: '{"ok": true}' };
    await assert.rejects(client.healthz(), (err: Error) => err.name === 'NotConclaveApiError' && err.message.includes('no content type'));
  });

  it('status accepts security {psk}, and a daemon too old to send it; a malformed one is not Conclave', async () => {
    const { security: _omitted, ...old } = new FakeControlSource().status();
    const client = createApiClient({ address });
    for (const security of [{ psk: false }, { psk: true }]) {
      reply = { status: 200, type: 'application/json', body: JSON.stringify({ ...old, security }) };
      assert.deepEqual((await client.status()).security, security);
    }
    reply = { status: 200, type: 'application/json', body: JSON.stringify(old) };
    assert.equal((await client.status()).id, SELF_ID);
    for (const security of ['open', { psk: 'no' }, null]) {
      reply = { status: 200, type: 'application/json', body: JSON.stringify({ ...old, security }) };
      await assert.rejects(client.status(), { name: 'NotConclaveApiError' });
    }
  });

  it('raft() holds /v1/raft to its shape as strictly as status(): JSON of another shape is not Conclave', async () => {
    const client = createApiClient({ address });
    const good = { id: SELF_ID, role: 'leader', term: 3, leader: null, commitIndex: 1, lastIndex: 1, configuration: { voters: [], learners: [] }, peers: [] };
    reply = { status: 200, type: 'application/json', body: JSON.stringify(good) };
    assert.equal((await client.raft()).term, 3);
    for (const bad of [{ ...good, peers: undefined }, { ...good, configuration: { voters: [] } }, { ...good, commitIndex: '1' }]) {
      reply = { status: 200, type: 'application/json', body: JSON.stringify(bad) };
      await assert.rejects(client.raft(), { name: 'NotConclaveApiError' });
    }
  });

  it("Conclave's error body still becomes a plain ApiError with its code", async () => {
    reply = { status: 409, type: 'application/json; charset=utf-8', body: '{"error":{"code":"not-leader","message":"only the leader can resign"}}' };
    await assert.rejects(createApiClient({ address }).resign(), { name: 'ApiError', status: 409, code: 'not-leader', message: 'only the leader can resign' });
  });
});
