/**
 * One connection per pair of peers. Two nodes that discover each other at once dial each other
 * at once, and libp2p keeps both connections: each then carries its own identify exchange, muxer
 * keep-alives and buffers, and the two directions of a pair's traffic take different sockets, so
 * no data segment carries the other direction's acknowledgement. Every pair had two.
 *
 * Both ends must close the same one without talking about it, so the rule looks only at what
 * both see: the connection opened by the peer with the smaller id is kept (the oldest of those
 * if there are several, e.g. a discovery dial and a redial that raced); when that peer opened
 * none, the oldest is kept. The other end applies the same rule to the same connections.
 */

/** What the rule needs to know about one open connection to a peer. */
export interface PeerConnection {
  /** `outbound`: this node dialled it. */
  direction: 'inbound' | 'outbound';
  /** When it opened (ms, any clock both calls share). */
  openedAtMs: number;
}

/** The connections to close among the open `connections` to `peer` (none when there is one). */
export function duplicateConnections<C extends PeerConnection>(selfId: string, peer: string, connections: readonly C[]): C[] {
  if (connections.length < 2) return [];
  const openedBySmaller = selfId < peer ? 'outbound' : 'inbound';
  const preferred = connections.filter((c) => c.direction === openedBySmaller);
  const pool = preferred.length > 0 ? preferred : connections;
  const keep = pool.reduce((a, b) => (b.openedAtMs < a.openedAtMs ? b : a));
  return connections.filter((c) => c !== keep);
}
