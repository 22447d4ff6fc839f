/**
 * What travels on a direct link (link.ts), as pure functions: election frames, and the offer a
 * peer sends over libp2p to let the other dial its link listener (link-server.ts).
 *
 * A link frame is an unsigned varint (the length of what follows), one byte naming what it is (an
 * election protocol's index in PROTOCOL_NAMES, as members mid-switch send both, or
 * MEMBERSHIP_CODE for the membership stream's frames: heartbeats and peer lists), then the
 * frame's JSON, as on the libp2p streams (frames.ts, peer-exchange.ts). The reader hands out one frame at a time, undecoded, so
 * the caller takes the peer's token before anything parses it, as inbound.ts does.
 */
import { PROTOCOL_NAMES, type ProtocolName } from '../../protocols/types.js';
import { HARD_CAP_FACTOR } from './frames.js';

/** What a link frame carries: an election protocol's frame, or a membership-stream frame. */
export type LinkFrameKind = ProtocolName | 'membership';
const MEMBERSHIP_CODE = 0xff;

/** The varint of a length up to HARD_CAP_FACTOR × 4 MiB fits in 4 bytes; more is malformed. */
const MAX_VARINT_BYTES = 4;
const EMPTY = new Uint8Array(0);

/** One frame on a link: the varint of (1 + payload length), the protocol byte, the payload. */
export function encodeLinkFrame(kind: LinkFrameKind, payload: Uint8Array): Uint8Array {
  const length = payload.byteLength + 1;
  let varintBytes = 1;
  for (let rest = length >>> 7; rest > 0; rest >>>= 7) varintBytes++;
  const frame = new Uint8Array(varintBytes + length);
  let at = 0;
  let rest = length;
  while (rest >= 0x80) {
    frame[at++] = (rest & 0x7f) | 0x80;
    rest >>>= 7;
  }
  frame[at++] = rest;
  frame[at++] = kind === 'membership' ? MEMBERSHIP_CODE : PROTOCOL_NAMES.indexOf(kind);
  frame.set(payload, at);
  return frame;
}

export type LinkRead =
  /** A whole frame: what it carries (null when the byte names nothing) and its payload, undecoded. */
  | { kind: 'frame'; protocol: LinkFrameKind | null; payload: Uint8Array }
  /** Nothing whole yet. */
  | { kind: 'partial' }
  /** A length beyond the hard cap, or a garbled one: the link must be closed (the rest cannot be framed). */
  | { kind: 'fatal'; reason: 'oversized' | 'malformed' };

/**
 * Frames out of a byte stream cut anywhere. A length beyond maxFrameBytes × HARD_CAP_FACTOR is
 * fatal without buffering it; one between maxFrameBytes and that is buffered and handed out, for
 * the caller to drop as `oversized` (decodeFrame), as it-length-prefixed's reader does.
 */
export class LinkFrameReader {
  private buffered: Uint8Array = EMPTY;
  private readonly hardCapBytes: number;

  constructor(maxFrameBytes: number) {
    this.hardCapBytes = maxFrameBytes * HARD_CAP_FACTOR + 1;
  }

  /** Bytes held that are not yet a whole frame. */
  get pendingBytes(): number {
    return this.buffered.byteLength;
  }

  push(chunk: Uint8Array): void {
    if (this.buffered.byteLength === 0) {
      this.buffered = chunk;
      return;
    }
    const joined = new Uint8Array(this.buffered.byteLength + chunk.byteLength);
    joined.set(this.buffered, 0);
    joined.set(chunk, this.buffered.byteLength);
    this.buffered = joined;
  }

  next(): LinkRead {
    const bytes = this.buffered;
    let length = 0;
    let at = 0;
    for (;;) {
      if (at === bytes.byteLength) return { kind: 'partial' };
      if (at === MAX_VARINT_BYTES) return { kind: 'fatal', reason: 'malformed' };
      const byte = bytes[at]!;
      length += (byte & 0x7f) * 2 ** (7 * at);
      at++;
      if ((byte & 0x80) === 0) break;
    }
    if (length === 0) return { kind: 'fatal', reason: 'malformed' };
    if (length > this.hardCapBytes) return { kind: 'fatal', reason: 'oversized' };
    if (bytes.byteLength - at < length) return { kind: 'partial' };
    const code = bytes[at]!;
    const payload = bytes.subarray(at + 1, at + length);
    this.buffered = at + length === bytes.byteLength ? EMPTY : bytes.subarray(at + length);
    return { kind: 'frame', protocol: code === MEMBERSHIP_CODE ? 'membership' : (PROTOCOL_NAMES[code] ?? null), payload };
  }
}

/** What a peer sends over libp2p so the other may dial its link listener: once, for one handshake. */
export interface LinkOffer {
  port: number;
  /** The TLS 1.3 PSK identity to present: random, 32 hex digits. */
  identity: string;
  /** The pre-shared key: 32 random bytes. */
  psk: Uint8Array;
}

export const LINK_PSK_BYTES = 32;
const IDENTITY_RE = /^[0-9a-f]{32}$/;

export function encodeLinkOffer(offer: LinkOffer): Uint8Array {
  return new TextEncoder().encode(JSON.stringify({ port: offer.port, identity: offer.identity, psk: Buffer.from(offer.psk).toString('base64') }));
}

/** The offer in `bytes`, or null when it is not one (any other shape, or a key of another length). */
export function parseLinkOffer(bytes: Uint8Array): LinkOffer | null {
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch {
    return null;
  }
  if (typeof value !== 'object' || value === null) return null;
  const { port, identity, psk } = value as Record<string, unknown>;
  if (typeof port !== 'number' || !Number.isInteger(port) || port < 1 || port > 65_535) return null;
  if (typeof identity !== 'string' || !IDENTITY_RE.test(identity)) return null;
  if (typeof psk !== 'string') return null;
  const key = Buffer.from(psk, 'base64');
  if (key.byteLength !== LINK_PSK_BYTES || key.toString('base64') !== psk) return null;
  return { port, identity, psk: new Uint8Array(key) };
}
