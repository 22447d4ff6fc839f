/**
 * Errors from the p2p layer that reach people. Stable `name`s for callers and tests; `exitCode`
 * follows daemon/errors.ts (2: the input is wrong and a rerun fails the same way).
 */

/** The swarm key file is missing, unreadable or not in the pnet v1 format. */
export class SwarmKeyError extends Error {
  override readonly name = 'SwarmKeyError';
  readonly exitCode = 2;
  readonly path: string;

  constructor(path: string, reason: string) {
    super(`swarm key file ${path} ${reason}; expected three lines: /key/swarm/psk/1.0.0/, /base16/, then 64 hex digits`);
    this.path = path;
  }
}
