/**
 * A direct link to one peer: election and membership frames on a TLS socket of their own, beside
 * the libp2p connection, which carries them whenever no link is up.
 *
 * Why: a frame on a libp2p stream passes through the stream's pushable, yamux, Noise's framing
 * and its WebAssembly cipher, and a chain of async iterators at each end. The Raft hand-off's
 * chain of three hops and a write, run by five bare processes, took 6.5 ms over the p2p layer,
 * 2.6 ms over node:tls and 2.2 ms over plain TCP (README "Direct links"); on a link a frame is
 * one `write` of OpenSSL's record at one end and one 'data' event at the other.
 *
 * The link holds to the same bounds as a stream (channel.ts, inbound.ts): frames sent in one
 * turn leave as one write, at the check phase or when the sender ends its batch (`flush`, which
 * the runtime calls after each step's sends, before it logs the step's events); bytes the
 * socket has not taken beyond `maxQueuedBytes` drop the new frame (`queue-full`); a socket that
 * takes nothing for `maxBlockedMs` is closed (its frames go on the libp2p stream from then on). Inbound, each frame takes the peer's token before it is
 * parsed, at most `framesPerTurn` are handled per event-loop turn (the socket is paused
 * meanwhile, so TCP's window stops the sender), and a length beyond the hard cap closes the link.
 */
import type { Socket } from 'node:net';
import type { ProtocolName } from '../../protocols/types.js';
import { StuckStreamError } from './errors.js';
import { decodeFrame } from './frames.js';
import { encodeLinkFrame, LinkFrameReader, type LinkFrameKind } from './link-frames.js';
import type { FrameRejectReason, OutboundDropReason, P2PLogger } from './types.js';

export interface PeerLinkInit {
  peer: string;
  /** The TLS socket, its handshake done and the peer authenticated by the link's key. */
  socket: Socket;
  maxFrameBytes: number;
  /** Bytes the socket holds unsent, beyond which a new frame is dropped (`queue-full`). */
  maxQueuedBytes: number;
  /** A socket that holds unsent bytes and takes none for this long is closed. */
  maxBlockedMs: number;
  /** Frames handled between two yields to the event loop. */
  framesPerTurn: number;
  nowMs(): number;
  /** Takes the peer's token for one election frame; false drops it unparsed (`rate-limited`). */
  admit(from: string): boolean;
  onFrame(from: string, protocol: ProtocolName, message: unknown): void;
  /** A membership-stream frame (heartbeat or peer list) is metered and handled as on that stream. */
  membership: {
    maxFrameBytes: number;
    admit(from: string): boolean;
    onFrame(from: string, message: unknown, byteLength: number): void;
    onReject(from: string, reason: FrameRejectReason): void;
  };
  onReject(from: string, reason: FrameRejectReason): void;
  onDropped(count: number, reason: OutboundDropReason): void;
  onFramesSent(count: number): void;
  /** The first frame of a batch was queued: `flush` writes it before the check phase would. */
  onQueued(link: PeerLink): void;
  /** The link closed (either side, an error, or close()); called once. */
  onClosed(link: PeerLink): void;
  logger: P2PLogger;
}

export class PeerLink {
  private readonly init: PeerLinkInit;
  private readonly reader: LinkFrameReader;
  private pending: Uint8Array[] = [];
  private pendingBytes = 0;
  private flushQueued = false;
  /** When the socket last had nothing unsent, or last drained. */
  private lastProgressMs: number;
  private yielded = false;
  private closedFlag = false;

  constructor(init: PeerLinkInit) {
    this.init = init;
    this.reader = new LinkFrameReader(init.maxFrameBytes);
    this.lastProgressMs = init.nowMs();
    const { socket } = init;
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => {
      this.reader.push(chunk);
      this.readFrames();
    });
    socket.on('drain', () => {
      this.lastProgressMs = this.init.nowMs();
    });
    socket.on('error', (err) => this.init.logger.debug({ peer: init.peer, err }, 'direct link failed'));
    socket.on('close', () => this.closed());
  }

  get peer(): string {
    return this.init.peer;
  }

  get open(): boolean {
    return !this.closedFlag;
  }

  /** One frame; those sent in the same turn leave in one write. Never throws. */
  send(kind: LinkFrameKind, payload: Uint8Array): void {
    if (this.closedFlag) return;
    const { socket } = this.init;
    const nowMs = this.init.nowMs();
    if (socket.writableLength === 0) this.lastProgressMs = nowMs;
    else if (nowMs - this.lastProgressMs >= this.init.maxBlockedMs) {
      const err = new StuckStreamError(this.init.peer, nowMs - this.lastProgressMs);
      this.init.logger.debug({ peer: this.init.peer, err }, 'closing a stuck direct link');
      this.close(err);
      return;
    }
    const frame = encodeLinkFrame(kind, payload);
    if (socket.writableLength + this.pendingBytes + frame.byteLength > this.init.maxQueuedBytes) {
      this.init.onDropped(1, 'queue-full');
      return;
    }
    this.pending.push(frame);
    this.pendingBytes += frame.byteLength;
    if (this.flushQueued) return;
    this.flushQueued = true;
    this.init.onQueued(this);
    setImmediate(() => this.flush());
  }

  /** Writes the frames queued so far now (the immediate queued with them then finds none). */
  flush(): void {
    this.flushQueued = false;
    if (this.closedFlag || this.pending.length === 0) return;
    const frames = this.pending;
    const bytes = this.pendingBytes;
    this.pending = [];
    this.pendingBytes = 0;
    this.init.socket.write(frames.length === 1 ? frames[0]! : Buffer.concat(frames, bytes));
    this.init.onFramesSent(frames.length);
  }

  close(err?: Error): void {
    if (this.closedFlag) return;
    this.init.socket.destroy(err);
    this.closed();
  }

  private readFrames(): void {
    if (this.yielded || this.closedFlag) return;
    const { peer, framesPerTurn } = this.init;
    for (let handled = 0; handled < framesPerTurn; handled++) {
      const read = this.reader.next();
      if (read.kind === 'partial') return;
      if (read.kind === 'fatal') {
        this.init.onReject(peer, read.reason);
        this.close();
        return;
      }
      if (read.protocol === 'membership') this.membershipFrame(read.payload);
      else this.electionFrame(read.protocol, read.payload);
      if (this.closedFlag) return;
    }
    // More may be buffered: let the event loop run first, and stop reading meanwhile.
    this.yielded = true;
    this.init.socket.pause();
    setImmediate(() => {
      this.yielded = false;
      if (this.closedFlag) return;
      this.init.socket.resume();
      this.readFrames();
    });
  }

  private electionFrame(protocol: ProtocolName | null, payload: Uint8Array): void {
    const { peer } = this.init;
    if (!this.init.admit(peer)) {
      this.init.onReject(peer, 'rate-limited');
      return;
    }
    const decoded = protocol === null ? ({ ok: false, reason: 'malformed' } as const) : decodeFrame(payload, this.init.maxFrameBytes);
    if (decoded.ok) this.init.onFrame(peer, protocol!, decoded.message);
    else this.init.onReject(peer, decoded.reason);
  }

  private membershipFrame(payload: Uint8Array): void {
    const { peer, membership } = this.init;
    if (!membership.admit(peer)) {
      membership.onReject(peer, 'rate-limited');
      return;
    }
    const decoded = decodeFrame(payload, membership.maxFrameBytes);
    if (decoded.ok) membership.onFrame(peer, decoded.message, payload.byteLength);
    else membership.onReject(peer, decoded.reason);
  }

  private closed(): void {
    if (this.closedFlag) return;
    this.closedFlag = true;
    if (this.pending.length > 0) this.init.onDropped(this.pending.length, 'stream-lost');
    this.pending = [];
    this.pendingBytes = 0;
    this.init.onClosed(this);
  }
}
