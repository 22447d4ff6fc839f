/** The client's HTTP/1.0 exchange: reading replies whole, and what is not a reply. */
import assert from 'node:assert/strict';
import { createServer as createHttpServer } from 'node:http';
import { createServer, type Server, type Socket } from 'node:net';
import { describe, it } from 'node:test';
import { exchange, parseReply, replyLength } from './exchange.js';

const GET = { method: 'GET', path: '/v1/status', headers: { accept: 'application/json' }, timeoutMs: 5000 };

describe('parseReply', () => {
  const raw = (text: string) => Buffer.from(text, 'latin1');

  it('takes status, headers (lower-cased, first value kept) and a body cut to its content-length', () => {
    const reply = parseReply(raw('HTTP/1.1 404 Not Found\r\nContent-Type: application/json\r\ncontent-type: text/html\r\nContent-Length: 2\r\n\r\n{}extra'), false);
    assert.deepEqual(reply, { status: 404, headers: new Map([['content-type', 'application/json'], ['content-length', '2']]), body: '{}' });
  });

  it('waits for a head, for content-length bytes, and for the close when there is no length', () => {
    assert.equal(parseReply(raw('HTTP/1.1 200 OK\r\ncontent-len'), false), null);
    assert.equal(parseReply(raw('HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\n{"a"'), false), null);
    assert.equal(parseReply(raw('HTTP/1.1 200 OK\r\n\r\n{"a":1'), false), null);
    assert.equal(parseReply(raw('HTTP/1.1 200 OK\r\n\r\n{"a":1}'), true)?.body, '{"a":1}');
  });

  it('reads the body as UTF-8, with content-length counting bytes', () => {
    const text = Buffer.concat([raw('HTTP/1.0 200 OK\r\ncontent-length: 4\r\n\r\n'), Buffer.from('"é"')]);
    assert.equal(parseReply(text, false)?.body, '"é"');
  });

  it('replyLength: the whole reply\'s bytes once the head is in; Infinity without a content-length', () => {
    assert.equal(replyLength(raw('HTTP/1.1 200 OK\r\ncontent-len')), null);
    assert.equal(replyLength(raw('HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n{"a"')), 38 + 5);
    assert.equal(replyLength(raw('HTTP/1.1 200 OK\r\n\r\n{')), Infinity);
  });

  it('anything else is an ExchangeError saying what it was', () => {
    const cases: [string, boolean, RegExp][] = [
      ['', true, /an empty reply/],
      ['SSH-2.0-OpenSSH_9.2\r\n', true, /not an HTTP reply/],
      ['SSH-2.0-OpenSSH_9.2\r\n\r\n', false, /not an HTTP reply/],
      ['HTTP/1.1 200 OK\r\nno colon here\r\n\r\n', false, /not an HTTP reply/],
      ['HTTP/1.1 200 OK\r\ncontent-length: -1\r\n\r\n', false, /not an HTTP reply/],
      ['HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\nshort', true, /shorter than its content-length/],
    ];
    for (const [text, ended, message] of cases) {
      assert.throws(() => parseReply(raw(text), ended), (err: Error) => err.name === 'ExchangeError' && message.test(err.message), JSON.stringify(text));
    }
  });
});

async function listen(server: Server | ReturnType<typeof createHttpServer>): Promise<{ kind: 'tcp'; host: string; port: number }> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { kind: 'tcp', host: '127.0.0.1', port: (server.address() as { port: number }).port };
}

describe('exchange', () => {
  it('sends an HTTP/1.0 request with its headers and body to node:http, and reads the reply', async () => {
    let seen: { version: string; method?: string; url?: string; headers: object; body: string } | null = null;
    const server = createHttpServer((req, res) => {
      let body = '';
      req.on('data', (chunk: Buffer) => (body += chunk.toString()));
      req.on('end', () => {
        seen = { version: req.httpVersion, method: req.method, url: req.url, headers: req.headers, body };
        // Written in two parts with no length: an HTTP/1.0 reply then ends at the close.
        res.writeHead(200, { 'content-type': 'application/json' });
        res.write('{"ok":');
        res.end('true}');
      });
    });
    try {
      const target = await listen(server);
      const reply = await exchange(target, { ...GET, method: 'POST', headers: { authorization: 'Bearer t' }, body: '{"to":"n2"}' });
      assert.equal(reply.status, 200);
      assert.equal(reply.body, '{"ok":true}');
      assert.equal(seen!.version, '1.0');
      assert.equal(seen!.method, 'POST');
      assert.equal(seen!.body, '{"to":"n2"}');
      assert.equal((seen!.headers as Record<string, string>).authorization, 'Bearer t');
      assert.equal((seen!.headers as Record<string, string>).host, `127.0.0.1:${target.port}`);
    } finally {
      server.close();
    }
  });

  it('a reply with a content-length is done when its body is in, without waiting for the close', async () => {
    const sockets: Socket[] = [];
    const server = createServer((socket) => {
      sockets.push(socket);
      socket.once('data', () => socket.write('HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 2\r\n\r\n{}'));
    });
    try {
      const reply = await exchange(await listen(server), { ...GET, timeoutMs: 60_000 });
      assert.equal(reply.body, '{}');
    } finally {
      for (const socket of sockets) socket.destroy();
      server.close();
    }
  });

  it('something that is not HTTP, and a close mid-reply, are ExchangeErrors', async () => {
    for (const answer of ['SSH-2.0-OpenSSH_9.2\r\n', 'HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\n{}']) {
      const server = createServer((socket) => socket.once('data', () => socket.end(answer)));
      try {
        await assert.rejects(exchange(await listen(server), GET), { name: 'ExchangeError' });
      } finally {
        server.close();
      }
    }
  });

  it('the signal abandons the exchange with its reason; the timeout bounds it', async () => {
    const sockets: Socket[] = [];
    const server = createServer((socket) => void sockets.push(socket));
    try {
      const target = await listen(server);
      const controller = new AbortController();
      const pending = exchange(target, { ...GET, timeoutMs: 60_000, signal: controller.signal });
      while (sockets.length === 0) await new Promise((resolve) => setTimeout(resolve, 5));
      controller.abort(new Error('enough'));
      await assert.rejects(pending, { message: 'enough' });
      await assert.rejects(exchange(target, { ...GET, timeoutMs: 30 }), { name: 'TimeoutError', message: 'no answer within 30 ms' });
    } finally {
      for (const socket of sockets) socket.destroy();
      server.close();
    }
  });
});
