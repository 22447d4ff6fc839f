/**
 * The runtime is the daemon's I/O around the host core (protocols/host/core.ts), which holds the
 * whole protocol flow: it owns the one timer (set for the core's next deadline), the p2p node,
 * the disk and the API event fan-out. Inbound bytes are decoded once (p2p/frames.ts) and
 * validated by the machines' codecs here; every output of the core becomes a send, a write, an
 * event or a log line, in the order the core gave.
 */
import type { CommandResult, Election, LeadershipCommand } from '../protocols/election.js';
import { HostCore, type ElectionFactory, type HostInput, type HostOutput, type NodeBatch, type ProtocolStatus, type RefusedReason } from '../protocols/host/core.js';
import type { NodeEvent, NodeRef } from '../protocols/host/events.js';
import { kvRequestError, type KvAnswer, type KvRequest } from '../protocols/kv/requests.js';
import type { KvEvent } from '../protocols/kv/types.js';
import type { Membership } from '../protocols/membership/index.js';
import { heartbeatCodec } from '../protocols/membership/index.js';
import type { Heartbeat, Member, MembershipTimings } from '../protocols/membership/types.js';
import type { Codec, ElectionSummary, NodeId, ProtocolName } from '../protocols/types.js';
import type { ElectionStatus } from '../protocols/election.js';
import { expectTooLow, expectTooLowWarning } from '../shared/bootstrap-expect.js';
import { stampEvent } from './api/event-codec.js';
import type { ApiEvent, MemberResponse } from './api/types.js';
import { DeferredWrites } from './deferred-writes.js';
import type { PersistError } from './errors.js';
import { JITTER_MS, LagMeter } from './lag.js';
import { logAt, type Logger } from './log.js';
import type { FrameRejectReason, P2PNode } from './p2p/index.js';
import { createRejectLogLimiter } from './p2p/reject-log.js';

/** An election machine together with the codec for its messages. */
export interface ElectionHost<M, P> {
  machine: Election<M, P>;
  messageCodec: Codec<M>;
}

/** Where the core's persist batches go. Resolves once the batch is on disk; rejects with PersistError. */
export interface NodeDisk {
  write(batch: NodeBatch): Promise<void>;
}

export interface RuntimeInit {
  selfId: NodeId;
  membership: Membership;
  election: ElectionHost<unknown, unknown> | null;
  disk: NodeDisk;
  p2p: P2PNode;
  log: Logger;
  /** Monotonic clock in ms. */
  nowMs: () => number;
  /** `cluster.bootstrapExpect`, reported while the protocol runs no election (observer). */
  bootstrapExpect: number;
  /** First value of the leader revision (the daemon passes wall-clock ms, so a restart never repeats one). */
  revisionBase: number;
  /**
   * A write failed: memory and disk disagree, and the node must not carry on. The daemon logs it
   * and exits with status 1. Called once.
   */
  onFatal(err: PersistError): void;
  /** The deadline timer; tests that move time themselves pass one that never fires. Default: setTimeout. */
  timers?: Timers;
  /**
   * Live protocol switches (protocols/host/switch.ts): the node's stored era, the machine of
   * another protocol built on demand, and every protocol's message codec. Absent: this node
   * runs `election` only.
   */
  switching?: { era: { era: number; requested: ProtocolName }; factory: ElectionFactory; codecs: Record<ProtocolName, Codec<unknown>> };
}

export interface Timers {
  set(fire: () => void, delayMs: number): unknown;
  clear(handle: unknown): void;
}

const REAL_TIMERS: Timers = {
  set: (fire, delayMs) => setTimeout(fire, delayMs),
  clear: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

export type RejectReason = FrameRejectReason | 'invalid-heartbeat' | 'invalid-message' | RefusedReason;

/** Every reject reason, for metrics that must show each label from the first scrape. */
export const REJECT_REASONS = [
  'oversized',
  'malformed',
  'queue-full',
  'rate-limited',
  'rate-limited-gossip',
  'oversized-gossip',
  'invalid-heartbeat',
  'invalid-message',
  'no-election',
  'not-a-member',
  'epoch-out-of-range',
  'impossible-incarnation',
  'malformed-snapshot',
] as const satisfies readonly RejectReason[];
/** Fails to compile when a reason is added to RejectReason but not listed above. */
const ALL_REJECT_REASONS_LISTED: Exclude<RejectReason, (typeof REJECT_REASONS)[number]> extends never ? true : never = true;
void ALL_REJECT_REASONS_LISTED;

/** Counters the metrics exporter reads at scrape time. */
export interface RuntimeStats {
  heartbeatsSent: number;
  heartbeatsReceived: number;
  messagesSent: Map<string, number>;
  messagesReceived: Map<string, number>;
  rejected: Map<RejectReason, number>;
  eventLoopLagMs: number;
  /** Persist batches written and how long each took (the last few hundred). */
  persistBatches: number;
}

/** Codecs are warmed (warmCodecs) this long after start, once the API answers and the first heartbeats went out. */
const WARM_CODECS_AFTER_MS = 300;
/** Time for the last leave heartbeat to leave the socket before libp2p closes. */
const LEAVE_FLUSH_MS = 100;
/** A graceful stop ends by this even if the core never says `stopped` (a disk that never answers). */
const STOP_MAX_MS = 1800;
/**
 * A deferrable write (deferred-writes.ts: a leaving Raft leader's handover record) waits at most
 * this long, or until a write that is not deferrable comes; a SIGTERM hand-off takes 15–25 ms.
 */
export const DEFERRED_WRITE_MAX_MS = 50;
/**
 * An event's log line is written this long after the event, stamped with the event's time: a
 * hand-off's role, term and leader changes are logged at every node in the very milliseconds the
 * nodes need the cores to take the new leader in, and a line, cold in a daemon, costs about 0.1 ms
 * (SIGTERM hand-offs, 16 paired rounds of 12 alternated: 1.3 ms less on average, README "Raft ›
 * Hand-off"). Listeners (the event streams, the hook runner) still hear at once. A stop, graceful
 * or on a failed write, writes the queued lines and every later one at once; a kill -9 loses at
 * most this much of them.
 */
export const EVENT_LOG_DELAY_MS = 50;
/** Event-loop lag is reported as the max over this window, so one stall is seen by several ticks. */
const LAG_WINDOW_MS = 1000;
/**
 * A member declared dead keeps its connections this long, and loses them only if still dead
 * then. Closing at once made an overloaded cluster worse: a busy member falsely declared dead
 * refutes within a second or two, but its connection was gone, so it cost a new handshake, and
 * the close itself is a hint against this node at the other end.
 */
export const DEAD_DISCONNECT_DELAY_MS = 3_000;
/** A join arms the bootstrapExpect check this much later, so a starting cluster is counted whole. */
export const EXPECT_WARN_SETTLE_MS = 10_000;
/** A larger count than the one warned of is logged at most this often. */
const EXPECT_WARN_EVERY_MS = 60_000;

/** A leader's late heartbeats are logged once, then at most this often (with how many came meanwhile). */
const LATE_LOG_EVERY_MS = 10_000;

export class Runtime {
  private readonly core: HostCore;
  private readonly listeners = new Set<(event: ApiEvent) => void>();
  private readonly commandResults = new Map<number, (result: CommandResult) => void>();
  private readonly kvAnswers = new Map<number, (answer: KvAnswer) => void>();
  private readonly kvListeners = new Set<(events: KvEvent[]) => void>();
  private nextKvId = 1;
  private readonly startedAtMs: number;
  private readonly lag = new LagMeter(LAG_WINDOW_MS);
  private readonly rejectLog = createRejectLogLimiter();
  private timer: unknown = null;
  /** Members declared dead, and when their connections close if they are still dead then. */
  private readonly pendingDisconnects = new Map<NodeId, number>();
  private readonly timers: Timers;
  /** Where writes go: to the disk, or held behind a deferrable one (deferred-writes.ts). */
  private readonly writes: DeferredWrites;
  private timerDueMs = Infinity;
  private started = false;
  private nextCommandId = 1;
  private stopped: (() => void) | null = null;
  private stopping: Promise<void> | null = null;
  private fatal = false;
  /** Events of steps already carried out, logged and published at the check phase (deferEvent). */
  private deferredEvents: NodeEvent[] = [];
  /** Events whose log lines are still to be written, with their times (EVENT_LOG_DELAY_MS). */
  private eventLogs: { event: NodeEvent; atMs: number }[] = [];
  private eventLogTimer: unknown = null;
  /** Stopped or stopping on a failure: event lines are written at once (nothing may be left for a timer). */
  private eventLogsAtOnce = false;
  /** Writes on disk not yet acknowledged to the core, which takes them in order (acknowledgeWrites). */
  private readonly resolvedWrites = new Set<number>();
  /** The last write acknowledged to the core: every one through it. */
  private acknowledgedWrite = 0;
  /** An acknowledgeWrites() is queued. */
  private acknowledging = false;
  private lateHeartbeats = 0;
  private lateLoggedAtMs = -Infinity;
  /** The bootstrapExpect check armed by a join (armBootstrapExpectCheck), or null. */
  private expectCheck: unknown = null;
  /** The live members, and when, a too-low bootstrapExpect was last logged for. */
  private expectWarnedLive = 0;
  private expectWarnedAtMs = -Infinity;
  readonly stats: RuntimeStats = {
    heartbeatsSent: 0,
    heartbeatsReceived: 0,
    messagesSent: new Map(),
    messagesReceived: new Map(),
    rejected: new Map(),
    eventLoopLagMs: 0,
    persistBatches: 0,
  };

  constructor(private readonly init: RuntimeInit) {
    this.startedAtMs = init.nowMs();
    this.timers = init.timers ?? REAL_TIMERS;
    this.writes = new DeferredWrites((batch) => init.disk.write(batch), DEFERRED_WRITE_MAX_MS, this.timers);
    this.core = new HostCore({
      selfId: init.selfId,
      membership: init.membership,
      election: init.election?.machine ?? null,
      nowMs: this.startedAtMs,
      bootstrapExpect: init.bootstrapExpect,
      revisionBase: init.revisionBase,
      ...(init.switching ? { era: init.switching.era, factory: init.switching.factory } : {}),
    });
  }

  /** The protocol era, what this node asks for, and a switch under way. */
  protocolStatus(): ProtocolStatus {
    return this.core.protocolStatus();
  }

  /** This node now asks for `protocol` (a reload found it changed in the config). */
  requestProtocol(protocol: ProtocolName): void {
    this.input({ type: 'request-protocol', nowMs: this.init.nowMs(), protocol });
  }

  /** `conclave protocol switch`: resolves once this node runs `protocol`, or with the reason it does not yet. */
  orderProtocol(protocol: ProtocolName): Promise<CommandResult> {
    if (this.stopping) return Promise.resolve({ ok: false, code: 'shutting-down', message: 'the daemon is shutting down' });
    const id = this.nextCommandId++;
    return new Promise((resolve) => {
      this.commandResults.set(id, resolve);
      this.input({ type: 'order-protocol', nowMs: this.init.nowMs(), id, protocol });
    });
  }

  get selfId(): NodeId {
    return this.init.selfId;
  }

  get uptimeMs(): number {
    return this.init.nowMs() - this.startedAtMs;
  }

  get hasElection(): boolean {
    return this.core.hasElection;
  }

  /** The summary with its revision and, on the leader, the lease left; all as of now. */
  leadership(): { summary: ElectionSummary; revision: number; status: ElectionStatus } {
    const nowMs = this.catchUp();
    return { summary: this.core.summary(nowMs), revision: this.core.revision, status: this.core.status(nowMs) };
  }

  /**
   * What this node reports now, without stepping the core first: for those who follow the
   * runtime's events (the hook runner), which read it just after a batch was carried out, so the
   * core is current to the input that made them; a lease that ran out since is not reported
   * (HostCore.summary), and the tick that notices it brings its own events. The step that
   * leadership() takes cost each node of a SIGTERM hand-off a whole tick of both machines in its
   * busiest milliseconds (README "Hand-off").
   */
  get reportedSummary(): ElectionSummary {
    return this.core.summary(this.init.nowMs());
  }

  /**
   * Steps the core to the present, so an answer never lags the clock by a late timer (a lease
   * that ran out a moment ago has already moved the revision). Returns the time it stepped to.
   */
  private catchUp(): number {
    const nowMs = this.init.nowMs();
    if (!this.stopping && !this.core.stopped) this.input({ type: 'tick', nowMs, lagMs: this.lag.lagMs });
    return nowMs;
  }

  /** When this node last saw the leader change (monotonic ms), for "leader for 42 s". */
  get leaderSince(): number | null {
    return this.core.leaderSince;
  }

  /** Time without a leader so far, the current leaderless period included. */
  leaderlessMs(): number {
    return this.core.leaderlessMs(this.init.nowMs());
  }

  members(): Member[] {
    return this.core.members();
  }

  /** Membership's local-health multiplier (1 = healthy; higher stretches its timeouts). */
  health(): number {
    return this.core.health();
  }

  nodeRef(id: NodeId | null): NodeRef | null {
    return this.core.nodeRef(id);
  }

  toMemberResponse(member: Member): MemberResponse {
    return this.core.memberView(member, this.init.nowMs());
  }

  subscribe(listener: (event: ApiEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  start(): void {
    if (this.started) return;
    this.started = true;
    const { p2p } = this.init;
    p2p.onGossip((from, value) => this.onGossip(from, value));
    p2p.onMessage((from, value, protocol) => this.onMessage(from, value, protocol));
    p2p.onReject((from, reason) => this.reject(from, reason));
    p2p.onPeer((peer, event) => {
      if (event === 'disconnected') this.input({ type: 'connection-closed', nowMs: this.init.nowMs(), peer });
    });
    this.input({ type: 'tick', nowMs: this.init.nowMs(), lagMs: 0 });
    setTimeout(() => this.warmCodecs(), WARM_CODECS_AFTER_MS).unref();
  }

  /**
   * The message codecs' one-time work (compiling their parsers), done once start-up is over
   * instead of on the first message of each kind: a node met its first VOTE_RESPONSE and
   * APPEND_RESPONSE the moment it became leader, and paid for them in the middle of a hand-off.
   */
  private warmCodecs(): void {
    if (this.stopping) return;
    const codecs = this.init.switching ? Object.values(this.init.switching.codecs) : [this.init.election?.messageCodec];
    for (const codec of codecs) codec?.warm?.();
  }

  /** Trace lines cost a clock read and a record per message: asked each time, so a reload's log level takes effect. */
  private get tracing(): boolean {
    return this.init.log.isLevelEnabled('trace');
  }

  /** New membership timings (`conclave reload`), used from the next tick; membership ignores timings that cannot run. */
  setMembershipTimings(timings: MembershipTimings): void {
    if (this.stopping) return;
    this.input({ type: 'membership-timings', nowMs: this.init.nowMs(), timings });
  }

  /** Routes a leadership command to the election machine; null when this protocol has none. */
  command(command: LeadershipCommand): Promise<CommandResult> | null {
    if (!this.core.hasElection || this.stopping) return null;
    const id = this.nextCommandId++;
    const result = new Promise<CommandResult>((resolve) => this.commandResults.set(id, resolve));
    this.input({ type: 'command', nowMs: this.init.nowMs(), id, command });
    return result;
  }

  /** Every change the store applies here, in order (what watches follow); returns the unsubscribe function. */
  subscribeKv(listener: (events: KvEvent[]) => void): () => void {
    this.kvListeners.add(listener);
    return () => this.kvListeners.delete(listener);
  }

  /** A key-value request to the store (Raft); answered `not-raft` by the core under another protocol. */
  kv(request: KvRequest): Promise<KvAnswer> {
    if (this.stopping) return Promise.resolve(kvRequestError('shutting-down', 'the daemon is shutting down'));
    const id = this.nextKvId++;
    const answer = new Promise<KvAnswer>((resolve) => this.kvAnswers.set(id, resolve));
    this.input({ type: 'kv', nowMs: this.init.nowMs(), id, request });
    return answer;
  }

  /**
   * Graceful stop, sequenced by the core (hand-off, then the leave announcements); the runtime
   * only waits for its `stopped` and lets the last heartbeat leave the socket. Safe to call twice.
   */
  shutdown(): Promise<void> {
    this.stopping ??= this.doShutdown();
    return this.stopping;
  }

  private async doShutdown(): Promise<void> {
    const stopped = new Promise<void>((resolve) => {
      this.stopped = resolve;
      setTimeout(resolve, STOP_MAX_MS).unref();
    });
    this.input({ type: 'shutdown', nowMs: this.init.nowMs() });
    await stopped;
    this.writes.release();
    this.flushEvents();
    this.logEventsAtOnce();
    // With no peer connected nobody is waiting for the last heartbeat: exit at once.
    if (this.init.p2p.connectedPeers().length > 0) await new Promise((resolve) => setTimeout(resolve, LEAVE_FLUSH_MS));
    this.clearTimer();
    if (this.expectCheck !== null) this.timers.clear(this.expectCheck);
    this.expectCheck = null;
    for (const resolve of this.commandResults.values()) resolve({ ok: false, code: 'shutting-down', message: 'the daemon is shutting down' });
    this.commandResults.clear();
    for (const resolve of this.kvAnswers.values()) resolve(kvRequestError('shutting-down', 'the daemon is shutting down; a write may still be applied'));
    this.kvAnswers.clear();
  }

  private onGossip(from: string, value: unknown): void {
    const parsed = heartbeatCodec.parse(value);
    if (!parsed.ok) {
      this.reject(from, 'invalid-heartbeat', parsed.reason);
      return;
    }
    this.stats.heartbeatsReceived++;
    const heartbeat: Heartbeat = parsed.value;
    this.input({ type: 'heartbeat', nowMs: this.init.nowMs(), from, heartbeat });
  }

  private onMessage(from: string, value: unknown, protocol: ProtocolName): void {
    const election = this.init.election;
    if (!election) {
      this.reject(from, 'no-election');
      return;
    }
    // A member still (or already) on another protocol during a switch: its message is for a machine this node does not run.
    if (protocol !== this.core.runningProtocol) return;
    const codec = this.init.switching?.codecs[protocol] ?? election.messageCodec;
    const parsed = codec.parse(value);
    if (!parsed.ok) {
      this.reject(from, 'invalid-message', parsed.reason);
      return;
    }
    bump(this.stats.messagesReceived, messageType(parsed.value));
    if (this.tracing) this.init.log.trace({ peer: from, type: messageType(parsed.value), term: termOf(parsed.value) }, 'message in');
    this.input({ type: 'message', nowMs: this.init.nowMs(), from, message: parsed.value, protocol });
  }

  /** Counts a dropped inbound message; logs it at most once a minute per peer and reason. */
  private reject(from: string, reason: RejectReason, detail?: string): void {
    bump(this.stats.rejected, reason);
    if (!this.rejectLog.shouldLog(from, reason, this.init.nowMs())) return;
    this.init.log.warn({ peer: from, reason, detail }, 'dropped a message from a peer (further drops of this kind are counted, logged again in a minute)');
  }

  /**
   * One input into the core; its outputs are carried out, then the timer is re-armed.
   *
   * The step's messages leave first, written to the direct links at once (P2PNode.flush); its
   * events (their log lines, the API's event stream, the hooks) follow at the check phase, in
   * the order the core gave them, after the socket reads at hand. A hand-off is a chain of steps
   * on five processes that share the cores: a successor whose write of its campaign returns
   * handles the grants already waiting next, instead of first logging and publishing the four
   * events of that campaign, and a voter's grant no longer waits behind its own log lines.
   * A step that switches protocols keeps its order: its sends are for the stream it opens.
   */
  private input(input: HostInput): void {
    if (this.fatal) return;
    let outputs: HostOutput[];
    try {
      outputs = this.core.step(input);
    } catch (err) {
      this.init.log.error({ err, input: input.type }, 'host core error while handling an input');
      return;
    }
    if (outputs.some((o) => o.type === 'event' && o.event.type === 'protocol-switched')) {
      this.flushEvents();
      for (const output of outputs) this.carryOut(output);
    } else {
      for (const output of outputs) if (output.type === 'send') this.carryOut(output);
      this.init.p2p.flush();
      for (const output of outputs) if (output.type === 'event') this.deferEvent(output.event);
      else if (output.type !== 'send') this.carryOut(output);
    }
    if (input.type === 'tick' && this.pendingDisconnects.size > 0) this.disconnectDead(input.nowMs);
    this.arm();
  }

  /** Logs and publishes `event` at the check phase, after the events deferred before it. */
  private deferEvent(event: NodeEvent): void {
    this.deferredEvents.push(event);
    if (this.deferredEvents.length === 1) setImmediate(() => this.flushEvents());
  }

  /** The deferred events, now and in order (also before a switch's events, and once stopped). */
  private flushEvents(): void {
    const events = this.deferredEvents;
    if (events.length === 0) return;
    this.deferredEvents = [];
    for (const event of events) this.carryOut({ type: 'event', event });
  }

  /** Closes the connections of members still dead DEAD_DISCONNECT_DELAY_MS after their verdict. */
  private disconnectDead(nowMs: number): void {
    const due = [...this.pendingDisconnects].filter(([, atMs]) => atMs <= nowMs).map(([id]) => id);
    if (due.length === 0) return;
    const states = new Map(this.core.members().map((m) => [m.id, m.state]));
    for (const id of due) {
      this.pendingDisconnects.delete(id);
      if (states.get(id) === 'dead') this.init.p2p.disconnect(id);
    }
  }

  private carryOut(output: HostOutput): void {
    const { p2p, log } = this.init;
    switch (output.type) {
      case 'persist':
        this.persist(output.id, output.batch, output.deferrable === true);
        return;
      case 'publish':
        this.stats.heartbeatsSent++;
        p2p.publish(new TextEncoder().encode(JSON.stringify(output.heartbeat)), output.to);
        return;
      case 'send':
        bump(this.stats.messagesSent, messageType(output.message));
        if (this.tracing) log.trace({ peer: output.to, type: messageType(output.message), term: termOf(output.message) }, 'message out');
        p2p.send(output.to, output.message, output.protocol);
        return;
      case 'event':
        if (output.event.type === 'protocol-switched') p2p.setProtocol(output.event.to);
        // A member still dead a little after its verdict loses its connections: TCP would keep
        // one open across a partition and resume it only at its retransmission backoff (up to
        // minutes), while a closed one is redialled with ours (the member stays in `peers`).
        if (output.event.type === 'member-dead') this.pendingDisconnects.set(output.event.id, this.init.nowMs() + DEAD_DISCONNECT_DELAY_MS);
        if (output.event.type === 'member-joined' || output.event.type === 'member-alive') this.armBootstrapExpectCheck();
        this.queueEventLog(output.event, this.emit(output.event));
        return;
      case 'summary':
        return;
      case 'kv-events':
        for (const listener of this.kvListeners) listener(output.events);
        return;
      case 'kv-answer': {
        const resolve = this.kvAnswers.get(output.id);
        this.kvAnswers.delete(output.id);
        resolve?.(output.answer);
        return;
      }
      case 'command-result': {
        const resolve = this.commandResults.get(output.id);
        this.commandResults.delete(output.id);
        resolve?.(output.result);
        return;
      }
      case 'peers':
        p2p.keepConnected(output.peers);
        return;
      case 'refused':
        this.reject(output.from, output.reason, output.detail);
        return;
      case 'bootstrap-waiting':
        log.warn(
          { seen: output.seen, bootstrapExpect: output.expect, waitingS: Math.round(output.waitingMs / 1000) },
          `waiting for the cluster: seen ${output.seen} of ${output.expect} members (cluster.bootstrapExpect), and no node leads before that. ` +
            'Likely causes: multicast blocked between the hosts (list peers under discovery.bootstrap), a different pre-shared key ' +
            '(security.pskFile) or cluster name on the other nodes, a firewall on the listen port; or bootstrapExpect is larger than the number of servers',
        );
        return;
      case 'stopped':
        this.stopped?.();
        return;
      case 'pump-overflow':
        log.warn({ rounds: output.rounds }, 'machines kept producing effects; deferring the rest to the next input');
        return;
    }
  }

  /**
   * Warns when more members are live than `cluster.bootstrapExpect` keeps to one cluster at a cold
   * start (shared/bootstrap-expect.ts). A join only arms the check: it runs EXPECT_WARN_SETTLE_MS
   * later, so a cluster still starting is counted whole, not at its fourth member. Logged again
   * only for a larger count, at most once per EXPECT_WARN_EVERY_MS; status and the dashboard
   * always show the current count. Nothing is at risk now; a cluster formed anew with the same
   * setting is.
   */
  private armBootstrapExpectCheck(): void {
    if (!this.init.election || this.expectCheck !== null || this.stopping || this.fatal) return;
    const delayMs = Math.max(EXPECT_WARN_SETTLE_MS, this.expectWarnedAtMs + EXPECT_WARN_EVERY_MS - this.init.nowMs());
    this.expectCheck = this.timers.set(() => {
      this.expectCheck = null;
      const live = this.core.members().filter((m) => m.state === 'alive' || m.state === 'suspect').length;
      const tooLow = live > this.expectWarnedLive ? expectTooLow(this.init.bootstrapExpect, live) : null;
      if (!tooLow || this.stopping) return;
      this.expectWarnedLive = live;
      this.expectWarnedAtMs = this.init.nowMs();
      this.init.log.warn({ bootstrapExpect: tooLow.expect, live, safeFrom: tooLow.safeFrom }, expectTooLowWarning(tooLow));
    }, delayMs);
  }

  /** Writes a batch; once it is on disk the core releases what waited for it. A failure is fatal. */
  private persist(id: number, batch: NodeBatch, deferrable: boolean): void {
    const startedMs = this.tracing ? this.init.nowMs() : 0;
    this.writes.submit(batch, deferrable).then(
      () => {
        this.stats.persistBatches++;
        if (this.tracing) this.init.log.trace({ id, ms: this.init.nowMs() - startedMs }, 'persisted');
        // The batches of one group write resolve in one run of microtasks: the core takes them in
        // one step (a voter's record and its vote, a successor's record and its campaign).
        this.resolvedWrites.add(id);
        if (!this.acknowledging) {
          this.acknowledging = true;
          queueMicrotask(() => this.acknowledgeWrites());
        }
      },
      (err: PersistError) => {
        if (this.fatal) return;
        this.fatal = true;
        this.clearTimer();
        this.logEventsAtOnce();
        this.init.onFatal(err);
      },
    );
  }

  /** Every write resolved since the last acknowledgement, through the first one still on its way, acknowledged in one step. */
  private acknowledgeWrites(): void {
    this.acknowledging = false;
    let id = this.acknowledgedWrite;
    while (this.resolvedWrites.delete(id + 1)) id++;
    if (id === this.acknowledgedWrite) return;
    this.acknowledgedWrite = id;
    this.input({ type: 'persisted', nowMs: this.init.nowMs(), id });
  }

  /** One timer, for the core's next deadline; how late it fires is the event-loop lag. */
  private arm(): void {
    const dueMs = this.core.deadline();
    if (dueMs === this.timerDueMs && this.timer !== null) return;
    this.clearTimer();
    if (!Number.isFinite(dueMs) || this.fatal) return;
    this.timerDueMs = dueMs;
    const delayMs = Math.max(0, Math.ceil(dueMs - this.init.nowMs()));
    this.timer = this.timers.set(() => {
      this.timer = null;
      const firedMs = this.init.nowMs();
      this.stats.eventLoopLagMs = this.lag.fired(dueMs, firedMs);
      // Late means busy, and Node runs timers before it reads sockets: heartbeats that arrived
      // during the delay are still unread, and a tick now would judge members silent on them.
      // setImmediate runs after this turn's reads (the poll phase), so silence is judged on what
      // has arrived; an overloaded machine made false suspicions by the hundred without this.
      if (firedMs - dueMs <= JITTER_MS) this.input({ type: 'tick', nowMs: firedMs, lagMs: this.stats.eventLoopLagMs });
      else setImmediate(() => this.input({ type: 'tick', nowMs: this.init.nowMs(), lagMs: this.stats.eventLoopLagMs }));
    }, delayMs);
  }

  private clearTimer(): void {
    if (this.timer !== null) this.timers.clear(this.timer);
    this.timer = null;
    this.timerDueMs = Infinity;
  }

  /** `event`'s log line, written EVENT_LOG_DELAY_MS later, stamped with the time it was published (`atMs`). */
  private queueEventLog(event: NodeEvent, atMs: number): void {
    this.eventLogs.push({ event, atMs });
    if (this.eventLogsAtOnce) this.flushEventLogs();
    else this.eventLogTimer ??= this.timers.set(() => this.flushEventLogs(), EVENT_LOG_DELAY_MS);
  }

  /** From now on (a stop, graceful or not) event lines are written as their events come, the queued ones first. */
  private logEventsAtOnce(): void {
    this.eventLogsAtOnce = true;
    this.flushEventLogs();
  }

  /** The log lines of the events queued so far, in order, each stamped with its event's time. */
  private flushEventLogs(): void {
    if (this.eventLogTimer !== null) this.timers.clear(this.eventLogTimer);
    this.eventLogTimer = null;
    const queued = this.eventLogs;
    this.eventLogs = [];
    for (const { event, atMs } of queued) logAt(atMs, () => this.logEvent(event));
  }

  /** The log line for an event, where one is worth having. */
  private logEvent(event: NodeEvent): void {
    const log = this.init.log;
    switch (event.type) {
      case 'member-joined':
        log.info({ event: event.type, member: event.member.name, id: event.member.id }, 'member joined');
        return;
      case 'member-updated':
      case 'term-changed':
      case 'election-finished':
        return;
      case 'refuted':
        log.warn({ event: event.type, incarnation: event.incarnation, by: this.nodeRef(event.by)?.name }, 'refuted a suspicion of this node');
        return;
      case 'protocol-mismatch':
        // Brief during a switch (members change at one gossip hop of each other); conclave status shows the era.
        log.info({ event: event.type, member: event.name, protocol: event.protocol, expected: event.expected }, `member runs ${event.protocol}, this node ${event.expected}: a protocol switch under way, or a member of another era`);
        return;
      case 'role-changed':
        log.info({ event: event.type, from: event.from, to: event.to, term: event.term }, `role: ${event.to}`);
        return;
      case 'leader-changed':
        log.info(
          { event: event.type, leader: event.to?.name ?? null, term: event.term, fencingToken: event.fencingToken, leaderlessMs: event.leaderlessMs },
          event.to ? `leader is ${event.to.name}` : 'no leader',
        );
        return;
      case 'election-started':
        log.info({ event: event.type, term: event.term, reason: event.reason }, 'election started');
        return;
      case 'stepped-down':
        log[event.reason === 'transfer' ? 'info' : 'warn']({ event: event.type, term: event.term, reason: event.reason }, `stepped down (${event.reason})`);
        return;
      case 'configuration-changed':
        log.info({ event: event.type, index: event.index, voters: event.voters.map((r) => r.name), learners: event.learners.map((r) => r.name) }, 'raft configuration changed');
        return;
      case 'raft-snapshot':
        log.info({ event: event.type, action: event.action, index: event.index, term: event.term, peer: event.peer?.name ?? null }, `raft snapshot ${event.action}`);
        return;
      case 'protocol-switch-started':
        log.warn({ event: event.type, to: event.to, era: event.era, why: event.why }, `switching the cluster to ${event.to} (era ${event.era}, ${event.why})`);
        return;
      case 'protocol-switched':
        log.warn(
          { event: event.type, from: event.from, to: event.to, era: event.era, how: event.how, tokenFloor: event.tokenFloor, carriedLeader: event.carriedLeader?.name ?? null },
          `now running ${event.to} (era ${event.era}, was ${event.from})`,
        );
        return;
      case 'heartbeat-late': {
        // etcd's "failed to send out heartbeat on time": once, then at most every LATE_LOG_EVERY_MS with a count.
        this.lateHeartbeats++;
        // On the runtime's monotonic clock: a wall clock set back would silence the warning.
        const nowMs = this.init.nowMs();
        if (nowMs - this.lateLoggedAtMs < LATE_LOG_EVERY_MS) return;
        log.warn(
          { event: event.type, lateMs: Math.round(event.lateMs), since: this.lateHeartbeats },
          'failed to send out heartbeat on time; the event loop or the disk is overloaded, and followers may start an election',
        );
        this.lateLoggedAtMs = nowMs;
        this.lateHeartbeats = 0;
        return;
      }
      default: {
        const { type, id: _id, name, ...details } = event;
        log[type === 'member-dead' ? 'warn' : 'info']({ event: type, member: name, ...details }, type.replace('-', ' '));
      }
    }
  }

  /** Publishes `event` to the listeners, stamped now; returns that time (epoch ms). */
  private emit(event: NodeEvent): number {
    const at = new Date();
    const stamped: ApiEvent = stampEvent(event, at);
    for (const listener of this.listeners) {
      try {
        listener(stamped);
      } catch (err) {
        this.init.log.warn({ err, type: event.type }, 'event listener failed');
      }
    }
    return at.getTime();
  }
}

function bump<K>(map: Map<K, number>, key: K): void {
  map.set(key, (map.get(key) ?? 0) + 1);
}

/** The `term` (or `epoch`) field of a protocol message, for traces. */
function termOf(message: unknown): unknown {
  const m = message as { term?: unknown; epoch?: unknown } | null;
  return m?.term ?? m?.epoch;
}

/** The `type` field of a protocol message, for per-type counters. */
function messageType(message: unknown): string {
  const type = (message as { type?: unknown } | null)?.type;
  return typeof type === 'string' ? type.slice(0, 32) : 'unknown';
}
