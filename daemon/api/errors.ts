/**
 * Errors of the control API, server and client side. Each has a stable `name` (match on it, not
 * on message text) and the process `exitCode` the CLI maps it to (see ../errors.ts).
 */
import type { KeyRevisions } from '../../protocols/kv/types.js';
import type { ConfigIssue } from '../errors.js';

/** The API cannot start with this configuration (e.g. a public TCP address without a token). */
export class ApiConfigError extends Error {
  override readonly name = 'ApiConfigError';
  readonly exitCode = 2;
}

/**
 * No daemon answered at `address`: nothing listens there, the socket file is missing, or nothing
 * answered within the client's timeout. `cause` is the underlying error (its `name` is
 * `TimeoutError` for a timeout, else a socket error with its `code`).
 */
export class ApiUnreachableError extends Error {
  override readonly name = 'ApiUnreachableError';
  readonly exitCode = 1;
  readonly address: string;
  /** Short, for a status line: `connection refused`, `no answer within 5000 ms`, … */
  readonly reason: string;

  constructor(address: string, reason: string, options?: ErrorOptions) {
    super(
      `cannot reach the conclave API at ${address} (${reason}); is a daemon running? ` +
        'start one with `conclave start`, or pass --api HOST:PORT | unix:PATH',
      options,
    );
    this.address = address;
    this.reason = reason;
  }
}

/** The daemon answered with an error body `{"error":{"code","message"}}`. */
export class ApiError extends Error {
  // Typed as string so that NotConclaveApiError, an ApiError too, can carry its own name.
  override readonly name: string = 'ApiError';
  // Typed as number so that InvalidConfigError can say 2.
  readonly exitCode: number = 1;
  readonly status: number;
  readonly code: string;

  constructor(status: number, code: string, message: string) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

/**
 * A key-value write's compare-and-set lost (409 `compare-failed`): the key was not at the
 * `ifModRevision` the write named. An ApiError with code `compare-failed`, so callers that show
 * ApiErrors show this too; `current` is what the key holds now (its revisions, null when absent),
 * enough to retry without another read.
 */
export class KvCompareFailedError extends ApiError {
  override readonly name: string = 'KvCompareFailedError';
  readonly current: KeyRevisions;
  /** The store's revision when the compare failed (null from a daemon that does not say). */
  readonly revision: number | null;

  constructor(message: string, current: KeyRevisions, revision: number | null = null) {
    super(409, 'compare-failed', message);
    this.current = current;
    this.revision = revision;
  }
}

/**
 * A reload found the daemon's config file (or environment, or flags) invalid (400
 * `invalid-config`): the daemon applied nothing and keeps running its previous config. An
 * ApiError with code `invalid-config`; `issues` are the problems by field path, as at start, and
 * the exit code is a config error's, 2.
 */
export class InvalidConfigError extends ApiError {
  override readonly name: string = 'InvalidConfigError';
  override readonly exitCode: number = 2;
  readonly issues: ConfigIssue[];

  constructor(message: string, issues: ConfigIssue[]) {
    super(400, 'invalid-config', message);
    this.issues = issues;
  }
}

/**
 * Something answered at `address`, but not Conclave's API: another HTTP server on that port (an
 * HTML 404 page, a plain-text 200, JSON of another shape). An ApiError with code
 * `not-conclave-api`, so callers that show ApiErrors show this too; the body is never echoed.
 */
export class NotConclaveApiError extends ApiError {
  override readonly name: string = 'NotConclaveApiError';
  readonly address: string;
  /** The media type of the reply (`text/html`), or '' when it had none. */
  readonly contentType: string;

  /** `detail` says what was wrong when the status and type alone do not, e.g. `JSON of another shape`. */
  constructor(address: string, status: number, contentType: string, detail?: string) {
    const what = [contentType || 'no content type', detail].filter(Boolean).join(', ');
    super(
      status,
      'not-conclave-api',
      `the server at ${address} answered HTTP ${status} (${what}), which is not the conclave API; ` +
        'is --api pointing at a conclave daemon?',
    );
    this.address = address;
    this.contentType = contentType;
  }
}
