/**
 * Whether this node leads *now*, as a program beside the daemon can know it: a pure machine fed
 * with what the daemon said (the event stream's snapshot and events, long-poll answers of
 * `GET /v1/leader`), when it said it, and the clock. `lead()` and `conclave run` act on its
 * effects; it does no I/O and reads no clock (etcd-io/raft's shape: step, then drain).
 *
 * The rule it keeps (README, "Leadership you can trust"): the daemon reports leadership only
 * while its lease holds, and says how long that is (`leaseRemainingMs`). Counted from when the
 * question was *sent*, that bounds how long the answer stays true. Past that deadline without a
 * fresh answer this program cannot know that it still leads, so it assumes it does not. Any
 * event that changes the leader, the role or the term ends the lease at once; a new term is
 * believed only from a fresh answer with its own lease. A daemon known to be gone (its socket
 * refuses connections) leads nothing.
 */
import { leaderLeaseMs } from '../protocols/lease.js';
import type { Role } from '../protocols/types.js';
import type { ApiEvent, LeaderResponse, NodeRef, StatusResponse } from '../daemon/api/types.js';

/** One reign of this node: what a job started for it needs, the fencing token first. */
export interface Leadership {
  /** Pass it with every write; storage refuses tokens below the highest it has seen. */
  fencingToken: number;
  term: number;
  /** The leader: this node. */
  leader: NodeRef;
  /** This node (the same as `leader`; named apart for the environment of `conclave run`). */
  node: NodeRef;
  /** For a reign in a named election (`conclave run --election`): its name; absent for the node's own leadership. */
  election?: string;
}

/** Who leads as this node's daemon sees it; `leader` is null while it knows none. */
export interface LeaderInfo {
  leader: NodeRef | null;
  term: number;
  fencingToken: number;
}

/**
 * Why a reign ended here: the daemon said so (`lost`), a new term began (`term-changed`, also
 * when this node leads again under a new token), no fresh answer came before the lease's end
 * (`lease-expired`), the daemon's socket refused us (`daemon-gone`), or the caller stopped
 * (`closed`).
 */
/** Below this, a reported lease is not believed (see lease()); a healthy leader reports most of a whole lease. */
export const MIN_USABLE_LEASE_MS = 20;

export type StopReason = 'lost' | 'term-changed' | 'lease-expired' | 'daemon-gone' | 'closed';

export type LeadershipEffect =
  | { kind: 'started'; leadership: Leadership }
  | { kind: 'stopped'; leadership: Leadership; reason: StopReason }
  | { kind: 'new-leader'; leader: LeaderInfo };

/** Events that say something about leadership; every other event leaves the machine as it is. */
const LEADERSHIP_EVENTS: ReadonlySet<string> = new Set(['leader-changed', 'role-changed', 'term-changed', 'stepped-down']);

export class LeadershipTracker {
  private self: NodeRef | null = null;
  private role: Role | null = null;
  private leader: NodeRef | null = null;
  private term = 0;
  private fencingToken = 0;
  private revision: number | null = null;
  /** Local monotonic time until which the last answer's lease vouches for this node's leadership. */
  private leaseDeadlineMs = Number.NEGATIVE_INFINITY;
  /** When the last leadership event arrived: an answer to a question sent before it may be older than it. */
  private lastEventAtMs = Number.NEGATIVE_INFINITY;
  private current: Leadership | null = null;
  private announced: LeaderInfo | null = null;
  private closed = false;
  private effects: LeadershipEffect[] = [];

  /** The first message of every event stream; `sentAtMs`: when that connection was opened. */
  snapshot(status: StatusResponse, sentAtMs: number, nowMs: number): void {
    this.self = { id: status.id, name: status.name };
    this.facts(status.role, status.leader, status.term, status.fencingToken, status.revision ?? null);
    this.lease(status.role, status.leaseRemainingMs ?? null, sentAtMs);
    this.evaluate(nowMs, 'lost');
  }

  /**
   * A `GET /v1/leader` answer to a question sent at `sentAtMs`. Ignored when a leadership event
   * arrived after the question left: the answer may predate it (the two come over different
   * connections); the caller asks again.
   */
  answer(reply: LeaderResponse, sentAtMs: number, nowMs: number): boolean {
    if (sentAtMs < this.lastEventAtMs) return false;
    if (reply.role === 'leader' && reply.leader && this.self === null) this.self = { ...reply.leader };
    this.facts(reply.role, reply.leader, reply.term, reply.fencingToken, reply.revision);
    this.lease(reply.role, reply.leaseRemainingMs, sentAtMs);
    this.evaluate(nowMs, 'lost');
    return true;
  }

  /** A live event from the stream. */
  event(event: ApiEvent, nowMs: number): void {
    if (!LEADERSHIP_EVENTS.has(event.type)) return;
    this.lastEventAtMs = nowMs;
    switch (event.type) {
      case 'leader-changed':
        this.leader = event.to ? { ...event.to } : null;
        this.role = event.to !== null && event.to.id === this.self?.id ? 'leader' : this.role === 'leader' ? 'follower' : this.role;
        this.newTerm(event.term, event.fencingToken);
        break;
      case 'role-changed':
        this.role = event.to;
        if (event.to !== 'leader' && this.leader?.id === this.self?.id) this.leader = null;
        if (event.to !== 'leader' || event.term !== this.term) this.leaseDeadlineMs = Number.NEGATIVE_INFINITY;
        this.newTerm(event.term, this.fencingToken);
        break;
      case 'term-changed':
        this.newTerm(event.to, this.fencingToken);
        break;
      case 'stepped-down':
        if (this.role === 'leader') this.role = 'follower';
        this.leaseDeadlineMs = Number.NEGATIVE_INFINITY;
        break;
    }
    this.evaluate(nowMs, 'lost');
  }

  /** The daemon is known not to run (connection refused, no socket): it leads nothing. */
  gone(nowMs: number): void {
    this.role = null;
    this.leaseDeadlineMs = Number.NEGATIVE_INFINITY;
    this.evaluate(nowMs, 'daemon-gone');
  }

  /** Time passes: at the lease's end without a fresh answer, leadership ends here. */
  tick(nowMs: number): void {
    this.evaluate(nowMs, 'lease-expired');
  }

  /** The caller stops following: a reign in progress ends (`closed`), and nothing starts again. */
  close(nowMs: number): void {
    this.closed = true;
    this.evaluate(nowMs, 'closed');
  }

  drain(): LeadershipEffect[] {
    const out = this.effects;
    this.effects = [];
    return out;
  }

  get leading(): Leadership | null {
    return this.current;
  }

  /** The next time `tick` must be called: the lease's end while leading; null otherwise. */
  nextDeadlineMs(): number | null {
    return this.current ? this.leaseDeadlineMs : null;
  }

  /**
   * True while the daemon claims this node leads: the host then keeps one long-poll going, which
   * first learns the lease of a new reign and then renews it before it runs out.
   */
  wantsLease(): boolean {
    return !this.closed && this.role === 'leader' && this.self !== null && this.leader?.id === this.self.id;
  }

  /**
   * The next long-poll: at once while no lease is known, else waiting for a change for half of
   * what is left of the lease, so the answer (a change, or the same state with a renewed lease)
   * arrives well before the deadline.
   */
  pollOptions(nowMs: number): { waitMs: number; after?: number } {
    if (!this.current || this.revision === null) return { waitMs: 0 };
    return { waitMs: Math.max(0, Math.floor((this.leaseDeadlineMs - nowMs) / 2)), after: this.revision };
  }

  private facts(role: Role, leader: NodeRef | null, term: number, fencingToken: number, revision: number | null): void {
    this.role = role;
    this.leader = leader ? { id: leader.id, name: leader.name } : null;
    this.term = term;
    this.fencingToken = fencingToken;
    this.revision = revision;
  }

  /**
   * The daemon counted `leaseRemainingMs` on its clock; this program counts it on its own, which
   * may run at another rate (another host, over TCP): shortened by the drift bound the daemons
   * assume of each other (../protocols/lease.ts), as a leader shortens its members' grants.
   */
  private lease(role: Role, leaseRemainingMs: number | null, sentAtMs: number): void {
    // A lease about to end vouches for nothing an application could do: believing it would start
    // a reign for a millisecond, then ask again at once (a spin, with a reign started and stopped each time).
    const usable = leaseRemainingMs !== null && leaseRemainingMs >= MIN_USABLE_LEASE_MS;
    this.leaseDeadlineMs = role === 'leader' && usable ? sentAtMs + leaderLeaseMs(leaseRemainingMs) : Number.NEGATIVE_INFINITY;
  }

  /** A new term or token is believed only with a lease of its own, from a fresh answer. */
  private newTerm(term: number, fencingToken: number): void {
    if (term !== this.term || fencingToken !== this.fencingToken) this.leaseDeadlineMs = Number.NEGATIVE_INFINITY;
    this.term = term;
    this.fencingToken = fencingToken;
  }

  private evaluate(nowMs: number, reason: StopReason): void {
    const self = this.self;
    const leadingNow =
      !this.closed && self !== null && this.role === 'leader' && this.leader?.id === self.id && this.leaseDeadlineMs > nowMs
        ? { fencingToken: this.fencingToken, term: this.term, leader: { ...this.leader }, node: { ...self } }
        : null;
    const previous = this.current;
    const same = previous !== null && leadingNow !== null && previous.fencingToken === leadingNow.fencingToken && previous.term === leadingNow.term;
    if (previous && !same) {
      const why: StopReason = this.closed ? 'closed' : leadingNow ? 'term-changed' : reason === 'lost' && this.sameReignClaimed(previous) ? 'lease-expired' : reason;
      this.effects.push({ kind: 'stopped', leadership: previous, reason: why });
    }
    if (self !== null && this.role !== null && !this.closed) {
      const info: LeaderInfo = { leader: this.leader ? { ...this.leader } : null, term: this.term, fencingToken: this.fencingToken };
      const seen = this.announced;
      if (seen === null || seen.leader?.id !== info.leader?.id || (info.leader !== null && seen.fencingToken !== info.fencingToken)) {
        this.announced = info;
        this.effects.push({ kind: 'new-leader', leader: info });
      }
    }
    if (leadingNow && !same) this.effects.push({ kind: 'started', leadership: leadingNow });
    this.current = same ? previous : leadingNow;
  }

  /** The daemon still claims the reign that just ended here: only its lease ran out. */
  private sameReignClaimed(reign: Leadership): boolean {
    return this.role === 'leader' && this.leader?.id === reign.node.id && this.fencingToken === reign.fencingToken && this.term === reign.term;
  }
}
