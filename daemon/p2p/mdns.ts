/**
 * mDNS discovery: the socket and the timers; every decision is in mdns-records.ts.
 *
 * Queries go every `intervalMs` while searching (just started, or no connection at all) and every
 * `idleIntervalMs` otherwise, unless another node's query was seen within that period. Answers
 * are paced to one a second and announced once at start. The answer of a peer this node is not
 * connected to is greeted with this node's own answer (see mdns-records.ts). `start()` and
 * `stop()` are safe to call twice.
 */
import { randomInt } from 'node:crypto';
import makeMdns from 'multicast-dns';
import type { Packet } from 'dns-packet';
import type { RemoteInfo } from 'node:dgram';
import { MdnsPacer, RESPONSE_DELAY_MS, answerRecords, asksFor, parseResponse, queryPacket, type DiscoveredPeer } from './mdns-records.js';
import type { P2PLogger } from './types.js';

export interface MdnsDiscoveryInit {
  serviceTag: string;
  intervalMs: number;
  idleIntervalMs: number;
  /** Is the node searching (fast queries) rather than settled? Asked at each tick. */
  searching(): boolean;
  /** This node's addresses to announce, each ending in /p2p/<id>; private and loopback only. */
  addresses(): string[];
  onPeer(peer: DiscoveredPeer): void;
  /** Is this node connected to the peer? A peer it is not connected to is greeted. */
  isConnected(peerId: string): boolean;
  nowMs(): number;
  logger: P2PLogger;
  /** For tests: the mDNS port (5353). */
  port?: number;
}

/** Ids of our own recent queries, so their multicast echo is not taken for another node's. */
const OWN_QUERY_IDS_KEPT = 8;

export class MdnsDiscovery {
  private readonly init: MdnsDiscoveryInit;
  private readonly pacer = new MdnsPacer();
  /** The instance label this node answers with (random, as @libp2p/mdns's). */
  private readonly peerName = randomLabel();
  private readonly ownQueryIds: number[] = [];
  private socket: makeMdns.MulticastDNS | null = null;
  private tick: NodeJS.Timeout | null = null;
  private answerTimer: NodeJS.Timeout | null = null;
  private firstQuery: NodeJS.Timeout | null = null;
  private warned = false;

  constructor(init: MdnsDiscoveryInit) {
    this.init = init;
  }

  start(): void {
    if (this.socket) return;
    const socket = makeMdns(this.init.port === undefined ? {} : { port: this.init.port });
    this.socket = socket;
    socket.on('query', (packet: Packet) => this.onQuery(packet));
    socket.on('response', (packet: Packet, rinfo: RemoteInfo) => this.onResponse(packet, rinfo));
    // A warning is a packet that did not parse or a send that failed: anyone on the LAN can
    // send one, so it is logged once, at debug after that.
    socket.on('warning', (err: Error) => this.warnOnce(err, 'mDNS warning'));
    socket.on('error', (err: Error) => this.warnOnce(err, 'mDNS socket error; discovery by mDNS stops (peers listed under discovery.bootstrap are still dialled)'));
    this.announce();
    // RFC 6762 §5.2: the first query waits a random 20–120 ms, so nodes started together see
    // each other's first query and ask once between them (the answers reach everyone).
    this.firstQuery = setTimeout(() => {
      this.firstQuery = null;
      if (this.pacer.shouldQuery(this.init.nowMs(), this.init.intervalMs)) this.query();
    }, RESPONSE_DELAY_MS.min + Math.random() * (RESPONSE_DELAY_MS.max - RESPONSE_DELAY_MS.min));
    this.firstQuery.unref();
    this.scheduleTick();
  }

  /** Ticks at a random 75–100 % of the interval: nodes started together drift apart at once. */
  private scheduleTick(): void {
    this.tick = setTimeout(() => {
      this.onTick();
      if (this.socket) this.scheduleTick();
    }, this.init.intervalMs * (0.75 + 0.25 * Math.random()));
    this.tick.unref();
  }

  stop(): void {
    if (this.tick) clearTimeout(this.tick);
    if (this.answerTimer) clearTimeout(this.answerTimer);
    if (this.firstQuery) clearTimeout(this.firstQuery);
    this.firstQuery = null;
    this.tick = null;
    this.answerTimer = null;
    const socket = this.socket;
    this.socket = null;
    socket?.destroy();
  }

  private onTick(): void {
    const period = this.init.searching() ? this.init.intervalMs : this.init.idleIntervalMs;
    if (this.pacer.shouldQuery(this.init.nowMs(), period)) this.query();
  }

  private query(): void {
    const id = randomInt(1, 0x10000);
    this.ownQueryIds.push(id);
    if (this.ownQueryIds.length > OWN_QUERY_IDS_KEPT) this.ownQueryIds.shift();
    this.pacer.queried(this.init.nowMs(), Math.random());
    this.socket?.query(queryPacket(this.init.serviceTag, id));
  }

  private onQuery(packet: Packet): void {
    if (!asksFor(packet, this.init.serviceTag) || this.ownQueryIds.includes(packet.id ?? 0)) return;
    const now = this.init.nowMs();
    this.pacer.queried(now, Math.random());
    this.answerSoon(now);
  }

  /** A multicast answer after the RFC's random delay, unless one is due already. */
  private answerSoon(now: number): void {
    const at = this.pacer.answerAt(now, Math.random());
    if (at === null) return;
    this.answerTimer = setTimeout(() => {
      this.answerTimer = null;
      this.announce();
    }, Math.max(0, at - now));
    this.answerTimer.unref();
  }

  /** Multicasts this node's answer (also unasked, at start). */
  private announce(): void {
    const addrs = this.init.addresses();
    this.pacer.answered(this.init.nowMs());
    if (addrs.length === 0 || !this.socket) return;
    this.socket.respond({ answers: answerRecords(this.init.serviceTag, this.peerName, addrs) });
  }

  private onResponse(packet: Packet, rinfo: RemoteInfo): void {
    const peers = parseResponse(packet, this.init.serviceTag, this.peerName);
    for (const peer of peers) this.init.onPeer(peer);
    if (!this.socket || !peers.some((peer) => !this.init.isConnected(peer.id))) return;
    const now = this.init.nowMs();
    if (!this.pacer.greet(rinfo.address, now)) return;
    const addrs = this.init.addresses();
    if (addrs.length === 0) return;
    // Responders on one host share port 5353, and a unicast reaches only one of them: a peer on
    // this host is greeted by a (paced) multicast answer instead.
    if (addrs.some((addr) => addr.includes(`/${rinfo.address}/`))) {
      this.answerSoon(now);
      return;
    }
    this.socket.respond({ answers: answerRecords(this.init.serviceTag, this.peerName, addrs) }, { port: rinfo.port, address: rinfo.address });
  }

  private warnOnce(err: Error, msg: string): void {
    if (this.warned) {
      this.init.logger.debug({ err }, msg);
      return;
    }
    this.warned = true;
    this.init.logger.warn({ err }, `${msg} (logged once; further ones at debug)`);
  }
}

function randomLabel(): string {
  // A DNS label: at most 63 characters, letters and digits.
  return Array.from({ length: 32 }, () => 'abcdefghijklmnopqrstuvwxyz0123456789'[randomInt(0, 36)]).join('');
}
