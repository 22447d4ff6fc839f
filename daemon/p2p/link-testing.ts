/**
 * Test helpers for direct links (link.test.ts, links.test.ts): a PeerLink that records what it
 * hands up and drops, and a bounded wait for a condition on real sockets.
 */
import type { Socket } from 'node:net';
import type { ProtocolName } from '../../protocols/types.js';
import { PeerLink, type PeerLinkInit } from './link.js';
import type { FrameRejectReason, OutboundDropReason, P2PLogger } from './types.js';

export const quietLogger: P2PLogger = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined };

/** Polls `check` every 5 ms; fails naming `what` after 10 s. */
export async function until(what: string, check: () => boolean): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

export interface RecordingLink {
  link: PeerLink;
  frames: Array<{ protocol: ProtocolName; message: unknown }>;
  gossip: unknown[];
  gossipRejects: FrameRejectReason[];
  rejects: FrameRejectReason[];
  dropped: Array<{ count: number; reason: OutboundDropReason }>;
  closed: number;
}

/** A link on `socket` with small test limits (election frames 1 KiB, membership 512 B), recording everything. */
export function recordingLink(peer: string, socket: Socket, overrides: Partial<PeerLinkInit> = {}): RecordingLink {
  const r = { frames: [], gossip: [], gossipRejects: [], rejects: [], dropped: [], closed: 0 } as unknown as RecordingLink;
  r.link = new PeerLink({
    peer,
    socket,
    maxFrameBytes: 1024,
    maxQueuedBytes: 64 * 1024,
    maxBlockedMs: 10_000,
    framesPerTurn: 64,
    nowMs: () => 0,
    admit: () => true,
    onFrame: (_from, protocol, message) => void r.frames.push({ protocol, message }),
    membership: {
      maxFrameBytes: 512,
      admit: () => true,
      onFrame: (_from, message) => void r.gossip.push(message),
      onReject: (_from, reason) => void r.gossipRejects.push(reason),
    },
    onReject: (_from, reason) => void r.rejects.push(reason),
    onDropped: (count, reason) => void r.dropped.push({ count, reason }),
    onFramesSent: () => undefined,
    onQueued: () => undefined,
    onClosed: () => void r.closed++,
    logger: quietLogger,
    ...overrides,
  });
  return r;
}
