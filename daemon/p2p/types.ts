/**
 * The libp2p node as the runtime sees it: heartbeats to every peer of the cluster, JSON frames on
 * election streams, connection events and a redial set. Nothing here mentions libp2p types except the key.
 */
import type { PrivateKey } from '@libp2p/interface';
import type { ProtocolName } from '../../protocols/types.js';
import type { PeerLimits } from './flood-guard.js';

/** What the node logs through; a pino child logger fits. */
export interface P2PLogger {
  debug(obj: unknown, msg?: string): void;
  info(obj: unknown, msg?: string): void;
  warn(obj: unknown, msg?: string): void;
  error(obj: unknown, msg?: string): void;
}

export interface P2PNodeInit {
  privateKey: PrivateKey;
  /** Scopes the mDNS service tag and the membership and election stream protocol ids. */
  cluster: string;
  /** Scopes the direct-messaging protocol id, so Bully and Raft nodes never exchange frames. */
  protocol: ProtocolName;
  listen: string[];
  /** Multiaddrs with or without `/p2p/<id>`; dialled at start and redialled while unconnected. */
  bootstrap: string[];
  /** How long after its death a member membership forgot is still redialled (dialer.ts); 0: not at all. */
  reconnectTimeoutMs: number;
  /** Query every intervalMs while searching, every idleIntervalMs (or intervalMs if larger) once settled. */
  mdns: { enabled: boolean; intervalMs: number; idleIntervalMs: number };
  /** Swarm key file contents (see readSwarmKey), or null for an open network. */
  psk: Uint8Array | null;
  /** Direct frames above this many bytes are dropped (and reported as `oversized`). */
  maxFrameBytes: number;
  /**
   * Election frames on a direct TLS link per peer (link.ts) when both ends have one: the port its
   * listener binds on the libp2p listen host (0: any free one). Null or absent: no links, every
   * frame on the libp2p streams.
   */
  linkPort?: number | null;
  /** Per-peer rate and size limits; DEFAULT_PEER_LIMITS (flood-guard.ts) when absent. */
  peerLimits?: PeerLimits;
  /** The limits for a protocol a live switch moves to (absent: peerLimits stay). */
  peerLimitsFor?: (protocol: ProtocolName) => PeerLimits;
  logger: P2PLogger;
}

/**
 * Why an inbound frame or gossip message was dropped (`queue-full` is the outbound queue's: the
 * frame to that peer never left). `rate-limited` and `rate-limited-gossip`: over the peer's
 * token bucket (see flood-guard.ts); `oversized-gossip`: a gossip payload over the cap.
 */
export type FrameRejectReason = 'oversized' | 'malformed' | 'queue-full' | 'rate-limited' | 'rate-limited-gossip' | 'oversized-gossip';

/** Why an outbound frame never reached the peer's stream; see PeerChannel. */
export type OutboundDropReason = 'queue-full' | 'stale' | 'stream-lost';

export interface P2PStats {
  /** Heartbeat payload bytes handed to peers (payload × recipients; framing overhead not counted). */
  gossipBytesSent: number;
  /** Heartbeat frame bytes received on membership streams. */
  gossipBytesReceived: number;
  framesSent: number;
  framesReceived: number;
  /**
   * Dials whose TCP connection opened but whose handshake failed: most often a pre-shared key
   * that differs from the peer's, or is missing on one side. Counted per dial, warned once a minute.
   */
  handshakeFailures: number;
  /**
   * Peers disconnected for flooding: they kept sending above their per-peer limits (see
   * flood-guard.ts); their connections and dials are then refused for a cool-down.
   */
  floodDisconnects: number;
  /** Outbound frames dropped before the peer's stream took them: queue full, stale, or the stream broke or was reset. */
  outboundFramesDropped: number;
  /** Outbound message streams reset because the peer took nothing for too long (it does not read). */
  outboundStreamResets: number;
  /**
   * Peer lists sent on membership streams: a newcomer gets ours and every other peer hears of it,
   * once per newcomer per INTRODUCTION_FRESH_MS cluster-wide in the common case (node.ts).
   */
  peerListsSent: number;
  /** Open connections: one per connected peer, once a duplicate is closed (duplicate-connections.ts). */
  connections: number;
  /** Peers whose election frames go on a direct link (link.ts) now. */
  links: number;
  /** Frames sent on direct links, election and membership (the rest of framesSent went on libp2p streams). */
  linkFramesSent: number;
  /**
   * Sockets at the link listener that failed their handshake: an identity it never offered, a key
   * that does not match, not TLS at all, or too slow. A scan of the port, or someone guessing.
   */
  linkHandshakeFailures: number;
}

export interface RedialPeer {
  id: string;
  addrs: string[];
  /** As membership sees it. A `dead` member dropped from the set (forgotten) is still redialled for a while (dialer.ts). */
  state: 'alive' | 'suspect' | 'dead';
}

export interface P2PNode {
  readonly peerId: string;
  /** Bound multiaddrs, each ending in `/p2p/<id>`. */
  listenAddrs(): string[];
  /**
   * A heartbeat (encoded JSON) to every connected peer of the cluster, or to those of `to` that
   * are connected, on its membership stream, first-hand: nothing is relayed. Never throws.
   */
  publish(data: Uint8Array, to?: readonly string[] | null): void;
  /**
   * A heartbeat, parsed JSON, decoded like a direct frame (frames.ts); `from` is the peer noise
   * authenticated on that connection, so it is the author. Validating its shape is the caller's job.
   */
  onGossip(handler: (from: string, message: unknown) => void): void;
  /** One JSON frame on the long-lived stream to `to`; non-blocking, ordered per peer. */
  /** A message of `protocol`'s election (default: the node's protocol at start), on that protocol's stream. */
  send(to: string, message: unknown, protocol?: ProtocolName): void;
  /**
   * Writes the frames sent so far to each peer's direct link now, instead of at the check phase
   * (frames on libp2p streams leave as their streams take them). The runtime calls it after a
   * step's sends, before the step's events are logged and published.
   */
  flush(): void;
  /** Parsed JSON; validating its shape is the caller's job. */
  /** An election message, with the protocol of the stream it came on. */
  onMessage(handler: (from: string, message: unknown, protocol: ProtocolName) => void): void;
  /** The protocol whose stream each member gets as soon as it connects (after a live switch, the new one). */
  setProtocol(protocol: ProtocolName): void;
  /** An inbound frame or gossip message was dropped; counted and logged by the caller (this node logs none). */
  onReject(handler: (from: string, reason: FrameRejectReason) => void): void;
  /** `connected` on the first connection to a peer, `disconnected` when its last one closes. */
  onPeer(handler: (peer: string, event: 'connected' | 'disconnected') => void): void;
  /** Replaces the set of peers to keep connected; each is redialled with backoff while unconnected. */
  keepConnected(peers: ReadonlyArray<RedialPeer>): void;
  /** Closes every connection to `peer` now; a peer still kept connected is redialled as usual. */
  disconnect(peer: string): void;
  connectedPeers(): string[];
  /** The direct-link listener's bound port, or null without links (P2PNodeInit.linkPort). */
  readonly linkPort: number | null;
  stats(): P2PStats;
  /** Safe to call twice. */
  stop(): Promise<void>;
}
