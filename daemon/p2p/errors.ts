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

/** Our message stream to a peer took nothing for too long (the peer is not reading): it is reset. */
export class StuckStreamError extends Error {
  override readonly name = 'StuckStreamError';
  readonly peer: string;

  constructor(peer: string, blockedMs: number) {
    super(`peer ${peer} took no message frame for ${Math.round(blockedMs)} ms; the stream is reset and the frames in it dropped`);
    this.peer = peer;
  }
}

/** A peer kept sending above its per-peer limits: its connections are closed with this. */
export class PeerFloodError extends Error {
  override readonly name = 'PeerFloodError';
  readonly peer: string;

  constructor(peer: string, cooldownMs: number) {
    super(`peer ${peer} kept sending above the per-peer limits; disconnected, and refused for ${Math.round(cooldownMs / 1000)} s`);
    this.peer = peer;
  }
}

/** A second connection to a peer: closed so each pair keeps one (duplicate-connections.ts). */
export class DuplicateConnectionError extends Error {
  override readonly name = 'DuplicateConnectionError';
  readonly peer: string;

  constructor(peer: string) {
    super(`a second connection to peer ${peer}; closed, the pair keeps the one the smaller peer id opened`);
    this.peer = peer;
  }
}

/** Membership declared the peer dead: its connections are closed, and it is redialled while a member. */
export class PeerGoneError extends Error {
  override readonly name = 'PeerGoneError';
  readonly peer: string;

  constructor(peer: string) {
    super(`peer ${peer} was declared dead; its connections are closed and it is redialled with backoff`);
    this.peer = peer;
  }
}

/** The direct-link listener could not bind `messaging.linkPort` (in use, or not allowed). */
export class LinkListenError extends Error {
  override readonly name = 'LinkListenError';
  readonly exitCode = 2;
  readonly port: number;

  constructor(port: number, cause: unknown) {
    const why = (cause as { code?: unknown } | null)?.code === 'EADDRINUSE' ? 'is in use' : `cannot be bound (${(cause as Error | null)?.message ?? String(cause)})`;
    super(`messaging.linkPort ${port} ${why}: choose another port, 0 for any free one, or null to send election frames on the libp2p connection only`, { cause });
    this.port = port;
  }
}
