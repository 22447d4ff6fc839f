/**
 * The runtime drives the pure machines (DESIGN.md section 1): it is the only place with timers.
 * Inbound gossip, frames and connection hints go in as inputs; effects come out and become
 * gossip, frames, disk writes (before any send; see durable.ts) and API events.
 */
import { electionMembers, type Codec, type CommandResult, type Election, type ElectionMember, type ElectionStatus, type LeadershipCommand, type RefusalReason } from '../protocols/election.js';
import type { Membership } from '../protocols/membership/index.js';
import { heartbeatCodec } from '../protocols/membership/index.js';
import type { Heartbeat, Member, MembershipEvent } from '../protocols/membership/types.js';
import { OBSERVER_SUMMARY, type ElectionSummary, type NodeId } from '../protocols/types.js';
import type { ApiEvent, MemberResponse, NodeRef } from './api/types.js';
import { DurableState } from './durable.js';
import type { PersistError } from './errors.js';
import { LagMeter } from './lag.js';
import type { Logger } from './log.js';
import type { P2PNode } from './p2p/index.js';
import type { StateStore } from './store.js';

/** An election machine together with what the host needs to feed and persist it. */
export interface ElectionHost<M, P> {
  machine: Election<M, P>;
  messageCodec: Codec<M>;
  store: StateStore<P>;
}

export interface RuntimeInit {
  selfId: NodeId;
  membership: Membership;
  election: ElectionHost<unknown, unknown> | null;
  p2p: P2PNode;
  log: Logger;
  /** Monotonic clock in ms. */
  nowMs: () => number;
  /** How long the membership machine needs to send all its leave announcements. */
  leaveAnnounceMs?: number;
  /** Input granularity for timeouts; small enough for Bully's 100 ms-scale timers. */
  tickIntervalMs?: number;
  /** `cluster.bootstrapExpect`, reported while the protocol runs no election (observer). */
  bootstrapExpect: number;
  /** First value of the leader revision (the daemon passes wall-clock ms, so a restart never repeats one). */
  revisionBase: number;
}

export type RejectReason = 'oversized' | 'malformed' | 'queue-full' | 'rate-limited' | 'rate-limited-gossip' | 'oversized-gossip' | 'invalid-heartbeat' | 'invalid-message' | 'no-election' | 'impossible-incarnation' | RefusalReason;

/** Counters the metrics exporter reads at scrape time. */
export interface RuntimeStats {
  heartbeatsSent: number;
  heartbeatsReceived: number;
  messagesSent: Map<string, number>;
  messagesReceived: Map<string, number>;
  rejected: Map<RejectReason, number>;
  /** Completed leaderless periods; see leaderlessMs() for the running total. */
  leaderlessMsTotal: number;
  eventLoopLagMs: number;
  persistFailures: number;
}

const COMMAND_TIMEOUT_MS = 5000;
const SHUTDOWN_HANDOFF_MAX_MS = 700;
/** Time for the last leave heartbeat to leave the socket before libp2p closes. */
const LEAVE_FLUSH_MS = 100;
/** Upper bound on the time spent repeating the leave announcement. */
const LEAVE_MAX_MS = 650;
/** A node still short of bootstrapExpect members warns after this long, then at most this often. */
const BOOTSTRAP_WARN_AFTER_MS = 15_000;
const BOOTSTRAP_WARN_EVERY_MS = 60_000;
/** Event-loop lag is reported as the max over this window, so one stall is seen by several ticks. */
const LAG_WINDOW_MS = 1000;
/** Bound on machine ping-pong within one pump; a healthy pump needs 2–3 rounds. */
const MAX_PUMP_ROUNDS = 32;

export class Runtime {
  private readonly listeners = new Set<(event: ApiEvent) => void>();
  private readonly pendingCommands = new Map<number, (result: CommandResult) => void>();
  private readonly tickIntervalMs: number;
  private readonly startedAtMs: number;
  private tickTimer: NodeJS.Timeout | null = null;
  private readonly lagMeter: LagMeter;
  private nextCommandId = 1;
  private summary: ElectionSummary;
  private leaderlessSinceMs: number | null;
  private leaderSinceMs: number | null = null;
  private shutdownReady: (() => void) | null = null;
  private stopping: Promise<void> | null = null;
  /** Changes with every change of the election summary: what a long-poll waits on. */
  private revision: number;
  /** Inside input(): the machines are mid-pump and must not be stepped again. */
  private pumping = false;
  private nextBootstrapWarnMs: number;
  /** What of the election state is on disk: sends and reports follow it (see durable.ts). */
  private readonly durable: DurableState<unknown> | null;
  readonly stats: RuntimeStats = {
    heartbeatsSent: 0,
    heartbeatsReceived: 0,
    messagesSent: new Map(),
    messagesReceived: new Map(),
    rejected: new Map(),
    leaderlessMsTotal: 0,
    eventLoopLagMs: 0,
    persistFailures: 0,
  };

  constructor(private readonly init: RuntimeInit) {
    this.tickIntervalMs = init.tickIntervalMs ?? 25;
    this.lagMeter = new LagMeter(this.tickIntervalMs, LAG_WINDOW_MS);
    this.startedAtMs = init.nowMs();
    this.summary = init.election ? init.election.machine.summary(this.startedAtMs) : { ...OBSERVER_SUMMARY };
    this.durable = init.election ? new DurableState(init.election.store, this.summary) : null;
    this.leaderlessSinceMs = init.election && this.summary.leader === null ? this.startedAtMs : null;
    this.revision = init.revisionBase;
    this.nextBootstrapWarnMs = this.startedAtMs + BOOTSTRAP_WARN_AFTER_MS;
  }

  get selfId(): NodeId {
    return this.init.selfId;
  }

  get uptimeMs(): number {
    return this.init.nowMs() - this.startedAtMs;
  }

  /**
   * What this node reports now: the election is stepped to the present first, so a lease that ran
   * out since the last tick is never reported (and the revision has already moved with it).
   */
  get electionSummary(): ElectionSummary {
    this.catchUp();
    return { ...this.summary };
  }

  /** The summary with its revision and, on the leader, the lease left; all as of now. */
  leadership(): { summary: ElectionSummary; revision: number; status: ElectionStatus } {
    this.catchUp();
    return { summary: { ...this.summary }, revision: this.revision, status: this.electionStatus() };
  }

  electionStatus(): ElectionStatus {
    const election = this.init.election;
    if (election) {
      const status = election.machine.status(this.init.nowMs());
      // No lease is reported while the state it was won on is not on disk (the summary says follower then).
      return this.durable?.durable === false ? { ...status, leaseRemainingMs: null } : status;
    }
    const seen = this.init.membership.members().filter((m) => m.state !== 'left').length;
    return { leaseRemainingMs: null, bootstrap: { expect: this.init.bootstrapExpect, seen, complete: false } };
  }

  /** Steps the election to the present (a tick) unless a pump is running; answers then match the clock. */
  private catchUp(): void {
    const election = this.init.election;
    if (!election || this.pumping || this.stopping) return;
    this.input(() => election.machine.step({ type: 'tick', nowMs: this.init.nowMs() }));
  }

  /** The last failed write of the election state while it is not on disk; null while it is. */
  persistError(): PersistError | null {
    return this.durable?.error ?? null;
  }

  /** When this node last saw the leader change (monotonic ms), for "leader for 42 s". */
  get leaderSince(): number | null {
    return this.leaderSinceMs;
  }

  /** Time without a leader so far, the current leaderless period included. */
  leaderlessMs(): number {
    const ongoing = this.leaderlessSinceMs === null ? 0 : this.init.nowMs() - this.leaderlessSinceMs;
    return this.stats.leaderlessMsTotal + ongoing;
  }

  get hasElection(): boolean {
    return this.init.election !== null;
  }

  members(): Member[] {
    return this.init.membership.members();
  }

  /** Membership's local-health multiplier (1 = healthy; higher stretches its timeouts). */
  health(): number {
    return this.init.membership.health();
  }

  nodeRef(id: NodeId | null): NodeRef | null {
    if (id === null) return null;
    return { id, name: this.init.membership.member(id)?.name ?? id };
  }

  toMemberResponse(member: Member, nowMs = this.init.nowMs()): MemberResponse {
    return {
      id: member.id,
      name: member.name,
      addrs: [...member.addrs],
      state: member.state,
      incarnation: member.incarnation,
      lastSeenMs: member.self ? 0 : Math.max(0, Math.round(nowMs - member.lastHeardMs)),
      self: member.self,
      protocol: member.protocol,
      role: member.role,
      term: member.term,
      leader: member.leader,
      priority: member.priority,
      version: member.version,
    };
  }

  subscribe(listener: (event: ApiEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  start(): void {
    if (this.tickTimer) return;
    const { p2p } = this.init;
    p2p.onGossip((from, data) => this.onGossip(from, data));
    p2p.onMessage((from, message) => this.onMessage(from, message));
    p2p.onReject((from, reason) => this.reject(from, reason));
    p2p.onPeer((peer, event) => {
      if (event === 'disconnected') this.input(() => this.init.membership.step({ type: 'connection-closed', nowMs: this.init.nowMs(), peer }));
    });
    this.tickTimer = setInterval(() => this.tick(), this.tickIntervalMs);
    this.tick();
  }

  /** Routes a leadership command to the election machine; null when this protocol has none. */
  command(command: LeadershipCommand): Promise<CommandResult> | null {
    const election = this.init.election;
    if (!election || this.stopping) return null;
    const id = this.nextCommandId++;
    const result = new Promise<CommandResult>((resolve) => {
      const timer = setTimeout(() => {
        this.pendingCommands.delete(id);
        resolve({ ok: false, code: 'timeout', message: `no result within ${COMMAND_TIMEOUT_MS} ms` });
      }, COMMAND_TIMEOUT_MS);
      this.pendingCommands.set(id, (r) => {
        clearTimeout(timer);
        resolve(r);
      });
    });
    this.input(() => election.machine.step({ type: 'command', nowMs: this.init.nowMs(), id, command }));
    if (command.kind !== 'forget') return result;
    // Forgotten by the election: this node's membership drops its dead entry now as well.
    return result.then((r) => {
      if (r.ok) this.input(() => this.init.membership.step({ type: 'forget', nowMs: this.init.nowMs(), id: command.id }));
      return r;
    });
  }

  /**
   * Graceful stop: a leader hands off first (bounded), then membership announces `left`
   * and the leave heartbeat gets a moment to leave the socket. Safe to call twice.
   */
  shutdown(): Promise<void> {
    this.stopping ??= this.doShutdown();
    return this.stopping;
  }

  private async doShutdown(): Promise<void> {
    const election = this.init.election;
    if (election) {
      const ready = new Promise<void>((resolve) => {
        this.shutdownReady = resolve;
        setTimeout(resolve, SHUTDOWN_HANDOFF_MAX_MS);
      });
      this.input(() => election.machine.step({ type: 'shutdown', nowMs: this.init.nowMs() }));
      await ready;
    }
    this.input(() => this.init.membership.step({ type: 'leave', nowMs: this.init.nowMs() }));
    // Ticks go on while the machine repeats its leave announcement (one lost copy must not turn
    // a leave into a death), bounded so the process still exits within 2 s.
    // With no peer connected there is nobody to tell: leave at once (a lone node exits fast).
    const alone = this.init.p2p.connectedPeers().length === 0;
    const leaveMs = alone ? 0 : Math.min(LEAVE_MAX_MS, this.init.leaveAnnounceMs ?? LEAVE_MAX_MS) + LEAVE_FLUSH_MS;
    await new Promise((resolve) => setTimeout(resolve, leaveMs));
    if (this.tickTimer) clearInterval(this.tickTimer);
    this.tickTimer = null;
    for (const resolve of this.pendingCommands.values()) {
      resolve({ ok: false, code: 'shutting-down', message: 'the daemon is shutting down' });
    }
    this.pendingCommands.clear();
  }

  private tick(): void {
    const nowMs = this.init.nowMs();
    this.stats.eventLoopLagMs = this.lagMeter.tick(nowMs);
    this.input(() => {
      this.init.membership.step({ type: 'tick', nowMs, localLagMs: this.stats.eventLoopLagMs });
      this.init.election?.machine.step({ type: 'tick', nowMs });
    });
    if (nowMs >= this.nextBootstrapWarnMs) this.warnIfNotBootstrapped(nowMs);
  }

  /** A node that never sees its cluster whole never leads, silently: say so, and why it may be. */
  private warnIfNotBootstrapped(nowMs: number): void {
    this.nextBootstrapWarnMs = nowMs + BOOTSTRAP_WARN_EVERY_MS;
    if (!this.init.election) return;
    const { bootstrap } = this.electionStatus();
    if (bootstrap.complete) {
      this.nextBootstrapWarnMs = Number.POSITIVE_INFINITY;
      return;
    }
    this.init.log.warn(
      { seen: bootstrap.seen, bootstrapExpect: bootstrap.expect, waitingS: Math.round((nowMs - this.startedAtMs) / 1000) },
      `waiting for the cluster: seen ${bootstrap.seen} of ${bootstrap.expect} members (cluster.bootstrapExpect), and no node leads before that. ` +
        'Likely causes: multicast blocked between the hosts (list peers under discovery.bootstrap), a different pre-shared key ' +
        '(security.pskFile) or cluster name on the other nodes, a firewall on the listen port; or bootstrapExpect is larger than the number of servers',
    );
  }

  private onGossip(from: string, data: Uint8Array): void {
    let value: unknown;
    try {
      value = JSON.parse(Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('utf8'));
    } catch {
      this.reject(from, 'invalid-heartbeat');
      return;
    }
    const parsed = heartbeatCodec.parse(value);
    if (!parsed.ok) {
      this.reject(from, 'invalid-heartbeat', parsed.reason);
      return;
    }
    this.stats.heartbeatsReceived++;
    const heartbeat: Heartbeat = parsed.value;
    this.input(() => this.init.membership.step({ type: 'heartbeat', nowMs: this.init.nowMs(), from, heartbeat }));
  }

  private onMessage(from: string, message: unknown): void {
    const election = this.init.election;
    if (!election) {
      this.reject(from, 'no-election');
      return;
    }
    const parsed = election.messageCodec.parse(message);
    if (!parsed.ok) {
      this.reject(from, 'invalid-message', parsed.reason);
      return;
    }
    bump(this.stats.messagesReceived, messageType(parsed.value));
    this.input(() => election.machine.step({ type: 'message', nowMs: this.init.nowMs(), from, message: parsed.value }));
  }

  private readonly lastRejectLogMs = new Map<string, number>();

  /** Counts a dropped inbound message; logs it at most once a minute per peer and reason. */
  private reject(from: string, reason: RejectReason, detail?: string): void {
    bump(this.stats.rejected, reason);
    const key = `${from}/${reason}`;
    const nowMs = this.init.nowMs();
    const last = this.lastRejectLogMs.get(key);
    if (last !== undefined && nowMs - last < 60_000) return;
    // Bounded: a stranger cycling identities must not grow it; at worst some drops log early.
    if (this.lastRejectLogMs.size >= 4096) this.lastRejectLogMs.clear();
    this.lastRejectLogMs.set(key, nowMs);
    this.init.log.warn({ peer: from, reason, detail }, 'dropped a message from a peer (further drops of this kind are counted, logged again in a minute)');
  }

  /** Applies one input, then pumps effects between the machines until both are quiet. */
  private input(apply: () => void): void {
    const outer = this.pumping;
    this.pumping = true;
    try {
      apply();
      this.pump();
    } catch (err) {
      this.init.log.error({ err }, 'runtime error while handling an input');
    } finally {
      this.pumping = outer;
    }
  }

  private pump(): void {
    const { membership, election } = this.init;
    for (let round = 0; round < MAX_PUMP_ROUNDS; round++) {
      let busy = false;
      const membershipEffects = membership.drain();
      let membersChanged = false;
      for (const effect of membershipEffects) {
        busy = true;
        if (effect.type === 'publish') this.publish(effect.heartbeat);
        else if (effect.type === 'event') membersChanged = this.onMembershipEvent(effect.event) || membersChanged;
      }
      if (membersChanged) {
        this.init.p2p.keepConnected(
          membership
            .members()
            .filter((m) => !m.self && m.state !== 'left')
            .map((m) => ({ id: m.id, addrs: m.addrs })),
        );
        election?.machine.step({ type: 'members', nowMs: this.init.nowMs(), members: this.electionView() });
      }
      if (election) {
        const effects = election.machine.drain();
        if (effects.length > 0) busy = true;
        this.applyElectionEffects(election, effects);
        this.checkSummary();
      }
      if (!busy) return;
    }
    this.init.log.warn({ rounds: MAX_PUMP_ROUNDS }, 'machines kept producing effects; deferring the rest to the next tick');
  }

  private electionView(): ElectionMember[] {
    return electionMembers(this.init.membership.members());
  }


  private applyElectionEffects(election: ElectionHost<unknown, unknown>, effects: ReturnType<Election<unknown, unknown>['drain']>): void {
    // Persist-before-send: the newest state is on disk before any message leaves, in this batch
    // and in every later one until a failed write succeeds (retried by durable.save).
    const states = effects.flatMap((effect) => (effect.type === 'persist' && effect.batch.hardState !== undefined ? [effect.batch.hardState] : []));
    const outcome = this.durable?.save(states, this.init.nowMs());
    if (outcome === 'failed' || outcome === 'failed-again') this.stats.persistFailures++;
    if (outcome === 'failed') {
      this.init.log.error(
        { err: this.durable?.error, file: election.store.path },
        'cannot persist election state; withholding election messages and reporting no leadership until it is written (retried every second)',
      );
    } else if (outcome === 'recovered') {
      this.init.log.info({ file: election.store.path, persistFailures: this.stats.persistFailures }, 'election state persisted again; election messages resume');
    }
    const persisted = this.durable?.durable ?? true;
    for (const effect of effects) {
      switch (effect.type) {
        case 'persist':
          break;
        case 'send':
          if (!persisted) break;
          bump(this.stats.messagesSent, messageType(effect.message));
          this.init.p2p.send(effect.to, effect.message);
          break;
        case 'election-started':
          // Withheld like the sends: an election on state that is not on disk is not reported.
          if (!persisted) break;
          this.emit('election-started', { term: effect.term, reason: effect.reason });
          this.init.log.info({ event: 'election-started', term: effect.term, reason: effect.reason }, 'election started');
          break;
        case 'election-finished':
          if (!persisted) break;
          this.emit('election-finished', { term: effect.term, result: effect.result, durationMs: effect.durationMs });
          break;
        case 'command-result': {
          const resolve = this.pendingCommands.get(effect.id);
          this.pendingCommands.delete(effect.id);
          resolve?.(effect.result);
          break;
        }
        case 'shutdown-ready':
          this.shutdownReady?.();
          break;
        case 'refused':
          this.reject(effect.from, effect.reason, effect.detail);
          break;
      }
    }
  }

  /** Diffs the election summary; emits role/term/leader events and gossips the new summary. */
  private checkSummary(): void {
    const election = this.init.election;
    if (!election) return;
    const nowMs = this.init.nowMs();
    const machineSummary = election.machine.summary(nowMs);
    const next = this.durable?.report(machineSummary) ?? machineSummary;
    const prev = this.summary;
    if (next.role === prev.role && next.term === prev.term && next.leader === prev.leader && next.fencingToken === prev.fencingToken) return;
    this.summary = { ...next };
    this.revision++;
    if (next.term !== prev.term) this.emit('term-changed', { from: prev.term, to: next.term });
    if (next.role !== prev.role) {
      this.emit('role-changed', { from: prev.role, to: next.role, term: next.term });
      this.init.log.info({ event: 'role-changed', from: prev.role, to: next.role, term: next.term }, `role: ${next.role}`);
    }
    if (next.leader !== prev.leader) {
      let leaderlessMs = 0;
      if (next.leader === null) {
        this.leaderlessSinceMs = nowMs;
      } else if (this.leaderlessSinceMs !== null) {
        leaderlessMs = Math.round(nowMs - this.leaderlessSinceMs);
        this.stats.leaderlessMsTotal += leaderlessMs;
        this.leaderlessSinceMs = null;
      }
      this.leaderSinceMs = next.leader === null ? null : nowMs;
      const to = this.nodeRef(next.leader);
      this.emit('leader-changed', { from: this.nodeRef(prev.leader), to, term: next.term, fencingToken: next.fencingToken, leaderlessMs });
      this.init.log.info({ event: 'leader-changed', leader: to?.name ?? null, term: next.term, fencingToken: next.fencingToken, leaderlessMs }, to ? `leader is ${to.name}` : 'no leader');
    }
    this.init.membership.step({ type: 'update-self', nowMs, meta: { ...next } });
  }

  private publish(heartbeat: Heartbeat): void {
    this.stats.heartbeatsSent++;
    this.init.p2p.publish(new TextEncoder().encode(JSON.stringify(heartbeat)));
  }

  /** Turns a membership event into an API event and a log line; true when the view changed. */
  private onMembershipEvent(event: MembershipEvent): boolean {
    const log = this.init.log;
    switch (event.type) {
      case 'member-joined':
        log.info({ event: event.type, member: event.member.name, id: event.member.id }, 'member joined');
        this.emit(event.type, { member: this.toMemberResponse(event.member) });
        return true;
      case 'member-updated':
        this.emit(event.type, { member: this.toMemberResponse(event.member) });
        return true;
      case 'refuted':
        log.warn({ event: event.type, incarnation: event.incarnation, by: this.nodeRef(event.by)?.name }, 'refuted a suspicion of this node');
        this.emit(event.type, { incarnation: event.incarnation, by: event.by });
        return false;
      case 'accusation-ignored':
        // Counted and logged like any dropped message: once a minute per peer.
        this.reject(event.by, 'impossible-incarnation', `an accusation of incarnation ${event.incarnation}, above this node's own`);
        return false;
      case 'protocol-mismatch':
        log.warn({ event: event.type, member: event.name, protocol: event.protocol, expected: event.expected }, 'member runs another protocol; shown, never counted in elections');
        this.emit(event.type, { id: event.id, name: event.name, protocol: event.protocol, expected: event.expected });
        return true;
      default: {
        const { type, ...fields } = event;
        const { id: _id, name, ...details } = fields;
        log[type === 'member-dead' ? 'warn' : 'info']({ event: type, member: name, ...details }, type.replace('-', ' '));
        this.emit(type, fields);
        return true;
      }
    }
  }

  private emit(type: string, fields: Record<string, unknown>): void {
    const event: ApiEvent = { type, at: new Date().toISOString(), ...fields };
    for (const listener of this.listeners) {
      try {
        listener(event);
      } catch (err) {
        this.init.log.warn({ err, type }, 'event listener failed');
      }
    }
  }
}

function bump<K>(map: Map<K, number>, key: K): void {
  map.set(key, (map.get(key) ?? 0) + 1);
}

/** The `type` field of a protocol message, for per-type counters. */
function messageType(message: unknown): string {
  const type = (message as { type?: unknown } | null)?.type;
  return typeof type === 'string' ? type.slice(0, 32) : 'unknown';
}
