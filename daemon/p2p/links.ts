/**
 * Which peers have a direct link (link.ts), and getting one: of two connected peers the smaller
 * id asks the other for an offer over libp2p (link-server.ts) and dials it; the larger one only
 * listens, so a pair makes one link. A link that fails or closes is asked for again, with
 * backoff, for as long as the libp2p connection lasts; the frames meanwhile go on the libp2p
 * stream. A peer that does not speak the link protocol (an older version, or links turned off)
 * is not asked again until it reconnects.
 */
import type { TLSSocket } from 'node:tls';
import { backoffDelayMs, type BackoffOptions } from '../../shared/backoff.js';
import type { PeerLink } from './link.js';
import type { LinkOffer } from './link-frames.js';
import { dialLink, LinkServer, type LinkServerInit } from './link-server.js';
import type { P2PLogger } from './types.js';

export interface LinksInit {
  selfId: string;
  server: Omit<LinkServerInit, 'onLink'>;
  /** The peer's offer, asked for over libp2p, and the host to dial it on; null when the peer speaks no link protocol. */
  fetchOffer(peer: string): Promise<{ host: string; offer: LinkOffer } | null>;
  /** Wraps an authenticated socket as the peer's link (node.ts wires its frames in); `onClosed` is the link's. */
  makeLink(peer: string, socket: TLSSocket, onClosed: (link: PeerLink) => void): PeerLink;
  isConnected(peer: string): boolean;
  dialTimeoutMs: number;
  retryBackoff: BackoffOptions;
  random01(): number;
  schedule(fn: () => void, ms: number): () => void;
  /** A dial failed: logged once a while per peer by the caller. */
  onDialFailure(peer: string, err: unknown): void;
  logger: P2PLogger;
}

export class Links {
  private readonly init: LinksInit;
  private readonly server: LinkServer;
  private readonly links = new Map<string, PeerLink>();
  private readonly attempting = new Set<string>();
  private readonly failures = new Map<string, number>();
  private readonly retries = new Map<string, () => void>();
  /** Peers that speak no link protocol, until they disconnect. */
  private readonly unsupported = new Set<string>();
  private stopped = false;

  constructor(init: LinksInit) {
    this.init = init;
    this.server = new LinkServer({ ...init.server, onLink: (peer, socket) => this.accepted(peer, socket) });
  }

  listen(): Promise<number> {
    return this.server.listen();
  }

  /** An offer for `peer` to dial (asked for over libp2p). */
  offer(peer: string): LinkOffer {
    return this.server.offer(peer);
  }

  /** The peer's open link, if any. */
  get(peer: string): PeerLink | undefined {
    return this.links.get(peer);
  }

  get size(): number {
    return this.links.size;
  }

  /** The listener's bound port (0 before listen()). */
  get port(): number {
    return this.server.port;
  }

  /** A libp2p connection to `peer` came up: the smaller id of the two asks for a link. */
  connected(peer: string): void {
    if (this.stopped || this.init.selfId >= peer || this.links.has(peer) || this.unsupported.has(peer)) return;
    void this.attempt(peer);
  }

  /** The last libp2p connection to `peer` closed: so does its link; it is asked for again on the next connection. */
  disconnected(peer: string): void {
    this.retries.get(peer)?.();
    this.retries.delete(peer);
    this.failures.delete(peer);
    this.unsupported.delete(peer);
    this.links.get(peer)?.close();
  }

  /** Closes the peer's link (a flooder, or a peer declared dead). */
  close(peer: string): void {
    this.links.get(peer)?.close();
  }

  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    for (const cancel of this.retries.values()) cancel();
    this.retries.clear();
    for (const link of [...this.links.values()]) link.close();
    this.server.close();
  }

  private async attempt(peer: string): Promise<void> {
    if (this.attempting.has(peer)) return;
    this.attempting.add(peer);
    try {
      const found = await this.init.fetchOffer(peer);
      if (found === null) {
        this.unsupported.add(peer);
        return;
      }
      const socket = await dialLink(found.host, found.offer, this.init.dialTimeoutMs);
      if (this.stopped || !this.init.isConnected(peer)) {
        socket.destroy();
        return;
      }
      this.failures.delete(peer);
      this.adopt(peer, socket);
    } catch (err) {
      this.init.onDialFailure(peer, err);
      this.retryLater(peer);
    } finally {
      this.attempting.delete(peer);
    }
  }

  /** The dialling side asks again after a backoff, while the libp2p connection lasts. */
  private retryLater(peer: string): void {
    if (this.stopped || this.init.selfId >= peer || this.retries.has(peer) || !this.init.isConnected(peer)) return;
    const failures = this.failures.get(peer) ?? 0;
    this.failures.set(peer, failures + 1);
    const delayMs = backoffDelayMs(failures, this.init.retryBackoff, this.init.random01());
    this.retries.set(
      peer,
      this.init.schedule(() => {
        this.retries.delete(peer);
        this.connected(peer);
      }, delayMs),
    );
  }

  private accepted(peer: string, socket: TLSSocket): void {
    if (this.stopped || !this.init.isConnected(peer)) {
      socket.destroy();
      return;
    }
    this.adopt(peer, socket);
  }

  /** The peer's link from now on (a second one replaces the first: the peer dialled again). */
  private adopt(peer: string, socket: TLSSocket): void {
    const link = this.init.makeLink(peer, socket, (closed) => {
      if (this.links.get(peer) !== closed) return;
      this.links.delete(peer);
      this.init.logger.debug({ peer }, 'direct link closed; election frames go on the libp2p stream');
      this.retryLater(peer);
    });
    const previous = this.links.get(peer);
    this.links.set(peer, link);
    previous?.close();
    this.init.logger.debug({ peer }, 'direct link up');
  }
}
