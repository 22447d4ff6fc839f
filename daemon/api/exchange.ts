/**
 * One request and its reply over a fresh connection, in HTTP/1.0 over node:net: the client's
 * calls (everything but the event stream) go through this instead of node:http. A process that
 * makes one request and exits — `conclave status` under a health check, a script's `is-leader`
 * — paid about 10 ms on node:http's first request for internals it loads lazily (the agent,
 * ClientRequest, its socket plumbing): a tenth of the 100 ms such a command may take.
 *
 * HTTP/1.0 keeps the reply simple to read: the server sends no chunked encoding, and the body
 * is its content-length's worth, or else everything up to the close that ends an HTTP/1.0 reply. A reply is bounded
 * (MAX_REPLY_BYTES); anything that is not an HTTP reply is an ExchangeError.
 */
import type { Socket } from 'node:net';
import type { ApiTarget } from './address.js';

const net = process.getBuiltinModule('node:net');

/** Larger than any reply of the API (a 1000-member list is about 400 KB). */
export const MAX_REPLY_BYTES = 16 << 20;

export interface ExchangeRequest {
  method: string;
  path: string;
  headers: Readonly<Record<string, string>>;
  body?: string;
  /** Bound on connecting and getting the whole reply. */
  timeoutMs: number;
  signal?: AbortSignal;
}

export interface Reply {
  status: number;
  /** Header names in lower case; a repeated header keeps its first value. */
  headers: ReadonlyMap<string, string>;
  body: string;
}

/** The exchange failed: `name` says how (TimeoutError, AbortError as the signal's reason, ExchangeError), else a socket error with its `code`. */
export class ExchangeError extends Error {
  override readonly name = 'ExchangeError';
}

export class TimeoutError extends Error {
  override readonly name = 'TimeoutError';
}

export function exchange(target: ApiTarget, req: ExchangeRequest): Promise<Reply> {
  return new Promise<Reply>((resolve, reject) => {
    if (req.signal?.aborted) {
      reject(abortReason(req.signal));
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    /** The whole reply's bytes, once its head is in (Infinity: it ends at the close). */
    let expected: number | null = null;
    let settled = false;
    const socket: Socket = target.kind === 'unix' ? net.connect(target.socketPath) : net.connect(target.port, target.host);
    const finish = (err: unknown, reply?: Reply) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      req.signal?.removeEventListener('abort', onAbort);
      socket.destroy();
      if (reply) resolve(reply);
      else reject(err);
    };
    const onAbort = () => finish(abortReason(req.signal!));
    req.signal?.addEventListener('abort', onAbort, { once: true });
    const timer = setTimeout(() => finish(new TimeoutError(`no answer within ${req.timeoutMs} ms`)), req.timeoutMs);
    const complete = (ended: boolean) => {
      try {
        const reply = parseReply(Buffer.concat(chunks), ended);
        if (reply) finish(null, reply);
      } catch (err) {
        finish(err);
      }
    };
    socket.on('connect', () => socket.write(requestText(target, req)));
    socket.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_REPLY_BYTES) {
        finish(new ExchangeError(`a reply larger than ${MAX_REPLY_BYTES} bytes`));
        return;
      }
      chunks.push(chunk);
      // Once the head is in, its content-length says when the reply is whole (before the server
      // closes); the chunks are joined again only then, not on every one of a large reply.
      if (expected === null) expected = replyLength(Buffer.concat(chunks));
      if (expected !== null && size >= expected) complete(false);
    });
    socket.on('end', () => complete(true));
    socket.on('error', (err) => finish(err));
    socket.on('close', () => finish(new ExchangeError('the connection closed before a whole reply')));
  });
}

function requestText(target: ApiTarget, req: ExchangeRequest): string {
  const lines = [`${req.method} ${req.path} HTTP/1.0`, `host: ${target.kind === 'unix' ? 'localhost' : hostHeader(target)}`];
  for (const [name, value] of Object.entries(req.headers)) lines.push(`${name}: ${value}`);
  if (req.body !== undefined) lines.push(`content-length: ${Buffer.byteLength(req.body)}`);
  return `${lines.join('\r\n')}\r\n\r\n${req.body ?? ''}`;
}

function hostHeader({ host, port }: { host: string; port: number }): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

/** The whole reply's length once its head is in `raw` (Infinity without a content-length: it ends at the close); null before. */
export function replyLength(raw: Buffer): number | null {
  const end = raw.indexOf('\r\n\r\n');
  if (end < 0) return null;
  const declared = /\r\ncontent-length:[ \t]*(\d{1,15})[ \t]*\r\n/i.exec(raw.subarray(0, end + 2).toString('latin1'));
  return declared ? end + 4 + Number(declared[1]) : Infinity;
}

const STATUS_LINE = /^HTTP\/1\.[01] (\d{3})(?: |$)/;

/**
 * The reply in `raw`: its status, headers and body (cut to its content-length). Null while it is
 * incomplete and the connection is open (`ended` false); an ExchangeError if it cannot be one.
 */
export function parseReply(raw: Buffer, ended: boolean): Reply | null {
  const end = raw.indexOf('\r\n\r\n');
  if (end < 0) {
    if (!ended) return null;
    throw new ExchangeError(raw.length === 0 ? 'an empty reply' : 'not an HTTP reply');
  }
  const [statusLine = '', ...headerLines] = raw.subarray(0, end).toString('latin1').split('\r\n');
  const match = STATUS_LINE.exec(statusLine);
  if (!match) throw new ExchangeError('not an HTTP reply');
  const headers = new Map<string, string>();
  for (const line of headerLines) {
    const colon = line.indexOf(':');
    if (colon <= 0) throw new ExchangeError('not an HTTP reply');
    const name = line.slice(0, colon).trim().toLowerCase();
    if (!headers.has(name)) headers.set(name, line.slice(colon + 1).trim());
  }
  let body = raw.subarray(end + 4);
  const declared = headers.get('content-length');
  if (declared !== undefined) {
    if (!/^\d+$/.test(declared)) throw new ExchangeError('not an HTTP reply');
    const length = Number(declared);
    if (body.length < length) {
      if (!ended) return null;
      throw new ExchangeError('a reply shorter than its content-length');
    }
    body = body.subarray(0, length);
  } else if (!ended) {
    return null;
  }
  return { status: Number(match[1]), headers, body: body.toString('utf8') };
}

function abortReason(signal: AbortSignal): unknown {
  return signal.reason ?? new DOMException('the request was aborted', 'AbortError');
}
