/**
 * What travels on the membership stream (one per cluster peer, beside the election stream):
 * heartbeats, sent first-hand to every peer, and peer lists, so a node that reached the cluster
 * through one bootstrap address learns where the others listen and dials them (memberlist's
 * push/pull join, reduced to addresses). A heartbeat's author is the connection's peer, which
 * noise authenticated: nobody can send another's heartbeat, so none is signed. A peer list
 * feeds the dialer, and marks the peers it names as introduced (node.ts: their connections to us
 * send no lists for a minute). Dialling an address checks the peer id it names, so a false list
 * costs a failed dial, and a peer it named is introduced by its other neighbours or by mDNS
 * instead, nothing else. Pure: shapes and checks, no streams.
 */
import { peerIdFromString } from '@libp2p/peer-id';
import { multiaddr } from '@multiformats/multiaddr';
import { MAX_MEMBERS } from '../../protocols/bounds.js';

/** Listen addresses per peer in a list (a node has a handful: one per interface and transport). */
export const MAX_EXCHANGED_ADDRS = 8;
/** One multiaddr's text; real ones are well under 100 characters. */
export const MAX_ADDR_CHARS = 256;
/** A peer id's text (base58 of an Ed25519 identity is 52 characters). */
const MAX_PEER_ID_CHARS = 128;

export interface ExchangedPeer {
  id: string;
  addrs: string[];
}

/** The two frames of the membership stream. */
export type MembershipFrame = { kind: 'heartbeat'; heartbeat: unknown } | { kind: 'peers'; peers: ExchangedPeer[] };

const encoder = new TextEncoder();
const HEARTBEAT_OPEN = encoder.encode('{"hb":');
const CLOSE = encoder.encode('}');

/** `{"hb":<payload>}` around an already encoded heartbeat, without parsing it again. */
export function heartbeatFrame(payload: Uint8Array): Uint8Array {
  const frame = new Uint8Array(HEARTBEAT_OPEN.length + payload.length + CLOSE.length);
  frame.set(HEARTBEAT_OPEN, 0);
  frame.set(payload, HEARTBEAT_OPEN.length);
  frame.set(CLOSE, HEARTBEAT_OPEN.length + payload.length);
  return frame;
}

export function peersFrame(peers: readonly ExchangedPeer[]): { peers: ExchangedPeer[] } {
  return { peers: peers.slice(0, MAX_MEMBERS).map((p) => ({ id: p.id, addrs: p.addrs.slice(0, MAX_EXCHANGED_ADDRS) })) };
}

/** Which frame a decoded membership-stream message is, or why it is none (`malformed`). */
export function parseMembershipFrame(message: unknown): MembershipFrame | { kind: 'malformed'; reason: string } {
  if (typeof message !== 'object' || message === null || Array.isArray(message)) return { kind: 'malformed', reason: 'not an object' };
  const keys = Object.keys(message);
  if (keys.length !== 1) return { kind: 'malformed', reason: `expected one of hb, peers; got ${keys.slice(0, 3).join(', ') || 'nothing'}` };
  const record = message as Record<string, unknown>;
  if (keys[0] === 'hb') return { kind: 'heartbeat', heartbeat: record.hb };
  if (keys[0] === 'peers') {
    const peers = parsePeerList(record.peers);
    return typeof peers === 'string' ? { kind: 'malformed', reason: peers } : { kind: 'peers', peers };
  }
  return { kind: 'malformed', reason: `unknown frame ${JSON.stringify(keys[0]!.slice(0, 20))}` };
}

/** The list, or why it is refused: bounded, every id a peer id, every address a multiaddr naming no other peer. */
function parsePeerList(value: unknown): ExchangedPeer[] | string {
  if (!Array.isArray(value)) return 'peers: not an array';
  if (value.length > MAX_MEMBERS) return `peers: ${value.length} entries, more than ${MAX_MEMBERS}`;
  const peers: ExchangedPeer[] = [];
  for (const [i, entry] of value.entries()) {
    const e = entry as { id?: unknown; addrs?: unknown } | null;
    if (typeof e !== 'object' || e === null || Object.keys(e).length !== 2) return `peers.${i}: expected {id, addrs}`;
    if (typeof e.id !== 'string' || e.id.length > MAX_PEER_ID_CHARS || !isPeerId(e.id)) return `peers.${i}.id: not a peer id`;
    if (!Array.isArray(e.addrs) || e.addrs.length > MAX_EXCHANGED_ADDRS) return `peers.${i}.addrs: not an array of at most ${MAX_EXCHANGED_ADDRS}`;
    for (const [j, addr] of e.addrs.entries()) {
      if (typeof addr !== 'string' || addr.length > MAX_ADDR_CHARS) return `peers.${i}.addrs.${j}: not a string of at most ${MAX_ADDR_CHARS} characters`;
      const named = peerOfAddr(addr);
      if (named === undefined) return `peers.${i}.addrs.${j}: not a multiaddr`;
      if (named !== null && named !== e.id) return `peers.${i}.addrs.${j}: names another peer`;
    }
    peers.push({ id: e.id, addrs: e.addrs as string[] });
  }
  return peers;
}

function isPeerId(text: string): boolean {
  try {
    peerIdFromString(text);
    return true;
  } catch {
    return false;
  }
}

/** The peer id an address names (null: none), or undefined when it is no multiaddr. */
function peerOfAddr(addr: string): string | null | undefined {
  try {
    return multiaddr(addr).getPeerId();
  } catch {
    return undefined;
  }
}
