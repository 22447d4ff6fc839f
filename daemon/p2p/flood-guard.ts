/**
 * Bounded work per peer. Every inbound election frame and every membership-stream frame (its
 * heartbeats, counted as gossip) takes a token from its peer's bucket first; an empty
 * bucket drops it before anything parses it. Every drop is a strike; a peer that runs out of
 * strikes is a flooder: the caller hangs up on it, and its connections (either way) are refused
 * until a cool-down ends. Decisions only: no sockets, no timers, time passed in.
 */
import { MAX_QUEUED_FRAMES_PER_PEER } from './constants.js';
import { TokenBucket, type TokenBucketOptions } from './rate-limit.js';

export interface PeerLimits {
  /** Direct (election) frames per peer, all its streams together. */
  frames: TokenBucketOptions;
  /** Gossip messages per author. */
  gossip: TokenBucketOptions;
  /** Gossip payloads above this are dropped before anything parses them. */
  maxGossipBytes: number;
  /** Dropped messages a peer may cause (`burst` at once, `ratePerS` sustained) before it counts as a flooder. */
  strikes: TokenBucketOptions;
  /** How long a flooder's connections and dials are refused after it is disconnected. */
  cooldownMs: number;
  /** Peers tracked at once; the earliest added is forgotten first. */
  maxPeers: number;
}

/**
 * Sized so an honest peer never meets a limit, with the rates the protocols actually use.
 */
export const DEFAULT_PEER_LIMITS: PeerLimits = {
  // Bully sends a few frames a second to each peer and tens during an election; 200/s is tens of
  // times that. The burst matches the sender's own queue (MAX_QUEUED_FRAMES_PER_PEER): a channel
  // that reopens its stream flushes everything it queued at once, and none of it may be dropped.
  // The flood the issue reported (11k frames/s) gets 1024 frames in, then 200/s.
  frames: { ratePerS: 200, burst: MAX_QUEUED_FRAMES_PER_PEER },
  // Membership-stream frames: a node sends a heartbeat per heartbeatIntervalMs (2/s with the lan
  // preset, 5/s local), a refutation per accusation, and a peer list when a peer appears.
  gossip: { ratePerS: 100, burst: 200 },
  // A heartbeat with 64 suspects, 64 dead and 64 left refs (the codec's caps), 16 addresses and
  // every other field at its longest is about 20 KiB (flood-guard.test.ts builds it); a usual one
  // is under 1 KiB. 32 KiB keeps half as much again in hand and drops the 1 MB heartbeats of the
  // issue before JSON.parse.
  maxGossipBytes: 32 * 1024,
  // An honest peer causes no drops at all (the buckets above are far above its rates), so 1000
  // drops, or more than 100 a second for longer, is deliberate: the 11k frames/s flood is cut
  // after about 0.2 s. A peer only somewhat over the rate (below 300 frames/s) keeps its
  // connection and is simply held to 200/s.
  strikes: { ratePerS: 100, burst: 1000 },
  // As long as the longest redial backoff (REDIAL_BACKOFF.maxMs): long enough that a flood costs
  // the flooder its membership (it is declared dead within seconds), short enough that a peer
  // that flooded through a bug is back within a minute of being fixed.
  cooldownMs: 30_000,
  // As reject-log.ts: a few hundred bytes a peer; a flood of identities cannot grow it further.
  maxPeers: 4096,
};

/**
 * Raft's election frames carry the replicated log, so an honest peer's rate follows the write
 * load: a follower answers every append (two per write: the entry, then its commit) and forwards
 * its clients' writes and reads. At 200 a second a follower of a leader taking a few hundred
 * writes a second went over, and the reads and writes it forwarded were dropped unanswered
 * (`kv` bench, 16 clients). 10,000 a second per peer is several times what one daemon handles
 * at its peak here (every frame costs its receiver tens of microseconds), and a flood of the
 * 11k-frames-a-second kind still overruns it: past 100 drops a second the peer is cut off.
 */
export const RAFT_PEER_LIMITS: PeerLimits = {
  ...DEFAULT_PEER_LIMITS,
  frames: { ratePerS: 10_000, burst: 4 * MAX_QUEUED_FRAMES_PER_PEER },
};

/** The per-peer limits of a protocol's election frames (membership is metered alike for both). */
export function peerLimitsFor(protocol: 'bully' | 'raft'): PeerLimits {
  return protocol === 'raft' ? RAFT_PEER_LIMITS : DEFAULT_PEER_LIMITS;
}

export type GossipRejectReason = 'rate-limited-gossip' | 'oversized-gossip';

interface PeerState {
  frames: TokenBucket | null;
  gossip: TokenBucket | null;
  strikes: TokenBucket | null;
  /** Dials and connections are refused before this; 0 when never refused. */
  refusedUntilMs: number;
}

export class FloodGuard {
  private limits: PeerLimits;
  private readonly peers = new Map<string, PeerState>();

  constructor(limits: PeerLimits = DEFAULT_PEER_LIMITS) {
    this.limits = limits;
  }

  /** New limits (a live protocol switch): each peer's frame bucket starts afresh at the new rate; strikes and refusals stay. */
  setLimits(limits: PeerLimits): void {
    this.limits = limits;
    for (const state of this.peers.values()) state.frames = null;
  }

  /** Takes a token for one direct frame; false: drop it unparsed (`rate-limited`), then strike. */
  admitFrame(peer: string, nowMs: number): boolean {
    const state = this.state(peer);
    if (state.refusedUntilMs > nowMs) return false;
    state.frames ??= new TokenBucket(this.limits.frames, nowMs);
    return state.frames.take(nowMs);
  }

  /** Null to accept a gossip message of `byteLength` bytes by `author`, else why it is dropped (then strike). */
  admitGossip(author: string, byteLength: number, nowMs: number): GossipRejectReason | null {
    const state = this.state(author);
    state.gossip ??= new TokenBucket(this.limits.gossip, nowMs);
    // The token first: a stream of oversized messages is a flood like any other.
    if (state.refusedUntilMs > nowMs || !state.gossip.take(nowMs)) return 'rate-limited-gossip';
    return byteLength > this.limits.maxGossipBytes ? 'oversized-gossip' : null;
  }

  /**
   * One message from `peer` was dropped. True exactly once per flood, on the drop that used up its
   * strikes: the caller disconnects it, and refusedUntilMs holds until the cool-down ends. Drops
   * arriving while it is refused (frames already in flight) are not strikes.
   */
  strike(peer: string, nowMs: number): boolean {
    const state = this.state(peer);
    if (state.refusedUntilMs > nowMs) return false;
    state.strikes ??= new TokenBucket(this.limits.strikes, nowMs);
    if (state.strikes.take(nowMs)) return false;
    state.refusedUntilMs = nowMs + this.limits.cooldownMs;
    return true;
  }

  /** When dials to and connections from `peer` are allowed again, or null when they are now. */
  refusedUntilMs(peer: string, nowMs: number): number | null {
    const until = this.peers.get(peer)?.refusedUntilMs ?? 0;
    return until > nowMs ? until : null;
  }

  private state(peer: string): PeerState {
    let state = this.peers.get(peer);
    if (!state) {
      state = { frames: null, gossip: null, strikes: null, refusedUntilMs: 0 };
      this.peers.set(peer, state);
      if (this.peers.size > this.limits.maxPeers) this.peers.delete(this.peers.keys().next().value!);
    }
    return state;
  }
}
