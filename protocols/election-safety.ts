/**
 * The election safety rules as pure checks over what nodes report (role, term, fencing token),
 * one copy for every judge: the fast-check properties (bully/properties.test.ts), the
 * simulator's invariants (sim/election-invariants.ts, sim/bully-invariants.ts) and the
 * real-daemon history checker (sim/leadership-history.ts). Each caller decides when to look and
 * how to word a finding; these decide what counts as one.
 */
import type { NodeId, Role } from './types.js';

/** What one node said at one instant; an ElectionSummary fits, and so does a sampled /v1/status. */
export interface LeadershipReport {
  role: Role;
  term: number;
  fencingToken: number;
}

/**
 * At no instant do two nodes report leadership: the nodes among `reports` (one per node, all of
 * one instant) that say they lead. More than one is a violation of the lease contract.
 */
export function leadersAtOnce<T extends { role: Role }>(reports: Iterable<T>): T[] {
  const leaders: T[] = [];
  for (const report of reports) if (report.role === 'leader') leaders.push(report);
  return leaders;
}

/**
 * One leader per term (Raft term, Bully epoch): a term, once some node led it, belongs to that
 * node. Remembers every leader seen; also answers whether a node ever led a term (a follower that
 * names a leader for a term it never led names a ghost).
 */
export class TermLeaders {
  /** The first node seen leading each term. */
  private readonly holders = new Map<number, NodeId>();
  /** `node@term` for every node seen leading a term, the first holder or not. */
  private readonly reigns = new Set<string>();

  /** Records that `node` reports `report`; returns the node that already led that term, when another did. */
  observe(node: NodeId, report: Pick<LeadershipReport, 'role' | 'term'>): NodeId | null {
    if (report.role !== 'leader') return null;
    this.reigns.add(`${node}@${report.term}`);
    const holder = this.holders.get(report.term);
    if (holder === undefined) {
      this.holders.set(report.term, node);
      return null;
    }
    return holder === node ? null : holder;
  }

  /** Whether `node` was seen leading `term`. */
  led(node: NodeId, term: number): boolean {
    return this.reigns.has(`${node}@${term}`);
  }
}

/**
 * Fencing tokens only grow at each node, across its crashes and restarts (they are durable).
 * Remembers each node's highest token.
 */
export class TokenHighWater {
  private readonly highest = new Map<NodeId, number>();

  /** Records `token` for `node`; returns the higher token it reported before, when `token` is lower. */
  observe(node: NodeId, token: number): number | null {
    const before = this.highest.get(node);
    if (before !== undefined && token < before) return before;
    this.highest.set(node, token);
    return null;
  }
}

/**
 * Fencing tokens grow from reign to reign, cluster-wide and across protocols: a node that starts
 * a reign (it reports leading a term it had not led) reports a token above that of every earlier
 * reign, so storage that keeps the highest token it saw refuses only deposed leaders. Leases
 * never overlap (leadersAtOnce), so reigns follow one another in time.
 */
export class ReignTokens {
  private last: { node: NodeId; term: number; token: number } | null = null;

  /** Records that `node` reports `report`; returns the earlier reign it does not outrank, when it starts one that does not. */
  observe(node: NodeId, report: LeadershipReport): { node: NodeId; term: number; token: number } | null {
    if (report.role !== 'leader') return null;
    const last = this.last;
    if (last !== null && last.node === node && last.term === report.term) {
      last.token = Math.max(last.token, report.fencingToken);
      return null;
    }
    if (last !== null && report.fencingToken <= last.token) return last;
    this.last = { node, term: report.term, token: report.fencingToken };
    return null;
  }
}

/**
 * Bully: the fencing token is at least the epoch, so a leader's token outranks every token issued
 * in an earlier epoch. True when `report` breaks that.
 */
export function termAboveToken(report: Pick<LeadershipReport, 'term' | 'fencingToken'>): boolean {
  return report.term > report.fencingToken;
}
