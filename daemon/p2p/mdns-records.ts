/**
 * mDNS discovery's decisions, free of sockets and timers (mdns.ts owns those): the packets, the
 * parse of a response, and the pacing rules of RFC 6762 that @libp2p/mdns leaves out.
 *
 * The records are @libp2p/mdns's, so either implementation finds the other: a query is a PTR
 * question for the service tag; a response answers it with a PTR to `<peerName>.<tag>` and one
 * TXT `dnsaddr=<multiaddr>/p2p/<id>` per address.
 *
 * Why the pacing: a response is multicast, so every node parses every node's answer to every
 * query. With each of N nodes querying every interval and all N answering each query, one
 * interval costs N³ parses (and a peer-store write each in libp2p): at 25 daemons on 2 cores
 * start-up took 30–90 s of saturated CPU, and 50 never converged. Three rules of RFC 6762 bring
 * it to a few queries per interval, whatever N:
 *
 * - §7.3 duplicate question suppression: a node that saw another node's query for the tag
 *   within its own query period does not query; the answers to that query reach it too.
 * - §6 rate limit: a node multicasts its answer at most once a second, however many ask, and
 *   waits 20–120 ms first (a shared record), so N answers do not arrive as one burst.
 * - §8.3 announcement: a starting node multicasts its answer unasked, so the nodes already up
 *   learn of it without a query.
 *
 * The §6 limit has a cost: a node that starts just after a query was answered waits up to a
 * second for answers (at 5 daemons started together, the last one often did). RFC 6762 §5.4 meets
 * this with the QU bit (answer a starting host by unicast), which dns-packet cannot encode. So
 * the same idea without the bit: a node that hears the answer of a peer it is not connected to
 * *greets* it, sending its own answer by unicast to the address the answer came from (§6: "MUST
 * accept unicast responses sent to port 5353"). One greeting per sender address per
 * `GREETING_GAP_MS`, at most `MAX_GREETINGS_PER_S` a second in all, so a forged answer buys a
 * bounded reflection. Only the greeted node parses it: N greetings per starting node.
 */
import type { Answer, Packet, Question } from 'dns-packet';

/** RFC 6762 §6: at most one multicast of a record per second. */
export const MIN_RESPONSE_GAP_MS = 1_000;
/** RFC 6762 §6: a shared record's answer waits a random 20–120 ms. */
export const RESPONSE_DELAY_MS = { min: 20, max: 120 } as const;
/** Query periods are drawn from [0.8, 1.0] of the interval, so nodes' timers drift apart. */
const QUERY_JITTER = 0.2;
/** What @libp2p/mdns announces; a receiver may cache the answer this long (seconds). */
const RECORD_TTL_S = 120;
/** One greeting per sender address in this time. */
export const GREETING_GAP_MS = 10_000;
/** All greetings together, per second. */
export const MAX_GREETINGS_PER_S = 20;
/** RFC 6763 §6.1: a TXT string holds at most 255 bytes. */
const MAX_TXT_BYTES = 255;

export interface DiscoveredPeer {
  id: string;
  /** Without the /p2p/ suffix, as the dialer takes them. */
  addrs: string[];
}

export function queryPacket(serviceTag: string, id: number): Packet & { questions: Question[] } {
  return { type: 'query', id, questions: [{ name: serviceTag, type: 'PTR' }] };
}

/** Is `packet` a question for `serviceTag`? */
export function asksFor(packet: Packet, serviceTag: string): boolean {
  return (packet.questions ?? []).some((q) => q.name === serviceTag && q.type === 'PTR');
}

/** The answer naming this node: `addrs` are full multiaddrs ending in /p2p/<id>. */
export function answerRecords(serviceTag: string, peerName: string, addrs: readonly string[]): Answer[] {
  const instance = `${peerName}.${serviceTag}`;
  const txt = addrs.map((a) => `dnsaddr=${a}`).filter((data) => Buffer.byteLength(data) <= MAX_TXT_BYTES);
  return [
    { name: serviceTag, type: 'PTR', class: 'IN', ttl: RECORD_TTL_S, data: instance },
    ...txt.map((data): Answer => ({ name: instance, type: 'TXT', class: 'IN', ttl: RECORD_TTL_S, data })),
  ];
}

/**
 * The peers a response names, other than `ownPeerName`. Answers and additionals both count (the
 * libp2p spec puts the TXT records in additionals, @libp2p/mdns in answers). A record that does
 * not parse is skipped, not thrown: anyone on the LAN can send a packet.
 */
export function parseResponse(packet: Packet, serviceTag: string, ownPeerName: string): DiscoveredPeer[] {
  const records = [...(packet.answers ?? []), ...(packet.additionals ?? [])];
  const instances = new Set<string>();
  for (const r of records) {
    if (r.type === 'PTR' && r.name === serviceTag && typeof r.data === 'string' && r.data !== `${ownPeerName}.${serviceTag}`) instances.add(r.data);
  }
  const peers: DiscoveredPeer[] = [];
  for (const instance of instances) {
    const byId = new Map<string, string[]>();
    for (const r of records) {
      if (r.type !== 'TXT' || r.name !== instance) continue;
      const strings = Array.isArray(r.data) ? r.data : [r.data];
      for (const s of strings) {
        const text = typeof s === 'string' ? s : Buffer.from(s).toString();
        const parsed = splitDnsaddr(text);
        if (!parsed) continue;
        const list = byId.get(parsed.id) ?? [];
        list.push(parsed.addr);
        byId.set(parsed.id, list);
      }
    }
    // One instance names one peer; an instance naming several is not ours to guess at.
    if (byId.size === 1) {
      const [[id, addrs]] = [...byId] as [[string, string[]]];
      peers.push({ id, addrs });
    }
  }
  return peers;
}

/** `dnsaddr=/ip4/…/tcp/…/p2p/<id>` → the address without /p2p/ and the id; null otherwise. */
function splitDnsaddr(text: string): { addr: string; id: string } | null {
  if (!text.startsWith('dnsaddr=/')) return null;
  const full = text.slice('dnsaddr='.length);
  const at = full.lastIndexOf('/p2p/');
  if (at <= 0) return null;
  const id = full.slice(at + '/p2p/'.length);
  if (id.length === 0 || id.includes('/')) return null;
  return { addr: full.slice(0, at), id };
}

/**
 * When to query and when to answer, as a function of what was seen: a pure clock-driven rule set
 * (times are the caller's monotonic milliseconds, randomness the caller's [0, 1) draws).
 */
export class MdnsPacer {
  private lastQueryAtMs = Number.NEGATIVE_INFINITY;
  /** The period drawn at the last query, a fraction of the interval in force then. */
  private periodFactor = 1;
  private lastAnswerAtMs = Number.NEGATIVE_INFINITY;
  private answerDueAtMs: number | null = null;
  /** Sender address → when it was last greeted; entries older than the gap are dropped. */
  private readonly greetedAtMs = new Map<string, number>();
  /** Greetings sent in the current one-second window, and when the window began. */
  private greetingsInWindow = 0;
  private greetingWindowAtMs = Number.NEGATIVE_INFINITY;

  /** Should this node query now, with `periodMs` the interval in force (searching or settled)? */
  shouldQuery(nowMs: number, periodMs: number): boolean {
    return nowMs - this.lastQueryAtMs >= periodMs * this.periodFactor;
  }

  /** A query for the tag went out (ours) or was seen (another node's): both restart the period. */
  queried(nowMs: number, random01: number): void {
    this.lastQueryAtMs = nowMs;
    this.periodFactor = 1 - QUERY_JITTER * random01;
  }

  /**
   * Someone asked: when to answer. Returns the time for a new answer, or null when one is
   * already due (it answers this query too, being multicast).
   */
  answerAt(nowMs: number, random01: number): number | null {
    if (this.answerDueAtMs !== null) return null;
    const delay = RESPONSE_DELAY_MS.min + (RESPONSE_DELAY_MS.max - RESPONSE_DELAY_MS.min) * random01;
    this.answerDueAtMs = Math.max(nowMs + delay, this.lastAnswerAtMs + MIN_RESPONSE_GAP_MS);
    return this.answerDueAtMs;
  }

  /** The answer (or an announcement) went out. */
  answered(nowMs: number): void {
    this.lastAnswerAtMs = nowMs;
    this.answerDueAtMs = null;
  }

  /**
   * The answer of a peer this node is not connected to came from `address`: should this node
   * greet it (unicast its own answer there) now? Records the greeting when it says yes.
   */
  greet(address: string, nowMs: number): boolean {
    const last = this.greetedAtMs.get(address);
    if (last !== undefined && nowMs - last < GREETING_GAP_MS) return false;
    if (nowMs - this.greetingWindowAtMs >= 1_000) {
      this.greetingWindowAtMs = nowMs;
      this.greetingsInWindow = 0;
    }
    if (this.greetingsInWindow >= MAX_GREETINGS_PER_S) return false;
    this.greetingsInWindow++;
    for (const [other, at] of this.greetedAtMs) if (nowMs - at >= GREETING_GAP_MS) this.greetedAtMs.delete(other);
    this.greetedAtMs.set(address, nowMs);
    return true;
  }
}
