/**
 * Errors of the control API, server and client side. Each has a stable `name` (match on it, not
 * on message text) and the process `exitCode` the CLI maps it to (see ../errors.ts).
 */

/** The API cannot start with this configuration (e.g. a public TCP address without a token). */
export class ApiConfigError extends Error {
  override readonly name = 'ApiConfigError';
  readonly exitCode = 2;
}

/** No daemon answered at `address`: nothing listens there, or the socket file is missing. */
export class ApiUnreachableError extends Error {
  override readonly name = 'ApiUnreachableError';
  readonly exitCode = 1;
  readonly address: string;

  constructor(address: string, reason: string) {
    super(
      `cannot reach the conclave API at ${address} (${reason}); is a daemon running? ` +
        'start one with `conclave start`, or pass --api HOST:PORT | unix:PATH',
    );
    this.address = address;
  }
}

/** The daemon answered with an error body `{"error":{"code","message"}}`. */
export class ApiError extends Error {
  override readonly name = 'ApiError';
  readonly exitCode = 1;
  readonly status: number;
  readonly code: string;

  constructor(status: number, code: string, message: string) {
    super(message);
    this.status = status;
    this.code = code;
  }
}
