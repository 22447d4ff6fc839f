/**
 * Leadership commands from the API (transfer, resign, elect, forget) and their relay: asked of a
 * follower, a transfer or resign goes to the leader it follows (TRANSFER_REQUEST, RESIGN_REQUEST)
 * and is answered here once it took effect or its bound ran out. Also the resign hold (a node
 * that resigned does not stand for resignHoldMs) and FORGET from other members.
 */
import type { CommandResult, ElectionMember, LeadershipCommand } from '../election.js';
import type { NodeId, Role } from '../types.js';
import type { Candidate } from './candidate.js';
import type { BullyContext, Message } from './context.js';
import type { Durable } from './durable.js';
import type { Follower } from './follower.js';
import type { HandOff } from './handoff.js';
import type { Leader, Leadership } from './leader.js';
import { majorityOf } from './quorum.js';
import { highestRanked } from './rank.js';

/** A command asked of a follower and relayed to the leader; answered when `done` holds or at the deadline. */
interface RelayedCommand {
  commandId: number;
  kind: 'transfer' | 'resign' | 'elect';
  /** transfer/elect: the node that should end up leading; resign: the leader that should stop. */
  target: NodeId;
  deadlineMs: number;
}

export interface CommandsPort extends BullyContext {
  readonly role: Role;
  readonly durable: Pick<Durable, 'state' | 'forget' | 'countedMemberIds' | 'size' | 'majorityAlive'>;
  readonly follower: Pick<Follower, 'namedLeader' | 'liveNamedLeader' | 'activeGrant' | 'scheduleRetry'>;
  readonly leader: Pick<Leader, 'current' | 'isFollower' | 'silentLately'>;
  readonly candidate: Pick<Candidate, 'joinElection' | 'startElection'>;
  readonly handoff: Pick<HandOff, 'handOff' | 'shuttingDown'>;
  mayStand(): boolean;
  quorumNone(): boolean;
  stepDown(): void;
}

export class Commands {
  private relayed: RelayedCommand | null = null;
  /** `elect` commands answered when the election they started (or joined) finishes. */
  private pendingElects: number[] = [];
  /** After `resign`: this node does not stand until then. */
  private holdUntilMs: number | null = null;

  constructor(private readonly m: CommandsPort) {}

  /** Whether this node resigned and still sits out (see BullyConfig.resignHoldMs). */
  holding(): boolean {
    return this.holdUntilMs !== null;
  }

  /** The resign hold ran out: a leaderless follower elects again (later, as after any loss). */
  tickHold(): void {
    if (this.holdUntilMs === null || this.m.nowMs < this.holdUntilMs) return;
    this.holdUntilMs = null;
    if (this.m.role === 'follower' && !this.m.follower.activeGrant()) this.m.follower.scheduleRetry();
  }

  /** The hold's end, and the bound of a relayed command. */
  deadline(): number {
    return Math.min(this.holdUntilMs ?? Infinity, this.relayed?.deadlineMs ?? Infinity);
  }

  onCommand(id: number, command: LeadershipCommand): void {
    switch (command.kind) {
      case 'transfer':
        return this.commandTransfer(id, command.to);
      case 'resign':
        return this.commandResign(id);
      case 'elect':
        return this.commandElect(id);
      case 'forget':
        return this.commandForget(id, command.id);
      case 'remove':
        return this.m.out.fail(id, 'unsupported', 'bully has no configuration to remove a member from: a graceful stop (SIGTERM) announces the leave');
    }
  }

  // ---- forget ----

  /**
   * An operator says `target` is gone for good: it stops counting towards the cluster size here
   * at once, and at every live member that also sees it dead or gone (told by FORGET).
   */
  private commandForget(id: number, target: NodeId): void {
    const { out, view, durable, bootstrapExpect } = this.m;
    if (target === this.m.selfId) return out.fail(id, 'cannot-forget-self', 'a node cannot forget itself; stop it with SIGTERM and it leaves the cluster');
    const member = view.all.find((m) => m.id === target);
    if (member && (member.state === 'alive' || member.state === 'suspect')) {
      return out.fail(id, 'member-alive', `${member.name} is ${member.state}: only a dead or departed member can be forgotten (stop it first)`);
    }
    const counted = durable.countedMemberIds().includes(target);
    if (!member && !counted) return out.fail(id, 'unknown-node', `${target} is not a member this node counts`);
    const before = durable.size();
    durable.forget(target);
    const told = view.alivePeers();
    out.sendAll(told, { type: 'FORGET', epoch: durable.state.acceptedEpoch, id: target });
    const after = durable.size();
    const floor = after === bootstrapExpect && after > durable.countedMemberIds().length ? ` (never below bootstrapExpect ${bootstrapExpect})` : '';
    out.reply(id, {
      ok: true,
      detail: `forgot ${member?.name ?? target}: the cluster size here went from ${before} to ${after}${floor}, a majority is now ${majorityOf(after)}; told ${told.length} live member(s), each obeys if it too sees ${member?.name ?? target} gone`,
    });
  }

  /** Another member's operator forgot `id`: obey only if our own view agrees it is gone. */
  onForget(message: Message<'FORGET'>): void {
    if (message.id === this.m.selfId) return;
    const member = this.m.view.member(message.id);
    if (member && (member.state === 'alive' || member.state === 'suspect')) return;
    this.m.durable.forget(message.id);
  }

  // ---- transfer ----

  private commandTransfer(id: number, to: NodeId | null): void {
    const l = this.m.leader.current;
    if (!l) return this.relayTransfer(id, to);
    const target = this.transferTarget(id, to, this.m.selfId, l.epoch);
    if (target) this.m.handoff.handOff(target.id, id);
  }

  /**
   * A transfer asked of a follower: checked here as the leader would, then relayed to the leader
   * it follows. The answer comes when the target leads (or when the bound runs out).
   */
  private relayTransfer(id: number, to: NodeId | null): void {
    const leader = this.m.follower.liveNamedLeader();
    if (!leader) return this.m.out.fail(id, 'not-leader', 'this node is not the leader and knows no live leader to relay the transfer to');
    if (this.relayed) return this.m.out.fail(id, 'busy', `a relayed ${this.relayed.kind} is already under way`);
    const target = this.transferTarget(id, to, leader.id, leader.epoch);
    if (!target) return;
    this.relay(id, 'transfer', target.id);
    this.m.out.send(leader.id, { type: 'TRANSFER_REQUEST', epoch: leader.epoch, to: target.id });
  }

  /**
   * Whom a transfer away from `leaderId` (leading at `epoch`) goes to: `to`, or with null the
   * highest-ranked live Bully member other than the leader. Null once the command is answered
   * here instead (unknown, unfit, or already the leader).
   */
  private transferTarget(id: number, to: NodeId | null, leaderId: NodeId, epoch: number): ElectionMember | null {
    const { view, out } = this.m;
    if (to === null) {
      const self = view.member(this.m.selfId);
      const standing = self && this.m.mayStand() ? [self] : [];
      const target = highestRanked([...standing, ...view.alivePeers()].filter((m) => m.id !== leaderId && m.protocol === 'bully'));
      if (!target) out.fail(id, 'no-candidate', 'no other live Bully member to take over');
      return target;
    }
    const member = view.all.find((m) => m.id === to);
    if (!member) {
      out.fail(id, 'unknown-node', `${to} is not a known member`);
    } else if (member.id === leaderId) {
      out.reply(id, { ok: true, detail: member.self ? `already the leader at epoch ${epoch}` : `${member.name} already leads at epoch ${epoch}` });
    } else if (member.protocol !== 'bully') {
      out.fail(id, 'no-candidate', `${member.name} runs ${member.protocol}, not bully`);
    } else if (member.self && !this.m.mayStand()) {
      out.fail(id, 'no-candidate', 'this node resigned or is stopping and does not stand');
    } else if (!member.self && member.state !== 'alive') {
      out.fail(id, 'no-candidate', `${member.name} is ${member.state}`);
    } else {
      return member;
    }
    return null;
  }

  /** A member relays an operator's transfer: hand off as if asked here (the member sees the result). */
  onTransferRequest(from: NodeId, message: Message<'TRANSFER_REQUEST'>): void {
    const { leader, view, handoff } = this.m;
    const l = leader.current;
    if (!l || message.epoch !== l.epoch || handoff.shuttingDown || !leader.isFollower(from)) return;
    const target = view.member(message.to);
    if (!target || target.self || target.protocol !== 'bully' || target.state !== 'alive' || !leader.isFollower(target.id)) return;
    handoff.handOff(target.id, null);
  }

  // ---- resign ----

  private commandResign(id: number): void {
    const { out, config } = this.m;
    const l = this.m.leader.current;
    if (l) {
      const successor = this.resign(l);
      const handOff = successor ? `handing off to ${successor.name}` : 'no live member to hand off to';
      return out.reply(id, { ok: true, detail: `resigned leadership of epoch ${l.epoch}; ${handOff}; not standing for ${config.resignHoldMs} ms` });
    }
    // Asked of a follower: relayed to the leader it follows, as a transfer is.
    const leader = this.m.follower.liveNamedLeader();
    if (!leader) return out.fail(id, 'not-leader', this.notLeaderMessage());
    if (this.relayed) return out.fail(id, 'busy', `a relayed ${this.relayed.kind} is already under way`);
    this.relay(id, 'resign', leader.id);
    out.send(leader.id, { type: 'RESIGN_REQUEST', epoch: leader.epoch });
  }

  /** A member relays an operator's resign: resign as if asked here. */
  onResignRequest(from: NodeId, message: Message<'RESIGN_REQUEST'>): void {
    const l = this.m.leader.current;
    if (!l || message.epoch !== l.epoch || this.m.handoff.shuttingDown || !this.m.leader.isFollower(from)) return;
    this.resign(l);
  }

  /** Stops leading, stays out for resignHoldMs, and hands off to the next-ranked live member. */
  private resign(l: Leadership): ElectionMember | null {
    this.holdUntilMs = this.m.nowMs + this.m.config.resignHoldMs;
    const successor = this.m.view.successor((id) => this.m.leader.silentLately(id));
    this.m.stepDown();
    if (successor) this.m.out.send(successor.id, { type: 'TRANSFER', epoch: l.epoch });
    return successor;
  }

  private notLeaderMessage(): string {
    const leader = this.m.follower.namedLeader(this.m.nowMs);
    return leader ? `this node is not the leader; ${this.m.view.nameOf(leader.id)} leads at epoch ${leader.epoch}` : 'this node is not the leader; no leader is known';
  }

  // ---- elect ----

  private commandElect(id: number): void {
    const { out, view } = this.m;
    if (this.m.handoff.shuttingDown) return out.fail(id, 'shutting-down', 'this node is shutting down');
    const l = this.m.leader.current;
    if (l && view.selfIsHighestAlive()) {
      return out.reply(id, { ok: true, detail: `already leading at epoch ${l.epoch}; no live member outranks this node` });
    }
    if (l) {
      // The highest-ranked live member takes over: a hand-off, so no lease is broken.
      const target = view.successor();
      if (target) return this.m.handoff.handOff(target.id, id);
    }
    const leader = this.m.follower.liveNamedLeader();
    if (leader) {
      // A leader holds the lease: the Bully outcome (highest rank leads) comes by its hand-off.
      const self = view.member(this.m.selfId);
      const best = highestRanked([...(self && this.m.mayStand() ? [self] : []), ...view.alivePeers()]);
      if (!best || best.id === leader.id) {
        return out.reply(id, { ok: true, detail: `${view.nameOf(leader.id)} already leads at epoch ${leader.epoch}; no live member outranks it` });
      }
      if (this.relayed) return out.fail(id, 'busy', `a relayed ${this.relayed.kind} is already under way`);
      this.relay(id, 'elect', best.id);
      out.send(leader.id, { type: 'TRANSFER_REQUEST', epoch: leader.epoch, to: best.id });
      return;
    }
    this.pendingElects.push(id);
    if (this.m.candidate.joinElection(true)) return;
    this.m.candidate.startElection('command', true);
  }

  /** The election this node ran finished: answer the `elect` commands that waited for it. */
  answerElects(result: 'won' | 'lost' | 'aborted', term: number): void {
    const elects = this.pendingElects;
    this.pendingElects = [];
    const leader = this.m.follower.namedLeader(this.m.nowMs);
    const leaderName = leader ? this.m.view.nameOf(leader.id) : null;
    for (const id of elects) {
      const outcome: CommandResult =
        result === 'won'
          ? { ok: true, detail: `won the election: leading at epoch ${term}` }
          : result === 'lost'
            ? { ok: true, detail: `election finished: ${leaderName ?? 'another node'} leads at epoch ${term}` }
            : { ok: false, code: 'election-aborted', message: `the election gave up without a leader (${this.abortReason()}); it will be retried` };
      this.m.out.reply(id, outcome);
    }
  }

  /** Shutting down: `elect` commands still waiting will not see their election. */
  failElects(): void {
    for (const id of this.pendingElects) this.m.out.fail(id, 'shutting-down', 'this node is shutting down');
    this.pendingElects = [];
  }

  private abortReason(): string {
    if (this.holdUntilMs !== null) return 'this node resigned and does not stand';
    if (!this.m.durable.state.bootstrapped) return `the cluster has not yet been seen with ${this.m.bootstrapExpect} members (bootstrapExpect)`;
    if (!this.m.quorumNone() && !this.m.durable.majorityAlive()) return 'no majority of the cluster is reachable';
    return 'no claim was accepted by a majority';
  }

  // ---- relay ----

  private relay(commandId: number, kind: RelayedCommand['kind'], target: NodeId): void {
    this.relayed = { commandId, kind, target, deadlineMs: this.m.nowMs + this.m.config.answerTimeoutMs + 2 * this.m.config.coordinatorTimeoutMs };
  }

  /** Answers a relayed command once it took effect, or fails it at the bound (after every input). */
  checkRelayed(): void {
    const r = this.relayed;
    if (!r) return;
    const { view, out } = this.m;
    const l = this.m.leader.current;
    const leader = l ? { id: this.m.selfId, epoch: l.epoch } : this.m.follower.namedLeader(this.m.nowMs);
    const done = r.kind === 'resign' ? leader !== null && leader.id !== r.target : leader?.id === r.target;
    if (done && leader) {
      this.relayed = null;
      const detail =
        r.kind === 'resign' ? `${view.nameOf(r.target)} resigned; ${view.nameOf(leader.id)} leads at epoch ${leader.epoch}` : `${view.nameOf(r.target)} leads at epoch ${leader.epoch}`;
      out.reply(r.commandId, { ok: true, detail });
    } else if (this.m.nowMs >= r.deadlineMs) {
      this.relayed = null;
      const now = leader ? `${view.nameOf(leader.id)} leads` : 'no leader right now';
      const what = r.kind === 'resign' ? `${view.nameOf(r.target)} did not resign in time` : `${view.nameOf(r.target)} did not take over in time`;
      out.fail(r.commandId, r.kind === 'resign' ? 'resign-timeout' : 'transfer-timeout', `${what}; ${now}`);
    }
  }
}
