/**
 * Reads one inbound direct-message stream until it ends. Bad frames are dropped and reported;
 * the stream keeps going. A length prefix beyond the hard cap resets the stream, so a peer
 * cannot make this node buffer an arbitrarily large frame.
 */
import type { Stream } from '@libp2p/interface';
import { decode } from 'it-length-prefixed';
import { decodeFrame, HARD_CAP_FACTOR } from './frames.js';
import type { FrameRejectReason, P2PLogger } from './types.js';

export interface InboundInit {
  from: string;
  maxFrameBytes: number;
  onFrame(from: string, message: unknown): void;
  onReject(from: string, reason: FrameRejectReason): void;
  logger: P2PLogger;
}

export async function readInboundStream(stream: Stream, init: InboundInit): Promise<void> {
  const { from, maxFrameBytes } = init;
  try {
    for await (const frame of decode(stream.source, { maxDataLength: maxFrameBytes * HARD_CAP_FACTOR })) {
      const decoded = decodeFrame(frame.subarray(), maxFrameBytes);
      if (decoded.ok) init.onFrame(from, decoded.message);
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
