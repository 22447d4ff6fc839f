import type { KvAnswer, KvRequest } from '../kv/requests.js';
import type { KvEvent } from '../kv/types.js';
import type { Codec } from '../types.js';
import { protocolMeta, type Heartbeat } from '../membership/types.js';
import { createRng, type Rng } from '../rng.js';
import { OBSERVER_SUMMARY, PROTOCOL_NAMES, type NodeId, type ProtocolName } from '../types.js';
import { carryOverAtStart, type CarryOver } from '../carry-over.js';
import type { Election, ElectionImage } from '../election.js';
import { eraAtStart } from '../host/switch.js';
import { boundsFor } from './bounds.js';
import { UnknownSimNodeError } from './errors.js';
import { SimHost, type SimSwitching } from './host.js';
import type { ElectionFactory, HostInput, NodeBatch } from '../host/core.js';
import { RAFT_WIRE } from '../raft/messages.js';
import { Network } from './network.js';
import { PAUSED_INBOX_LIMIT, SimNode, type Inbound } from './node.js';
import type { SimProtocol } from './protocols.js';
import { EventQueue } from './queue.js';
import { STREAM } from './scenario.js';
import { deriveSeed, nodeId } from './seeds.js';
import { Trace } from './trace.js';
import { formatRecord } from './format.js';
import type {
  FaultRecord,
  Invariant,
  InvariantFactory,
  MembershipFactory,
  Phase,
  Scenario,
  SimBounds,
  SimStats,
  SimView,
  StepRecord,
  Violation,
} from './types.js';

export interface SimulationInit {
  scenario: Scenario;
  protocol: SimProtocol;
  membershipFactory: MembershipFactory;
  /** Validates heartbeats on delivery, as the daemon does (a rejected one is traced and dropped). */
  heartbeatCodec?: Codec<Heartbeat>;
  /** Every invariant checked after each step (membership's and the protocol's). */
  invariants: readonly InvariantFactory[];
  /** Trace lines kept for a violation report. */
  traceKeep?: number;
  /** Sees every trace line (the CLI's --verbose). */
  onTrace?: (line: string) => void;
  /** Bound on scheduled events; a run that exceeds it fails with SimQueueOverflowError. */
  maxQueuedEvents?: number;
}

type SimEvent =
  /** The node's timer for its core's deadline; `timer` tells a current timer from a superseded one. */
  | { kind: 'tick'; node: SimNode; life: number; timer: number; dueMs: number }
  /** A write finished syncing: it is on the disk now. */
  | { kind: 'synced'; node: SimNode; life: number; id: number }
  /** The process learns of a synced write (late if its loop was blocked or stopped meanwhile). */
  | { kind: 'completed'; node: SimNode; life: number; id: number }
  /** `received`: already through the network and into the node's socket (deferred by a stall). */
  | { kind: 'deliver'; node: SimNode; life: number; inbound: Inbound; received: boolean }
  | { kind: 'action'; label: string; run: () => void };

const CLUSTER = 'sim';
const DEFAULT_MAX_QUEUED_EVENTS = 500_000;
const MAX_IN_FLIGHT_PER_PATH = 1024;
/** As daemon/runtime.ts: how long the last leave heartbeat may take to leave the socket. */
const LEAVE_FLUSH_MS = 100;

/**
 * A deterministic cluster: nodes hosting the pure machines, a seeded network, a virtual clock
 * and an event queue. Fault verbs (crash, pause, partition, …) act at the current virtual time
 * or are scheduled with `at`; every step is followed by every invariant.
 */
export class Simulation implements SimView {
  readonly seed: number;
  readonly bounds: SimBounds;
  readonly nodes: readonly SimNode[];
  readonly network: Network;
  nowMs = 0;
  phase: Phase = 'safety';
  touched: SimNode | null = null;
  readonly records: StepRecord[] = [];
  quietSinceMs: number | null = 0;
  healedAtMs: number | null = null;
  violation: Violation | null = null;
  private readonly queue: EventQueue<SimEvent>;
  private readonly byId = new Map<NodeId, SimNode>();
  private readonly invariants: Invariant[];
  private readonly trace: Trace;
  private readonly stats = { steps: 0, messagesSent: 0, messagesDelivered: 0, messagesDropped: 0, pumpOverflows: 0 };
  private readonly faultCounts: Record<string, number> = {};
  private readonly switches = { agreed: 0, adopted: 0 };
  private convergedAtMs: number | null = null;
  private readonly diskRng: Rng;
  /** Key-value requests of simulated clients not yet answered (kvRequest), by request id. */
  private readonly kvPending = new Map<number, (answer: KvAnswer) => void>();
  private readonly kvEventListeners = new Set<(node: NodeId, life: number, events: KvEvent[]) => void>();
  private nextKvId = 1;
  private nextCommandId = 1;
  /** Messages that left before the write they followed was durable (see host.ts); invariants read it. */
  readonly orderViolations: string[] = [];
  /** Messages a node of an older Raft dialect refused as its build would (SimProtocol.olderDialectCodec); invariants read it. */
  readonly olderDialectRefusals: string[] = [];

  constructor(private readonly init: SimulationInit) {
    const s = init.scenario;
    this.seed = s.seed;
    this.bounds = boundsFor(s);
    this.queue = new EventQueue(init.maxQueuedEvents ?? DEFAULT_MAX_QUEUED_EVENTS);
    this.nodes = s.priorities.map((priority, i) => new SimNode(i, nodeId(i), priority, s.clockRates[i] ?? 1, init.protocol.protocol));
    for (const node of this.nodes) this.byId.set(node.id, node);
    this.network = new Network({
      ids: this.nodes.map((n) => n.id),
      seed: deriveSeed(s.seed, STREAM.network),
      baseDelayMaxMs: s.baseDelayMaxMs,
      jitterMaxMs: s.jitterMaxMs,
      maxInFlightPerPath: MAX_IN_FLIGHT_PER_PATH,
    });
    this.trace = new Trace(init.traceKeep ?? 40, init.onTrace ?? null);
    this.diskRng = createRng(deriveSeed(s.seed, STREAM.disk));
    this.invariants = init.invariants.map((create) => create({ scenario: s, bounds: this.bounds }));
  }

  get scenario(): Scenario {
    return this.init.scenario;
  }

  node(id: NodeId): SimNode {
    const node = this.byId.get(id);
    if (!node) throw new UnknownSimNodeError(id);
    return node;
  }

  /** Schedules a fault verb (or any action) at a virtual time; it runs as one step. */
  at(atMs: number, label: string, run: () => void): void {
    this.queue.push(Math.max(atMs, this.nowMs), { kind: 'action', label, run });
  }

  /**
   * A hostile peer's frame or heartbeat reaches `to` now over the attacker's own link (it needs
   * no path in the simulated network): validated and stepped like any other delivery.
   */
  inject(to: NodeId, inbound: Inbound & { kind: 'heartbeat' | 'message' }): void {
    const node = this.node(to);
    if (!node.up) return;
    this.stats.messagesSent++;
    this.queue.push(this.nowMs, { kind: 'deliver', node, life: node.life, inbound, received: true });
  }

  /**
   * A client of `id`'s API asks its store now; `onAnswer` runs when the node's core answers (in
   * that step). False when the request cannot reach the node's process (down, stopping, frozen
   * or blocked): it never reached the store. A request whose node crashes before it answers is
   * never answered.
   */
  kvRequest(id: NodeId, request: KvRequest, onAnswer: (answer: KvAnswer) => void): boolean {
    const node = this.node(id);
    if (!node.up || node.paused || node.stopping || node.blockedUntilMs > this.nowMs) return false;
    const kvId = this.nextKvId++;
    this.kvPending.set(kvId, onAnswer);
    this.input(node, { type: 'kv', nowMs: this.clock(node), id: kvId, request });
    return true;
  }

  /**
   * Tells `listener` of every change any node's store applies (the node, its life, the events):
   * what a watch on that node would be fed. Returns the function that stops telling it.
   */
  onKvEvents(listener: (node: NodeId, life: number, events: KvEvent[]) => void): () => void {
    this.kvEventListeners.add(listener);
    return () => this.kvEventListeners.delete(listener);
  }

  private kvAnswer(kvId: number, answer: KvAnswer): void {
    const onAnswer = this.kvPending.get(kvId);
    this.kvPending.delete(kvId);
    onAnswer?.(answer);
  }

  /** Processes every event up to `untilMs` (inclusive); stops early at a violation. */
  runUntil(untilMs: number): Violation | null {
    for (;;) {
      if (this.violation) return this.violation;
      const nextMs = this.queue.peekTimeMs();
      if (nextMs === null || nextMs > untilMs) break;
      const { atMs, item } = this.queue.pop()!;
      this.setNow(atMs);
      this.process(item);
      this.afterStep();
    }
    this.setNow(Math.max(this.nowMs, untilMs));
    return this.violation;
  }

  private setNow(virtualMs: number): void {
    this.nowMs = virtualMs;
    for (const node of this.nodes) node.virtualNowMs = virtualMs;
  }

  /** A node's own clock now: what its machines get as `nowMs`. */
  private clock(node: SimNode): number {
    return node.clockAt(this.nowMs);
  }

  result(): SimStats {
    return {
      virtualMs: this.nowMs,
      steps: this.stats.steps,
      messagesSent: this.stats.messagesSent,
      messagesDelivered: this.stats.messagesDelivered,
      messagesDropped: this.stats.messagesDropped,
      faults: { ...this.faultCounts },
      convergedAfterHealMs: this.convergedAtMs === null || this.healedAtMs === null ? null : this.convergedAtMs - this.healedAtMs,
      traceHash: this.trace.hash(),
      ...(this.init.protocol.machines ? { protocolSwitches: { ...this.switches } } : {}),
    };
  }

  // ---- fault verbs -------------------------------------------------------------------------

  /** First start, or a restart after a crash: a new life with a higher incarnation. */
  start(id: NodeId): void {
    const node = this.node(id);
    if (node.up) return;
    const restart = node.started;
    node.started = true;
    node.life++;
    node.raftWire = this.init.protocol.raftWireOf?.(this.scenario, node.index, node.life) ?? RAFT_WIRE;
    node.paused = false;
    node.blockedUntilMs = 0;
    node.inbox.length = 0;
    node.resetLag(this.nowMs);
    // As the daemon: wall-clock seconds, or one above the stored value if that is higher.
    const wallSec = this.scenario.wallClockStartSec + Math.floor(this.nowMs / 1000);
    const incarnation = Math.max(wallSec, node.disk.incarnation + 1);
    node.disk.incarnation = incarnation;
    node.lifeIncarnation = incarnation;
    node.lifeStartedMs = this.nowMs;
    // performance.now() of a new process: small, and unrelated to any other node's clock.
    node.clockOffsetMs = createRng(deriveSeed(this.seed, STREAM.clocks, node.index, node.life)).int(20, 400);
    const { election, switching } = this.machineFor(node);
    const summary = election ? election.summary(this.clock(node)) : OBSERVER_SUMMARY;
    const membership = this.init.membershipFactory({
      cluster: CLUSTER,
      selfId: id,
      selfMeta: {
        name: id,
        addrs: [`/ip4/127.0.0.1/tcp/${7000 + node.index}`],
        ...protocolMeta(election?.protocol ?? this.init.protocol.protocol, switching?.era.era),
        priority: node.priority,
        version: 'sim',
        raftWire: node.raftWire,
        ...summary,
      },
      initialIncarnation: incarnation,
      timings: this.scenario.timings,
      nowMs: this.clock(node),
    });
    const life = node.life;
    node.host = new SimHost(id, membership, election, {
      publish: (heartbeat, to) => this.publish(node, heartbeat, to),
      send: (to, message, protocol) => this.sendMessage(node, to, message, protocol),
      write: (writeId, batch) => this.write(node, life, writeId, batch),
      record: (record) => this.record(record),
      stopped: () => this.queue.push(this.nowMs + LEAVE_FLUSH_MS, { kind: 'action', label: `exit ${node.id}`, run: () => node.life === life && this.down(node, 'exit') }),
      pumpOverflow: () => {
        this.stats.pumpOverflows++;
        this.trace.add(`${this.nowMs} ${id} pump-overflow`);
      },
      orderViolation: (detail) => {
        this.orderViolations.push(`${id}: ${detail}`);
      },
      kvAnswer: (kvId, answer) => this.kvAnswer(kvId, answer),
      kvEvents: (events) => {
        for (const listener of this.kvEventListeners) listener(id, life, events);
      },
    }, this.clock(node), switching);
    this.fault(restart ? { kind: 'restart', node: id, incarnation } : { kind: 'start', node: id, incarnation });
    // The daemon's start(): an immediate first tick.
    this.input(node, { type: 'tick', nowMs: this.clock(node), lagMs: 0 });
  }

  /**
   * The machine a new life of `node` starts: its protocol's, from its disk. In a cluster that
   * switches protocols (SimProtocol.machines), as daemon/node-state.ts starts one: the era's
   * protocol, bound by what the other protocol's state on the disk obliges it to, and a factory
   * for the machines of a live switch (from this start's disk, or the image a machine of that
   * protocol left earlier in this life).
   */
  private machineFor(node: SimNode): { election: Election<unknown, unknown> | null; switching?: SimSwitching } {
    const machines = this.init.protocol.machines;
    const rngFor = (n: number) => createRng(deriveSeed(this.seed, STREAM.elections, node.index, node.life, n));
    const logAtStart = { snapshot: structuredClone(node.disk.snapshot), entries: structuredClone(node.disk.entries) };
    if (!machines) {
      const factory = this.init.protocol.electionFor(this.scenario);
      const election = factory
        ? factory({ id: node.id, rng: createRng(deriveSeed(this.seed, STREAM.elections, node.index, node.life)), persisted: this.loadPersisted(node, this.init.protocol.protocol), log: logAtStart, nowMs: this.clock(node) })
        : null;
      return { election };
    }
    const start = eraAtStart(node.disk.era, node.disk.startedWith, node.config);
    // The daemon records the config's protocol and the request at every start, before anything else.
    node.disk.startedWith = node.config;
    if (node.disk.era !== null) node.disk.era = { ...node.disk.era, requested: start.requested };
    const stateAtStart = new Map(PROTOCOL_NAMES.flatMap((p) => (node.disk.elections[p] === undefined ? [] : [[p, this.loadPersisted(node, p)] as const])));
    const others = new Map(
      [...stateAtStart].filter(([p]) => p !== start.protocol).map(([p, persisted]) => [p, machines[p].carryOverOf!(persisted, logAtStart)] as const),
    );
    const build = (protocol: ProtocolName, persisted: unknown, log: ElectionImage['log'], carryOver: CarryOver, nowMs: number, n: number) =>
      machines[protocol].electionFor(this.scenario)!({ id: node.id, rng: rngFor(n), persisted, log: structuredClone(log), nowMs, carryOver });
    let built = 0;
    const carryOver = carryOverAtStart(start.protocol, others, start.ranLast, start.tokenFloor);
    const election = build(start.protocol, stateAtStart.get(start.protocol) ?? null, logAtStart, carryOver, this.clock(node), built++);
    // As the daemon's start: a state the carry-over raised is written before anything is reported.
    if (carryOver.tokenFloor > 0 && election.durableImage) node.disk.elections[start.protocol] = JSON.stringify(election.durableImage().persisted);
    const factory: ElectionFactory = (protocol, carryOver, image, nowMs) =>
      build(protocol, image ? image.persisted : (stateAtStart.get(protocol) ?? null), image ? image.log : logAtStart, carryOver, nowMs, built++);
    return { election, switching: { era: { era: start.era, requested: start.requested, tokenFloor: start.tokenFloor }, factory, bootstrapExpect: this.scenario.bootstrapExpect } };
  }

  /**
   * An operator edits `id`'s config to ask for `protocol`: its next start reads it (a rolling
   * restart), or with `reload` the running daemon reads it now (`conclave reload`, SIGHUP).
   */
  configure(id: NodeId, protocol: ProtocolName, reload: boolean): void {
    const node = this.node(id);
    node.config = protocol;
    this.fault({ kind: 'configure', node: id, protocol, reload });
    if (reload && node.live && !node.stopping && node.blockedUntilMs <= this.nowMs) this.input(node, { type: 'request-protocol', nowMs: this.clock(node), protocol });
  }

  /** `conclave protocol switch <protocol>` on `id` (nothing when its API cannot answer: down, stopped or stalled). */
  orderSwitch(id: NodeId, protocol: ProtocolName): void {
    const node = this.node(id);
    if (!node.live || node.stopping || node.blockedUntilMs > this.nowMs) return;
    this.fault({ kind: 'order', node: id, protocol });
    this.input(node, { type: 'order-protocol', nowMs: this.clock(node), id: this.nextCommandId++, protocol });
  }

  /**
   * One input into a node's core, then its timer is re-armed for the core's next deadline (on
   * the node's own clock, so a fast clock fires a little early in virtual time).
   */
  private input(node: SimNode, input: HostInput): void {
    const host = node.host!;
    this.touched = node;
    host.input(input);
    node.changed();
    if (node.host !== host) return;
    const dueClockMs = host.core.deadline();
    if (!Number.isFinite(dueClockMs)) {
      node.timer++;
      node.timerDueMs = Infinity;
      return;
    }
    const dueMs = Math.max(this.nowMs, Math.ceil(node.virtualAt(dueClockMs)));
    if (dueMs === node.timerDueMs) return;
    node.timer++;
    node.timerDueMs = dueMs;
    this.queue.push(dueMs, { kind: 'tick', node, life: node.life, timer: node.timer, dueMs });
  }

  /**
   * The simulated disk: a write syncs after a drawn delay (now and then a long stall); the core
   * hears of it then. The state reaches `node.disk` only once synced, except that a crash may
   * find any prefix of the unsynced writes on disk (written, not yet acknowledged).
   */
  private write(node: SimNode, life: number, id: number, batch: NodeBatch): void {
    node.unsynced.push({ id, batch });
    // Stalls are a fault like the others: the liveness phase heals them (a cluster whose disks
    // keep stalling for longer than a lease may keep losing its leader, and should).
    const stalled = this.diskRng.chance(this.scenario.disk.stallProbability) && this.phase === 'safety';
    const delayMs = stalled
      ? this.diskRng.int(this.scenario.disk.fsyncMaxMs, this.scenario.disk.stallMaxMs)
      : this.diskRng.int(this.scenario.disk.fsyncMinMs, this.scenario.disk.fsyncMaxMs);
    // Writes sync in order (one log, group commit): never before the one ahead of it.
    const atMs = Math.max(this.nowMs + delayMs, node.lastSyncAtMs);
    node.lastSyncAtMs = atMs;
    this.queue.push(atMs, { kind: 'synced', node, life, id });
  }

  /** A synced batch, applied as the log store replays one: snapshot, truncation, entries, hard state. */
  private applyToDisk(node: SimNode, batch: NodeBatch): void {
    const disk = node.disk;
    if (batch.incarnation !== undefined) disk.incarnation = batch.incarnation;
    if (batch.era !== undefined) disk.era = { ...batch.era };
    const e = batch.election;
    if (!e) return;
    if (e.snapshot !== undefined) {
      disk.snapshot = structuredClone(e.snapshot);
      disk.entries = disk.entries.filter((entry) => entry.index > e.snapshot!.index);
    }
    if (e.truncateAfter !== undefined) disk.entries = disk.entries.filter((entry) => entry.index <= e.truncateAfter!);
    for (const entry of e.entries ?? []) {
      const last = disk.entries.at(-1)?.index ?? disk.snapshot?.index ?? 0;
      // The daemon's log store refuses such a batch (LogContinuityError); here it is a machine bug.
      if (entry.index !== last + 1) throw new Error(`${node.id} appended entry ${entry.index} after ${last}`);
      disk.entries.push(structuredClone(entry));
    }
    if (e.hardState !== undefined) disk.elections[batch.electionProtocol ?? this.init.protocol.protocol] = JSON.stringify(e.hardState);
  }

  private processSynced(event: Extract<SimEvent, { kind: 'synced' }>): void {
    const node = event.node;
    // The process died meanwhile: what reached its disk was settled by the crash (down()).
    if (node.life !== event.life || !node.host) return;
    const next = node.unsynced[0];
    if (!next || next.id !== event.id) throw new Error(`${node.id}: write ${event.id} synced out of order (next unsynced: ${next?.id ?? 'none'})`);
    node.unsynced.shift();
    this.applyToDisk(node, next.batch);
    this.processCompleted({ kind: 'completed', node, life: event.life, id: event.id });
  }

  /** The completion waits in the event loop like any other I/O: behind a stall, or until SIGCONT. */
  private processCompleted(event: Extract<SimEvent, { kind: 'completed' }>): void {
    const node = event.node;
    if (!node.host || node.life !== event.life) return;
    if (node.paused) {
      node.inbox.push({ kind: 'synced', id: event.id });
      return;
    }
    if (node.blockedUntilMs > this.nowMs) {
      this.queue.push(node.blockedUntilMs, event);
      return;
    }
    this.input(node, { type: 'persisted', nowMs: this.clock(node), id: event.id });
  }

  /**
   * SIGTERM, as the daemon handles it: the core sequences the hand-off (bounded) and the leave
   * announcements, and the process exits a moment after the core says it stopped.
   */
  stop(id: NodeId): void {
    const node = this.node(id);
    if (!node.up || node.stopping) return;
    node.stopping = true;
    this.fault({ kind: 'stop', node: id });
    this.input(node, { type: 'shutdown', nowMs: this.clock(node) });
  }

  /** `conclave resign` on `id`: the leader hands over (Raft: TimeoutNow to its best voter) and stays. */
  resign(id: NodeId): void {
    const node = this.node(id);
    if (!node.up || node.stopping) return;
    this.fault({ kind: 'resign', node: id });
    this.input(node, { type: 'command', nowMs: this.clock(node), id: this.nextCommandId++, command: { kind: 'resign' } });
  }

  /** Whether `node` reports itself leader now (what its API would answer). */
  reportsLeader(node: SimNode): boolean {
    return node.up && node.host?.summary(this.clock(node)).role === 'leader';
  }

  /** The process dies: machines discarded; connected peers see the connection close shortly. */
  crash(id: NodeId): void {
    const node = this.node(id);
    if (!node.up) return;
    this.down(node, 'crash');
  }

  private down(node: SimNode, kind: 'crash' | 'exit'): void {
    const id = node.id;
    if (!node.host) return;
    node.host = null;
    node.changed();
    node.stopping = false;
    node.timer++;
    node.timerDueMs = Infinity;
    // A crash finds some prefix of the unsynced writes on disk (written, never acknowledged).
    const kept = kind === 'crash' ? this.diskRng.int(0, node.unsynced.length) : node.unsynced.length;
    for (const w of node.unsynced.slice(0, kept)) this.applyToDisk(node, w.batch);
    node.unsynced.length = 0;
    node.lastSyncAtMs = 0;
    node.paused = false;
    node.blockedUntilMs = 0;
    node.inbox.length = 0;
    node.crashedAtMs = this.nowMs;
    this.fault({ kind, node: id });
    for (const peer of this.nodes) {
      if (peer === node || !peer.up || !this.network.sameSide(id, peer.id)) continue;
      // Like a TCP RST: the kernel answers for the dead process.
      const atMs = this.nowMs + this.network.hintDelayMs(id, peer.id);
      this.queue.push(atMs, { kind: 'deliver', node: peer, life: peer.life, inbound: { kind: 'hint', peer: id }, received: false });
    }
    this.updateQuiet();
  }

  /** SIGSTOP: nothing runs; inbound data waits in socket buffers. */
  pause(id: NodeId): void {
    const node = this.node(id);
    // The planner leaves stopping nodes alone; the stop's own timers assume a running process.
    if (!node.up || node.paused || node.stopping) return;
    node.paused = true;
    node.pausedAtMs = this.nowMs;
    node.lastDisruptedMs = this.nowMs;
    this.fault({ kind: 'pause', node: id });
    this.updateQuiet();
  }

  /** SIGCONT: the overdue tick runs first (timers before I/O), then what arrived meanwhile. */
  resume(id: NodeId): void {
    const node = this.node(id);
    if (!node.up || !node.paused) return;
    node.paused = false;
    const pausedMs = this.nowMs - node.pausedAtMs;
    node.noteBlocked(pausedMs);
    node.lastDisruptedMs = this.nowMs;
    this.fault({ kind: 'resume', node: id, pausedMs });
    // The overdue timer fires first (timers before I/O).
    if (node.timerDueMs <= this.nowMs) {
      node.timer++;
      this.queue.push(this.nowMs, { kind: 'tick', node, life: node.life, timer: node.timer, dueMs: node.timerDueMs });
    }
    for (const inbound of node.inbox.splice(0)) {
      if (inbound.kind === 'synced') this.queue.push(this.nowMs, { kind: 'completed', node, life: node.life, id: inbound.id });
      else this.queue.push(this.nowMs, { kind: 'deliver', node, life: node.life, inbound, received: true });
    }
    this.updateQuiet();
  }

  /** The event loop blocks for `durationMs`: ticks and inbound data wait, then run late. */
  stall(id: NodeId, durationMs: number): void {
    const node = this.node(id);
    if (!node.up || node.paused || node.stopping) return;
    const untilMs = Math.max(node.blockedUntilMs, this.nowMs + durationMs);
    node.blockedUntilMs = untilMs;
    node.noteBlocked(durationMs);
    node.lastDisruptedMs = untilMs;
    this.fault({ kind: 'stall', node: id, durationMs });
    this.updateQuiet();
    this.queue.push(untilMs, { kind: 'action', label: `stall-end ${id}`, run: () => this.updateQuiet() });
  }

  /** A silent cable cut between groups: no connection-closed hints. */
  partition(groups: NodeId[][]): void {
    this.network.partition(groups);
    this.fault({ kind: 'partition', groups });
    this.updateQuiet();
  }

  heal(): void {
    this.network.heal();
    this.fault({ kind: 'heal' });
    this.updateQuiet();
  }

  cut(from: NodeId, to: NodeId): void {
    this.network.cut(from, to);
    this.fault({ kind: 'cut', from, to });
    this.updateQuiet();
  }

  uncut(from: NodeId, to: NodeId): void {
    this.network.uncut(from, to);
    this.fault({ kind: 'uncut', from, to });
    this.updateQuiet();
  }

  setNetwork(lossProbability: number, duplicateProbability: number): void {
    this.network.lossProbability = lossProbability;
    this.network.duplicateProbability = duplicateProbability;
    this.fault({ kind: 'network', lossProbability, duplicateProbability });
    this.updateQuiet();
  }

  /**
   * Ends the safety phase: no loss, no partition or cut, paused nodes resumed; `revive` says
   * which crashed nodes restart (the rest stay dead). Duplication and jitter stay.
   */
  beginLiveness(revive: (node: SimNode) => boolean): void {
    this.phase = 'liveness';
    this.fault({ kind: 'liveness' });
    this.network.heal();
    this.network.clearCuts();
    this.setNetwork(0, this.network.duplicateProbability);
    for (const node of this.nodes) if (node.paused) this.resume(node.id);
    for (const node of this.nodes) if (!node.up && revive(node)) this.start(node.id);
    this.updateQuiet();
  }

  // ---- internals ---------------------------------------------------------------------------

  private process(event: SimEvent): void {
    this.stats.steps++;
    this.touched = null;
    switch (event.kind) {
      case 'action':
        event.run();
        return;
      case 'tick':
        return this.processTick(event);
      case 'synced':
        return this.processSynced(event);
      case 'completed':
        return this.processCompleted(event);
      case 'deliver':
        return this.processDelivery(event);
    }
  }

  private processTick(event: Extract<SimEvent, { kind: 'tick' }>): void {
    const node = event.node;
    // A superseded timer, one of an earlier life, or a stopped process (resume fires it).
    if (!node.host || node.life !== event.life || node.timer !== event.timer || node.paused) return;
    if (node.blockedUntilMs > this.nowMs) {
      this.queue.push(node.blockedUntilMs, event);
      return;
    }
    node.timerDueMs = Infinity;
    node.noteLate(this.nowMs - event.dueMs);
    this.input(node, { type: 'tick', nowMs: this.clock(node), lagMs: node.localLagMs(this.nowMs) });
  }

  private processDelivery(event: Extract<SimEvent, { kind: 'deliver' }>): void {
    const { node, inbound } = event;
    const from = inbound.kind === 'hint' ? inbound.peer : inbound.from;
    if (!event.received) {
      if (inbound.kind !== 'hint') this.network.arrived(from, node.id);
      // The connection died with the old life; a cut that started meanwhile eats the packet too.
      if (!node.host || node.life !== event.life || (inbound.kind !== 'hint' && this.network.blocked(from, node.id))) {
        if (inbound.kind !== 'hint') this.drop(from, node.id, inbound.kind, 'gone');
        return;
      }
      event.received = true;
    }
    if (!node.host || node.life !== event.life) return;
    if (node.paused) {
      if (node.inbox.length < PAUSED_INBOX_LIMIT) node.inbox.push(inbound);
      else if (inbound.kind !== 'hint') this.drop(from, node.id, inbound.kind, 'buffer-full');
      return;
    }
    if (node.blockedUntilMs > this.nowMs) {
      this.queue.push(node.blockedUntilMs, event);
      return;
    }
    switch (inbound.kind) {
      case 'hint':
        this.trace.add(`${this.nowMs} ${node.id} connection-closed ${from}`);
        this.input(node, { type: 'connection-closed', nowMs: this.clock(node), peer: from });
        return;
      case 'heartbeat': {
        this.stats.messagesDelivered++;
        const value: unknown = JSON.parse(inbound.payload);
        const parsed = this.init.heartbeatCodec ? this.init.heartbeatCodec.parse(value) : { ok: true as const, value: value as Heartbeat };
        if (!parsed.ok) {
          this.trace.add(`${this.nowMs} ${node.id} rejected heartbeat from ${from}: ${parsed.reason}`);
          return;
        }
        this.trace.add(`${this.nowMs} ${from}>${node.id} hb ${parsed.value.incarnation}/${parsed.value.seq}`);
        this.input(node, { type: 'heartbeat', nowMs: this.clock(node), from, heartbeat: parsed.value });
        return;
      }
      case 'message': {
        this.stats.messagesDelivered++;
        const older = node.raftWire < RAFT_WIRE ? this.init.protocol.olderDialectCodec?.(node.raftWire) : undefined;
        const codec = older ?? (this.init.protocol.machines?.[inbound.protocol] ?? this.init.protocol).messageCodec;
        const value: unknown = JSON.parse(inbound.payload);
        const parsed = codec ? codec.parse(value) : { ok: true as const, value };
        this.trace.add(`${this.nowMs} ${from}>${node.id} msg ${inbound.payload.slice(0, 80)}`);
        if (!parsed.ok) {
          if (older) this.olderDialectRefusals.push(`${from}>${node.id} (dialect ${node.raftWire}): ${parsed.reason}`);
          this.trace.add(`${this.nowMs} ${node.id} rejected message from ${from}: ${parsed.reason}`);
          return;
        }
        this.input(node, { type: 'message', nowMs: this.clock(node), from, message: parsed.value, ...(this.init.protocol.machines ? { protocol: inbound.protocol } : {}) });
        return;
      }
    }
  }

  private publish(sender: SimNode, heartbeat: Heartbeat, to: NodeId[] | null): void {
    // Serialized once, parsed per receiver: no machine ever shares an object with another.
    const payload = JSON.stringify(heartbeat);
    const peers = to === null ? this.nodes : to.flatMap((id) => this.byId.get(id) ?? []);
    for (const peer of peers) {
      if (peer !== sender) this.transmit(sender.id, peer, { kind: 'heartbeat', from: sender.id, payload });
    }
  }

  private sendMessage(sender: SimNode, to: NodeId, message: unknown, protocol: ProtocolName): void {
    const peer = this.byId.get(to);
    const payload = JSON.stringify(message);
    if (!peer) {
      this.drop(sender.id, to, 'message', 'unknown-peer');
      return;
    }
    this.transmit(sender.id, peer, { kind: 'message', from: sender.id, payload, protocol });
  }

  private transmit(from: NodeId, peer: SimNode, inbound: Inbound & { kind: 'heartbeat' | 'message' }): void {
    this.stats.messagesSent++;
    // Nothing listens on a dead node's port.
    if (!peer.up) {
      this.drop(from, peer.id, inbound.kind, 'down');
      return;
    }
    const outcome = this.network.send(from, peer.id);
    if (outcome.dropped) {
      this.drop(from, peer.id, inbound.kind, outcome.dropped);
      return;
    }
    for (const delayMs of outcome.delaysMs) {
      this.queue.push(this.nowMs + delayMs, { kind: 'deliver', node: peer, life: peer.life, inbound, received: false });
    }
  }

  private drop(from: NodeId, to: NodeId, kind: string, reason: string): void {
    this.stats.messagesDropped++;
    this.trace.add(`${this.nowMs} ${from}>${to} ${kind} dropped ${reason}`);
  }

  private loadPersisted(node: SimNode, protocol: ProtocolName): unknown {
    const text = node.disk.elections[protocol];
    if (text === undefined) return null;
    const value: unknown = JSON.parse(text);
    const codec = (this.init.protocol.machines?.[protocol] ?? this.init.protocol).persistedCodec;
    if (!codec) return value;
    const parsed = codec.parse(value);
    // The daemon refuses to start on a corrupt state file; here it can only be a machine bug.
    if (!parsed.ok) throw new Error(`persisted state of ${node.id} does not parse: ${parsed.reason}`);
    return parsed.value;
  }

  private fault(fault: FaultRecord): void {
    this.faultCounts[fault.kind] = (this.faultCounts[fault.kind] ?? 0) + 1;
    this.record({ type: 'fault', fault });
  }

  private record(record: StepRecord): void {
    this.records.push(record);
    if (record.type === 'membership' && record.event.type === 'protocol-switched') this.switches[record.event.how]++;
    this.trace.addNotable(`${this.nowMs} ${formatRecord(record)}`);
  }

  /** Quiet: no loss, partition, cut, pause or stall in force. */
  private updateQuiet(): void {
    const disturbed =
      this.network.disturbed || this.nodes.some((n) => n.paused || (n.up && n.blockedUntilMs > this.nowMs));
    if (disturbed) this.quietSinceMs = null;
    else if (this.quietSinceMs === null) this.quietSinceMs = this.nowMs;
    if (!disturbed && this.phase === 'liveness' && this.healedAtMs === null) {
      this.healedAtMs = this.nowMs;
      this.trace.add(`${this.nowMs} healed`);
    }
  }

  private afterStep(): void {
    for (const invariant of this.invariants) {
      const message = invariant.check(this);
      if (message !== null) {
        this.violation = { seed: this.seed, invariant: invariant.name, nowMs: this.nowMs, message, trace: this.trace.tail(), notable: this.trace.notable() };
        break;
      }
    }
    if (this.healedAtMs !== null && this.convergedAtMs === null && this.allConverged()) this.convergedAtMs = this.nowMs;
    this.records.length = 0;
  }

  /** Every live node sees every live node alive. */
  private allConverged(): boolean {
    const live = this.nodes.filter((n) => n.live);
    return live.every((observer) => live.every((target) => observer.member(target.id)?.state === 'alive'));
  }
}
