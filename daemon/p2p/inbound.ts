/**
 * Reads one inbound direct-message stream until it ends. Bad frames are dropped and reported;
 * the stream keeps going. A length prefix beyond the hard cap resets the stream, so a peer
 * cannot make this node buffer an arbitrarily large frame.
 *
 * Each frame asks `admit` (the peer's rate limit) before it is parsed: a frame over the limit
 * costs its length-prefix decoding and nothing more. After `framesPerTurn` frames the reader
 * yields to the event loop, so a socket chunk holding thousands of frames cannot hold up timers,
 * the API and other peers; meanwhile the unread data stays in the muxer and its flow-control
 * window stops the sender.
 */
import type { Stream } from '@libp2p/interface';
import { decode } from 'it-length-prefixed';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { decodeFrame, HARD_CAP_FACTOR } from './frames.js';
import type { FrameRejectReason, P2PLogger } from './types.js';

export interface InboundInit {
  from: string;
  maxFrameBytes: number;
  /** Frames decoded between two yields to the event loop. */
  framesPerTurn: number;
  /** Takes the peer's token for one frame; false drops it unparsed (`rate-limited`). */
  admit(from: string): boolean;
  /** A decoded frame and its size in bytes. */
  onFrame(from: string, message: unknown, byteLength: number): void;
  onReject(from: string, reason: FrameRejectReason): void;
  logger: P2PLogger;
}

export async function readInboundStream(stream: Stream, init: InboundInit): Promise<void> {
  const { from, maxFrameBytes } = init;
  let sinceYield = 0;
  try {
    for await (const frame of decode(stream.source, { maxDataLength: maxFrameBytes * HARD_CAP_FACTOR })) {
      if (++sinceYield > init.framesPerTurn) {
        sinceYield = 1;
        await nextTurn();
      }
      if (!init.admit(from)) {
        init.onReject(from, 'rate-limited');
        continue;
      }
      const decoded = decodeFrame(frame.subarray(), maxFrameBytes);
      if (decoded.ok) init.onFrame(from, decoded.message, frame.byteLength);
      else init.onReject(from, decoded.reason);
    }
    await stream.close();
  } catch (err) {
    // it-length-prefixed's stable error names: a length prefix over the cap, or a garbled prefix.
    const name = (err as Error | null)?.name;
    if (name === 'InvalidDataLengthError' || name === 'InvalidDataLengthLengthError') init.onReject(from, 'oversized');
    else if (name === 'InvalidMessageLengthError') init.onReject(from, 'malformed');
    else init.logger.debug({ peer: from, err }, 'inbound message stream ended with an error');
    stream.abort(err instanceof Error ? err : new Error(String(err)));
  }
}
