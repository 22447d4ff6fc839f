/**
 * The API server against hostile clients, over raw sockets: unparsable and oversized targets,
 * bytes that are not HTTP, silent connections, connection floods, event clients that never read,
 * piles of long-polls, and how all of that is counted and reported.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { parseHostPort } from '../config/addresses.js';
import type { AbuseKind, AbuseReport } from './abuse.js';
import { startApiServer, type ApiServer, type ApiServerOptions } from './server.js';
import { FakeControlSource, PEER_ID } from './testing.js';

const workDir = mkdtempSync(join(tmpdir(), 'conclave-hostile-test-'));
after(() => rmSync(workDir, { recursive: true, force: true }));
let serial = 0;

type Via = { port: number } | { socketPath: string };

/** A source that counts snapshots, i.e. event streams opened. */
class CountingSource extends FakeControlSource {
  snapshots = 0;

  override status(): ReturnType<FakeControlSource['status']> {
    this.snapshots++;
    return super.status();
  }
}

interface Started {
  api: ApiServer;
  tcp: Via;
  unix: Via;
  errors: Error[];
  rejected: AbuseKind[];
  reports: AbuseReport[];
  count: (kind: AbuseKind) => number;
}

async function start(source: FakeControlSource, overrides: Partial<ApiServerOptions> = {}): Promise<Started> {
  const errors: Error[] = [];
  const rejected: AbuseKind[] = [];
  const reports: AbuseReport[] = [];
  const api = await startApiServer({
    source,
    tcpListen: '127.0.0.1:0',
    socketPath: join(workDir, `h-${serial++}.sock`),
    token: null,
    onError: (e) => errors.push(e),
    onRejected: (kind) => rejected.push(kind),
    onAbuse: (report) => reports.push(report),
    ...overrides,
  });
  const port = api.tcpAddress ? parseHostPort(api.tcpAddress)!.port : 0;
  return { api, tcp: { port }, unix: { socketPath: api.socketPath }, errors, rejected, reports, count: (kind) => rejected.filter((k) => k === kind).length };
}

function open(via: Via): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = 'port' in via ? connect(via.port, '127.0.0.1') : connect(via.socketPath);
    socket.once('connect', () => resolve(socket));
    socket.once('error', reject);
  });
}

interface RawReply {
  /** Everything the server sent before it closed the connection. */
  text: string;
  status: number | null;
  headers: Record<string, string>;
  body: string;
}

/** How long a server may keep a connection it should close; far above every timeout used here. */
const SERVER_CLOSES_WITHIN_MS = 10_000;

/** Writes `bytes` (if any) on a new connection, then reads until the server closes it. */
async function exchange(via: Via, bytes: string | null): Promise<RawReply> {
  const socket = await open(via);
  return untilClosed(socket, bytes);
}

function untilClosed(socket: Socket, bytes: string | null = null): Promise<RawReply> {
  return new Promise((resolve, reject) => {
    let text = '';
    const kept = setTimeout(() => {
      socket.destroy();
      reject(new Error(`the server kept the connection open; it sent ${JSON.stringify(text.slice(0, 200))}`));
    }, SERVER_CLOSES_WITHIN_MS);
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => (text += chunk));
    // A reset after the reply is still a close.
    socket.on('error', () => undefined);
    socket.on('close', () => {
      clearTimeout(kept);
      resolve(parseReply(text));
    });
    if (bytes !== null) socket.write(bytes);
  });
}

function parseReply(text: string): RawReply {
  const headEnd = text.indexOf('\r\n\r\n');
  if (headEnd < 0) return { text, status: null, headers: {}, body: '' };
  const [statusLine, ...lines] = text.slice(0, headEnd).split('\r\n');
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const colon = line.indexOf(':');
    headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  return { text, status: Number(/^HTTP\/1\.1 (\d{3})/.exec(statusLine ?? '')?.[1]), headers, body: text.slice(headEnd + 4) };
}

function errorCode(reply: { body: string }): string {
  return (JSON.parse(reply.body) as { error: { code: string } }).error.code;
}

const get = (target: string, extra = '') => `GET ${target} HTTP/1.1\r\nHost: 127.0.0.1\r\n${extra}\r\n`;

function http(via: Via, path: string, headers: Record<string, string> = {}): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', ...via, path, headers, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

async function until(what: string, check: () => boolean | Promise<boolean>): Promise<void> {
  for (let i = 0; i < 1000; i++) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  assert.fail(`never happened: ${what}`);
}

/** Waits for the JSON reply on a connection that stays open (a keep-alive request, an event stream). */
function firstReply(socket: Socket, marker: string): Promise<string> {
  return new Promise((resolve) => {
    let text = '';
    const onData = (chunk: Buffer) => {
      text += chunk.toString('utf8');
      if (!text.includes(marker)) return;
      socket.off('data', onData);
      resolve(text);
    };
    socket.on('data', onData);
  });
}

describe('control API against hostile clients: request targets', () => {
  it('unparsable targets are 400 bad-target with Connection: close, the server closes the socket, nothing is thrown, and the server keeps serving', async () => {
    const s = await start(new FakeControlSource());
    try {
      const targets = ['//', 'http://[', '//evil.example/v1/status', '/\\evil.example/v1/status', '*'];
      for (const target of targets) {
        // The client asks for keep-alive: the close is the server's doing.
        const reply = await exchange(s.tcp, get(target));
        assert.equal(reply.status, 400, target);
        assert.equal(reply.headers.connection, 'close', target);
        assert.match(reply.headers['content-type'] ?? '', /^application\/json/, target);
        assert.equal(errorCode(reply), 'bad-target', target);
      }
      const overUnix = await exchange(s.unix, get('//'));
      assert.equal(overUnix.status, 400);
      assert.deepEqual(s.errors, [], 'no error reached onError: no stack trace is logged');
      assert.equal(s.count('bad-target'), targets.length + 1);
      assert.equal((await http(s.tcp, '/v1/status')).status, 200);
      assert.equal((await http(s.unix, '/v1/status')).status, 200);
    } finally {
      await s.api.close();
    }
  });

  it('the target is checked before the token: a bad target is 400 even without Authorization', async () => {
    const s = await start(new FakeControlSource(), { token: 's3cret' });
    try {
      assert.equal((await exchange(s.tcp, get('http://['))).status, 400);
      assert.equal((await exchange(s.tcp, get('/v1/status', 'Connection: close\r\n'))).status, 401);
      assert.deepEqual([s.count('bad-target'), s.count('unauthorized')], [1, 1]);
    } finally {
      await s.api.close();
    }
  });

  it('a web page cannot drive the TCP API: a browser Origin, or a rebinding Host without a token, is 403 and no command runs', async () => {
    const source = new FakeControlSource();
    const s = await start(source);
    try {
      const csrf = await exchange(s.tcp, 'POST /v1/election HTTP/1.1\r\nHost: 127.0.0.1\r\nOrigin: https://evil.example\r\nContent-Type: text/plain\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}');
      assert.equal(csrf.status, 403);
      assert.equal(errorCode(csrf), 'browser-refused');
      const rebinding = await exchange(s.tcp, 'GET /v1/status HTTP/1.1\r\nHost: evil.example:7400\r\nConnection: close\r\n\r\n');
      assert.equal(rebinding.status, 403);
      assert.deepEqual(source.commands, []);
      assert.equal(s.count('browser'), 2);
      // The Unix socket is out of a browser's reach: no such check there.
      assert.equal((await exchange(s.unix, 'GET /v1/status HTTP/1.1\r\nHost: anything\r\nConnection: close\r\n\r\n')).status, 200);
      assert.equal((await http(s.tcp, '/v1/status')).status, 200);
    } finally {
      await s.api.close();
    }
  });

  it('absolute-form targets are served by their path', async () => {
    const s = await start(new FakeControlSource());
    try {
      const status = await exchange(s.tcp, get('http://127.0.0.1/v1/status', 'Connection: close\r\n'));
      assert.equal(status.status, 200);
      assert.equal((JSON.parse(status.body) as { name: string }).name, 'alpha');
      const missing = await exchange(s.tcp, get('http://127.0.0.1/v1/nope', 'Connection: close\r\n'));
      assert.equal(missing.status, 404);
      assert.deepEqual(s.rejected, []);
    } finally {
      await s.api.close();
    }
  });

  it('a target over 8 KiB is 414 target-too-long; one past the 16 KiB header limit is 431 headers-too-large; both closed', async () => {
    const s = await start(new FakeControlSource());
    try {
      const long = await exchange(s.tcp, get(`/v1/status?pad=${'a'.repeat(9 * 1024)}`));
      assert.equal(long.status, 414);
      assert.equal(long.headers.connection, 'close');
      assert.equal(errorCode(long), 'target-too-long');
      const huge = await exchange(s.tcp, get(`/v1/status?pad=${'a'.repeat(20 * 1024)}`));
      assert.equal(huge.status, 431);
      assert.equal(huge.headers.connection, 'close');
      assert.equal(errorCode(huge), 'headers-too-large');
      assert.deepEqual([s.count('bad-target'), s.count('bad-request')], [1, 1]);
      assert.equal((await http(s.tcp, '/v1/status')).status, 200);
    } finally {
      await s.api.close();
    }
  });

  it('bytes that are not HTTP get 400 bad-request as JSON and the socket closes', async () => {
    const s = await start(new FakeControlSource());
    try {
      for (const bytes of ['HELLO\r\n\r\n', 'GET /v1/status HTTP/1.1\r\nHost x\r\n\r\n', '\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03']) {
        const reply = await exchange(s.tcp, bytes);
        assert.equal(reply.status, 400, JSON.stringify(bytes));
        assert.equal(errorCode(reply), 'bad-request');
      }
      assert.equal(s.count('bad-request'), 3);
      assert.deepEqual(s.errors, []);
    } finally {
      await s.api.close();
    }
  });
});

describe('control API against hostile clients: silent connections and floods', () => {
  it('a client that leaves in the middle of a body is no internal error: nothing reaches onError, no command runs', async () => {
    const source = new FakeControlSource();
    const finished: string[] = [];
    const s = await start(source, { onRequest: (route) => finished.push(route) });
    try {
      const socket = await open(s.tcp);
      // `100 Continue` says the headers are parsed and the route is about to read the body.
      const reading = firstReply(socket, '100 Continue');
      socket.write('POST /v1/leadership/transfer HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 100\r\nExpect: 100-continue\r\n\r\n');
      await reading;
      socket.end('{"to":');
      await untilClosed(socket);
      await until('the request finished', () => finished.includes('/v1/leadership/transfer'));
      assert.deepEqual(s.errors, []);
      assert.deepEqual(source.commands, []);
    } finally {
      await s.api.close();
    }
  });


  it('a connection that never sends a request, or stalls mid-headers, gets 408 and is closed', async () => {
    // Long enough that a prompt client never meets it, even on a loaded machine.
    const s = await start(new FakeControlSource(), { headersTimeoutMs: 2_000, requestTimeoutMs: 4_000 });
    try {
      const [silent, stalled] = await Promise.all([exchange(s.tcp, null), exchange(s.unix, 'GET /v1/status HTTP/1.1\r\nHost: 127.0.0.1\r\n')]);
      assert.equal(silent.status, 408);
      assert.equal(errorCode(silent), 'request-timeout');
      assert.equal(stalled.status, 408);
      assert.equal(s.count('idle-timeout'), 2);
      assert.equal((await http(s.tcp, '/v1/status')).status, 200, 'a prompt client is unaffected');
    } finally {
      await s.api.close();
    }
  });

  it('an idle keep-alive connection is closed after keepAliveTimeoutMs, and that is no abuse', async () => {
    const s = await start(new FakeControlSource(), { keepAliveTimeoutMs: 100 });
    try {
      const socket = await open(s.tcp);
      const answered = firstReply(socket, '{"ok":true}');
      socket.write(get('/healthz'));
      assert.match(await answered, /^HTTP\/1\.1 200/);
      await untilClosed(socket);
      assert.deepEqual(s.rejected, []);
    } finally {
      await s.api.close();
    }
  });

  it('beyond maxConnections a new connection is closed unanswered; the other listener still serves; a freed slot serves again', async () => {
    const s = await start(new FakeControlSource(), { maxConnections: 3, keepAliveTimeoutMs: 60_000 });
    const held: Socket[] = [];
    try {
      for (let i = 0; i < 3; i++) {
        const socket = await open(s.tcp);
        const answered = firstReply(socket, '{"ok":true}');
        socket.write(get('/healthz'));
        await answered;
        held.push(socket);
      }
      const refused = await exchange(s.tcp, get('/healthz'));
      assert.equal(refused.text, '', 'closed before a byte is read or written');
      assert.equal(s.count('connection-cap'), 1);
      assert.equal((await http(s.unix, '/v1/status')).status, 200, 'the Unix socket has its own connections');
      held.shift()!.destroy();
      await until('a freed slot serves again', async () => (await exchange(s.tcp, get('/healthz', 'Connection: close\r\n'))).status === 200);
    } finally {
      for (const socket of held) socket.destroy();
      await s.api.close();
    }
  });
});

describe('control API against hostile clients: event streams and long-polls', () => {
  it('event clients that never read are dropped at the buffer limit, those beyond the cap get 503, and /v1/status answers throughout', async () => {
    const source = new CountingSource();
    const streams = 40;
    const s = await start(source, { tcpListen: null, maxEventStreams: streams, maxEventBufferBytes: 16 * 1024, keepAliveMs: 60_000 });
    const stalled: Socket[] = [];
    try {
      for (let i = 0; i < streams; i++) {
        const socket = await open(s.unix);
        socket.write(get('/v1/events'));
        // Never reads: what the daemon sends piles up in the kernel, then in the daemon.
        socket.pause();
        stalled.push(socket);
      }
      await until('every stream got its snapshot', () => source.snapshots === streams);
      for (let i = 0; i < 5; i++) {
        const over = await exchange(s.unix, get('/v1/events'));
        assert.equal(over.status, 503);
        assert.equal(errorCode(over), 'too-many-event-streams');
        assert.equal(over.headers['retry-after'], '5');
        assert.equal(over.headers.connection, 'close');
      }
      assert.equal(s.count('sse-cap'), 5);
      assert.equal((await http(s.unix, '/v1/status')).status, 200, 'answers while the stalled streams are attached');
      const payload = 'x'.repeat(16 * 1024);
      // 200 events of 16 KiB are many times what the kernel buffers for a Unix socket.
      for (let i = 0; i < 200 && source.listeners.size > 0; i++) {
        source.emit({ type: 'member-left', id: PEER_ID, name: payload });
        await new Promise((r) => setImmediate(r));
      }
      assert.equal(s.count('sse-slow-client'), streams, 'every stalled client was dropped');
      assert.equal(source.listeners.size, 0, 'nothing is subscribed for them any more');
      assert.equal((await http(s.unix, '/v1/status')).status, 200);
      const fresh = await open(s.unix);
      const snapshot = firstReply(fresh, 'event: snapshot');
      fresh.write(get('/v1/events'));
      assert.match(await snapshot, /^HTTP\/1\.1 200/, 'their slots are free again');
      fresh.destroy();
      assert.deepEqual(s.errors, []);
    } finally {
      for (const socket of stalled) socket.destroy();
      await s.api.close();
    }
  });

  it('beyond maxLeaderWaits a waiting long-poll is 503 too-many-long-polls; one answered at once still passes', async () => {
    const source = new FakeControlSource();
    const s = await start(source, { maxLeaderWaits: 2 });
    try {
      const polls = [http(s.tcp, '/v1/leader?waitMs=120000&after=100'), http(s.tcp, '/v1/leader?waitMs=120000&after=100')];
      await until('both polls wait', () => source.listeners.size === 2);
      // Were the cap missing, this poll would wait its 3 s and answer 200.
      const third = await http(s.tcp, '/v1/leader?waitMs=3000&after=100');
      assert.equal(third.status, 503);
      assert.equal(errorCode(third), 'too-many-long-polls');
      assert.equal(third.headers.connection, 'close');
      assert.equal((await http(s.tcp, '/v1/leader?waitMs=120000&after=99')).status, 200, 'a stale `after` answers at once');
      assert.equal((await http(s.tcp, '/v1/leader')).status, 200);
      assert.equal(s.count('long-poll-cap'), 1);
      source.changeLeader('beta', PEER_ID);
      assert.deepEqual((await Promise.all(polls)).map((r) => r.status), [200, 200]);
    } finally {
      await s.api.close();
    }
  });

  it('the caps are per listener: a full TCP listener leaves the Unix socket its own streams and polls', async () => {
    const source = new CountingSource();
    const s = await start(source, { maxEventStreams: 1, maxLeaderWaits: 1 });
    const held: Socket[] = [];
    try {
      for (const via of [s.tcp, s.unix]) {
        const socket = await open(via);
        const snapshot = firstReply(socket, 'event: snapshot');
        socket.write(get('/v1/events'));
        assert.match(await snapshot, /^HTTP\/1\.1 200/);
        held.push(socket);
      }
      assert.equal((await exchange(s.tcp, get('/v1/events'))).status, 503);
      // Each listener's streams share one subscription: two so far, then one per waiting poll.
      const polls = [http(s.tcp, '/v1/leader?waitMs=120000&after=100'), http(s.unix, '/v1/leader?waitMs=120000&after=100')];
      await until('a poll waits on each listener', () => source.listeners.size === 4);
      assert.equal((await http(s.tcp, '/v1/leader?waitMs=3000&after=100')).status, 503);
      source.changeLeader('beta', PEER_ID);
      assert.deepEqual((await Promise.all(polls)).map((r) => r.status), [200, 200]);
    } finally {
      for (const socket of held) socket.destroy();
      await s.api.close();
    }
  });
});

describe('control API against hostile clients: reporting', () => {
  it('every refusal reaches onRejected; onAbuse reports the first at once and the rest once per interval, with the count since the last report', async () => {
    const s = await start(new FakeControlSource(), { abuseReportIntervalMs: 300 });
    try {
      for (let i = 0; i < 5; i++) await exchange(s.tcp, get('//'));
      assert.equal(s.count('bad-target'), 5);
      assert.equal(s.reports[0]?.kind, 'bad-target');
      assert.equal(s.reports[0]?.count, 1);
      assert.equal(s.reports[0]?.from, '127.0.0.1');
      // Nothing else happens: the timer alone sends the summary of the rest.
      await until('the summary of the rest', () => s.reports.reduce((sum, r) => sum + r.count, 0) === 5);
      assert.ok(s.reports.length >= 2 && s.reports.every((r) => r.kind === 'bad-target'));
      assert.equal(s.reports.at(-1)?.total, 5);
    } finally {
      await s.api.close();
    }
  });

  it('with a long interval a flood is one report, and close() reports what is still pending', async () => {
    const s = await start(new FakeControlSource(), { abuseReportIntervalMs: 3_600_000 });
    for (let i = 0; i < 10; i++) await exchange(s.unix, get('http://['));
    assert.deepEqual(s.reports.map((r) => [r.kind, r.count, r.from]), [['bad-target', 1, null]]);
    await s.api.close();
    assert.deepEqual(s.reports.map((r) => [r.kind, r.count, r.total]), [['bad-target', 1, 1], ['bad-target', 9, 10]]);
  });
});
