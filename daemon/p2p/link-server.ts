/**
 * The direct links' TLS side: a listener that takes only handshakes it offered, and the dial.
 *
 * Who may connect: a link is offered over the libp2p connection to one peer (Noise authenticated
 * it, and the swarm key admitted it when one is set). The offer is a fresh random PSK identity
 * and key, good for one TLS 1.3 handshake within `offerTtlMs` and bound to that peer. A socket
 * that presents any other identity, or a key that does not match, fails the handshake (TLS 1.3's
 * PSK mode proves both ends hold the key, with a fresh ECDHE exchange for forward secrecy); so a
 * link's far end is the peer the offer went to, and nobody else learns the key: it went over the
 * encrypted libp2p connection. Bounded: `handshakeTimeoutMs` per handshake, at most `maxOffers`
 * offers held (one per peer) and `maxSockets` sockets, handshaking or linked.
 */
import { randomBytes } from 'node:crypto';
import type { Socket } from 'node:net';
import { connect, createServer, type Server, type TLSSocket } from 'node:tls';
import { LINK_PSK_BYTES, type LinkOffer } from './link-frames.js';

/** TLS 1.3 only, AEAD suites OpenSSL offers by default; PSK with (EC)DHE key exchange. */
const TLS_OPTIONS = {
  minVersion: 'TLSv1.3',
  maxVersion: 'TLSv1.3',
  ciphers: 'TLS_AES_128_GCM_SHA256:TLS_CHACHA20_POLY1305_SHA256:TLS_AES_256_GCM_SHA384',
} as const;

export interface LinkServerInit {
  /** Where to listen: the host of the node's libp2p TCP listen address, and a port (0: any free one). */
  host: string;
  port: number;
  offerTtlMs: number;
  handshakeTimeoutMs: number;
  maxOffers: number;
  maxSockets: number;
  nowMs(): number;
  /** A handshake on an offer completed: the socket is the peer's link. */
  onLink(peer: string, socket: TLSSocket): void;
  /** A socket failed its handshake (unknown identity, wrong key, not TLS, too slow). */
  onHandshakeFailure(err: Error): void;
}

interface Offer {
  peer: string;
  psk: Buffer;
  expiresAtMs: number;
}

export class LinkServer {
  private readonly init: LinkServerInit;
  private readonly server: Server;
  /** By PSK identity; at most one per peer (a new offer replaces the old one). */
  private readonly offers = new Map<string, Offer>();
  private readonly offerByPeer = new Map<string, string>();
  /** The peer each handshaking socket's identity named (set by the PSK callback). */
  private readonly claimed = new WeakMap<Socket, string>();
  private boundPort = 0;

  constructor(init: LinkServerInit) {
    this.init = init;
    this.server = createServer(
      {
        ...TLS_OPTIONS,
        handshakeTimeout: init.handshakeTimeoutMs,
        pskCallback: (socket, identity) => this.takeOffer(socket, identity),
      },
      (socket) => {
        const peer = this.claimed.get(socket);
        if (peer === undefined) {
          socket.destroy();
          return;
        }
        this.init.onLink(peer, socket);
      },
    );
    this.server.maxConnections = init.maxSockets;
    // Node leaves the socket of a failed handshake open (a handshake timeout included) for the
    // 'tlsClientError' listener to close: a socket that never spoke would otherwise stay.
    this.server.on('tlsClientError', (err, socket) => {
      socket.destroy();
      this.init.onHandshakeFailure(err);
    });
  }

  /** Resolves with the bound port; rejects when the port is taken. */
  listen(): Promise<number> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(this.init.port, this.init.host, () => {
        this.server.off('error', reject);
        this.boundPort = (this.server.address() as { port: number }).port;
        resolve(this.boundPort);
      });
    });
  }

  get port(): number {
    return this.boundPort;
  }

  /** A fresh offer for `peer`, replacing any it had. */
  offer(peer: string): LinkOffer {
    this.forgetExpired();
    const previous = this.offerByPeer.get(peer);
    if (previous !== undefined) this.offers.delete(previous);
    if (this.offers.size >= this.init.maxOffers) {
      const oldest = this.offers.keys().next().value!;
      this.offerByPeer.delete(this.offers.get(oldest)!.peer);
      this.offers.delete(oldest);
    }
    const identity = randomBytes(16).toString('hex');
    const psk = randomBytes(LINK_PSK_BYTES);
    this.offers.set(identity, { peer, psk, expiresAtMs: this.init.nowMs() + this.init.offerTtlMs });
    this.offerByPeer.set(peer, identity);
    return { port: this.boundPort, identity, psk: new Uint8Array(psk) };
  }

  close(): void {
    this.offers.clear();
    this.offerByPeer.clear();
    this.server.close();
  }

  /** The key for `identity` if it is a live offer, taken so it serves one handshake; null fails it. */
  private takeOffer(socket: Socket, identity: string): Buffer | null {
    const offer = this.offers.get(identity);
    if (offer === undefined) return null;
    this.offers.delete(identity);
    if (this.offerByPeer.get(offer.peer) === identity) this.offerByPeer.delete(offer.peer);
    if (offer.expiresAtMs < this.init.nowMs()) return null;
    this.claimed.set(socket, offer.peer);
    return offer.psk;
  }

  private forgetExpired(): void {
    const nowMs = this.init.nowMs();
    for (const [identity, offer] of this.offers) {
      if (offer.expiresAtMs >= nowMs) continue;
      this.offers.delete(identity);
      if (this.offerByPeer.get(offer.peer) === identity) this.offerByPeer.delete(offer.peer);
    }
  }
}

/** Dials a peer's link listener with its offer; resolves once the handshake proved the peer holds the key. */
export function dialLink(host: string, offer: LinkOffer, timeoutMs: number): Promise<TLSSocket> {
  return new Promise((resolve, reject) => {
    const socket = connect({
      ...TLS_OPTIONS,
      host,
      port: offer.port,
      // No certificate: the key is the authentication (see the file's comment).
      pskCallback: () => ({ psk: Buffer.from(offer.psk), identity: offer.identity }),
      checkServerIdentity: () => undefined,
    });
    const timer = setTimeout(() => socket.destroy(new Error(`no TLS handshake with ${host}:${offer.port} within ${timeoutMs} ms`)), timeoutMs);
    socket.once('secureConnect', () => {
      clearTimeout(timer);
      socket.off('error', reject);
      resolve(socket);
    });
    socket.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
}
