/**
 * One peer's outbound direct messages: a bounded queue in front of one long-lived stream.
 * A stream per message costs ~2 ms; a long-lived one ~0.4 ms a round trip (DESIGN.md section 3).
 *
 * Frames wait in `queue` (oldest dropped when full) and move into the stream's pushable in
 * batches, one batch at a time: the next batch moves once the stream has taken the previous
 * one, so a slow or stuck peer backs up into the bounded queue, not into unbounded buffers.
 * Frames survive a failed open (the peer may be connecting right now) and go out when the
 * connection comes up, unless they have waited longer than `maxQueuedMs`: a late burst of stale
 * election messages helps nobody.
 */
import type { Stream } from '@libp2p/interface';
import { encode } from 'it-length-prefixed';
import { pipe } from 'it-pipe';
import { pushable, type Pushable } from 'it-pushable';
import type { P2PLogger } from './types.js';

export interface PeerChannelInit {
  peer: string;
  /** Frames waiting for the stream beyond this are dropped, oldest first. */
  maxQueuedFrames: number;
  /** Frames older than this when a stream opens are dropped instead of sent. */
  maxQueuedMs: number;
  nowMs(): number;
  openStream(): Promise<Stream>;
  onQueueFull(): void;
  /** Frames handed to the stream (in flight; not acknowledged by the peer). */
  onFramesSent(count: number): void;
  logger: P2PLogger;
}

export class PeerChannel {
  private readonly init: PeerChannelInit;
  private readonly queue: Array<{ payload: Uint8Array; queuedAtMs: number }> = [];
  private stream: Stream | null = null;
  private out: Pushable<Uint8Array> | null = null;
  /** A batch sits in `out` that the stream has not taken yet. */
  private batchInFlight = false;
  private opening = false;
  /** The connection came up while an open was failing: try once more. */
  private reopenRequested = false;
  private closed = false;

  constructor(init: PeerChannelInit) {
    this.init = init;
  }

  send(payload: Uint8Array): void {
    if (this.closed) return;
    if (this.queue.length >= this.init.maxQueuedFrames) {
      this.queue.shift();
      this.init.onQueueFull();
    }
    this.queue.push({ payload, queuedAtMs: this.init.nowMs() });
    if (!this.out) {
      void this.open();
      return;
    }
    // Frames sent in one run of the machines (a RELEASE then a TRANSFER) leave as one batch: a
    // batch goes out only once the stream took the previous one, which took ~40 ms on loopback
    // for the second of two frames sent back to back.
    if (this.moveQueued) return;
    this.moveQueued = true;
    const out = this.out;
    queueMicrotask(() => {
      this.moveQueued = false;
      if (this.out === out) this.moveBatch(out);
    });
  }

  private moveQueued = false;

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
    if (this.closed || this.out || this.queue.length === 0) return;
    if (this.opening) this.reopenRequested = true;
    else void this.open();
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.queue.length = 0;
    this.out?.end();
    this.out = null;
    this.stream?.close().catch((err: unknown) => this.stream?.abort(err as Error));
    this.stream = null;
  }

  private async open(): Promise<void> {
    if (this.opening || this.out || this.closed) return;
    this.opening = true;
    this.reopenRequested = false;
    let stream: Stream;
    try {
      stream = await this.init.openStream();
    } catch (err) {
      this.init.logger.debug({ peer: this.init.peer, err, queued: this.queue.length }, 'cannot open a message stream yet');
      this.opening = false;
      if (this.reopenRequested) void this.open();
      return;
    }
    this.opening = false;
    if (this.closed) {
      stream.abort(new Error('channel closed'));
      return;
    }
    const out = pushable<Uint8Array>({ objectMode: true });
    this.stream = stream;
    this.out = out;
    pipe(out, (source) => encode(source), stream).then(
      () => this.broken(out, null),
      (err: unknown) => this.broken(out, err),
    );
    this.moveBatch(out);
  }

  private moveBatch(out: Pushable<Uint8Array>): void {
    if (this.batchInFlight || this.queue.length === 0) return;
    const oldestMs = this.init.nowMs() - this.init.maxQueuedMs;
    const batch = this.queue.splice(0).filter((frame) => frame.queuedAtMs >= oldestMs);
    if (batch.length === 0) return;
    for (const frame of batch) out.push(frame.payload);
    this.init.onFramesSent(batch.length);
    this.batchInFlight = true;
    out.onEmpty().then(() => {
      if (this.out !== out) return;
      this.batchInFlight = false;
      this.moveBatch(out);
    }, () => undefined);
  }

  /** The stream ended or failed: forget it; the next frame (or one still queued) opens another. */
  private broken(out: Pushable<Uint8Array>, err: unknown): void {
    if (this.out !== out) return;
    if (err) this.init.logger.debug({ peer: this.init.peer, err }, 'message stream broke');
    out.end();
    this.out = null;
    this.stream = null;
    this.batchInFlight = false;
    if (this.queue.length > 0) void this.open();
  }
}
