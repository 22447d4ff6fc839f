/**
 * The libp2p node: TCP + noise + yamux (+ pnet when a swarm key is set), identify, ping,
 * gossipsub on the cluster topic, mDNS discovery when enabled, and direct JSON frames on one
 * long-lived stream per peer. Decisions live in small modules beside this one; this file wires.
 */
import { gossipsub } from '@chainsafe/libp2p-gossipsub';
import { noise } from '@chainsafe/libp2p-noise';
import { yamux } from '@chainsafe/libp2p-yamux';
import { identify } from '@libp2p/identify';
import { StrictSign, type Message, type PeerId, type PeerInfo } from '@libp2p/interface';
import { mdns } from '@libp2p/mdns';
import { peerIdFromString } from '@libp2p/peer-id';
import { ping } from '@libp2p/ping';
import { preSharedKey } from '@libp2p/pnet';
import { tcp } from '@libp2p/tcp';
import { multiaddr, type Multiaddr } from '@multiformats/multiaddr';
import { createLibp2p } from 'libp2p';
import { randomInt } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { PeerChannel } from './channel.js';
import {
  DIAL_TIMEOUT_MS,
  GOSSIP_HEARTBEAT_INTERVAL_MS,
  GOSSIP_MESH,
  GOSSIP_PRUNE_BACKOFF_MS,
  GOSSIP_RETAIN_SCORE_MS,
  INBOUND_CONNECTIONS_PER_HOST_PER_S,
  MDNS_SEARCH_PHASE_MS,
  MAX_DIRECT_STREAMS,
  MAX_QUEUED_FRAME_AGE_MS,
  MAX_QUEUED_FRAMES_PER_PEER,
  OPEN_STREAM_TIMEOUT_MS,
} from './constants.js';
import { explainDialTimeout } from './dial-failure.js';
import { Dialer, type DialRequest } from './dialer.js';
import { encodeFrame } from './frames.js';
import { readInboundStream } from './inbound.js';
import { directProtocolId, gossipTopic, mdnsServiceTag } from './names.js';
import { createRejectLogLimiter } from './reject-log.js';
import type { FrameRejectReason, P2PNode, P2PNodeInit, P2PStats, RedialPeer } from './types.js';

type Handler<A extends unknown[]> = (...args: A) => void;

/** Creates, starts and returns a node that is listening on every `listen` address. */
export async function createP2PNode(init: P2PNodeInit): Promise<P2PNode> {
  const log = init.logger;
  const topic = gossipTopic(init.cluster);
  const protocolId = directProtocolId(init.cluster, init.protocol);
  // Discovery reports arrive before libp2p is returned; they wait here until the dialer exists.
  let onDiscovered: (info: PeerInfo) => void = () => undefined;
  let mdnsService: MdnsQuerier | null = null;
  const mdnsTag = mdnsServiceTag(init.cluster);

  const libp2p = await createLibp2p({
    start: false,
    privateKey: init.privateKey,
    addresses: { listen: init.listen },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    ...(init.psk ? { connectionProtector: preSharedKey({ psk: init.psk }) } : {}),
    peerDiscovery: init.mdns.enabled
      ? [
          (components) => {
            // libp2p's `peer:discovery` fires only for peers new to the peer store; mDNS's own
            // event repeats every interval, so a peer that comes back is dialled again.
            // libp2p's own timer queries at the settled rate; searchTimer below adds the fast ones.
            const interval = Math.max(init.mdns.intervalMs, init.mdns.idleIntervalMs);
            const discovery = mdns({ serviceTag: mdnsTag, interval })(components);
            discovery.addEventListener('peer', (evt) => onDiscovered(evt.detail));
            mdnsService = discovery as unknown as MdnsQuerier;
            return discovery;
          },
        ]
      : [],
    connectionManager: { dialTimeout: DIAL_TIMEOUT_MS, inboundConnectionThreshold: INBOUND_CONNECTIONS_PER_HOST_PER_S },
    services: {
      identify: identify(),
      ping: ping(),
      pubsub: gossipsub({
        globalSignaturePolicy: StrictSign,
        emitSelf: false,
        allowPublishToZeroTopicPeers: true,
        floodPublish: true,
        allowedTopics: [topic],
        heartbeatInterval: GOSSIP_HEARTBEAT_INTERVAL_MS,
        ...GOSSIP_MESH,
        // Without it, every relayed duplicate is signature-checked before it is recognised as a
        // duplicate. A signed message's id is its author and sequence number: read them raw.
        fastMsgIdFn: fastMessageId,
        pruneBackoff: GOSSIP_PRUNE_BACKOFF_MS,
        // Defaults built for public networks that punish what a LAN cluster does routinely:
        // many nodes on one IP (a local cluster) and re-grafting right after a restart.
        scoreParams: { IPColocationFactorWeight: 0, behaviourPenaltyWeight: 0, retainScore: GOSSIP_RETAIN_SCORE_MS },
      }),
    },
  });

  const selfId = libp2p.peerId.toString();
  const stats: P2PStats = { gossipBytesSent: 0, gossipBytesReceived: 0, framesSent: 0, framesReceived: 0, handshakeFailures: 0 };
  const gossipHandlers: Handler<[string, Uint8Array]>[] = [];
  const messageHandlers: Handler<[string, unknown]>[] = [];
  const rejectHandlers: Handler<[string, FrameRejectReason]>[] = [];
  const peerHandlers: Handler<[string, 'connected' | 'disconnected']>[] = [];
  const channels = new Map<string, PeerChannel>();
  /** Members (from keepConnected) get a message stream as soon as they are connected. */
  let memberIds = new Set<string>();
  let warmChannel: (peer: string) => void = () => undefined;
  const logLimiter = createRejectLogLimiter();
  const nowMs = () => performance.now();
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
  const reject = (from: string, reason: FrameRejectReason): void => {
    if (logLimiter.shouldLog(from, reason, nowMs())) log.warn({ peer: from, reason }, 'dropped a direct frame (logged once a minute per peer and reason)');
    emit(rejectHandlers, from, reason);
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
    random01: () => randomInt(0, 2 ** 32) / 2 ** 32,
    logger: log,
    onHandshakeFailure: () => {
      stats.handshakeFailures++;
    },
  });
  onDiscovered = (info) => dialer.discovered(info.id.toString(), info.multiaddrs.map(String));
  libp2p.addEventListener('peer:discovery', (evt) => onDiscovered(evt.detail));

  libp2p.addEventListener('peer:connect', (evt) => {
    const peer = evt.detail.toString();
    dialer.peerConnected(peer);
    channels.get(peer)?.resume();
    warmChannel(peer);
    emit(peerHandlers, peer, 'connected');
  });
  libp2p.addEventListener('peer:disconnect', (evt) => {
    const peer = evt.detail.toString();
    channels.get(peer)?.close();
    channels.delete(peer);
    dialer.peerDisconnected(peer);
    emit(peerHandlers, peer, 'disconnected');
  });

  const pubsub = libp2p.services.pubsub;
  pubsub.addEventListener('message', (evt) => {
    const msg: Message = evt.detail;
    if (msg.topic !== topic || msg.type !== 'signed') return;
    stats.gossipBytesReceived += msg.data.byteLength;
    emit(gossipHandlers, msg.from.toString(), msg.data);
  });

  await libp2p.handle(
    protocolId,
    ({ stream, connection }) => {
      void readInboundStream(stream, {
        from: connection.remotePeer.toString(),
        maxFrameBytes: init.maxFrameBytes,
        onFrame: (from, message) => {
          stats.framesReceived++;
          emit(messageHandlers, from, message);
        },
        onReject: reject,
        logger: log,
      });
    },
    { maxInboundStreams: MAX_DIRECT_STREAMS, maxOutboundStreams: MAX_DIRECT_STREAMS },
  );

  try {
    await libp2p.start();
  } catch (err) {
    // A port in use fails here; release whatever did start before reporting it.
    await Promise.resolve(libp2p.stop()).catch(() => undefined);
    throw err;
  }
  pubsub.subscribe(topic);
  // Fast mDNS queries while searching: just started, or no peer at all (alone, or cut off).
  const startedAtMs = nowMs();
  const searchTimer = mdnsService
    ? setInterval(() => {
        if (nowMs() - startedAtMs < MDNS_SEARCH_PHASE_MS || libp2p.getConnections().length === 0) {
          mdnsService?.mdns?.query({ questions: [{ name: mdnsTag, type: 'PTR' }] });
        }
      }, init.mdns.intervalMs)
    : null;
  dialer.addBootstrap(init.bootstrap.map((addr) => ({ addr, peer: multiaddr(addr).getPeerId() })));
  log.debug({ peerId: selfId, addrs: libp2p.getMultiaddrs().map(String), topic, protocolId }, 'p2p node started');

  const channelTo = (peer: string): PeerChannel => {
    let channel = channels.get(peer);
    if (!channel) {
      const remote = peerIdFromString(peer);
      channel = new PeerChannel({
        peer,
        maxQueuedFrames: MAX_QUEUED_FRAMES_PER_PEER,
        maxQueuedMs: MAX_QUEUED_FRAME_AGE_MS,
        nowMs,
        openStream: () => libp2p.dialProtocol(remote, protocolId, { signal: AbortSignal.timeout(OPEN_STREAM_TIMEOUT_MS), maxOutboundStreams: MAX_DIRECT_STREAMS }),
        onQueueFull: () => reject(peer, 'queue-full'),
        onFramesSent: (count) => {
          stats.framesSent += count;
        },
        logger: log,
      });
      channels.set(peer, channel);
    }
    return channel;
  };

  // One stream per member, opened on connect: see PeerChannel.warm. A channel lives as long as
  // the connection (closed on disconnect), so each connection is warmed once.
  warmChannel = (peer) => {
    if (stopping || !memberIds.has(peer) || channels.has(peer)) return;
    if (libp2p.getConnections(peerIdFromString(peer)).length === 0) return;
    channelTo(peer).warm();
  };

  return {
    peerId: selfId,
    listenAddrs: () => libp2p.getMultiaddrs().map(String),
    publish(data) {
      if (stopping) return;
      pubsub.publish(topic, data).then(
        (result) => {
          stats.gossipBytesSent += data.byteLength * result.recipients.length;
        },
        (err: unknown) => {
          const name = (err as Error | null)?.name ?? 'Error';
          if (logLimiter.shouldLog('publish', name, nowMs())) log.warn({ err }, 'gossip publish failed (logged once a minute per error name)');
        },
      );
    },
    onGossip: (handler) => void gossipHandlers.push(handler),
    send(to, message) {
      if (stopping) return;
      let payload: Uint8Array | null;
      try {
        payload = encodeFrame(message);
        if (payload === null) throw new TypeError('message has no JSON form');
        if (payload.byteLength > init.maxFrameBytes) throw new RangeError(`frame of ${payload.byteLength} bytes exceeds maxFrameBytes ${init.maxFrameBytes}`);
        channelTo(to).send(payload);
      } catch (err) {
        const name = (err as Error | null)?.name ?? 'Error';
        if (logLimiter.shouldLog(to, `send:${name}`, nowMs())) log.error({ peer: to, err }, 'direct message not sent');
      }
    },
    onMessage: (handler) => void messageHandlers.push(handler),
    onReject: (handler) => void rejectHandlers.push(handler),
    onPeer: (handler) => void peerHandlers.push(handler),
    keepConnected(peers: ReadonlyArray<RedialPeer>) {
      dialer.setMembers(peers);
      memberIds = new Set(peers.map((p) => p.id));
      for (const id of memberIds) warmChannel(id);
    },
    connectedPeers: () => libp2p.getPeers().map(String),
    stats: () => ({ ...stats }),
    stop() {
      stopping ??= (async () => {
        dialer.stop();
        if (searchTimer) clearInterval(searchTimer);
        for (const channel of channels.values()) channel.close();
        channels.clear();
        await libp2p.stop();
      })();
      return stopping;
    },
  };
}

/** The part of @libp2p/mdns's MulticastDNS used here: its (public) multicast-dns socket. */
interface MdnsQuerier {
  mdns?: { query(packet: { questions: { name: string; type: 'PTR' }[] }): void };
}

/**
 * Gossipsub's cheap duplicate check, run before signature verification. Under StrictSign a
 * message is identified by its author and sequence number; a forged copy that reuses them fails
 * verification and is never cached, so it cannot shadow the real message.
 */
function fastMessageId(msg: { from?: Uint8Array; seqno?: Uint8Array; data?: Uint8Array }): string {
  const hex = (bytes: Uint8Array | undefined): string => (bytes ? Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex') : '');
  return `${hex(msg.from)}/${hex(msg.seqno)}`;
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
