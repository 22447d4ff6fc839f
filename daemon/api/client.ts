/**
 * Client of the control API, used by the CLI, the dashboard and tests. Connection failures
 * become ApiUnreachableError (naming the address tried); error replies become ApiError.
 */
import { request, type ClientRequest, type IncomingMessage, type RequestOptions } from 'node:http';
import { parseApiAddress, type ApiTarget } from './address.js';
import { ApiError, ApiUnreachableError } from './errors.js';
import { SseParser } from './sse.js';
import type { ApiErrorBody, ApiEvent, LeaderResponse, MembersResponse, StatusResponse } from './types.js';

export { resolveApiAddress } from './address.js';

export interface ApiClientOptions {
  /** `HOST:PORT` or `unix:PATH`. */
  address: string;
  /** Sent as `Authorization: Bearer <token>` (needed on TCP when the daemon has api.token). */
  token?: string | null;
  /** Bound on connecting and getting an answer; a long-poll adds its own wait. Default 5000. */
  timeoutMs?: number;
}

export interface CommandResponse {
  ok: true;
  detail: string;
}

export interface ApiClient {
  readonly address: string;
  status(): Promise<StatusResponse>;
  members(): Promise<MembersResponse>;
  /** With `waitMs`, answers once the fencing token differs from `after` (default: the current one) or the time is up. */
  leader(opts?: { waitMs?: number; after?: number }): Promise<LeaderResponse>;
  /** Streams /v1/events into `onEvent`; resolves when the daemon ends the stream or `signal` aborts. */
  events(onEvent: (event: ApiEvent) => void, opts?: { signal?: AbortSignal; types?: string[] }): Promise<void>;
  transfer(to?: string): Promise<CommandResponse>;
  resign(): Promise<CommandResponse>;
  elect(): Promise<CommandResponse>;
  healthz(): Promise<{ ok: true }>;
}

const DEFAULT_TIMEOUT_MS = 5000;
/** An event stream silent for this long (three missed keep-alives) counts as lost. */
const EVENTS_IDLE_TIMEOUT_MS = 45_000;

export function createApiClient(opts: ApiClientOptions): ApiClient {
  const { address } = opts;
  const target = parseApiAddress(address);
  const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const headers: Record<string, string> = { accept: 'application/json' };
  if (opts.token) headers.authorization = `Bearer ${opts.token}`;
  const base = (method: string, path: string): RequestOptions => ({ ...targetOptions(target), method, path, headers: { ...headers }, agent: false });

  const call = <T>(method: string, path: string, body?: unknown, extraMs = 0): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      const text = body === undefined ? undefined : JSON.stringify(body);
      const options = base(method, path);
      if (text !== undefined) options.headers = { ...options.headers, 'content-type': 'application/json' };
      const req = request(options, (res) => {
        readAll(res)
          .then((raw) => resolve(decode<T>(res.statusCode ?? 0, raw)))
          .catch((err: unknown) => reject(connectionError(address, err)));
      });
      armTimeout(req, timeoutMs + extraMs);
      req.on('error', (err) => reject(connectionError(address, err)));
      req.end(text);
    });

  return {
    address,
    status: () => call<StatusResponse>('GET', '/v1/status'),
    members: () => call<MembersResponse>('GET', '/v1/members'),
    leader: (wait = {}) => {
      const params = new URLSearchParams();
      if (wait.waitMs !== undefined) params.set('waitMs', String(Math.max(0, Math.floor(wait.waitMs))));
      if (wait.after !== undefined) params.set('after', String(wait.after));
      const query = params.size > 0 ? `?${params}` : '';
      return call<LeaderResponse>('GET', `/v1/leader${query}`, undefined, wait.waitMs ?? 0);
    },
    events: (onEvent, eventOpts = {}) => streamEvents(address, base, timeoutMs, onEvent, eventOpts),
    transfer: (to) => call<CommandResponse>('POST', '/v1/leadership/transfer', to === undefined ? {} : { to }),
    resign: () => call<CommandResponse>('POST', '/v1/leadership/resign', {}),
    elect: () => call<CommandResponse>('POST', '/v1/election', {}),
    healthz: () => call<{ ok: true }>('GET', '/healthz'),
  };
}

function targetOptions(target: ApiTarget): RequestOptions {
  return target.kind === 'unix' ? { socketPath: target.socketPath } : { host: target.host, port: target.port };
}

function streamEvents(
  address: string,
  base: (method: string, path: string) => RequestOptions,
  timeoutMs: number,
  onEvent: (event: ApiEvent) => void,
  { signal, types }: { signal?: AbortSignal; types?: string[] },
): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    if (signal?.aborted) {
      resolve();
      return;
    }
    let settled = false;
    const finish = (err?: unknown) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      req.destroy();
      if (err === undefined) resolve();
      else reject(err);
    };
    const onAbort = () => finish();
    signal?.addEventListener('abort', onAbort, { once: true });
    const query = types && types.length > 0 ? `?types=${encodeURIComponent(types.join(','))}` : '';
    const options = base('GET', `/v1/events${query}`);
    options.headers = { ...options.headers, accept: 'text/event-stream' };
    const req = request(options);
    let timer = setTimeout(() => req.destroy(new TimeoutError(`no answer within ${timeoutMs} ms`)), timeoutMs);
    req.on('error', (err) => finish(connectionError(address, err)));
    req.on('response', (res) => {
      clearTimeout(timer);
      if (res.statusCode !== 200) {
        readAll(res)
          .then((raw) => finish(errorFromReply(res.statusCode ?? 0, raw)))
          .catch((err: unknown) => finish(connectionError(address, err)));
        return;
      }
      const idle = () => {
        clearTimeout(timer);
        timer = setTimeout(() => req.destroy(new TimeoutError(`the event stream was silent for ${EVENTS_IDLE_TIMEOUT_MS} ms`)), EVENTS_IDLE_TIMEOUT_MS);
      };
      idle();
      const parser = new SseParser();
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        idle();
        for (const message of parser.feed(chunk)) {
          if (settled) return;
          let event: ApiEvent;
          try {
            event = JSON.parse(message.data) as ApiEvent;
          } catch {
            finish(new ApiError(200, 'bad-response', `the daemon sent an event that is not JSON: ${message.data.slice(0, 200)}`));
            return;
          }
          try {
            onEvent(event);
          } catch (err) {
            finish(err);
            return;
          }
        }
      });
      res.on('end', () => finish());
      res.on('error', (err) => finish(connectionError(address, err)));
    });
    req.end();
  });
}

class TimeoutError extends Error {
  override readonly name = 'TimeoutError';
}

function armTimeout(req: ClientRequest, ms: number): void {
  const timer = setTimeout(() => req.destroy(new TimeoutError(`no answer within ${ms} ms`)), ms);
  req.once('close', () => clearTimeout(timer));
}

function readAll(res: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let raw = '';
    res.setEncoding('utf8');
    res.on('data', (chunk: string) => (raw += chunk));
    res.on('end', () => resolve(raw));
    res.on('error', reject);
  });
}

function decode<T>(status: number, raw: string): T {
  if (status >= 400) throw errorFromReply(status, raw);
  try {
    return JSON.parse(raw) as T;
  } catch {
    throw new ApiError(status, 'bad-response', `the daemon's reply is not JSON: ${raw.slice(0, 200)}`);
  }
}

function errorFromReply(status: number, raw: string): ApiError {
  try {
    const { error } = JSON.parse(raw) as ApiErrorBody;
    if (typeof error?.code === 'string' && typeof error.message === 'string') return new ApiError(status, error.code, error.message);
  } catch {
    // not our error shape: fall through
  }
  return new ApiError(status, `http-${status}`, raw.trim().slice(0, 200) || `HTTP ${status}`);
}

function connectionError(address: string, err: unknown): Error {
  if (err instanceof ApiError || err instanceof ApiUnreachableError) return err;
  if (err instanceof TimeoutError) return new ApiUnreachableError(address, err.message);
  const code = (err as NodeJS.ErrnoException).code;
  const reason =
    code === 'ECONNREFUSED' ? 'connection refused'
    : code === 'ENOENT' ? 'no socket file there'
    : code === 'EACCES' ? 'permission denied on the socket'
    : code === 'ECONNRESET' ? 'connection lost'
    : code ?? (err as Error).message;
  return new ApiUnreachableError(address, reason);
}
