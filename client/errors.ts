/**
 * The errors a program using the client library meets, one class per condition with a stable
 * `name` (match on it, never on message text), as js-libp2p's `errors.ts` does. Those of the
 * control API are the daemon's own classes, re-exported, so the CLI and the library agree.
 */
export { ApiError, ApiUnreachableError, NotConclaveApiError } from '../daemon/api/errors.js';
export { UsageError } from '../daemon/errors.js';

/** `waitForLeader({ timeoutMs })` ran out before the daemon knew a leader. */
export class LeaderTimeoutError extends Error {
  override readonly name = 'LeaderTimeoutError';
  readonly exitCode = 1;
  /** The term the daemon last reported, or null when it never answered. */
  readonly term: number | null;

  constructor(address: string, timeoutMs: number, term: number | null) {
    super(`no leader within ${timeoutMs} ms${term === null ? '' : ` (term ${term})`} at ${address}`);
    this.term = term;
  }
}

/**
 * `campaign()` lost its session before its candidate led (the TTL passed with no keep-alive
 * getting through, or the daemon says the session is gone): campaign again.
 */
export class SessionEndedError extends Error {
  override readonly name = 'SessionEndedError';
  readonly exitCode = 1;
}

/**
 * The reason of the AbortSignal `lead()` hands to `onStartedLeading`, once this node no longer
 * leads (or can no longer know that it does). `reason` says which: see StopReason.
 */
export class LeadershipLostError extends Error {
  override readonly name = 'LeadershipLostError';
  readonly reason: import('./leadership.js').StopReason;
  readonly fencingToken: number;

  constructor(reason: import('./leadership.js').StopReason, fencingToken: number) {
    super(`leadership under fencing token ${fencingToken} ended: ${reason}`);
    this.reason = reason;
    this.fencingToken = fencingToken;
  }
}
