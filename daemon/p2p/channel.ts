/**
 * One peer's outbound direct messages: a bounded queue in front of one long-lived stream.
 * A stream per message costs ~2 ms; a long-lived one ~0.4 ms a round trip (DESIGN.md section 3).
 *
 * Frames wait in `queue` and move into the stream's pushable in batches, one batch at a time:
 * the next batch moves once the stream has taken the previous one, so a slow or stuck peer backs
 * up into the bounded queue, not into unbounded buffers. Frames survive a failed open (the peer
 * may be connecting right now) and go out when the connection comes up, unless they have waited
 * longer than `maxQueuedMs`: a late burst of stale election messages helps nobody.
 *
 * An open that failed with no connection to the peer (its dial failed: the peer is down) is not
 * tried again by every frame sent, but once `openBackoff` (constants.ts OPEN_RETRY_BACKOFF) has
 * passed, by a timer, so no frame waits for a later one; or at once when a connection comes up
 * (`resume`; the dialer keeps redialling members on a backoff of its own). A Raft leader sends
 * every voter a heartbeat per interval, and with one voter stopped it dialled that voter ten times
 * a second for as long as it stayed down: 1.7 % of a core more at the leader (4.4 → 6.0 %,
 * 5 daemons, lan preset) and ten debug lines a second.
 *
 * What a peer that never reads can make this node hold is bounded twice: frames and bytes
 * waiting or handed to the stream but not taken (beyond either, frames are dropped), and time —
 * a stream that takes nothing for `maxBlockedMs` is reset, releasing what the muxer holds for it.
 * Every dropped frame is reported with its reason.
 */
import type { Stream } from '@libp2p/interface';
import { encode } from 'it-length-prefixed';
import { pipe } from 'it-pipe';
import { pushable, type Pushable } from 'it-pushable';
import { backoffDelayMs, type BackoffOptions } from '../../shared/backoff.js';
import { StuckStreamError } from './errors.js';
import type { OutboundDropReason, P2PLogger } from './types.js';

/**
 * A batch goes to the stream as chunks of whole frames, each frame behind its length prefix, up
 * to this many bytes (a larger frame alone). The muxer makes every chunk one frame of its own,
 * the encryption one record (or a few, at 64 KiB) and the socket one write, where each message
 * was one apart. (Under the kv bench most turns send a peer a single frame, and the leader still
 * spends 17–18 % of its time in socket writes: the saving is in bursts, such as a read round's
 * answers beside an append.)
 */
const MAX_CHUNK_BYTES = 64 * 1024;

export interface PeerChannelInit {
  peer: string;
  /** Frames waiting for the stream beyond this are dropped, oldest first (`queue-full`). */
  maxQueuedFrames: number;
  /**
   * Bytes waiting or handed to the stream and not yet taken by it. Beyond this the oldest waiting
   * frames are dropped, or the new one when the batch in the stream alone fills it (`queue-full`).
   */
  maxQueuedBytes: number;
  /** Frames older than this when a stream opens are dropped instead of sent (`stale`). */
  maxQueuedMs: number;
  /** A stream that has frames to take and takes none for this long is reset (`stream-lost`). */
  maxBlockedMs: number;
  nowMs(): number;
  openStream(): Promise<Stream>;
  /** Whether a connection to the peer is open now: an open that failed with none waits out `openBackoff`. */
  isConnected(): boolean;
  /** Delays before the next open after opens failed in a row with no connection. */
  openBackoff: BackoffOptions;
  /** Uniform in [0, 1): the backoff's jitter. */
  random01(): number;
  /** Runs `fn` after `ms` (the backoff's retry); returns what cancels it. */
  schedule(fn: () => void, ms: number): () => void;
  onDropped(count: number, reason: OutboundDropReason): void;
  /** A stream that stopped taking frames was reset (StuckStreamError). */
  onStreamReset(): void;
  /** Frames the stream took (in flight; not acknowledged by the peer). */
  onFramesSent(count: number): void;
  logger: P2PLogger;
}

export class PeerChannel {
  private readonly init: PeerChannelInit;
  private readonly queue: Array<{ payload: Uint8Array; queuedAtMs: number }> = [];
  private queuedBytes = 0;
  private stream: Stream | null = null;
  private out: Pushable<Uint8Array> | null = null;
  /** Frames moved into `out` that the stream has not taken yet (the batch in flight), and their bytes. */
  private inFlightFrames = 0;
  private inFlightBytes = 0;
  /** Per chunk in `out`, oldest first: the frames and frame bytes it holds. */
  private readonly inFlightChunks: Array<{ frames: number; bytes: number }> = [];
  /** When the stream last took a frame, or was last given some while it had none to take. */
  private lastProgressMs = 0;
  private opening = false;
  /** Opens that failed in a row with no connection to the peer; the retry that waits out the backoff. */
  private openFailures = 0;
  private cancelRetry: (() => void) | null = null;
  /** The connection came up while an open was failing: try once more. */
  private reopenRequested = false;
  private moveQueued = false;
  private closed = false;

  constructor(init: PeerChannelInit) {
    this.init = init;
  }

  send(payload: Uint8Array): void {
    if (this.closed) return;
    const nowMs = this.init.nowMs();
    if (this.out && this.inFlightFrames > 0 && nowMs - this.lastProgressMs >= this.init.maxBlockedMs) this.resetStuck(this.out, nowMs);
    this.dropStale(nowMs);
    if (!this.makeRoom(payload.byteLength)) {
      this.init.onDropped(1, 'queue-full');
      return;
    }
    this.queue.push({ payload, queuedAtMs: nowMs });
    this.queuedBytes += payload.byteLength;
    if (!this.out) {
      // Backing off: the retry's timer opens it (or resume, when a connection comes up).
      if (this.cancelRetry === null || this.init.isConnected()) void this.open();
      return;
    }
    // Frames sent in one turn of the event loop (a RELEASE then a TRANSFER; the answers to every
    // frame read from a socket at once) leave as one batch: a batch goes out only once the
    // stream took the previous one, which took ~40 ms on loopback for the second of two frames
    // sent back to back.
    if (this.moveQueued) return;
    this.moveQueued = true;
    const out = this.out;
    setImmediate(() => {
      this.moveQueued = false;
      if (this.out === out) this.moveBatch(out);
    });
  }

  /**
   * Opens the stream before there is anything to send. Opening one negotiates the protocol
   * (several round trips): done ahead, the first message of an election (a node that never sent
   * to this peer before) leaves at once instead of waiting for it.
   */
  warm(): void {
    if (this.closed || this.out) return;
    void this.open();
  }

  /** A connection to the peer came up: frames queued while it was down can go now. */
  resume(): void {
    this.openFailures = 0;
    this.stopRetry();
    if (this.closed || this.out || this.queue.length === 0) return;
    if (this.opening) this.reopenRequested = true;
    else void this.open();
  }

  /** The stream frames go out on now, or null. */
  get currentStream(): Stream | null {
    return this.stream;
  }

  /**
   * Drops the current stream now (its connection is being closed) rather than when a write to
   * it fails: the next frame, or one still waiting, opens another.
   */
  restart(): void {
    const out = this.out;
    if (this.closed || !out) return;
    this.stream?.abort(new Error('its connection is closed'));
    this.broken(out, null);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.stopRetry();
    this.queue.length = 0;
    this.queuedBytes = 0;
    this.out?.end();
    this.out = null;
    this.stream?.close().catch((err: unknown) => this.stream?.abort(err as Error));
    this.stream = null;
  }

  /**
   * Drops the waiting frames older than maxQueuedMs (`stale`): before a batch moves into the
   * stream, and as each frame is sent, so that a peer that stays down (a stopped voter its leader
   * sends ten heartbeats a second) holds a few seconds of frames, not a full queue whose every new
   * frame pushes one out as `queue-full`. Frames are queued in time order (a monotonic clock).
   */
  private dropStale(nowMs: number): void {
    const oldestMs = nowMs - this.init.maxQueuedMs;
    let dropped = 0;
    while (this.queue.length > 0 && this.queue[0]!.queuedAtMs < oldestMs) {
      this.queuedBytes -= this.queue.shift()!.payload.byteLength;
      dropped++;
    }
    if (dropped > 0) this.init.onDropped(dropped, 'stale');
  }

  /** Drops the oldest waiting frames until `byteLength` more fits; false when it cannot fit at all. */
  private makeRoom(byteLength: number): boolean {
    const { maxQueuedFrames, maxQueuedBytes } = this.init;
    const over = () => this.queue.length >= maxQueuedFrames || this.queuedBytes + this.inFlightBytes + byteLength > maxQueuedBytes;
    while (this.queue.length > 0 && over()) {
      this.queuedBytes -= this.queue.shift()!.payload.byteLength;
      this.init.onDropped(1, 'queue-full');
    }
    return !over();
  }

  private async open(): Promise<void> {
    if (this.opening || this.out || this.closed) return;
    this.opening = true;
    this.reopenRequested = false;
    this.stopRetry();
    let stream: Stream;
    try {
      stream = await this.init.openStream();
    } catch (err) {
      this.opening = false;
      // With a connection up (one being replaced, a protocol not yet negotiated) the next frame tries again.
      const retryInMs = this.init.isConnected() ? 0 : backoffDelayMs(this.openFailures++, this.init.openBackoff, this.init.random01());
      this.init.logger.debug({ peer: this.init.peer, err, queued: this.queue.length, retryInMs: Math.round(retryInMs) }, 'cannot open a message stream yet');
      if (this.closed) return;
      if (this.reopenRequested) void this.open();
      else if (retryInMs > 0) this.cancelRetry = this.init.schedule(() => this.retry(), retryInMs);
      return;
    }
    this.opening = false;
    this.openFailures = 0;
    if (this.closed) {
      stream.abort(new Error('channel closed'));
      return;
    }
    const out = pushable<Uint8Array>({ objectMode: true });
    this.stream = stream;
    this.out = out;
    const taken = (source: AsyncIterable<Uint8Array>) => this.countTaken(out, source);
    pipe(out, taken, stream).then(
      () => this.broken(out, null),
      (err: unknown) => this.broken(out, err),
    );
    this.moveBatch(out);
  }

  /** The backoff after a failed open ended: open if frames wait (else the next frame does). */
  private retry(): void {
    this.cancelRetry = null;
    if (this.queue.length > 0) void this.open();
  }

  private stopRetry(): void {
    this.cancelRetry?.();
    this.cancelRetry = null;
  }

  /**
   * Counts each chunk's frames as the stream pulls it; the last chunk of a batch taken moves the
   * next one. (Not `out.onEmpty()`: in it-pushable 3.2.4 it resolves at once unless given a
   * signal, which let a peer that never reads pile every frame into the stream.)
   */
  private async *countTaken(out: Pushable<Uint8Array>, source: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
    for await (const chunk of source) {
      if (this.out === out) {
        const taken = this.inFlightChunks.shift()!;
        this.inFlightFrames -= taken.frames;
        this.inFlightBytes -= taken.bytes;
        this.lastProgressMs = this.init.nowMs();
        this.init.onFramesSent(taken.frames);
        if (this.inFlightFrames === 0) this.moveBatch(out);
      }
      yield chunk;
    }
  }

  private moveBatch(out: Pushable<Uint8Array>): void {
    if (this.inFlightFrames > 0 || this.queue.length === 0) return;
    const nowMs = this.init.nowMs();
    this.dropStale(nowMs);
    if (this.queue.length === 0) return;
    const batch = this.queue.splice(0);
    this.queuedBytes = 0;
    this.lastProgressMs = nowMs;
    // No closure here: this runs for every batch a busy node sends, and the bundle names each one.
    let parts: Uint8Array[] = [];
    let partBytes = 0;
    let frames = 0;
    let bytes = 0;
    for (const { payload } of batch) {
      const prefixed = encode.single(payload).subarray();
      if (partBytes > 0 && partBytes + prefixed.byteLength > MAX_CHUNK_BYTES) {
        this.pushChunk(out, parts, partBytes, frames, bytes);
        parts = [];
        partBytes = frames = bytes = 0;
      }
      parts.push(prefixed);
      partBytes += prefixed.byteLength;
      frames++;
      bytes += payload.byteLength;
      this.inFlightFrames++;
      this.inFlightBytes += payload.byteLength;
    }
    this.pushChunk(out, parts, partBytes, frames, bytes);
  }

  /** One chunk of whole frames into the stream's pushable, counted for countTaken. */
  private pushChunk(out: Pushable<Uint8Array>, parts: Uint8Array[], partBytes: number, frames: number, bytes: number): void {
    out.push(parts.length === 1 ? parts[0]! : Buffer.concat(parts, partBytes));
    this.inFlightChunks.push({ frames, bytes });
  }

  /** The peer has not read for maxBlockedMs: reset the stream rather than hold its frames. */
  private resetStuck(out: Pushable<Uint8Array>, nowMs: number): void {
    const err = new StuckStreamError(this.init.peer, nowMs - this.lastProgressMs);
    this.init.logger.debug({ peer: this.init.peer, err, inFlight: this.inFlightFrames }, 'resetting a stuck message stream');
    this.init.onStreamReset();
    this.stream?.abort(err);
    this.broken(out, null);
  }

  /** The stream ended, failed or was reset: forget it; the next frame (or one still queued) opens another. */
  private broken(out: Pushable<Uint8Array>, err: unknown): void {
    if (this.out !== out) return;
    if (err) this.init.logger.debug({ peer: this.init.peer, err }, 'message stream broke');
    if (this.inFlightFrames > 0) this.init.onDropped(this.inFlightFrames, 'stream-lost');
    out.end();
    this.out = null;
    this.stream = null;
    this.inFlightFrames = 0;
    this.inFlightBytes = 0;
    this.inFlightChunks.length = 0;
    if (this.queue.length > 0) void this.open();
  }
}
