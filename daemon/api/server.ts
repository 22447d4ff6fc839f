/**
 * The control API server (node:http). It always listens on the Unix socket `<dataDir>/api.sock`,
 * protected by its file mode (0600: only the daemon's user can connect, so no token is asked
 * there), and optionally on TCP, where a configured token is required as
 * `Authorization: Bearer <token>` on every request. A non-loopback TCP address without a token
 * is refused at start. Errors never escape a request: they become a JSON error body.
 *
 * Hostile clients meet the limits of limits.ts on each listener; every refusal is counted
 * (onRejected) and summarised at most once a minute per kind (onAbuse), never logged per request.
 */
import { chmodSync, lstatSync, rmSync } from 'node:fs';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { http } from './node-http.js';
import type { AddressInfo, Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { isLoopbackHost, parseHostPort } from '../config/addresses.js';
import { AbuseReporter, type AbuseHooks, type AbuseKind } from './abuse.js';
import { formatHostPort } from './address.js';
import { bearerMatches } from './auth.js';
import { browserRefusal } from './browser.js';
import { ApiConfigError } from './errors.js';
import { EventStreams } from './events.js';
import { HttpError, rawErrorReply, sendError, sendJson } from './http.js';
import { ELECTION_PREFIX, ELECTION_ROUTES, ELECTIONS_PATH, ELECTIONS_ROUTES } from './election-routes.js';
import { KV_WATCH_PATH, watch } from './kv-watch.js';
import { KV_KEY_PREFIX, KV_PATH, KV_ROUTES, KV_TXN_PATH, KV_TXN_ROUTES, KvCompareFailed, SESSION_PREFIX, SESSION_ROUTES, SESSIONS_PATH, SESSIONS_ROUTES } from './kv-routes.js';
import { LeaderWaits } from './leader-wait.js';
import { connectionsCheckIntervalMs, resolveApiLimits, type ApiLimits } from './limits.js';
import { ROUTES, type RouteContext } from './routes.js';
import { parseTarget } from './target.js';
import type { ControlSource, KvCompareFailedBody } from './types.js';

/** The limits (see limits.ts for each default and why) are optional fields here. */
export interface ApiServerOptions extends Partial<ApiLimits> {
  source: ControlSource;
  /** `host:port` (port 0 picks a free one), or null for the Unix socket only. */
  tcpListen: string | null;
  socketPath: string;
  token: string | null;
  /** Unexpected errors (a route that threw, a listener error); the request got a 500. */
  onError?: (err: Error) => void;
  /** Called once per finished request with its route (`unknown` for no route) and status. */
  onRequest?: (route: string, status: number) => void;
  /** Called once per refused connection or request with why (for a metric); never throttled. */
  onRejected?: AbuseHooks['onRejected'];
  /** A summary of refusals, at most once per abuseReportIntervalMs per kind (for the log). */
  onAbuse?: AbuseHooks['onAbuse'];
}

export interface ApiServer {
  /** The bound TCP address as `host:port` (the real port when 0 was asked), or null. */
  readonly tcpAddress: string | null;
  readonly socketPath: string;
  /** Ends event streams and pending long-polls, stops listening. Safe to call twice. */
  close(): Promise<void>;
}

/** sun_path holds 108 bytes with the terminating NUL; libuv silently truncates longer paths. */
const MAX_SOCKET_PATH_BYTES = 107;
/** After close(), connections still busy this long are cut. */
const CLOSE_GRACE_MS = 500;

export async function startApiServer(opts: ApiServerOptions): Promise<ApiServer> {
  const limits = resolveApiLimits(opts);
  const tcp = opts.tcpListen === null ? null : checkTcpListen(opts.tcpListen, opts.token);
  const socketPathBytes = Buffer.byteLength(opts.socketPath);
  if (socketPathBytes > MAX_SOCKET_PATH_BYTES) {
    throw new ApiConfigError(`the API socket path ${opts.socketPath} is ${socketPathBytes} bytes, more than the ${MAX_SOCKET_PATH_BYTES} a Unix socket allows; use a shorter data dir`);
  }
  const abuse = new AbuseReporter(limits.abuseReportIntervalMs, { onRejected: opts.onRejected, onAbuse: opts.onAbuse });
  const listeners: Listener[] = [];
  let boundSocket: string | null = null;
  try {
    const unix = createListener(opts, limits, null, abuse, false);
    listeners.push(unix);
    removeStaleSocket(opts.socketPath);
    await listen(unix.server, { path: opts.socketPath }, `unix:${opts.socketPath}`);
    boundSocket = opts.socketPath;
    // The data dir is 0700, which covers the moment between bind and chmod.
    chmodSync(opts.socketPath, 0o600);
    let tcpAddress: string | null = null;
    if (tcp) {
      const tcpListener = createListener(opts, limits, opts.token, abuse, true);
      listeners.push(tcpListener);
      await listen(tcpListener.server, { host: tcp.host, port: tcp.port }, opts.tcpListen ?? '');
      const bound = tcpListener.server.address() as AddressInfo;
      tcpAddress = formatHostPort({ host: bound.address, port: bound.port });
    }
    for (const { server } of listeners) server.on('error', (err) => opts.onError?.(err));
    let closing: Promise<void> | null = null;
    return {
      tcpAddress,
      socketPath: opts.socketPath,
      close: () => (closing ??= closeAll(listeners, abuse, opts.socketPath)),
    };
  } catch (err) {
    await closeAll(listeners, abuse, boundSocket);
    throw err;
  }
}

/** One listening server and its own event streams and long-polls, so that each is capped apart. */
interface Listener {
  server: Server;
  ctx: RouteContext;
}

/** `token` null: no auth (the Unix socket, or TCP without a token). */
function createListener(opts: ApiServerOptions, limits: ApiLimits, token: string | null, abuse: AbuseReporter, tcp: boolean): Listener {
  const ctx: RouteContext = {
    source: opts.source,
    streams: new EventStreams({
      source: opts.source,
      keepAliveMs: limits.keepAliveMs,
      maxBufferedBytes: limits.maxEventBufferBytes,
      maxStreams: limits.maxEventStreams,
      onSlowClient: (unsentBytes) => abuse.record('sse-slow-client', { detail: `${unsentBytes} bytes unsent` }),
    }),
    waits: new LeaderWaits(opts.source, limits.maxLeaderWaits),
  };
  // No `server.timeout`: a long-poll is silent for up to 5 minutes by design. Every other silence
  // is bounded by the header, request and keep-alive timeouts.
  const server = http.createServer(
    {
      headersTimeout: limits.headersTimeoutMs,
      requestTimeout: limits.requestTimeoutMs,
      keepAliveTimeout: limits.keepAliveTimeoutMs,
      connectionsCheckingInterval: connectionsCheckIntervalMs(limits.headersTimeoutMs),
    },
    requestHandler(ctx, opts, token, abuse, tcp),
  );
  // Beyond it Node closes a new connection before reading a byte: no reply, but the only refusal
  // that frees the descriptor at once, however fast a flood comes.
  server.maxConnections = limits.maxConnections;
  server.on('drop', (peer?: { remoteAddress?: string }) => {
    abuse.record('connection-cap', { from: peer?.remoteAddress ?? null, detail: `${limits.maxConnections} connections open` });
  });
  server.on('clientError', (err: NodeJS.ErrnoException, socket: Duplex) => refuseUnparsed(err, socket, limits, abuse));
  return { server, ctx };
}

function checkTcpListen(listen: string, token: string | null): { host: string; port: number } {
  const hostPort = parseHostPort(listen);
  if (!hostPort) throw new ApiConfigError(`api.listen ${JSON.stringify(listen)} is not host:port (e.g. 127.0.0.1:7400)`);
  if (!isLoopbackHost(hostPort.host) && !token) {
    throw new ApiConfigError(
      `api.listen ${listen} is reachable from other machines but no api.token is set; ` +
        'set api.token (or CONCLAVE_API_TOKEN), or listen on 127.0.0.1',
    );
  }
  return hostPort;
}

function requestHandler(ctx: RouteContext, opts: ApiServerOptions, token: string | null, abuse: AbuseReporter, tcp: boolean) {
  return (req: IncomingMessage, res: ServerResponse): void => {
    let route = 'unknown';
    res.once('close', () => opts.onRequest?.(route, res.statusCode));
    const handle = async () => {
      // First of all: nothing below may see a target that URL cannot parse.
      const url = parseTarget(req.url);
      const [label, routes] = routeOf(url.pathname);
      if (routes) route = label;
      const fromBrowser = tcp ? browserRefusal(req.headers, token !== null) : null;
      if (fromBrowser !== null) throw new HttpError(403, 'browser-refused', fromBrowser);
      if (token !== null && !bearerMatches(req.headers.authorization, token)) {
        throw new HttpError(401, 'unauthorized', 'this API needs the header Authorization: Bearer <api.token>', { 'www-authenticate': 'Bearer' });
      }
      if (!routes) throw new HttpError(404, 'not-found', `no route ${url.pathname}; see /v1/status, /v1/members, /v1/leader, /v1/events, /v1/kv, /v1/elections, /metrics, /healthz`);
      const handler = routes[req.method ?? ''];
      if (!handler) {
        const allowed = Object.keys(routes).join(', ');
        throw new HttpError(405, 'method-not-allowed', `${url.pathname} accepts ${allowed}, not ${req.method}`, { allow: allowed });
      }
      await handler(req, res, url, ctx);
    };
    handle().catch((err: unknown) => replyWithError(req, res, err, opts.onError, abuse));
  };
}

/** A path's handlers and the route label its requests are counted under (a key is not a route). */
function routeOf(pathname: string): [string, (typeof ROUTES)[string] | undefined] {
  if (pathname === KV_TXN_PATH) return [KV_TXN_PATH, KV_TXN_ROUTES];
  if (pathname === KV_WATCH_PATH) return [KV_WATCH_PATH, { GET: watch }];
  if (pathname === KV_PATH) return [KV_PATH, KV_ROUTES];
  if (pathname.startsWith(KV_KEY_PREFIX)) return [`${KV_KEY_PREFIX}{key}`, KV_ROUTES];
  if (pathname === SESSIONS_PATH) return [SESSIONS_PATH, SESSIONS_ROUTES];
  if (pathname === ELECTIONS_PATH) return [ELECTIONS_PATH, ELECTIONS_ROUTES];
  if (pathname.startsWith(ELECTION_PREFIX)) return [`${ELECTION_PREFIX}{name}`, ELECTION_ROUTES];
  if (pathname.startsWith(SESSION_PREFIX)) return [`${SESSION_PREFIX}{id}`, SESSION_ROUTES];
  return [pathname, ROUTES[pathname]];
}

/** The HttpError codes that refuse a misbehaving client rather than answer a mistaken request. */
const REFUSAL_KINDS: ReadonlyMap<string, AbuseKind> = new Map([
  ['bad-target', 'bad-target'],
  ['target-too-long', 'bad-target'],
  ['unauthorized', 'unauthorized'],
  ['too-many-event-streams', 'sse-cap'],
  ['too-many-long-polls', 'long-poll-cap'],
  ['browser-refused', 'browser'],
]);

function replyWithError(req: IncomingMessage, res: ServerResponse, err: unknown, onError: ((err: Error) => void) | undefined, abuse: AbuseReporter): void {
  const known = err instanceof HttpError;
  if (!known) onError?.(err instanceof Error ? err : new Error(String(err)));
  const refusal = known ? REFUSAL_KINDS.get(err.code) : undefined;
  if (known && refusal !== undefined) abuse.record(refusal, { from: req.socket.remoteAddress ?? null, detail: refusal === 'bad-target' ? err.message : null });
  if (res.headersSent) {
    res.destroy();
    return;
  }
  if (err instanceof KvCompareFailed) sendJson(res, err.status, { error: { code: err.code, message: err.message }, current: err.current, revision: err.revision } satisfies KvCompareFailedBody);
  else if (known) sendError(res, err.status, err.code, err.message, err.headers);
  else sendError(res, 500, 'internal', `internal error: ${err instanceof Error ? err.message : String(err)}`);
}

/**
 * Node could not parse a request, or it did not arrive in time: the JSON error reply sendError
 * would give, then the socket closes. Like Node's default, nothing is written when part of another
 * reply is already on the wire.
 */
function refuseUnparsed(err: NodeJS.ErrnoException, socket: Duplex, limits: ApiLimits, abuse: AbuseReporter): void {
  const refusal = clientErrorRefusal(err.code, limits);
  if (refusal !== null) {
    abuse.record(refusal.kind, { from: (socket as Socket).remoteAddress ?? null, detail: err.code ?? null });
    // The reply in progress on this socket, as Node's own default handler reads it.
    const inFlight = (socket as { _httpMessage?: ServerResponse | null })._httpMessage;
    if (socket.writable && !inFlight?.headersSent) socket.write(rawErrorReply(refusal.status, refusal.code, refusal.message));
  }
  socket.destroy();
}

interface ClientErrorRefusal {
  kind: AbuseKind;
  status: number;
  code: string;
  message: string;
}

/** What to answer for a `clientError` code; null when the peer is gone and nothing is owed. */
function clientErrorRefusal(code: string | undefined, limits: ApiLimits): ClientErrorRefusal | null {
  switch (code) {
    case 'ECONNRESET':
    case 'EPIPE':
      return null;
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return {
        kind: 'idle-timeout',
        status: 408,
        code: 'request-timeout',
        message: `no complete request in time: headers are awaited ${limits.headersTimeoutMs} ms, a whole request ${limits.requestTimeoutMs} ms`,
      };
    case 'HPE_HEADER_OVERFLOW':
      return { kind: 'bad-request', status: 431, code: 'headers-too-large', message: 'the request line and headers exceed 16 KiB' };
    default:
      return { kind: 'bad-request', status: 400, code: 'bad-request', message: `the request is not valid HTTP/1.1 (${code ?? 'unparsable'})` };
  }
}

/** A socket file left by a dead daemon goes; the data-dir lock guarantees there is no live owner. */
function removeStaleSocket(path: string): void {
  let isSocket: boolean;
  try {
    isSocket = lstatSync(path).isSocket();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw err;
  }
  if (!isSocket) throw new ApiConfigError(`${path} exists and is not a socket; move it aside so the API can listen there`);
  rmSync(path);
}

function listen(server: Server, options: { path: string } | { host: string; port: number }, shown: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException) => {
      const hint =
        err.code === 'EADDRINUSE' ? 'something else listens there; stop it or choose another api.listen'
        : err.code === 'EADDRNOTAVAIL' ? 'this machine has no such address'
        : err.code === 'EACCES' ? 'permission denied'
        : err.message;
      reject(new ApiConfigError(`the control API cannot listen on ${shown}: ${hint}`));
    };
    server.once('error', onError);
    server.listen(options, () => {
      server.off('error', onError);
      resolve();
    });
  });
}

/** `socketPath`: the socket this server bound, removed at the end; null when it never bound. */
async function closeAll(listeners: Listener[], abuse: AbuseReporter, socketPath: string | null): Promise<void> {
  for (const { ctx } of listeners) {
    ctx.waits.releaseAll();
    ctx.streams.closeAll();
  }
  await Promise.all(
    listeners.map(
      ({ server }) =>
        new Promise<void>((resolve) => {
          if (!server.listening) {
            resolve();
            return;
          }
          const cut = setTimeout(() => server.closeAllConnections(), CLOSE_GRACE_MS);
          server.close(() => {
            clearTimeout(cut);
            resolve();
          });
          server.closeIdleConnections();
        }),
    ),
  );
  abuse.stop();
  if (socketPath !== null) rmSync(socketPath, { force: true });
}
