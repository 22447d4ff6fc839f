/**
 * The libp2p node: TCP + noise + yamux (+ pnet when a swarm key is set), identify, mDNS
 * discovery when enabled, one connection per pair of peers (duplicate-connections.ts), and JSON
 * frames on two long-lived streams per peer: the membership stream (heartbeats and peer lists,
 * peer-exchange.ts) with every peer of the cluster, and the election stream with every member
 * running the same protocol. Decisions live in small modules beside this one; this file wires.
 */
import { noise } from '@chainsafe/libp2p-noise';
import { yamux } from '@chainsafe/libp2p-yamux';
import { identify } from '@libp2p/identify';
import type { Connection, PeerId, Stream } from '@libp2p/interface';
import { peerIdFromString } from '@libp2p/peer-id';
import { preSharedKey } from '@libp2p/pnet';
import { tcp } from '@libp2p/tcp';
import { isPrivate } from '@libp2p/utils/multiaddr/is-private';
import { multiaddr, type Multiaddr } from '@multiformats/multiaddr';
import { createLibp2p } from 'libp2p';
import { decode as lpDecode, encode as lpEncode } from 'it-length-prefixed';
import { randomInt } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { MAX_MEMBERS } from '../../protocols/bounds.js';
import { PROTOCOL_NAMES, type ProtocolName } from '../../protocols/types.js';
import { PeerChannel } from './channel.js';
import {
  DIAL_TIMEOUT_MS,
  INBOUND_CONNECTIONS_PER_HOST_PER_S,
  INBOUND_FRAMES_PER_TURN,
  INTRODUCTION_FRESH_MS,
  LINK_HANDSHAKE_TIMEOUT_MS,
  LINK_OFFER_TTL_MS,
  LINK_RETRY_BACKOFF,
  MAX_LINK_SOCKETS,
  MDNS_SEARCH_PHASE_MS,
  MAX_BLOCKED_STREAM_MS,
  MAX_DIRECT_STREAMS,
  MAX_QUEUED_BYTES_PER_PEER,
  MAX_QUEUED_FRAME_AGE_MS,
  MAX_QUEUED_FRAMES_PER_PEER,
  OPEN_RETRY_BACKOFF,
  OPEN_STREAM_TIMEOUT_MS,
} from './constants.js';
import { explainDialTimeout } from './dial-failure.js';
import { Dialer, type DialRequest } from './dialer.js';
import { duplicateConnections } from './duplicate-connections.js';
import { DuplicateConnectionError, LinkListenError, PeerFloodError, PeerGoneError } from './errors.js';
import { DEFAULT_PEER_LIMITS, FloodGuard } from './flood-guard.js';
import { encodeFrame } from './frames.js';
import { readInboundStream, type InboundInit } from './inbound.js';
import { PeerLink } from './link.js';
import { encodeLinkOffer, parseLinkOffer } from './link-frames.js';
import { Links } from './links.js';
import { directProtocolId, linkProtocolId, mdnsServiceTag, membershipProtocolId } from './names.js';
import { MdnsDiscovery } from './mdns.js';
import { heartbeatFrame, parseMembershipFrame, peersFrame, type ExchangedPeer } from './peer-exchange.js';
import { createRejectLogLimiter } from './reject-log.js';
import type { FrameRejectReason, OutboundDropReason, P2PNode, P2PNodeInit, P2PStats, RedialPeer } from './types.js';
import { installYamuxWindowBatching } from './yamux-window.js';

type Handler<A extends unknown[]> = (...args: A) => void;

/** Creates, starts and returns a node that is listening on every `listen` address. */
export async function createP2PNode(init: P2PNodeInit): Promise<P2PNode> {
  const log = init.logger;
  const membershipProtocol = membershipProtocolId(init.cluster);
  const linkProtocol = linkProtocolId(init.cluster);
  // Each election protocol has its own stream (a frame is read by the codec of the stream's
  // protocol); a node listens on every one, so a live switch loses no message of the new protocol.
  let activeProtocol: ProtocolName = init.protocol;
  const protocolIds = Object.fromEntries(PROTOCOL_NAMES.map((p) => [p, directProtocolId(init.cluster, p)])) as Record<ProtocolName, string>;
  const mdnsTag = mdnsServiceTag(init.cluster);
  const nowMs = () => performance.now();
  const limits = init.peerLimits ?? DEFAULT_PEER_LIMITS;
  const guard = new FloodGuard(limits);
  const refused = (peer: PeerId): boolean => guard.refusedUntilMs(peer.toString(), nowMs()) !== null;
  installYamuxWindowBatching();

  const libp2p = await createLibp2p({
    start: false,
    privateKey: init.privateKey,
    addresses: { listen: init.listen },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    ...(init.psk ? { connectionProtector: preSharedKey({ psk: init.psk }) } : {}),
    // libp2p's connection monitor opens a ping stream on every connection every 10 s (a protocol
    // negotiation and a peer-store write each time): about a tenth of an idle daemon's CPU, to
    // learn what the membership stream's heartbeats already tell. A dead member's connections
    // are closed by the runtime instead (disconnect()).
    connectionMonitor: { enabled: false },
    connectionManager: { dialTimeout: DIAL_TIMEOUT_MS, inboundConnectionThreshold: INBOUND_CONNECTIONS_PER_HOST_PER_S },
    // A flooder's cool-down: no dial to it (ours or a channel's), no connection from it once its
    // key is known; a bootstrap address without /p2p/ is caught after the handshake.
    connectionGater: {
      denyDialPeer: refused,
      denyInboundEncryptedConnection: refused,
      denyOutboundEncryptedConnection: refused,
    },
    services: {
      // Tells each side the other's listen addresses (for peer lists) and protocols (whether it
      // is of this cluster).
      identify: identify(),
    },
  });

  const selfId = libp2p.peerId.toString();
  const stats: Omit<P2PStats, 'connections' | 'links'> = {
    gossipBytesSent: 0,
    gossipBytesReceived: 0,
    framesSent: 0,
    framesReceived: 0,
    handshakeFailures: 0,
    floodDisconnects: 0,
    outboundFramesDropped: 0,
    outboundStreamResets: 0,
    peerListsSent: 0,
    linkHandshakeFailures: 0,
    linkFramesSent: 0,
  };
  const gossipHandlers: Handler<[string, unknown]>[] = [];
  const messageHandlers: Handler<[string, unknown, ProtocolName]>[] = [];
  const rejectHandlers: Handler<[string, FrameRejectReason]>[] = [];
  const peerHandlers: Handler<[string, 'connected' | 'disconnected']>[] = [];
  /** Election streams of the active protocol (a switch closes them and opens the new protocol's). */
  let channels = new Map<string, PeerChannel>();
  /** Membership streams, one per peer of this cluster (it speaks membershipProtocol), with its listen addresses. */
  const beatChannels = new Map<string, PeerChannel>();
  const clusterPeers = new Map<string, string[]>();
  /** The connection each of our outbound streams was opened on. */
  const streamConnections = new WeakMap<Stream, Connection>();
  /** The last heartbeat frame published, for a cluster peer that connects before the next one. */
  let latestHeartbeat: { frame: Uint8Array; payloadBytes: number } | null = null;
  /** Members (from keepConnected) get a message stream as soon as they are connected. */
  let memberIds = new Set<string>();
  /**
   * Peers with a connection, from libp2p's peer:connect and peer:disconnect. keepConnected runs
   * after every membership change and looks at each member: asking libp2p decodes the id and
   * encodes it again per member, 8 % of a daemon's CPU in a 50-node cluster's churn.
   */
  const connected = new Set<string>();
  let warmChannel: (peer: string) => void = () => undefined;
  const logLimiter = createRejectLogLimiter();
  let stopping: Promise<void> | null = null;

  /** Handlers belong to the caller; one that throws must not break a stream or an event loop. */
  const emit = <A extends unknown[]>(handlers: Handler<A>[], ...args: A): void => {
    for (const handler of handlers) {
      try {
        handler(...args);
      } catch (err) {
        log.error({ err }, 'p2p event handler threw');
      }
    }
  };
  /** The runtime counts and logs every drop, its own and these, through one rate-limited logger. */
  const reject = (from: string, reason: FrameRejectReason): void => emit(rejectHandlers, from, reason);
  /** An inbound frame or gossip message from `from` was dropped: count it, and cut a flooder off. */
  const dropInbound = (from: string, reason: FrameRejectReason): void => {
    reject(from, reason);
    if (guard.strike(from, nowMs())) disconnectFlooder(from);
  };
  const disconnectFlooder = (peer: string): void => {
    stats.floodDisconnects++;
    const err = new PeerFloodError(peer, limits.cooldownMs);
    if (logLimiter.shouldLog(peer, 'flood', nowMs())) log.warn({ peer, err }, `${err.message} (logged once a minute per peer)`);
    // Abort, not close: a graceful close waits on streams the flooder may never finish.
    for (const connection of libp2p.getConnections(peerIdFromString(peer))) connection.abort(err);
    links?.close(peer);
  };

  const random01 = (): number => randomInt(0, 2 ** 32) / 2 ** 32;
  /** Frames a peer's stream or link dropped before they left: counted, and `queue-full` reported as the runtime counts it (messages_rejected_total). */
  const outboundDrops =
    (peer: string) =>
    (count: number, reason: OutboundDropReason): void => {
      stats.outboundFramesDropped += count;
      if (reason === 'queue-full') for (let i = 0; i < count; i++) reject(peer, 'queue-full');
    };
  const dialer = new Dialer({
    selfId,
    dial: async (request) => {
      const deadline = AbortSignal.timeout(DIAL_TIMEOUT_MS);
      // A timeout alone does not say whether the peer answered; the progress events do.
      const progress = new Set<string>();
      try {
        const connection = await libp2p.dial(dialTargets(request), { signal: deadline, onProgress: (evt) => progress.add(evt.type) });
        return connection.remotePeer.toString();
      } catch (err) {
        throw explainDialTimeout(err, { progress, deadlinePassed: deadline.aborted });
      }
    },
    isConnected: (peer) => libp2p.getConnections(peerIdFromString(peer)).length > 0,
    nowMs,
    random01,
    logger: log,
    onHandshakeFailure: () => {
      stats.handshakeFailures++;
    },
    refusedUntilMs: (peer) => guard.refusedUntilMs(peer, nowMs()),
    reconnectTimeoutMs: init.reconnectTimeoutMs,
  });
  libp2p.addEventListener('peer:discovery', (evt) => dialer.discovered(evt.detail.id.toString(), evt.detail.multiaddrs.map(String)));

  const channelTo = (peer: string, protocol = protocolIds[activeProtocol], map = channels): PeerChannel => {
    let channel = map.get(peer);
    if (!channel) {
      const remote = peerIdFromString(peer);
      channel = new PeerChannel({
        peer,
        maxQueuedFrames: MAX_QUEUED_FRAMES_PER_PEER,
        maxQueuedBytes: Math.max(MAX_QUEUED_BYTES_PER_PEER, init.maxFrameBytes),
        maxQueuedMs: MAX_QUEUED_FRAME_AGE_MS,
        maxBlockedMs: MAX_BLOCKED_STREAM_MS,
        nowMs,
        openStream: async (): Promise<Stream> => {
          const signal = AbortSignal.timeout(OPEN_STREAM_TIMEOUT_MS);
          // On the connection the pair keeps, not on a duplicate about to be closed.
          const connection = keptConnection(remote) ?? (await libp2p.dial(remote, { signal }));
          const stream = await connection.newStream(protocol, { signal, maxOutboundStreams: MAX_DIRECT_STREAMS });
          streamConnections.set(stream, connection);
          return stream;
        },
        isConnected: () => keptConnection(remote) !== undefined,
        openBackoff: OPEN_RETRY_BACKOFF,
        random01,
        schedule: scheduleUnref,
        onDropped: outboundDrops(peer),
        onStreamReset: () => {
          stats.outboundStreamResets++;
        },
        onFramesSent: (count) => {
          stats.framesSent += count;
        },
        logger: log,
      });
      map.set(peer, channel);
    }
    return channel;
  };

  /**
   * A peer of this cluster, identified: open its membership stream, send it our latest heartbeat
   * (it knows us now, not at our next heartbeat, up to an interval later), and introduce it,
   * unless a peer list named it lately (introduced()): send it the peers we know (it may have come
   * in through one bootstrap address) and tell the others where it listens (two nodes that
   * joined at once through the same node would not know each other otherwise).
   */
  const onClusterPeer = (peer: string, addrs: string[]): void => {
    if (stopping || clusterPeers.has(peer)) return;
    clusterPeers.set(peer, addrs);
    if (latestHeartbeat) {
      sendMembership(peer, latestHeartbeat.frame);
      stats.gossipBytesSent += latestHeartbeat.payloadBytes;
    }
    if (introduced(peer)) return;
    const others: ExchangedPeer[] = [...clusterPeers].filter(([id]) => id !== peer).map(([id, a]) => ({ id, addrs: a }));
    sendPeers(peer, others);
    for (const { id } of others) sendPeers(id, [{ id: peer, addrs }]);
  };
  const sendPeers = (to: string, peers: ExchangedPeer[]): void => {
    if (peers.length === 0) return;
    const payload = encodeFrame(peersFrame(peers));
    if (!payload) return;
    sendMembership(to, payload);
    stats.peerListsSent++;
  };
  /**
   * Peers a peer list named, by when it last did (oldest first, at most MAX_MEMBERS). Whoever
   * sent that list was connected to the peer, gave it its own list and told every peer it knows
   * about it, so in a cluster where all know all the peer's later connections need not do it
   * again: introducing every newcomer at every member cost (N−1)² frames per newcomer (some
   * 10,000 for a wave of 5 joining 45 daemons), about N now. An introduction counts until the
   * peer disconnects from us, for at most INTRODUCTION_FRESH_MS: a peer met again (after a
   * partition, a restart) is introduced again, since either side may have met members meanwhile,
   * and without mDNS nothing else would tell them.
   */
  const introductions = new Map<string, number>();
  const noteIntroduced = (peer: string): void => {
    introductions.delete(peer);
    introductions.set(peer, nowMs());
    if (introductions.size > MAX_MEMBERS) introductions.delete(introductions.keys().next().value!);
  };
  const introduced = (peer: string): boolean => {
    const atMs = introductions.get(peer);
    return atMs !== undefined && nowMs() - atMs < INTRODUCTION_FRESH_MS;
  };
  const beatChannelTo = (peer: string): PeerChannel => channelTo(peer, membershipProtocol, beatChannels);
  /** A membership-stream frame (heartbeat, peer list) to `peer`: on its link when one is up. */
  const sendMembership = (peer: string, payload: Uint8Array): void => {
    const link = links?.get(peer);
    if (link) link.send('membership', payload);
    else beatChannelTo(peer).send(payload);
  };

  libp2p.addEventListener('peer:connect', (evt) => {
    const peer = evt.detail.toString();
    connected.add(peer);
    dialer.peerConnected(peer);
    channels.get(peer)?.resume();
    beatChannels.get(peer)?.resume();
    warmChannel(peer);
    links?.connected(peer);
    emit(peerHandlers, peer, 'connected');
  });
  /** The open connections to `remote`, each with what the duplicate rule looks at. */
  const openConnections = (remote: PeerId) =>
    libp2p.getConnections(remote).filter((c) => c.status === 'open').map((c) => ({ c, direction: c.direction, openedAtMs: c.timeline.open }));
  const keptConnection = (remote: PeerId): Connection | undefined => {
    const open = openConnections(remote);
    const closing = new Set(duplicateConnections(selfId, remote.toString(), open));
    return open.find((o) => !closing.has(o))?.c;
  };
  libp2p.addEventListener('connection:open', (evt) => {
    const remote = evt.detail.remotePeer;
    const peer = remote.toString();
    const duplicates = duplicateConnections(selfId, peer, openConnections(remote));
    if (duplicates.length === 0) return;
    for (const { c } of duplicates) {
      log.debug({ peer, direction: c.direction }, 'closing a duplicate connection');
      c.abort(new DuplicateConnectionError(peer));
    }
    // A stream that was opening on a closed duplicate failed: its frames go out on the kept one.
    channels.get(peer)?.resume();
    beatChannels.get(peer)?.resume();
  });
  // Whoever closed it (we, or the peer by the same rule), our streams on a closed connection are
  // dropped at once, not when a write to them fails: a frame sent from now on is not lost in it.
  libp2p.addEventListener('connection:close', (evt) => {
    const peer = evt.detail.remotePeer.toString();
    for (const channel of [channels.get(peer), beatChannels.get(peer)]) {
      const stream = channel?.currentStream;
      if (stream && streamConnections.get(stream) === evt.detail) channel!.restart();
    }
  });
  libp2p.addEventListener('peer:identify', (evt) => {
    const { peerId, protocols, listenAddrs } = evt.detail;
    if (protocols.includes(membershipProtocol)) onClusterPeer(peerId.toString(), listenAddrs.map(String));
  });
  libp2p.addEventListener('peer:disconnect', (evt) => {
    const peer = evt.detail.toString();
    connected.delete(peer);
    links?.disconnected(peer);
    channels.get(peer)?.close();
    channels.delete(peer);
    beatChannels.get(peer)?.close();
    beatChannels.delete(peer);
    clusterPeers.delete(peer);
    // Met again, it is introduced again: either side may have met members meanwhile.
    introductions.delete(peer);
    dialer.peerDisconnected(peer);
    emit(peerHandlers, peer, 'disconnected');
  });

  // The membership stream: a heartbeat's author is the peer noise authenticated on this
  // connection (or the peer a link was offered to over it). Each frame takes a token from the
  // peer's gossip bucket before it is parsed; frames over maxGossipBytes are dropped (and far
  // over it, the stream reset), as gossip.
  const asGossipReject = (reason: FrameRejectReason): FrameRejectReason => (reason === 'rate-limited' ? 'rate-limited-gossip' : reason === 'oversized' ? 'oversized-gossip' : reason);
  const membershipReader = {
    maxFrameBytes: limits.maxGossipBytes,
    admit: (from: string) => guard.admitGossip(from, 0, nowMs()) === null,
    onFrame: (from: string, message: unknown, byteLength: number) => {
      const frame = parseMembershipFrame(message);
      if (frame.kind === 'heartbeat') {
        stats.gossipBytesReceived += byteLength;
        emit(gossipHandlers, from, frame.heartbeat);
      } else if (frame.kind === 'peers') {
        for (const p of frame.peers) {
          if (p.id === selfId) continue;
          noteIntroduced(p.id);
          if (!clusterPeers.has(p.id)) dialer.discovered(p.id, p.addrs);
        }
      } else {
        dropInbound(from, 'malformed');
      }
    },
    onReject: (from: string, reason: FrameRejectReason) => dropInbound(from, asGossipReject(reason)),
  };

  /** Links with frames queued since the last flush() (each also flushes itself at the check phase). */
  let unflushed: PeerLink[] = [];
  /**
   * Direct links (links.ts): election and membership frames on a TLS socket of their own per
   * peer, when both ends listen for them; otherwise, and whenever a link is down, on the libp2p
   * streams.
   */
  const links =
    init.linkPort === null || init.linkPort === undefined
      ? null
      : new Links({
          selfId,
          server: {
            host: linkHost(init.listen),
            port: init.linkPort,
            offerTtlMs: LINK_OFFER_TTL_MS,
            handshakeTimeoutMs: LINK_HANDSHAKE_TIMEOUT_MS,
            maxOffers: MAX_MEMBERS,
            maxSockets: MAX_LINK_SOCKETS,
            nowMs,
            onHandshakeFailure: (err) => {
              stats.linkHandshakeFailures++;
              if (logLimiter.shouldLog('*', 'link-handshake', nowMs())) log.warn({ err }, 'a socket failed the direct-link handshake (an offer it was never given, or a port scan); closed (logged once a minute)');
            },
          },
          fetchOffer: async (peer) => {
            const connection = keptConnection(peerIdFromString(peer));
            if (!connection) throw new Error('no connection to the peer');
            let stream: Stream;
            try {
              stream = await connection.newStream(linkProtocol, { signal: AbortSignal.timeout(OPEN_STREAM_TIMEOUT_MS) });
            } catch (err) {
              if ((err as Error | null)?.name === 'UnsupportedProtocolError') return null;
              throw err;
            }
            try {
              for await (const frame of lpDecode(stream.source, { maxDataLength: MAX_LINK_OFFER_BYTES })) {
                const offer = parseLinkOffer(frame.subarray());
                if (offer === null) throw new Error('the peer sent a malformed link offer');
                return { host: connection.remoteAddr.toOptions().host, offer };
              }
              throw new Error('the peer closed the offer stream without an offer');
            } finally {
              stream.abort(new Error('offer read'));
            }
          },
          makeLink: (peer, socket, onClosed) =>
            new PeerLink({
              peer,
              socket,
              maxFrameBytes: init.maxFrameBytes,
              maxQueuedBytes: Math.max(MAX_QUEUED_BYTES_PER_PEER, init.maxFrameBytes),
              maxBlockedMs: MAX_BLOCKED_STREAM_MS,
              framesPerTurn: INBOUND_FRAMES_PER_TURN,
              nowMs,
              admit: (from) => guard.admitFrame(from, nowMs()),
              onFrame: (from, protocol, message) => {
                stats.framesReceived++;
                emit(messageHandlers, from, message, protocol);
              },
              membership: membershipReader,
              onReject: dropInbound,
              onDropped: outboundDrops(peer),
              onFramesSent: (count) => {
                stats.framesSent += count;
                stats.linkFramesSent += count;
              },
              onQueued: (link) => unflushed.push(link),
              onClosed,
              logger: log,
            }),
          isConnected: (peer) => connected.has(peer),
          dialTimeoutMs: LINK_HANDSHAKE_TIMEOUT_MS,
          retryBackoff: LINK_RETRY_BACKOFF,
          random01,
          schedule: scheduleUnref,
          onDialFailure: (peer, err) => {
            if (logLimiter.shouldLog(peer, 'link-dial', nowMs())) {
              log.warn({ peer, err }, 'no direct link to this peer; its election and membership frames go on the libp2p connection, a few ms slower a hop. A firewall may block the peer\'s messaging.linkPort (logged once a minute per peer)');
            }
          },
          logger: log,
        });
  if (links) {
    try {
      await links.listen();
    } catch (err) {
      throw new LinkListenError(init.linkPort!, err);
    }
    // An offer for whoever asks over libp2p (it then dials our listener with it), unless refused.
    await libp2p.handle(
      linkProtocol,
      ({ stream, connection }) => {
        const peer = connection.remotePeer.toString();
        if (refused(connection.remotePeer)) {
          stream.abort(new Error('refused'));
          return;
        }
        stream.sink([lpEncode.single(encodeLinkOffer(links.offer(peer)))]).catch((err: unknown) => log.debug({ peer, err }, 'link offer not sent'));
      },
      { maxInboundStreams: 2, maxOutboundStreams: 2 },
    );
  }

  /** Every inbound stream of `protocol` is read frame by frame until it ends (inbound.ts). */
  const handleFrames = (protocol: string, reader: Omit<InboundInit, 'from' | 'framesPerTurn' | 'logger'>): Promise<void> =>
    libp2p.handle(
      protocol,
      ({ stream, connection }) => void readInboundStream(stream, { ...reader, from: connection.remotePeer.toString(), framesPerTurn: INBOUND_FRAMES_PER_TURN, logger: log }),
      { maxInboundStreams: MAX_DIRECT_STREAMS, maxOutboundStreams: MAX_DIRECT_STREAMS },
    );

  await handleFrames(membershipProtocol, membershipReader);
  // The election streams, one per protocol: members running either reach this node.
  for (const protocol of PROTOCOL_NAMES) {
    await handleFrames(protocolIds[protocol], {
      maxFrameBytes: init.maxFrameBytes,
      admit: (from) => guard.admitFrame(from, nowMs()),
      onFrame: (from, message) => {
        stats.framesReceived++;
        emit(messageHandlers, from, message, protocol);
      },
      onReject: dropInbound,
    });
  }

  try {
    await libp2p.start();
  } catch (err) {
    // A port in use fails here; release whatever did start before reporting it.
    links?.stop();
    await Promise.resolve(libp2p.stop()).catch(() => undefined);
    throw err;
  }
  // Fast mDNS queries while searching: just started, or no peer at all (alone, or cut off).
  const startedAtMs = nowMs();
  const mdnsDiscovery = init.mdns.enabled
    ? new MdnsDiscovery({
        serviceTag: mdnsTag,
        intervalMs: init.mdns.intervalMs,
        idleIntervalMs: Math.max(init.mdns.intervalMs, init.mdns.idleIntervalMs),
        searching: () => nowMs() - startedAtMs < MDNS_SEARCH_PHASE_MS || libp2p.getConnections().length === 0,
        // mDNS is for the local link: private and loopback addresses only (as @libp2p/mdns).
        addresses: () => libp2p.getMultiaddrs().filter(isPrivate).map(String),
        onPeer: ({ id, addrs }) => dialer.discovered(id, addrs),
        // An id that is not a peer id (anyone can send a packet) counts as connected: no greeting.
        isConnected: (id) => {
          try {
            return libp2p.getConnections(peerIdFromString(id)).length > 0;
          } catch {
            return true;
          }
        },
        nowMs,
        logger: log,
      })
    : null;
  mdnsDiscovery?.start();
  dialer.addBootstrap(init.bootstrap.map((addr) => ({ addr, peer: multiaddr(addr).getPeerId() })));
  log.debug({ peerId: selfId, addrs: libp2p.getMultiaddrs().map(String), membershipProtocol, protocolId: protocolIds[activeProtocol] }, 'p2p node started');

  // One stream per member, opened on connect: see PeerChannel.warm. A channel lives as long as
  // the connection (closed on disconnect), so each connection is warmed once.
  warmChannel = (peer) => {
    if (stopping || !memberIds.has(peer) || channels.has(peer) || !connected.has(peer)) return;
    channelTo(peer).warm();
  };

  return {
    peerId: selfId,
    listenAddrs: () => libp2p.getMultiaddrs().map(String),
    publish(data, to = null) {
      if (stopping) return;
      const frame = heartbeatFrame(data);
      latestHeartbeat = { frame, payloadBytes: data.byteLength };
      const peers = to === null ? [...clusterPeers.keys()] : to.filter((peer) => clusterPeers.has(peer));
      for (const peer of peers) sendMembership(peer, frame);
      stats.gossipBytesSent += data.byteLength * peers.length;
    },
    onGossip: (handler) => void gossipHandlers.push(handler),
    setProtocol(protocol) {
      if (protocol === activeProtocol) return;
      activeProtocol = protocol;
      if (init.peerLimitsFor) guard.setLimits(init.peerLimitsFor(protocol));
      // The old protocol's streams end; each member gets one of the new protocol (warmChannel).
      const old = channels;
      channels = new Map();
      for (const channel of old.values()) channel.close();
      for (const id of memberIds) warmChannel(id);
    },
    send(to, message, protocol = init.protocol) {
      if (stopping) return;
      // A message the old machine queued before a switch: its stream is gone, and its protocol's receivers too.
      if (protocol !== activeProtocol) return;
      let payload: Uint8Array | null;
      try {
        payload = encodeFrame(message);
        if (payload === null) throw new TypeError('message has no JSON form');
        if (payload.byteLength > init.maxFrameBytes) throw new RangeError(`frame of ${payload.byteLength} bytes exceeds maxFrameBytes ${init.maxFrameBytes}`);
        const link = links?.get(to);
        if (link) link.send(protocol, payload);
        else channelTo(to).send(payload);
      } catch (err) {
        const name = (err as Error | null)?.name ?? 'Error';
        if (logLimiter.shouldLog(to, `send:${name}`, nowMs())) log.error({ peer: to, err }, 'direct message not sent');
      }
    },
    flush() {
      const links = unflushed;
      unflushed = [];
      for (const link of links) link.flush();
    },
    onMessage: (handler) => void messageHandlers.push(handler),
    onReject: (handler) => void rejectHandlers.push(handler),
    onPeer: (handler) => void peerHandlers.push(handler),
    keepConnected(peers: ReadonlyArray<RedialPeer>) {
      dialer.setMembers(peers);
      memberIds = new Set(peers.map((p) => p.id));
      for (const id of memberIds) warmChannel(id);
    },
    disconnect(peer: string) {
      // Abort, not close: a graceful close waits on streams a vanished peer never finishes.
      for (const connection of libp2p.getConnections(peerIdFromString(peer))) connection.abort(new PeerGoneError(peer));
      links?.close(peer);
    },
    connectedPeers: () => libp2p.getPeers().map(String),
    linkPort: links?.port ?? null,
    stats: () => ({ ...stats, connections: libp2p.getConnections().length, links: links?.size ?? 0 }),
    stop() {
      stopping ??= (async () => {
        dialer.stop();
        links?.stop();
        mdnsDiscovery?.stop();
        for (const channel of [...channels.values(), ...beatChannels.values()]) channel.close();
        channels.clear();
        beatChannels.clear();
        await libp2p.stop();
      })();
      return stopping;
    },
  };
}

/** Addresses to dial, each naming the expected peer so noise verifies who answers. */
function dialTargets({ peer, addrs }: DialRequest): PeerId | Multiaddr[] {
  if (addrs.length === 0) {
    if (peer === null) throw new TypeError('nothing to dial');
    return peerIdFromString(peer);
  }
  return addrs.map((addr) => {
    const ma = multiaddr(addr);
    return peer !== null && ma.getPeerId() === null ? ma.encapsulate(`/p2p/${peer}`) : ma;
  });
}

/** A link offer is a few hundred bytes; more is not one. */
const MAX_LINK_OFFER_BYTES = 1024;

/** The link listener binds the host of the first TCP listen address (all interfaces when it is 0.0.0.0 or ::). */
function linkHost(listen: readonly string[]): string {
  for (const addr of listen) {
    const options = multiaddr(addr).toOptions();
    if (options.transport === 'tcp') return options.host;
  }
  return '0.0.0.0';
}

/** Runs `fn` after `ms` without keeping the process alive; returns what cancels it (channels' and links' retries). */
function scheduleUnref(fn: () => void, ms: number): () => void {
  const timer = setTimeout(fn, ms);
  timer.unref();
  return () => clearTimeout(timer);
}
