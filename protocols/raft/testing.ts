/**
 * A socket-free cluster of Raft machines for tests, after etcd-raft's raft_test.go network and
 * ../bully/testing.ts: a map of machines, a `pump()` that delivers messages until quiet, fault
 * verbs (cut, isolate, drop, crash, restart, recover), and a disk per node that survives crashes
 * (hard state and log, applied from persist effects in drain order, so durable at once).
 * Membership is modelled: a peer shows alive when the link is up and it runs, else dead (or
 * suspect with connectionLost, on request; `left` after `leave`), gossiping its summary's term,
 * with the time its state last changed in each viewer's eyes (stateSinceMs). A node is in no view
 * before it first starts, so `add` and a later `start` model a node that joins the fleet later.
 *
 * For scenario traces (scenario.ts, after etcd-raft's interaction_env) the net can `hold`
 * messages in its queue, so they are delivered one round at a time with `deliver`, and reports
 * every time step, delivery attempt, effect and machine step to `onEvent` in the order they happen.
 */
import type { ElectionEffect, ElectionInput, ElectionMember } from '../election.js';
import type { KvAnswer, KvRequest } from '../kv/requests.js';
import { createRng, type Rng } from '../rng.js';
import { TestCluster } from '../testing.js';
import type { ElectionSummary, MemberState, NodeId } from '../types.js';
import { DEFAULT_RAFT_CONFIG, type RaftConfig } from './config.js';
import type { RaftHardState } from './durable.js';
import { RAFT_WIRE, raftMessageCodec, type RaftEntry, type RaftMessage } from './messages.js';
import type { RaftSnapshot } from './log.js';
import { createRaft, type Raft, type RaftElection } from './raft.js';

export type RaftTestEffect = ElectionEffect<RaftMessage, RaftHardState>;

export interface Sent {
  atMs: number;
  from: NodeId;
  to: NodeId;
  message: RaftMessage;
}

/** What happened to a queued message: delivered, dropped by a rule (or on request), lost to a cut link, or to a node that is down. */
export type DeliveryFate = 'delivered' | 'dropped' | 'cut' | 'down';

/** One thing the net did, in order (scenario traces). */
export type NetEvent =
  | { type: 'time'; nowMs: number }
  | { type: 'deliver'; sent: Sent; fate: DeliveryFate }
  | { type: 'effect'; node: NodeId; effect: RaftTestEffect }
  /** A machine took an input; its effects were reported just before. */
  | { type: 'stepped'; node: NodeId; input: ElectionInput<RaftMessage> };

interface TestNode {
  machine: RaftElection | null;
  disk: { hard: RaftHardState | null; snapshot: RaftSnapshot | null; entries: RaftEntry[] };
  /** Persists written in this life (each is durable at once, and the machine is told so). */
  persists: number;
}

const MAX_PUMP_ROUNDS = 10_000;

export class RaftNet extends TestCluster {
  /** Answers of key-value requests (kvAsk), by request id. */
  readonly kvAnswers = new Map<number, KvAnswer>();
  private nextKvId = 1;
  nowMs = 0;
  readonly tickMs = 10;
  readonly nodes = new Map<NodeId, TestNode>();
  /** Every effect in drain order, per node. */
  readonly effects: { atMs: number; node: NodeId; effect: RaftTestEffect }[] = [];
  readonly sent: Sent[] = [];
  private readonly cuts = new Set<string>();
  /** Nodes reported with their connection lost, and to whom (null: every peer). */
  private readonly lost = new Map<NodeId, ReadonlySet<NodeId> | null>();
  private dropRule: ((m: Sent) => boolean) | null = null;
  /** Nodes frozen (SIGSTOP): they neither tick nor read; what is sent to them waits in the queue. */
  private readonly paused = new Set<NodeId>();
  private queue: Sent[] = [];
  /** Nodes that ever ran (the others are in nobody's view), and those that stopped gracefully. */
  private readonly started = new Set<NodeId>();
  private readonly leftNodes = new Set<NodeId>();
  /** Per viewer, per peer: the state it last showed and since when. */
  private readonly seenStates = new Map<NodeId, Map<NodeId, { state: MemberState; sinceMs: number }>>();
  private readonly rng: Rng;
  /** Called after every delivery and tick (invariant checks). */
  onStep: (() => void) | null = null;
  /** Snapshot chunk size the machines start with (RaftInit.snapshotChunkBytes); undefined: the machine's default. */
  snapshotChunkBytes: number | undefined;
  /** Append byte budget the machines start with (RaftInit.appendBytes); undefined: the machine's default. */
  appendBytes: number | undefined;
  /** Keep sent messages queued: pump() only collects effects, deliver() moves messages. */
  hold = false;
  /** Sees every event in order (scenario traces). */
  onEvent: ((event: NetEvent) => void) | null = null;
  /**
   * Each machine hears at once that its writes are durable (the `durable` input a host sends),
   * except these: their disk still holds the writes (a crash keeps them) but they are never
   * told, so a test can say when, stepping `durable` itself with `node(id).persists`.
   */
  readonly unannouncedWrites = new Set<NodeId>();
  /**
   * Nodes that membership shows speaking Raft dialect 1 (messages.ts RAFT_WIRE): a build from
   * before the handover record, during a rolling upgrade. Their machines are this build's; only
   * what the others send them changes.
   */
  readonly olderDialect = new Set<NodeId>();

  constructor(
    ids: readonly NodeId[],
    readonly config: RaftConfig = DEFAULT_RAFT_CONFIG,
    seed = 1,
    readonly bootstrapExpect = ids.length,
  ) {
    super();
    this.rng = createRng(seed);
    for (const id of ids) this.nodes.set(id, { machine: null, disk: { hard: null, snapshot: null, entries: [] }, persists: 0 });
  }

  /** A node that joins the fleet later (started with `start`). */
  add(id: NodeId): void {
    if (!this.nodes.has(id)) this.nodes.set(id, { machine: null, disk: { hard: null, snapshot: null, entries: [] }, persists: 0 });
  }

  /** Starts (or restarts from its disk) every listed node, or all. */
  start(...ids: NodeId[]): void {
    for (const id of ids.length ? ids : [...this.nodes.keys()]) {
      const node = this.node(id);
      if (node.machine) continue;
      this.started.add(id);
      this.leftNodes.delete(id);
      node.persists = 0;
      node.machine = createRaft({
        selfId: id,
        config: this.config,
        bootstrapExpect: this.bootstrapExpect,
        rng: this.rng.fork(),
        persisted: node.disk.hard,
        log: { snapshot: structuredClone(node.disk.snapshot), entries: structuredClone(node.disk.entries) },
        nowMs: this.nowMs,
        ...(this.snapshotChunkBytes !== undefined ? { snapshotChunkBytes: this.snapshotChunkBytes } : {}),
        ...(this.appendBytes !== undefined ? { appendBytes: this.appendBytes } : {}),
      });
    }
    this.refreshViews();
    this.pump();
  }

  /** A graceful stop: the node is gone, and peers show it `left` rather than dead. */
  leave(id: NodeId): void {
    this.leftNodes.add(id);
    this.crash(id);
  }

  crash(id: NodeId): void {
    this.node(id).machine = null;
    for (const m of this.queue) if (m.to === id) this.onEvent?.({ type: 'deliver', sent: m, fate: 'down' });
    this.queue = this.queue.filter((m) => m.to !== id);
    this.refreshViews();
    this.pump();
  }

  cut(a: NodeId, b: NodeId): void {
    this.cuts.add(linkKey(a, b));
    this.refreshViews();
    this.pump();
  }

  isolate(id: NodeId): void {
    for (const other of this.nodes.keys()) if (other !== id) this.cuts.add(linkKey(id, other));
    this.refreshViews();
    this.pump();
  }

  /**
   * Peers see `id` as suspect with its connection lost (a kill -9's closed connection), though it
   * may still run; only the `observers`, when given (one peer's connection closed, not all).
   */
  connectionLost(id: NodeId, observers?: readonly NodeId[]): void {
    this.lost.set(id, observers?.length ? new Set(observers) : null);
    this.refreshViews();
    this.pump();
  }

  recover(): void {
    this.cuts.clear();
    this.lost.clear();
    this.dropRule = null;
    this.refreshViews();
    this.pump();
  }

  /** Freezes a node, as SIGSTOP does: peers still show it alive (membership takes longer to judge silence). */
  pause(id: NodeId): void {
    this.paused.add(id);
  }

  /**
   * Wakes a paused node as a daemon wakes: it reads what waited for it (before its late timer
   * fires, as the daemon's tick follows the event loop's reads), then runs on.
   */
  resume(id: NodeId): void {
    this.paused.delete(id);
    this.pump();
    this.refreshViews();
    this.pump();
  }

  drop(rule: (m: Sent) => boolean): void {
    this.dropRule = rule;
  }

  advance(ms: number): void {
    const until = this.nowMs + ms;
    while (this.nowMs < until) {
      this.nowMs = Math.min(until, this.nowMs + this.tickMs);
      this.onEvent?.({ type: 'time', nowMs: this.nowMs });
      for (const id of this.nodes.keys()) if (!this.paused.has(id)) this.stepNode(id, { type: 'tick', nowMs: this.nowMs });
      this.pump();
      this.refreshViews();
    }
  }

  /** etcd's MsgHup: `id` starts a pre-vote campaign now, whatever it knows (a test hook; operators have `elect`). */
  hup(id: NodeId): void {
    (this.machine(id) as Raft).campaign('pre', 'hup');
    this.pump();
  }

  /** Delivers a message as if `from` sent it (a forged or replayed one); returns what `to` did at once. */
  inject(from: NodeId, to: NodeId, message: RaftMessage): RaftTestEffect[] {
    this.machine(to);
    const before = this.effects.length;
    this.stepNode(to, { type: 'message', nowMs: this.nowMs, from, message });
    const effects = this.effects.slice(before).map((e) => e.effect);
    this.pump();
    return effects;
  }

  /** Asks `id`'s store (a key-value request as its API would); the answer lands in kvAnswers under the returned id. */
  kvAsk(id: NodeId, request: KvRequest): number {
    const kvId = this.nextKvId++;
    this.stepNode(id, { type: 'kv', nowMs: this.nowMs, id: kvId, request });
    this.pump();
    return kvId;
  }

  /** Asks and runs until the answer comes (throws without one within maxMs). */
  kv(id: NodeId, request: KvRequest, maxMs = 5000): KvAnswer {
    const kvId = this.kvAsk(id, request);
    this.advanceUntil(() => this.kvAnswers.has(kvId), maxMs);
    const answer = this.kvAnswers.get(kvId);
    if (!answer) throw new Error(`no answer to ${request.kind} at ${id} within ${maxMs} ms`);
    return answer;
  }

  /** Starts every node and runs until they agree on a leader; returns it. */
  elect(maxMs = 10_000): NodeId {
    this.start();
    if (!this.advanceUntil(() => this.agreedLeader() !== null, maxMs)) throw new Error('no agreed leader');
    return this.agreedLeader()!;
  }

  summary(id: NodeId): ElectionSummary | null {
    return this.node(id).machine?.summary(this.nowMs) ?? null;
  }

  /** The one node every running node agrees leads (and that reports itself leader), or null. */
  agreedLeader(): NodeId | null {
    const up = [...this.nodes.values()].filter((n) => n.machine);
    const leaders = up.filter((n) => n.machine!.summary(this.nowMs).role === 'leader');
    if (leaders.length !== 1) return null;
    const id = leaders[0]!.machine!.raftStatus().leader!;
    return up.every((n) => n.machine!.summary(this.nowMs).leader === id) ? id : null;
  }

  leaders(): NodeId[] {
    return [...this.nodes.entries()].filter(([, n]) => n.machine?.summary(this.nowMs).role === 'leader').map(([id]) => id);
  }

  machine(id: NodeId): RaftElection {
    const m = this.node(id).machine;
    if (!m) throw new Error(`${id} is not running`);
    return m;
  }

  node(id: NodeId): TestNode {
    const n = this.nodes.get(id);
    if (!n) throw new Error(`unknown node ${id}`);
    return n;
  }

  /** Delivers queued messages (after a round trip through the codec) until none is left; while holding, only collects what was sent. */
  pump(): void {
    for (let round = 0; round < MAX_PUMP_ROUNDS; round++) {
      for (const [id, node] of this.nodes) if (node.machine) this.collect(id, node);
      if (this.hold) return;
      const at = this.queue.findIndex((m) => !this.paused.has(m.to));
      if (at < 0) return;
      const [next] = this.queue.splice(at, 1);
      this.deliverOne(next!, false);
    }
    throw new Error('pump did not quiesce');
  }

  /** The messages waiting in the queue, oldest first (while holding). */
  pending(): readonly Sent[] {
    return this.queue;
  }

  /**
   * Delivers (or drops) the queued messages that `match`, in queue order: one round, as
   * etcd's deliver-msgs; what they cause is queued behind. Returns how many it took. Messages to
   * a paused node stay queued.
   */
  deliver(match: (m: Sent) => boolean, drop = false): number {
    for (const [id, node] of this.nodes) if (node.machine) this.collect(id, node);
    const due = (m: Sent) => match(m) && !this.paused.has(m.to);
    const taken = this.queue.filter(due);
    this.queue = this.queue.filter((m) => !due(m));
    for (const m of taken) this.deliverOne(m, drop);
    return taken.length;
  }

  private deliverOne(next: Sent, drop: boolean): void {
    const target = this.nodes.get(next.to)?.machine;
    const fate: DeliveryFate = !target ? 'down' : this.cuts.has(linkKey(next.from, next.to)) ? 'cut' : drop || this.dropRule?.(next) ? 'dropped' : 'delivered';
    this.onEvent?.({ type: 'deliver', sent: next, fate });
    if (fate !== 'delivered') return;
    const parsed = raftMessageCodec.parse(JSON.parse(JSON.stringify(next.message)));
    if (!parsed.ok) throw new Error(`${next.from} sent an invalid message: ${parsed.reason}`);
    this.stepNode(next.to, { type: 'message', nowMs: this.nowMs, from: next.from, message: parsed.value });
    this.onStep?.();
  }

  /** Steps a running node and collects what it emitted at once (the order pump() would collect it in). */
  private stepNode(id: NodeId, input: ElectionInput<RaftMessage>): void {
    const node = this.node(id);
    if (!node.machine) return;
    node.machine.step(input);
    this.collect(id, node);
    this.onEvent?.({ type: 'stepped', node: id, input });
  }

  private collect(id: NodeId, node: TestNode): void {
    let persisted = false;
    for (const effect of node.machine!.drain()) {
      this.effects.push({ atMs: this.nowMs, node: id, effect });
      this.onEvent?.({ type: 'effect', node: id, effect });
      switch (effect.type) {
        case 'persist': {
          const b = effect.batch;
          if (b.snapshot !== undefined) {
            node.disk.snapshot = structuredClone(b.snapshot) as RaftSnapshot;
            node.disk.entries = node.disk.entries.filter((e) => e.index > b.snapshot!.index);
          }
          if (b.truncateAfter !== undefined) node.disk.entries = node.disk.entries.filter((e) => e.index <= b.truncateAfter!);
          for (const e of b.entries ?? []) node.disk.entries.push(structuredClone(e) as RaftEntry);
          if (b.hardState) node.disk.hard = structuredClone(b.hardState);
          node.persists++;
          persisted = true;
          break;
        }
        case 'send': {
          const sent = { atMs: this.nowMs, from: id, to: effect.to, message: effect.message };
          this.sent.push(sent);
          this.queue.push(sent);
          break;
        }
        case 'command-result':
          this.results.set(effect.id, effect.result);
          break;
        case 'kv-answer':
          this.kvAnswers.set(effect.id, effect.answer);
          break;
        default:
          break;
      }
    }
    // The disk is instant: the writes are durable now, and the machine hears so as from a host.
    if (persisted && !this.unannouncedWrites.has(id)) this.stepNode(id, { type: 'durable', nowMs: this.nowMs, persists: node.persists });
  }

  /** When `viewer` first saw `peer` in `state` (since its last change). */
  private stateSince(viewer: NodeId, peer: NodeId, state: MemberState): number {
    let byPeer = this.seenStates.get(viewer);
    if (!byPeer) this.seenStates.set(viewer, (byPeer = new Map()));
    const before = byPeer.get(peer);
    if (before?.state === state) return before.sinceMs;
    byPeer.set(peer, { state, sinceMs: this.nowMs });
    return this.nowMs;
  }

  /** Gives every running node the view it would have: peers alive over working links. */
  private refreshViews(): void {
    for (const [id, node] of this.nodes) {
      // A paused node reads its view when it wakes, as any other input.
      if (!node.machine || this.paused.has(id)) continue;
      const members: ElectionMember[] = [...this.nodes.entries()].filter(([peer]) => this.started.has(peer)).map(([peer, other]) => {
        const self = peer === id;
        const reachable = self || (other.machine !== null && !this.cuts.has(linkKey(id, peer)));
        const seenBy = this.lost.get(peer);
        const lost = !self && seenBy !== undefined && (seenBy === null || seenBy.has(id));
        const state: MemberState = lost ? 'suspect' : reachable ? 'alive' : other.machine === null && this.leftNodes.has(peer) ? 'left' : 'dead';
        // A crashed node is dead at once, its connections closed (a daemon hears that first, as
        // `suspect`); one cut off is dead by silence alone, and a follower keeps its promise to it.
        const closed = lost || (state === 'dead' && other.machine === null);
        const summary = other.machine?.summary(this.nowMs) ?? { role: 'follower', term: other.disk.hard?.term ?? 0, leader: null, fencingToken: 0 };
        const raftWire = this.olderDialect.has(peer) ? {} : { raftWire: RAFT_WIRE };
        return { id: peer, name: peer, state, priority: 0, protocol: 'raft', ...raftWire, self, role: summary.role, term: summary.term, leader: summary.leader, fencingToken: summary.fencingToken, connectionLost: closed, stateSinceMs: this.stateSince(id, peer, state) };
      });
      const key = JSON.stringify(members.map((m) => [m.id, m.state, m.term, m.raftWire]));
      if (viewKeys.get(node.machine) === key) continue;
      viewKeys.set(node.machine, key);
      this.stepNode(id, { type: 'members', nowMs: this.nowMs, members });
    }
  }
}

/** The last view each node was given (a new view only when it changed, as membership reports). */
const viewKeys = new WeakMap<RaftElection, string>();

function linkKey(a: NodeId, b: NodeId): string {
  return a < b ? `${a}|${b}` : `${b}|${a}`;
}
