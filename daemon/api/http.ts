/** Small node:http helpers shared by the API routes: JSON replies, error bodies, bounded bodies. */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { http } from './node-http.js';
import type { ApiErrorBody } from './types.js';

/** Request bodies above this are refused (400 `body-too-large`) without being read further. */
export const MAX_BODY_BYTES = 64 * 1024;

/** An error that becomes an HTTP reply: `status` and the `{"error":{code,message}}` body. */
export class HttpError extends Error {
  override readonly name = 'HttpError';
  readonly status: number;
  readonly code: string;
  readonly headers: Record<string, string>;

  constructor(status: number, code: string, message: string, headers: Record<string, string> = {}) {
    super(message);
    this.status = status;
    this.code = code;
    this.headers = headers;
  }
}

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
    'cache-control': 'no-store',
    ...headers,
  });
  res.end(text);
}

export function sendError(res: ServerResponse, status: number, code: string, message: string, headers: Record<string, string> = {}): void {
  const body: ApiErrorBody = { error: { code, message } };
  sendJson(res, status, body, headers);
}

/**
 * The reply sendError gives, as raw HTTP/1.1 for a socket that has no ServerResponse (Node's
 * `clientError`: the request could not be parsed). It says `connection: close`; the caller closes.
 */
export function rawErrorReply(status: number, code: string, message: string): string {
  const body: ApiErrorBody = { error: { code, message } };
  const text = JSON.stringify(body);
  const head = [
    `HTTP/1.1 ${status} ${http.STATUS_CODES[status] ?? 'Error'}`,
    'content-type: application/json; charset=utf-8',
    `content-length: ${Buffer.byteLength(text)}`,
    'cache-control: no-store',
    'connection: close',
  ];
  return `${head.join('\r\n')}\r\n\r\n${text}`;
}

/**
 * Reads a JSON body of at most MAX_BODY_BYTES. An empty body is `undefined`, so commands whose
 * body is optional accept a bare POST.
 */
export async function readJsonBody(req: IncomingMessage): Promise<unknown> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > MAX_BODY_BYTES) throw bodyTooLarge();
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of req as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) throw bodyTooLarge();
      chunks.push(chunk);
    }
  } catch (err) {
    // Node's `aborted`: the client left mid-body. Its fault, not an internal error to log.
    if (err instanceof HttpError || (err as NodeJS.ErrnoException).code !== 'ECONNRESET') throw err;
    throw new HttpError(400, 'aborted', 'the connection closed before the request body was complete', { connection: 'close' });
  }
  const text = Buffer.concat(chunks).toString('utf8');
  if (text.trim() === '') return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new HttpError(400, 'bad-json', `the request body is not JSON: ${(err as Error).message}`);
  }
}

function bodyTooLarge(): HttpError {
  // `connection: close` spares the daemon reading the rest of an oversized upload.
  return new HttpError(400, 'body-too-large', `the request body exceeds ${MAX_BODY_BYTES} bytes`, { connection: 'close' });
}
