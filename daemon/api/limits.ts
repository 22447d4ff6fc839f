/**
 * Limits that keep a misbehaving or hostile client from exhausting the daemon: every one is an
 * ApiServerOptions field, every default below says why. Counts are per listener (the Unix socket
 * and TCP each have their own), so a flood on TCP never locks the local dashboard out.
 */
import { ApiConfigError } from './errors.js';

export interface ApiLimits {
  /** Open connections per listener; beyond it a new connection is closed at once, unanswered. */
  maxConnections: number;
  /** Concurrent `GET /v1/events` streams per listener; beyond it 503 `too-many-event-streams`. */
  maxEventStreams: number;
  /** Concurrent waiting `GET /v1/leader?waitMs=` polls per listener; beyond it 503 `too-many-long-polls`. */
  maxLeaderWaits: number;
  /** Unsent bytes (beyond the snapshot) after which an event client is dropped. */
  maxEventBufferBytes: number;
  /** Interval of the SSE keep-alive comment. */
  keepAliveMs: number;
  /** A connection whose request headers are not complete this long after it opened (or after a later request began) gets 408 and is closed. */
  headersTimeoutMs: number;
  /** Time to receive a whole request, body included; 408 and closed beyond it. Not less than headersTimeoutMs. */
  requestTimeoutMs: number;
  /** An idle connection between two requests is closed after this (Node adds 1 s of grace). Not the SSE keep-alive. */
  keepAliveTimeoutMs: number;
  /** Refusals are summarised (onAbuse) at most once per this interval per kind. */
  abuseReportIntervalMs: number;
}

export const DEFAULT_API_LIMITS: Readonly<ApiLimits> = {
  // The CLI, a dashboard and a few scripts use a handful. Two listeners at 256 stay far below the
  // process fd limit, so a flood cannot starve libp2p's dials or the other listener.
  maxConnections: 256,
  // A dashboard holds one stream per daemon it shows. Each event is written to every stream, and a
  // stalled one may hold maxEventBufferBytes: 32 bounds that at 2 MiB.
  maxEventStreams: 32,
  // One per application instance that follows the leader; each costs a subscription and a recheck
  // timer. With the streams, 160 of 256 connections: plain requests always find room.
  maxLeaderWaits: 128,
  // A client that reads drains far more than this between two events. 1 MiB let 500 stalled
  // clients grow the daemon by 200 MB.
  maxEventBufferBytes: 64 * 1024,
  // Below common proxy idle timeouts (60 s); each comment is also a write that finds a client that
  // stopped reading.
  keepAliveMs: 15_000,
  // A real client sends its headers in one packet; 10 s tolerates a slow link and bounds how long a
  // connection that never sends a request holds a slot.
  headersTimeoutMs: 10_000,
  // Bodies are at most 64 KiB. Long-polls and event streams are unaffected: the request is read at
  // once, only the reply takes long.
  requestTimeoutMs: 30_000,
  // Node's default; the CLI and the dashboard reconnect when they need to.
  keepAliveTimeoutMs: 5_000,
  // Often enough to notice an attack while it lasts; rare enough that a flood never floods the log.
  abuseReportIntervalMs: 60_000,
};

/** The defaults overridden by whatever `overrides` sets; ApiConfigError for a value Node would refuse. */
export function resolveApiLimits(overrides: Partial<ApiLimits>): ApiLimits {
  const limits: ApiLimits = { ...DEFAULT_API_LIMITS };
  for (const key of Object.keys(DEFAULT_API_LIMITS) as (keyof ApiLimits)[]) {
    const value = overrides[key];
    if (value === undefined) continue;
    if (!Number.isInteger(value) || value <= 0) throw new ApiConfigError(`API limit ${key} must be a positive integer, got ${value}`);
    limits[key] = value;
  }
  if (limits.headersTimeoutMs > limits.requestTimeoutMs) {
    throw new ApiConfigError(`API limit headersTimeoutMs (${limits.headersTimeoutMs}) must not exceed requestTimeoutMs (${limits.requestTimeoutMs})`);
  }
  return limits;
}

/**
 * How often Node looks for connections past headersTimeoutMs (its default, 30 s, would let an idle
 * connection live 40 s). A quarter of the timeout, at most 1 s: the scan walks at most
 * maxConnections entries.
 */
export function connectionsCheckIntervalMs(headersTimeoutMs: number): number {
  return Math.max(10, Math.min(1_000, Math.floor(headersTimeoutMs / 4)));
}
