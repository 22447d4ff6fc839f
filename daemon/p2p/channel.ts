/**
 * One peer's outbound direct messages: a bounded queue in front of one long-lived stream.
 * A stream per message costs ~2 ms; a long-lived one ~0.4 ms a round trip (DESIGN.md section 3).
 *
 * Frames wait in `queue` (oldest dropped when full) and move into the stream's pushable in
 * batches, one batch at a time: the next batch moves once the stream has taken the previous
 * one, so a slow or stuck peer backs up into the bounded queue, not into unbounded buffers.
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
  openStream(): Promise<Stream>;
  onQueueFull(): void;
  /** Frames handed to the stream (in flight; not acknowledged by the peer). */
  onFramesSent(count: number): void;
  logger: P2PLogger;
}

export class PeerChannel {
  private readonly init: PeerChannelInit;
  private readonly queue: Uint8Array[] = [];
  private stream: Stream | null = null;
  private out: Pushable<Uint8Array> | null = null;
  /** A batch sits in `out` that the stream has not taken yet. */
  private batchInFlight = false;
  private opening = false;
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
    this.queue.push(payload);
    if (this.out) this.moveBatch(this.out);
    else void this.open();
  }

  /** A connection to the peer came up: frames queued while it was down can go now. */
  resume(): void {
    if (!this.closed && !this.out && this.queue.length > 0) void this.open();
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
    let stream: Stream;
    try {
      stream = await this.init.openStream();
    } catch (err) {
      // An unreachable peer: drop what was queued rather than deliver it late after a reconnect
      // (the election protocols tolerate loss, not stale bursts).
      this.init.logger.debug({ peer: this.init.peer, err, dropped: this.queue.length }, 'cannot open a message stream');
      this.queue.length = 0;
      return;
    } finally {
      this.opening = false;
    }
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
    const batch = this.queue.splice(0);
    for (const payload of batch) out.push(payload);
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
