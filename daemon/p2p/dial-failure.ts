/**
 * Why a dial failed, read from what libp2p 2.10 raised. Only a failed handshake is worth an
 * operator's attention: the TCP connection opened, so the peer is there, but the two nodes could
 * not agree on pnet, multistream-select or noise — most often different pre-shared keys, or a
 * key on one side only. Refused connections and timeouts are peers coming and going.
 *
 * Observed on 127.0.0.1 (dialler's error; `-` = no `code`):
 *
 * | case                              | error                                                  |
 * |-----------------------------------|--------------------------------------------------------|
 * | both sides pnet, different keys   | EncryptionFailedError "unexpected end of input", or a  |
 * |                                   | TimeoutError at the dial deadline (about 1 in 3)       |
 * | dialler has a key, peer has none  | UnexpectedEOFError ERR_UNEXPECTED_EOF, or a            |
 * |                                   | TimeoutError after pnet's own 1 s (about 1 in 3)       |
 * | dialler has no key, peer has one  | EncryptionFailedError "unexpected end of input",       |
 * |                                   | "Missing newline", "message length (length) too long", |
 * |                                   | or a TimeoutError at the dial deadline (1 in 4)        |
 * | not a libp2p service (HTTP, ...)  | EncryptionFailedError "unexpected end of input"        |
 * | connection refused                | Error code ECONNREFUSED "connection error host:port…"  |
 * | no answer to SYN                  | DOMException TimeoutError (code 23) at the deadline    |
 * | several addresses all failing     | AggregateError "All multiaddr dials failed", errors[]  |
 *
 * A timeout alone cannot tell a stalled handshake from an unanswered SYN; explainDialTimeout
 * uses what the dial's progress events showed to tell them apart.
 */
import { DIAL_TIMEOUT_MS } from './constants.js';

export type DialFailureKind = 'handshake' | 'unreachable' | 'other';

/** The connection opened, but its handshake did not finish before a timer gave up. */
export class HandshakeTimeoutError extends Error {
  override readonly name = 'HandshakeTimeoutError';

  constructor(cause: unknown) {
    super(`the handshake did not finish in time (${describeError(cause)})`, { cause });
  }
}

/** Raised only once a connection is open, by the layers that run on it. */
const HANDSHAKE_NAMES = new Set([
  // libp2p's upgrader wraps every multistream-select or noise failure on an outbound connection.
  'EncryptionFailedError',
  // pnet's nonce exchange runs before that wrapper: the peer hung up before sending its nonce.
  'UnexpectedEOFError',
  // Encrypted, but no stream muxer in common: not a Conclave node.
  'MuxerUnavailableError',
  'HandshakeTimeoutError',
]);

/** A reset or a broken pipe needs an open connection; a refused connect is ECONNREFUSED. */
const HANDSHAKE_CODES = new Set(['ECONNRESET', 'EPIPE']);

const UNREACHABLE_CODES = new Set([
  'ECONNREFUSED',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EHOSTDOWN',
  'ENETDOWN',
  'ETIMEDOUT',
  'EADDRNOTAVAIL',
  'ENOTFOUND',
  'EAI_AGAIN',
]);

/** Bounds the walk through `errors` and `cause`, which a hostile or buggy error could make cyclic. */
const MAX_DEPTH = 8;

/**
 * `handshake` when any failure inside `err` (an AggregateError holds one per address) happened on
 * an open connection; `unreachable` when every one is a refused, unrouted or timed-out connect.
 */
export function classifyDialFailure(err: unknown): DialFailureKind {
  return diagnose(err, 0).kind;
}

/** The warning for a handshake failure: where, what libp2p said, the likely cause and the fix. */
export function handshakeFailureMessage(target: { peer: string | null; addrs: readonly string[] }, err: unknown): string {
  const culprit = diagnose(err, 0).culprit ?? err;
  // A handshake that ran out of time may only have waited on a host with more daemons than its
  // cores can serve (25 starting at once on 2 cores time out by the hundred); a refused one cannot.
  const busy = errorName(err) === 'HandshakeTimeoutError' || errorName(culprit) === 'HandshakeTimeoutError';
  return (
    `cannot complete the handshake with ${describeTarget(target)}: the connection opened but the encrypted handshake failed ` +
    `(${describeError(culprit)}) — most likely the nodes use different pre-shared keys (security.pskFile) or only one of them ` +
    'has one; check that every node has the same swarm key file, and that the address belongs to a Conclave node' +
    (busy ? `; or one of the two hosts was too busy to finish it within ${DIAL_TIMEOUT_MS / 1000} s (more daemons than its cores serve: README "How large a cluster"), which passes once the load does` : '') +
    ' (logged once a minute per peer)'
  );
}

/** What a dial's `onProgress` events and its deadline showed, for explainDialTimeout. */
export interface DialObservation {
  /** Progress event types seen, e.g. `dial-queue:start-dial`, `upgrader:encrypt-outbound-connection`. */
  progress: ReadonlySet<string>;
  /** The dial's own deadline signal had fired when the dial failed. */
  deadlinePassed: boolean;
}

/**
 * `err`, or a HandshakeTimeoutError wrapping it when the timeout struck on an open connection:
 * - after `upgrader:encrypt-outbound-connection` (TCP is up and, with a key, pnet's nonces were
 *   exchanged), the handshake itself stalled;
 * - before the dial's own deadline, the timer was one inside the upgrade: pnet gives up on the
 *   nonce exchange after 1 s, while a TCP connect here has no timer but the deadline.
 * Only a dial that ran its own job (`dial-queue:start-dial`) can say either: one that joined a dial
 * already queued for the peer sees none of its progress, and fails on the other dial's deadline.
 */
export function explainDialTimeout(err: unknown, seen: DialObservation): unknown {
  if (errorName(err) !== 'TimeoutError' || !seen.progress.has('dial-queue:start-dial')) return err;
  return seen.progress.has('upgrader:encrypt-outbound-connection') || !seen.deadlinePassed ? new HandshakeTimeoutError(err) : err;
}

interface Diagnosis {
  kind: DialFailureKind;
  /** The error that made it a handshake failure, to name in the warning. */
  culprit: unknown;
}

function diagnose(err: unknown, depth: number): Diagnosis {
  const own = ownKind(err);
  if (own !== 'other' || depth >= MAX_DEPTH) return { kind: own, culprit: own === 'handshake' ? err : null };
  const nested = nestedErrors(err);
  if (nested.length === 0) return { kind: 'other', culprit: null };
  const found = nested.map((e) => diagnose(e, depth + 1));
  const handshake = found.find((d) => d.kind === 'handshake');
  if (handshake) return handshake;
  return { kind: found.every((d) => d.kind === 'unreachable') ? 'unreachable' : 'other', culprit: null };
}

function ownKind(err: unknown): DialFailureKind {
  const name = errorName(err);
  const code = errorCode(err);
  if (HANDSHAKE_NAMES.has(name) || HANDSHAKE_CODES.has(code)) return 'handshake';
  if (name === 'TimeoutError' || UNREACHABLE_CODES.has(code)) return 'unreachable';
  return 'other';
}

/** AggregateError's `errors`, else the `cause`; libp2p sets `errors` when several addresses fail. */
function nestedErrors(err: unknown): unknown[] {
  if (typeof err !== 'object' || err === null) return [];
  const { errors, cause } = err as { errors?: unknown; cause?: unknown };
  if (Array.isArray(errors)) return errors;
  return cause === undefined ? [] : [cause];
}

function errorName(err: unknown): string {
  const name = (err as { name?: unknown } | null)?.name;
  return typeof name === 'string' ? name : '';
}

/** Node's errno codes are strings; DOMException's numeric `code` is not one of them. */
function errorCode(err: unknown): string {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : '';
}

function describeError(err: unknown): string {
  const message = (err as { message?: unknown } | null)?.message;
  const name = errorName(err) || 'Error';
  return typeof message === 'string' && message !== '' ? `${name}: ${message}` : name;
}

/** `/ip4/10.0.0.5/tcp/7401 (peer 12D3…)`: addresses without the `/p2p/` part the peer id repeats. */
function describeTarget({ peer, addrs }: { peer: string | null; addrs: readonly string[] }): string {
  const shown = addrs.map((addr) => (peer === null ? addr : addr.replace(`/p2p/${peer}`, '')));
  if (shown.length === 0) return peer === null ? 'an unknown peer' : `peer ${peer}`;
  return peer === null ? shown.join(', ') : `${shown.join(', ')} (peer ${peer})`;
}
