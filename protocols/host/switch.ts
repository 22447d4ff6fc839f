/**
 * Protocol eras: how a cluster runs one election protocol at a time and switches together
 * (README "Switching protocols"). Pure: the host core (core.ts) asks `nextSwitchStep` after
 * every input and carries out what it answers.
 *
 * Every node gossips, beside the protocol it runs, its era, the protocol it asks for, and any
 * switch it holds (membership/types.ts MemberMeta). The cluster's protocol is the one of the
 * highest era; within an era it never changes.
 *
 *   era 0: a node that was never part of a cluster with a leader (a fresh data dir). It adopts
 *          the protocol of any member at a higher era; the first leader of an era-0 cluster
 *          settles it at era 1 with the protocol it runs.
 *   era e: the leader (it reports leadership under its lease) sees more than half of the live
 *          members ask for another protocol Q, or any member ordered Q in era e
 *          (`conclave protocol switch Q`) → it announces switchTo Q (gossip);
 *          members that follow it acknowledge (gossip switchTo Q too);
 *          once more than half of the members it knows (dead ones included) hold switchTo Q,
 *          it commits: it runs Q in era e + 1;
 *          every member that sees a member at era e + 1 adopts it: it runs Q in era e + 1.
 *
 * Safety does not rest on this agreement: at every mix of protocols, each protocol counts every
 * member of the cluster and a node's promises carry over from one protocol to the next
 * (../carry-over.ts), so a switch at any moment, by any node, never makes two nodes lead. The
 * agreement makes the switch happen once, at one point, led by the current leader, with a
 * majority ready to follow at once (a short leaderless gap).
 */
import type { Member } from '../membership/types.js';
import { PROTOCOL_NAMES, type ElectionSummary, type NodeId, type ProtocolName } from '../types.js';

/** What a node holds about its protocol era; the first three are durable. */
export interface EraState {
  era: number;
  /** The protocol it runs. */
  protocol: ProtocolName;
  /** The protocol it asks for. */
  requested: ProtocolName;
  /** It holds the decision to switch to this protocol at era + 1 (announced or acknowledged). */
  switchTo: ProtocolName | null;
  /** An operator ordered a switch to this protocol; it stands until the cluster runs it. */
  order: ProtocolName | null;
}

/** What a node keeps of its protocol era across restarts. */
export interface EraRecord {
  era: number;
  protocol: ProtocolName;
  requested: ProtocolName;
  /**
   * The highest token a live switch on this node carried over (../carry-over.ts), written with
   * the era before the new machine reports anything: the old machine may have reported a token
   * its own state had not written yet (one it carried over itself). A start carries it over too.
   * Absent: 0.
   */
  tokenFloor?: number;
}

/**
 * The era a node starts in, from its disk (`stored`: its era record; `startedWith`: the protocol
 * its config asked for at its last start) and the protocol its config asks for now. A node that
 * was part of a cluster runs its era's protocol whatever its config says; a changed config is a
 * new request, an unchanged one keeps the request the cluster's last switch left. `ranLast`: the
 * protocol that ran here last (whose promise carries over, ../carry-over.ts).
 */
export function eraAtStart(stored: EraRecord | null, startedWith: ProtocolName | null, config: ProtocolName): Required<EraRecord> & { ranLast: ProtocolName | null } {
  return {
    era: stored?.era ?? 0,
    protocol: stored?.protocol ?? config,
    requested: stored === null || startedWith !== config ? config : stored.requested,
    tokenFloor: stored?.tokenFloor ?? 0,
    ranLast: stored?.protocol ?? startedWith,
  };
}

export type SwitchStep =
  /** Run `protocol` in `era`, as `from` (a member at a higher era) does. */
  | { kind: 'adopt'; era: number; protocol: ProtocolName; from: NodeId }
  /** This leader of an era-0 cluster settles it: era 1, the same protocol. */
  | { kind: 'settle' }
  /** This leader announces a switch: it holds switchTo `protocol`. */
  | { kind: 'announce'; protocol: ProtocolName; why: 'requested' | 'ordered' }
  /** This member mirrors its leader's announcement (acknowledges it, or drops a withdrawn one). */
  | { kind: 'acknowledge'; protocol: ProtocolName | null }
  /** More than half of the members hold the announced switch: this leader runs `protocol` in era + 1. */
  | { kind: 'commit'; protocol: ProtocolName };

/** Which of two protocols wins between members of the same era that run different ones (only after a merge of two clusters): a fixed order. */
function rank(protocol: ProtocolName): number {
  return PROTOCOL_NAMES.indexOf(protocol);
}

function live(m: Member): boolean {
  return m.state === 'alive' || m.state === 'suspect';
}

/** Whether (era, protocol) `a` is ahead of `b`: a higher era, or the same era and the higher-ranked protocol. */
export function eraAhead(a: { era: number; protocol: ProtocolName }, b: { era: number; protocol: ProtocolName }): boolean {
  return a.era > b.era || (a.era === b.era && a.protocol !== b.protocol && rank(a.protocol) > rank(b.protocol));
}

/** What a node reports of its election: its role (`leader` only under its lease), the leader it names, and the term. */
export type Reign = Pick<ElectionSummary, 'role' | 'leader' | 'term'>;

/**
 * The next step this node takes, or null. `report`: what the node reports now; `members`: the
 * membership view, self included.
 */
export function nextSwitchStep(self: EraState, report: Reign, members: readonly Member[], expect = 0): SwitchStep | null {
  let ahead: Member | null = null;
  for (const m of members) if (!m.self && live(m) && eraAhead(m, ahead ?? self)) ahead = m;
  if (ahead) return { kind: 'adopt', era: ahead.era, protocol: ahead.protocol, from: ahead.id };
  const leader = report.leader;
  if (report.role === 'leader') {
    if (self.era === 0) return { kind: 'settle' };
    const progress = switchProgress(self, members, report, expect);
    if (progress) return progress.holding >= progress.needed ? { kind: 'commit', protocol: progress.to } : null;
    const wanted = wantedProtocol(self, members);
    return wanted ? { kind: 'announce', protocol: wanted.protocol, why: wanted.why } : null;
  }
  if (leader === null) return null;
  const l = members.find((m) => m.id === leader && !m.self);
  if (!l || !live(l) || l.era !== self.era || l.switchTo === self.switchTo) return null;
  return { kind: 'acknowledge', protocol: l.switchTo };
}

/** Another protocol an operator ordered in this era, or that more than half of the live members ask for. */
function wantedProtocol(self: EraState, members: readonly Member[]): { protocol: ProtocolName; why: 'requested' | 'ordered' } | null {
  const current = members.filter((m) => m.self || (live(m) && m.era === self.era));
  for (const m of current) {
    const order = m.self ? self.order : m.order;
    if (order !== null && order !== self.protocol) return { protocol: order, why: 'ordered' };
  }
  const liveCount = members.filter((m) => m.self || live(m)).length;
  for (const protocol of PROTOCOL_NAMES) {
    if (protocol === self.protocol) continue;
    const asking = members.filter((m) => (m.self ? self.requested : live(m) ? m.requested : null) === protocol).length;
    if (2 * asking > liveCount) return { protocol, why: 'requested' };
  }
  return null;
}

/**
 * A switch's progress: who holds it, out of how many members (those it knows that have not
 * left, dead ones included, and never fewer than `expect`, the cluster's `bootstrapExpect`: a
 * node that sees few of its members yet, say one that just started and leads by the votes of
 * members it has not heard gossip from, does not switch a cluster it cannot count), and how many
 * it needs. A member
 * holds it once it gossips the switch while naming the leader this node names at its term (its
 * acknowledgement of this reign's announcement: one made under an earlier leader or term does not
 * count, so a leader that just took over commits only once its followers know it leads).
 */
export function switchProgress(self: EraState, members: readonly Member[], report: Reign, expect = 0): { to: ProtocolName; holding: number; known: number; needed: number } | null {
  if (self.switchTo === null) return null;
  const holding = members.filter((m) => m.self || (live(m) && m.era === self.era && m.switchTo === self.switchTo && report.leader !== null && m.leader === report.leader && m.term === report.term)).length;
  const known = Math.max(expect, members.filter((m) => m.state !== 'left').length);
  return { to: self.switchTo, holding, known, needed: Math.floor(known / 2) + 1 };
}
