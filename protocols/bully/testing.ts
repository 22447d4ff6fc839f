/**
 * A socket-free cluster of Bully machines for tests, after etcd-raft's raft_test.go: a map of
 * machines, a `pump()` that delivers messages until quiet, and fault verbs (drop, cut, isolate,
 * partition, crash, recover). Membership is modelled, not run: each node's view shows a peer
 * alive when the link is up, else dead (or suspect, on request), with the peer's election
 * summary as gossip would carry it. Gossip is instant; that is the "one gossip round".
 */
import type { ElectionEffect, ElectionMember } from '../election.js';
import { createRng, type Rng } from '../rng.js';
import { TestCluster } from '../testing.js';
import type { ElectionSummary, MemberState, NodeId, ProtocolName } from '../types.js';
import { createBully } from './bully.js';
import { DEFAULT_BULLY_CONFIG, type BullyConfig } from './config.js';
import { bullyMessageCodec, type BullyMessage, type BullyPersisted } from './messages.js';

/** The defaults with a shorter settle window, so scenarios start sooner. */
export const TEST_BULLY_CONFIG: BullyConfig = Object.freeze({ ...DEFAULT_BULLY_CONFIG, settleMs: 1000 });

/** Long enough after a start with TEST_BULLY_CONFIG for any election to have finished. */
export const TEST_SETTLED_MS = TEST_BULLY_CONFIG.settleMs + 3000;

export interface NodeSpec {
  id: NodeId;
  priority?: number;
  protocol?: ProtocolName;
  /**
   * A member the test speaks for (a rogue or a stranger that joined by gossip): shown alive with
   * `puppetSummary` as its gossip, it runs no machine; `inject` sends in its name.
   */
  puppet?: boolean;
}

type Effect = ElectionEffect<BullyMessage, BullyPersisted>;

interface TestNode {
  readonly spec: Required<NodeSpec>;
  machine: ReturnType<typeof createBully> | null;
  /** Survives crashes, as the state file does. */
  disk: BullyPersisted | null;
  /** Whether the node has ever started (peers know it from then on). */
  known: boolean;
  lastView: string;
  /** Persist effects of the running machine (its life), all durable at once. */
  persists: number;
}

export interface SentMessage {
  atMs: number;
  from: NodeId;
  to: NodeId;
  message: BullyMessage;
}

const MAX_PUMP_ROUNDS = 1000;

/** Deadline mode: steps at one instant before a machine's deadline() must have moved past it. */
const MAX_STEPS_AT_ONE_INSTANT = 100;

/**
 * How virtual time advances. `fixed`: every running node ticks every `tickMs`, as the simulator's
 * host does. `deadline`: each node ticks only when its own `deadline()` falls due, as a host that
 * sets one timer per machine does.
 */
export type TickMode = 'fixed' | 'deadline';

export class BullyNet extends TestCluster {
  nowMs = 0;
  readonly tickMs = 25;
  readonly nodes = new Map<NodeId, TestNode>();
  readonly sent: SentMessage[] = [];
  private readonly slowDisks = new Set<NodeId>();
  /** Messages a slow disk holds (see holdDisk), in order. */
  private readonly heldSends = new Map<NodeId, SentMessage[]>();
  readonly effects: { atMs: number; node: NodeId; effect: Effect }[] = [];
  private readonly cuts = new Set<string>();
  /** observer>target, with whether the suspicion came from a closed connection. */
  private readonly suspicions = new Map<string, { connectionLost: boolean }>();
  private dropRule: ((m: SentMessage) => boolean) | null = null;
  private queue: SentMessage[] = [];
  private readonly rng: Rng;
  /** Crashed peers show as `suspect` instead of `dead` (the connection-closed hint). */
  crashedShowAs: MemberState = 'dead';
  /** What puppets gossip about themselves (see NodeSpec.puppet). */
  puppetSummary: ElectionSummary = { role: 'follower', term: 0, leader: null, fencingToken: 0 };
  /** Called after every delivery and tick: invariant checks. */
  onStep: (() => void) | null = null;
  tickMode: TickMode = 'fixed';
  /**
   * Deadline mode: extra ticks, at times the function picks in [fromMs, beforeMs), which lies
   * strictly before every running node's deadline. Every running node gets each one; the
   * Election contract says they change nothing.
   */
  extraTicks: ((fromMs: number, beforeMs: number) => readonly number[]) | null = null;
  /** Called for every tick a node gets, before it steps. */
  onTick: ((id: NodeId, nowMs: number) => void) | null = null;
  /**
   * Views carry `stateSinceMs` (when the observer last saw the member's state change), as
   * membership reports it. Off by default: scenarios then start from members known long ago.
   */
  reportStateSince = false;
  /** observer>member: the state last shown and since when (see reportStateSince). */
  private readonly stateSince = new Map<string, { state: MemberState; sinceMs: number }>();

  /** `cluster.bootstrapExpect` of every node: by default every Bully node listed, as cluster.sh does. */
  readonly bootstrapExpect: number;

  constructor(
    specs: readonly NodeSpec[],
    readonly config: BullyConfig = TEST_BULLY_CONFIG,
    seed = 1,
    bootstrapExpect?: number,
  ) {
    super();
    this.bootstrapExpect = bootstrapExpect ?? specs.filter((s) => (s.protocol ?? 'bully') === 'bully').length;
    this.rng = createRng(seed);
    for (const s of specs) {
      this.nodes.set(s.id, { spec: { priority: 0, protocol: 'bully', puppet: false, ...s }, machine: null, disk: null, known: false, lastView: '', persists: 0 });
    }
  }

  /** Starts (or restarts from its disk) every listed node, or all. */
  start(...ids: NodeId[]): void {
    for (const id of ids.length ? ids : [...this.nodes.keys()]) {
      const node = this.node(id);
      if (node.machine || node.spec.protocol !== 'bully' || node.spec.puppet) {
        node.known = true;
        continue;
      }
      node.known = true;
      node.lastView = '';
      node.persists = 0;
      node.machine = createBully({ selfId: id, config: this.config, bootstrapExpect: this.bootstrapExpect, rng: this.rng.fork(), persisted: node.disk, nowMs: this.nowMs });
    }
    this.refreshViews();
    this.pump();
  }

  crash(id: NodeId): void {
    this.node(id).machine = null;
    this.queue = this.queue.filter((m) => m.to !== id && m.from !== id);
    this.refreshViews();
    this.pump();
  }

  /** Cuts the link between a and b both ways (messages and gossip). */
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

  partition(...groups: NodeId[][]): void {
    for (const g of groups) for (const h of groups) if (g !== h) for (const a of g) for (const b of h) this.cuts.add(linkKey(a, b));
    this.refreshViews();
    this.pump();
  }

  /**
   * `observer` suspects `target` (silence, or a closed connection that will be redialled): the
   * link itself still works.
   */
  suspect(observer: NodeId, target: NodeId, reason: 'silence' | 'connection-closed' = 'silence'): void {
    this.suspicions.set(`${observer}>${target}`, { connectionLost: reason === 'connection-closed' });
    this.refreshViews();
    this.pump();
  }

  /** Heals every cut and suspicion and stops dropping. */
  recover(): void {
    this.cuts.clear();
    this.suspicions.clear();
    this.dropRule = null;
    this.refreshViews();
    this.pump();
  }

  /** Drops every message the rule matches until recover(). */
  drop(rule: (m: SentMessage) => boolean): void {
    this.dropRule = rule;
  }

  /** Advances virtual time in ticks (see TickMode), pumping after each. */
  advance(ms: number): void {
    const until = this.nowMs + ms;
    if (this.tickMode === 'deadline') return this.advanceByDeadlines(until);
    while (this.nowMs < until) {
      this.nowMs = Math.min(until, this.nowMs + this.tickMs);
      for (const [id, node] of this.nodes) if (node.machine) this.tick(id, node.machine);
      this.pump();
    }
  }

  /** Deadline mode: jumps from one due deadline to the next, ticking only the nodes due. */
  private advanceByDeadlines(until: number): void {
    let stepsAtThisInstant = 0;
    for (;;) {
      const running = [...this.nodes].filter(([, n]) => n.machine !== null);
      const dueMs = Math.max(this.nowMs, Math.min(...running.map(([, n]) => n.machine!.deadline())));
      const beforeMs = Math.min(dueMs, until);
      for (const atMs of this.extraTicks?.(this.nowMs, beforeMs) ?? []) {
        if (atMs < this.nowMs || atMs >= beforeMs) throw new Error(`extra tick at ${atMs} ms outside [${this.nowMs}, ${beforeMs})`);
        this.nowMs = atMs;
        for (const [id, n] of running) if (n.machine) this.tick(id, n.machine);
        this.pump();
      }
      if (dueMs > until) {
        this.nowMs = until;
        return;
      }
      stepsAtThisInstant = dueMs === this.nowMs ? stepsAtThisInstant + 1 : 0;
      if (stepsAtThisInstant > MAX_STEPS_AT_ONE_INSTANT) throw new Error(`deadline() stays at ${dueMs} ms after ticks there`);
      this.nowMs = dueMs;
      for (const [id, n] of running) if (n.machine && n.machine.deadline() <= dueMs) this.tick(id, n.machine);
      this.pump();
    }
  }

  private tick(id: NodeId, machine: NonNullable<TestNode['machine']>): void {
    this.onTick?.(id, this.nowMs);
    machine.step({ type: 'tick', nowMs: this.nowMs });
  }

  summary(id: NodeId): ElectionSummary | null {
    return this.node(id).machine?.summary(this.nowMs) ?? null;
  }

  up(): NodeId[] {
    return [...this.nodes.entries()].filter(([, n]) => n.machine).map(([id]) => id);
  }

  leaders(): NodeId[] {
    return this.up().filter((id) => this.summary(id)!.role === 'leader');
  }

  /** The one leader every running node follows, or null when they disagree or none leads. */
  agreedLeader(ids: NodeId[] = this.up()): NodeId | null {
    const leaders = ids.filter((id) => this.summary(id)!.role === 'leader');
    if (leaders.length !== 1) return null;
    return ids.every((id) => this.summary(id)!.leader === leaders[0]) ? leaders[0] : null;
  }

  effectsOf(id: NodeId, type: Effect['type']): Effect[] {
    return this.effects.filter((e) => e.node === id && e.effect.type === type).map((e) => e.effect);
  }

  disk(id: NodeId): BullyPersisted | null {
    return this.node(id).disk;
  }

  machine(id: NodeId): NonNullable<TestNode['machine']> {
    const m = this.node(id).machine;
    if (!m) throw new Error(`${id} is not running`);
    return m;
  }

  /**
   * A frame from `from` (a puppet, or an id no node knows) reaches `to` at once, past the codec as
   * in the daemon; then everything pumps. Returns what `to` emitted in reply.
   */
  inject(from: NodeId, to: NodeId, message: unknown): Effect[] {
    const parsed = bullyMessageCodec.parse(JSON.parse(JSON.stringify(message)));
    if (!parsed.ok) throw new Error(`inject: invalid message: ${parsed.reason}`);
    const before = this.effects.length;
    this.machine(to).step({ type: 'message', nowMs: this.nowMs, from, message: parsed.value });
    this.pump();
    return this.effects.slice(before).filter((e) => e.node === to).map((e) => e.effect);
  }

  /** `id`'s writes reach its disk but are not reported durable until releaseDisk (a slow fsync). */
  holdDisk(id: NodeId): void {
    this.slowDisks.add(id);
  }

  /** What a slow disk holds back of `id`'s messages, in order. */
  heldSendsOf(id: NodeId): readonly SentMessage[] {
    return this.heldSends.get(id) ?? [];
  }

  /** Reports every write of `id` so far durable, then delivers what follows. */
  releaseDisk(id: NodeId): void {
    this.slowDisks.delete(id);
    const node = this.node(id);
    for (const sent of this.heldSends.get(id) ?? []) this.enqueue({ ...sent, atMs: this.nowMs });
    this.heldSends.delete(id);
    node.machine?.step({ type: 'durable', nowMs: this.nowMs, persists: node.persists });
    this.pump();
  }

  /** Views change: e.g. after puppetSummary was set. */
  refresh(): void {
    this.refreshViews();
    this.pump();
  }

  /** Delivers effects and messages until every machine is quiet. */
  pump(): void {
    for (let round = 0; round < MAX_PUMP_ROUNDS; round++) {
      let busy = false;
      for (const [id, node] of this.nodes) {
        if (!node.machine) continue;
        const effects = node.machine.drain();
        if (effects.length) busy = true;
        // Persist-before-send, as the hosts do; the disk is instant, and says so, as the host core does.
        const persists = effects.filter((e) => e.type === 'persist');
        for (const e of persists) if (e.batch.hardState) node.disk = e.batch.hardState;
        if (persists.length > 0) {
          node.persists += persists.length;
          if (!this.slowDisks.has(id)) node.machine.step({ type: 'durable', nowMs: this.nowMs, persists: node.persists });
        }
        // A slow disk holds what follows an undurable write, as the host core holds sends behind
        // persists; a `parallel` send leaves at once there too.
        let holding = this.heldSends.has(id);
        for (const effect of effects) {
          this.effects.push({ atMs: this.nowMs, node: id, effect });
          if (effect.type === 'persist' && this.slowDisks.has(id)) {
            holding = true;
            if (!this.heldSends.has(id)) this.heldSends.set(id, []);
          }
          if (effect.type === 'send' && holding && !effect.parallel) this.heldSends.get(id)!.push({ atMs: this.nowMs, from: id, to: effect.to, message: effect.message });
          else if (effect.type === 'send') this.enqueue({ atMs: this.nowMs, from: id, to: effect.to, message: effect.message });
          if (effect.type === 'command-result') this.results.set(effect.id, effect.result);
        }
      }
      const batch = this.queue;
      this.queue = [];
      for (const m of batch) {
        busy = true;
        const target = this.node(m.to).machine;
        if (!target || !this.linked(m.from, m.to)) continue;
        // Every message crosses the codec, as in the daemon (JSON on the wire).
        const parsed = bullyMessageCodec.parse(JSON.parse(JSON.stringify(m.message)));
        if (!parsed.ok) throw new Error(`${m.from} sent an invalid message: ${parsed.reason}`);
        target.step({ type: 'message', nowMs: this.nowMs, from: m.from, message: parsed.value });
        this.onStep?.();
      }
      if (this.refreshViews()) busy = true;
      this.onStep?.();
      if (!busy) return;
    }
    throw new Error('pump did not go quiet');
  }

  private enqueue(m: SentMessage): void {
    this.sent.push(m);
    if (this.dropRule?.(m)) return;
    this.queue.push(m);
  }

  private linked(a: NodeId, b: NodeId): boolean {
    return !this.cuts.has(linkKey(a, b));
  }

  /** Gives each running node its view when it changed; true if any did. */
  private refreshViews(): boolean {
    let changed = false;
    for (const [id, node] of this.nodes) {
      if (!node.machine) continue;
      const members = this.viewOf(id);
      const key = JSON.stringify(members);
      if (key === node.lastView) continue;
      node.lastView = key;
      changed = true;
      node.machine.step({ type: 'members', nowMs: this.nowMs, members });
    }
    return changed;
  }

  private viewOf(observer: NodeId): ElectionMember[] {
    const out: ElectionMember[] = [];
    for (const [id, node] of [...this.nodes].sort(([a], [b]) => (a < b ? -1 : 1))) {
      if (!node.known) continue;
      const self = id === observer;
      const running = node.spec.protocol !== 'bully' || node.machine !== null || node.spec.puppet;
      let state: MemberState = 'alive';
      let connectionLost = false;
      const suspicion = this.suspicions.get(`${observer}>${id}`);
      if (!self && !running) {
        state = this.crashedShowAs;
        // A crash closes every connection to the node at once.
        connectionLost = state === 'suspect';
      } else if (!self && !this.linked(observer, id)) state = 'dead';
      else if (!self && suspicion) {
        state = 'suspect';
        connectionLost = suspicion.connectionLost;
      }
      const summary = node.machine?.summary(this.nowMs) ?? (node.spec.puppet ? this.puppetSummary : { role: 'observer' as const, term: 0, leader: null, fencingToken: 0 });
      out.push({ id, name: id, state, priority: node.spec.priority, protocol: node.spec.protocol, self, ...summary, connectionLost, ...this.stateSinceOf(observer, id, state) });
    }
    return out;
  }

  private stateSinceOf(observer: NodeId, id: NodeId, state: MemberState): { stateSinceMs?: number } {
    if (!this.reportStateSince) return {};
    const key = `${observer}>${id}`;
    let seen = this.stateSince.get(key);
    if (seen?.state !== state) this.stateSince.set(key, (seen = { state, sinceMs: this.nowMs }));
    return { stateSinceMs: seen.sinceMs };
  }

  private node(id: NodeId): TestNode {
    const node = this.nodes.get(id);
    if (!node) throw new Error(`no node ${id}`);
    return node;
  }
}

function linkKey(a: NodeId, b: NodeId): string {
  return a < b ? `${a}|${b}` : `${b}|${a}`;
}

/** A cluster of n1..n`count` started together and run until settled (TEST_SETTLED_MS). */
export function startedCluster(count = 5, config = TEST_BULLY_CONFIG, priorities: number[] = []): BullyNet {
  const net = new BullyNet(specs(count, priorities), config);
  net.start();
  net.advance(TEST_SETTLED_MS);
  return net;
}

/** Specs n1..nk with equal priorities (rank by id: n5 highest) unless given. */
export function specs(count: number, priorities: number[] = []): NodeSpec[] {
  return Array.from({ length: count }, (_, i) => ({ id: `n${i + 1}`, priority: priorities[i] ?? 0 }));
}
