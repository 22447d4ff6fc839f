/**
 * Session expiry, the leader's half of the store's session contract (kv/store.ts): the store
 * never reads a clock, so the leader keeps a deadline per session on its own monotonic clock and
 * proposes the end of a session through the log (etcd's lessor on the leader, Consul's session
 * TTLs tied to Serf health):
 * - each session's deadline is its TTL after the leader applied its grant or last keep-alive, and
 *   a full TTL from the moment a node becomes leader for every session it inherits (it cannot
 *   know the previous leader's clock);
 * - a lapsed session gets `sessionRevoke { reason: 'expired', ifKeptAliveIndex }` naming the
 *   keep-alive the deadline counted from, so a keep-alive committed first wins and the revoke is
 *   refused by the store;
 * - a session whose node membership declares `dead` or `left` is revoked at once (reason
 *   `node-dead` / `node-left`): the gossip failure detector ends sessions.
 * One revoke per session is in flight at a time; another is proposed only once it applied (or
 * lost with the leadership). Followers keep no timers.
 */
import type { KvSessionRevoke } from '../kv/types.js';
import type { Raft } from './raft.js';

interface Timer {
  atMs: number;
  /** The keep-alive (or grant) the deadline counts from. */
  keptAliveIndex: number;
  /** A revoke is proposed and not yet applied. */
  revoking: boolean;
}

export class SessionTimers {
  private readonly timers = new Map<string, Timer>();
  /** A gone node's sessions were not revoked (a transfer was under way): look again at the next tick. */
  private goneSkipped = false;

  constructor(private readonly m: Raft) {}

  /** This node became leader: every session it inherits gets a full TTL from now. */
  begin(): void {
    this.timers.clear();
    for (const s of this.m.kv.sessions()) this.timers.set(s.id, { atMs: this.m.nowMs + s.ttlMs, keptAliveIndex: s.keptAliveIndex, revoking: false });
    this.revokeOfGoneNodes();
  }

  /** Leadership ended: the next leader times the sessions. */
  end(): void {
    this.timers.clear();
  }

  /** The store applied a session operation (on the leader): restart, or drop, that session's timer. */
  applied(id: string): void {
    const s = this.m.kv.session(id);
    if (!s) {
      this.timers.delete(id);
      return;
    }
    const timer = this.timers.get(id);
    // A refused revoke (a keep-alive won) frees the session for the next one.
    if (!timer || timer.keptAliveIndex !== s.keptAliveIndex || timer.revoking) this.timers.set(id, { atMs: this.m.nowMs + s.ttlMs, keptAliveIndex: s.keptAliveIndex, revoking: false });
  }

  deadline(): number {
    // While leadership is handed over nothing is proposed: no timer may ask for ticks meanwhile.
    if (this.m.leader.transfer) return Infinity;
    let at = Infinity;
    for (const t of this.timers.values()) if (!t.revoking) at = Math.min(at, t.atMs);
    return at;
  }

  tick(): void {
    if (this.goneSkipped && !this.m.leader.transfer) {
      this.goneSkipped = false;
      this.revokeOfGoneNodes();
    }
    for (const [id, t] of this.timers) if (!t.revoking && this.m.nowMs >= t.atMs) this.revoke({ kind: 'sessionRevoke', id, reason: 'expired', ifKeptAliveIndex: t.keptAliveIndex }, t);
  }

  /** Membership changed: sessions of nodes now dead or gone end. */
  revokeOfGoneNodes(): void {
    // Every membership change lands here: with no session to time, nothing to look up.
    if (this.timers.size === 0) return;
    for (const member of this.m.members) {
      if (member.state !== 'dead' && member.state !== 'left') continue;
      for (const id of this.m.kv.sessionsOfNode(member.id)) {
        const t = this.timers.get(id);
        if (t && !t.revoking) this.revoke({ kind: 'sessionRevoke', id, reason: member.state === 'dead' ? 'node-dead' : 'node-left' }, t);
      }
    }
  }

  private revoke(op: KvSessionRevoke, timer: Timer): void {
    // No proposals while leadership is handed over; the next leader times the session afresh,
    // or this one, once the transfer is abandoned, at its next tick.
    if (this.m.leader.transfer) {
      if (op.reason !== 'expired') this.goneSkipped = true;
      return;
    }
    timer.revoking = true;
    this.m.leader.propose({ kind: 'kv', op, origin: null });
  }
}
