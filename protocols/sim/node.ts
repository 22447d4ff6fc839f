import type { Election } from '../election.js';
import type { Member } from '../membership/types.js';
import type { ElectionSummary, LogEntry, NodeId, ProtocolName, Snapshot } from '../types.js';
import type { EraRecord, NodeBatch } from '../host/core.js';
import type { SimHost } from './host.js';
import type { NodeView } from './types.js';

/** What survives a crash: the daemon's log store (incarnation, election hard state, log, era). */
export interface SimDisk {
  incarnation: number;
  /** Each protocol's last persisted hard state, serialized as the daemon's store writes it (a node that switched keeps each). */
  elections: Partial<Record<ProtocolName, string>>;
  /** A log-based election's snapshot and the entries after it, as the log store replays them. */
  snapshot: Snapshot | null;
  entries: LogEntry[];
  /** The node's protocol era (host/switch.ts), or null before its first. */
  era: EraRecord | null;
  /** The protocol its config asked for at its last start (the daemon's `running` record). */
  startedWith: ProtocolName | null;
}

/** A message or hint that reached a node's socket but has not been processed yet. */
export type Inbound =
  | { kind: 'heartbeat'; from: NodeId; payload: string }
  /** `protocol`: the stream it came on (that protocol's codec reads it). */
  | { kind: 'message'; from: NodeId; payload: string; protocol: ProtocolName }
  | { kind: 'hint'; peer: NodeId };

/** The event-loop lag sampler's window and jitter allowance, as in daemon/lag.ts. */
const LAG_WINDOW_MS = 1000;
const LAG_JITTER_MS = 25;
/** Kernel socket buffers of a stopped process are finite; beyond this, inbound data is lost. */
export const PAUSED_INBOX_LIMIT = 2048;

/** One simulated process slot: its lives, its disk, and whether it runs. */
export class SimNode implements NodeView {
  host: SimHost | null = null;
  /** The current deadline timer: its number (older ones are stale) and when it fires (virtual ms). */
  timer = 0;
  timerDueMs = Infinity;
  /** Writes handed to the disk and not yet synced, in order. */
  readonly unsynced: { id: number; batch: NodeBatch }[] = [];
  /** When the last write handed to the disk syncs (virtual ms): writes sync in order. */
  lastSyncAtMs = 0;
  started = false;
  paused = false;
  pausedAtMs = 0;
  /** A graceful stop is under way (handoff, then leave, then exit). */
  stopping = false;
  life = 0;
  /** The Raft dialect this life gossips and reads (SimProtocol.raftWireOf). */
  raftWire = 0;
  lifeIncarnation = 0;
  lifeStartedMs = 0;
  crashedAtMs: number | null = null;
  lastDisruptedMs: number | null = null;
  /** A stalled event loop runs nothing before this. */
  blockedUntilMs = 0;
  /** What reached a stopped process meanwhile, socket data and disk completions, in arrival order. */
  readonly inbox: (Inbound | { kind: 'synced'; id: number })[] = [];
  readonly disk: SimDisk = { incarnation: 0, elections: {}, snapshot: null, entries: [], era: null, startedWith: null };
  /** This life's monotonic clock at its start (a new process: performance.now() starts afresh). */
  clockOffsetMs = 0;
  /** Set by the simulation before the first step that drives this node. */
  virtualNowMs = 0;
  private lagWindowMaxBlockMs = 0;
  private lagMs = 0;
  private nextLagSampleMs = 0;

  constructor(
    readonly index: number,
    readonly id: NodeId,
    readonly priority: number,
    /** Rate of this node's monotonic clock against virtual time (1 ± the drift bound). */
    readonly clockRate: number,
    /** The protocol its config asks for (an operator may edit it: Simulation.configure). */
    public config: ProtocolName,
  ) {}

  /** The protocol it runs, or ran last while down (its era's, else its config's). */
  get protocol(): ProtocolName {
    return this.host?.core.runningProtocol ?? this.disk.era?.protocol ?? this.config;
  }

  /** This node's own monotonic clock at virtual time `virtualMs` (its machines see only this). */
  clockAt(virtualMs: number): number {
    return this.clockOffsetMs + this.clockRate * (virtualMs - this.lifeStartedMs);
  }

  /** The virtual time at which this life's clock reads `clockMs` (the inverse of clockAt). */
  virtualAt(clockMs: number): number {
    return this.lifeStartedMs + (clockMs - this.clockOffsetMs) / this.clockRate;
  }

  get up(): boolean {
    return this.host !== null;
  }

  get live(): boolean {
    return this.host !== null && !this.paused;
  }

  /**
   * Invariants read every node after every step. The view is built once per change: the
   * simulation calls `changed()` after every input it gives this node (and at start and exit),
   * and the report is recomputed when the virtual time moved. The view holds the machine's own
   * member records where it offers them (membersView: nothing copied, and a record changes with
   * the machine, so it cannot go stale); callers must not modify what they get.
   */
  private cachedMembers: readonly Member[] | null = null;
  private cachedReport: { atMs: number; report: ElectionSummary | null } | null = null;

  changed(): void {
    this.cachedMembers = null;
    this.cachedReport = null;
  }

  private memberView(): readonly Member[] | null {
    if (!this.host) return null;
    const membership = this.host.membership;
    this.cachedMembers ??= membership.membersView?.() ?? membership.members();
    return this.cachedMembers;
  }

  members(): Member[] | null {
    // NodeView's type predates the read-only view; no invariant modifies it.
    return this.memberView() as Member[] | null;
  }

  member(id: NodeId): Member | undefined {
    // A handful of members: a scan is cheaper than building a map per change.
    return this.memberView()?.find((m) => m.id === id);
  }

  summary(): ElectionSummary | null {
    return this.report();
  }

  /** What the node's API would answer now: the core's reported summary at its own clock. */
  report(): ElectionSummary | null {
    if (this.cachedReport?.atMs !== this.virtualNowMs) {
      const report = this.host?.election ? this.host.summary(this.clockAt(this.virtualNowMs)) : null;
      this.cachedReport = { atMs: this.virtualNowMs, report };
    }
    return this.cachedReport.report;
  }

  machineSummary(): ElectionSummary | null {
    return this.host?.election?.summary(this.clockAt(this.virtualNowMs)) ?? null;
  }

  leaseRemainingVirtualMs(): number | null {
    const remaining = this.host?.election ? this.host.core.status(this.clockAt(this.virtualNowMs)).leaseRemainingMs : null;
    return remaining === null ? null : remaining / this.clockRate;
  }

  persisted(protocol: ProtocolName = this.protocol): unknown {
    const text = this.disk.elections[protocol];
    if (text === undefined) return null;
    // Invariants read it after every step; parse each written state once.
    const cached = this.parsed.get(protocol);
    if (cached?.text === text) return cached.value;
    const value: unknown = JSON.parse(text);
    this.parsed.set(protocol, { text, value });
    return value;
  }

  election(): Election<unknown, unknown> | null {
    return this.host?.election ?? null;
  }

  private readonly parsed = new Map<ProtocolName, { text: string; value: unknown }>();

  /** The loop was blocked for `blockedMs` (stall or SIGSTOP); the lag monitor will see it. */
  noteBlocked(blockedMs: number): void {
    this.lagWindowMaxBlockMs = Math.max(this.lagWindowMaxBlockMs, blockedMs);
  }

  /** The deadline timer fired `lateMs` after it was due (the loop was busy or blocked). */
  noteLate(lateMs: number): void {
    this.lagWindowMaxBlockMs = Math.max(this.lagWindowMaxBlockMs, lateMs);
  }

  /**
   * The lag the runtime would report at a tick (daemon/lag.ts): once per window, the window's
   * worst lateness minus the jitter allowance.
   */
  localLagMs(nowMs: number): number {
    if (nowMs >= this.nextLagSampleMs) {
      this.lagMs = Math.max(0, this.lagWindowMaxBlockMs - LAG_JITTER_MS);
      this.lagWindowMaxBlockMs = 0;
      this.nextLagSampleMs = nowMs + LAG_WINDOW_MS;
    }
    return this.lagMs;
  }

  /** A new process: no lag history. */
  resetLag(nowMs: number): void {
    this.lagWindowMaxBlockMs = 0;
    this.lagMs = 0;
    this.nextLagSampleMs = nowMs + LAG_WINDOW_MS;
  }
}
