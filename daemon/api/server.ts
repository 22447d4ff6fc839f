/**
 * The control API server (node:http). It always listens on the Unix socket `<dataDir>/api.sock`,
 * protected by its file mode (0600: only the daemon's user can connect, so no token is asked
 * there), and optionally on TCP, where a configured token is required as
 * `Authorization: Bearer <token>` on every request. A non-loopback TCP address without a token
 * is refused at start. Errors never escape a request: they become a JSON error body.
 */
import { chmodSync, lstatSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { isLoopbackHost, parseHostPort } from '../config/addresses.js';
import { formatHostPort } from './address.js';
import { bearerMatches } from './auth.js';
import { ApiConfigError } from './errors.js';
import { EventStreams } from './events.js';
import { HttpError, sendError } from './http.js';
import { LeaderWaits } from './leader-wait.js';
import { ROUTES, type RouteContext } from './routes.js';
import type { ControlSource } from './types.js';

export interface ApiServerOptions {
  source: ControlSource;
  /** `host:port` (port 0 picks a free one), or null for the Unix socket only. */
  tcpListen: string | null;
  socketPath: string;
  token: string | null;
  /** Unexpected errors (a route that threw, a listener error); the request got a 500. */
  onError?: (err: Error) => void;
  /** Called once per finished request with its route (`unknown` for no route) and status. */
  onRequest?: (route: string, status: number) => void;
  /** Interval of the SSE keep-alive comment; default 15 s. */
  keepAliveMs?: number;
  /** Unsent bytes after which an event client is dropped; default 1 MiB. */
  maxEventBufferBytes?: number;
}

export interface ApiServer {
  /** The bound TCP address as `host:port` (the real port when 0 was asked), or null. */
  readonly tcpAddress: string | null;
  readonly socketPath: string;
  /** Ends event streams and pending long-polls, stops listening. Safe to call twice. */
  close(): Promise<void>;
}

const DEFAULT_KEEP_ALIVE_MS = 15_000;
/** sun_path holds 108 bytes with the terminating NUL; libuv silently truncates longer paths. */
const MAX_SOCKET_PATH_BYTES = 107;
const DEFAULT_MAX_EVENT_BUFFER_BYTES = 1024 * 1024;
/** After close(), connections still busy this long are cut. */
const CLOSE_GRACE_MS = 500;

export async function startApiServer(opts: ApiServerOptions): Promise<ApiServer> {
  const tcp = opts.tcpListen === null ? null : checkTcpListen(opts.tcpListen, opts.token);
  const socketPathBytes = Buffer.byteLength(opts.socketPath);
  if (socketPathBytes > MAX_SOCKET_PATH_BYTES) {
    throw new ApiConfigError(`the API socket path ${opts.socketPath} is ${socketPathBytes} bytes, more than the ${MAX_SOCKET_PATH_BYTES} a Unix socket allows; use a shorter data dir`);
  }
  const ctx: RouteContext = {
    source: opts.source,
    streams: new EventStreams({
      source: opts.source,
      keepAliveMs: opts.keepAliveMs ?? DEFAULT_KEEP_ALIVE_MS,
      maxBufferedBytes: opts.maxEventBufferBytes ?? DEFAULT_MAX_EVENT_BUFFER_BYTES,
    }),
    waits: new LeaderWaits(opts.source),
  };
  const servers: Server[] = [];
  let boundSocket: string | null = null;
  try {
    const unixServer = createServer(requestHandler(ctx, opts, null));
    servers.push(unixServer);
    removeStaleSocket(opts.socketPath);
    await listen(unixServer, { path: opts.socketPath }, `unix:${opts.socketPath}`);
    boundSocket = opts.socketPath;
    // The data dir is 0700, which covers the moment between bind and chmod.
    chmodSync(opts.socketPath, 0o600);
    let tcpAddress: string | null = null;
    if (tcp) {
      const tcpServer = createServer(requestHandler(ctx, opts, opts.token));
      servers.push(tcpServer);
      await listen(tcpServer, { host: tcp.host, port: tcp.port }, opts.tcpListen ?? '');
      const bound = tcpServer.address() as AddressInfo;
      tcpAddress = formatHostPort({ host: bound.address, port: bound.port });
    }
    for (const server of servers) server.on('error', (err) => opts.onError?.(err));
    let closing: Promise<void> | null = null;
    return {
      tcpAddress,
      socketPath: opts.socketPath,
      close: () => (closing ??= closeAll(servers, ctx, opts.socketPath)),
    };
  } catch (err) {
    await closeAll(servers, ctx, boundSocket);
    throw err;
  }
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

/** `token` null: no auth (the Unix socket, or TCP without a token). */
function requestHandler(ctx: RouteContext, opts: ApiServerOptions, token: string | null) {
  return (req: IncomingMessage, res: ServerResponse): void => {
    const url = new URL(req.url ?? '/', 'http://conclave.invalid');
    const routes = ROUTES[url.pathname];
    const route = routes ? url.pathname : 'unknown';
    res.once('close', () => opts.onRequest?.(route, res.statusCode));
    const handle = async () => {
      if (token !== null && !bearerMatches(req.headers.authorization, token)) {
        throw new HttpError(401, 'unauthorized', 'this API needs the header Authorization: Bearer <api.token>', { 'www-authenticate': 'Bearer' });
      }
      if (!routes) throw new HttpError(404, 'not-found', `no route ${url.pathname}; see /v1/status, /v1/members, /v1/leader, /v1/events, /metrics, /healthz`);
      const handler = routes[req.method ?? ''];
      if (!handler) {
        const allowed = Object.keys(routes).join(', ');
        throw new HttpError(405, 'method-not-allowed', `${url.pathname} accepts ${allowed}, not ${req.method}`, { allow: allowed });
      }
      await handler(req, res, url, ctx);
    };
    handle().catch((err: unknown) => replyWithError(res, err, opts.onError));
  };
}

function replyWithError(res: ServerResponse, err: unknown, onError: ((err: Error) => void) | undefined): void {
  const known = err instanceof HttpError;
  if (!known) onError?.(err instanceof Error ? err : new Error(String(err)));
  if (res.headersSent) {
    res.destroy();
    return;
  }
  if (known) sendError(res, err.status, err.code, err.message, err.headers);
  else sendError(res, 500, 'internal', `internal error: ${err instanceof Error ? err.message : String(err)}`);
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
async function closeAll(servers: Server[], ctx: RouteContext, socketPath: string | null): Promise<void> {
  ctx.waits.releaseAll();
  ctx.streams.closeAll();
  await Promise.all(
    servers.map(
      (server) =>
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
  if (socketPath !== null) rmSync(socketPath, { force: true });
}
