/**
 * One simulated process around the host core (../host/core.ts): the virtual counterpart of
 * daemon/runtime.ts. The core decides everything; this only routes its outputs to the simulated
 * network and disk and reports what invariants need.
 *
 * It also checks the core's persist-before-send from outside: both machines' drains are watched,
 * so each message and heartbeat is known with the last persist its own machine had asked for
 * before it; one carried out before that write is durable is a violation.
 */
import type { KvAnswer } from '../kv/requests.js';
import type { KvEvent } from '../kv/types.js';
import { HostCore, type ElectionFactory, type HostInput, type HostOutput, type NodeBatch } from '../host/core.js';
import type { Election } from '../election.js';
import type { Heartbeat } from '../membership/types.js';
import type { ElectionNodeEvent } from '../host/events.js';
import type { ElectionSummary, NodeId, ProtocolName } from '../types.js';
import type { MembershipMachine, StepRecord } from './types.js';

export interface HostIo {
  /** To these nodes; null: to every node. */
  publish(heartbeat: Heartbeat, to: NodeId[] | null): void;
  /** A message of `protocol`'s machine, on that protocol's stream. */
  send(to: NodeId, message: unknown, protocol: ProtocolName): void;
  /** Start writing; the disk calls `durable(id)` (through the simulation's queue) once it is synced. */
  write(id: number, batch: NodeBatch): void;
  record(record: StepRecord): void;
  /** The graceful stop is complete: the process may exit (after its last packet left). */
  stopped(): void;
  pumpOverflow(): void;
  /** An output left before a write it followed was durable: the core broke persist-before-send. */
  orderViolation(detail: string): void;
  /** The answer to a key-value request a simulated client made (Simulation.kvRequest). */
  kvAnswer?(id: number, answer: KvAnswer): void;
  /** Changes the node's store applied, in revision order (what a daemon's watches are fed). */
  kvEvents?(events: KvEvent[]): void;
}

/** A node of a cluster that switches protocols: the era it starts in, and how its core builds the machine of another protocol. */
export interface SimSwitching {
  era: { era: number; requested: ProtocolName; tokenFloor: number };
  factory: ElectionFactory;
  /** `cluster.bootstrapExpect`: a switch counts at least this many members. */
  bootstrapExpect: number;
}

export class SimHost {
  readonly core: HostCore;
  /** The machine the core runs now (unwrapped: invariants read its internals). */
  private current: Election<unknown, unknown> | null;
  /** Persists the machines asked for so far (the core numbers its persist outputs in the same order), and each machine's last. */
  private persistsAsked = 0;
  private readonly lastPersistOf = { membership: 0, election: 0 };
  /** For each message or heartbeat object a machine emitted: the persists asked for before it. */
  private readonly dependsOn = new WeakMap<object, number>();
  private durableId = 0;

  constructor(
    readonly id: NodeId,
    readonly membership: MembershipMachine,
    election: Election<unknown, unknown> | null,
    private readonly io: HostIo,
    nowMs: number,
    switching?: SimSwitching,
  ) {
    this.current = election;
    const factory: ElectionFactory | undefined =
      switching &&
      ((protocol, carryOver, image, atMs) => {
        this.current = switching.factory(protocol, carryOver, image, atMs);
        return this.watchElection(this.current);
      });
    this.core = new HostCore({
      selfId: id,
      membership: this.watchMembership(membership),
      election: election && this.watchElection(election),
      nowMs,
      bootstrapExpect: switching?.bootstrapExpect ?? 0,
      revisionBase: 0,
      ...(switching ? { era: switching.era, factory } : {}),
    });
  }

  get election(): Election<unknown, unknown> | null {
    return this.current;
  }

  private watchMembership(m: MembershipMachine): MembershipMachine {
    return {
      step: (input) => m.step(input),
      drain: () => {
        const effects = m.drain();
        for (const e of effects) {
          if (e.type === 'persist') this.lastPersistOf.membership = ++this.persistsAsked;
          else if (e.type === 'publish') this.dependsOn.set(e.heartbeat, this.lastPersistOf.membership);
        }
        return effects;
      },
      members: () => m.members(),
      member: (id) => m.member(id),
      self: () => m.self(),
      health: () => m.health(),
      deadline: () => m.deadline(),
    };
  }

  private watchElection(e: Election<unknown, unknown>): Election<unknown, unknown> {
    return {
      protocol: e.protocol,
      ...(e.keepsStore !== undefined ? { keepsStore: e.keepsStore } : {}),
      step: (input) => e.step(input),
      drain: () => {
        const effects = e.drain();
        for (const effect of effects) {
          if (effect.type === 'persist') this.lastPersistOf.election = ++this.persistsAsked;
          // A parallel send depends on no write (ElectionEffect); the invariants check what it may carry.
          else if (effect.type === 'send' && !effect.parallel && typeof effect.message === 'object' && effect.message !== null) this.dependsOn.set(effect.message, this.lastPersistOf.election);
        }
        return effects;
      },
      summary: (nowMs) => e.summary(nowMs),
      status: (nowMs) => e.status(nowMs),
      deadline: () => e.deadline(),
      ...(e.commandTimeoutMs ? { commandTimeoutMs: () => e.commandTimeoutMs!() } : {}),
      ...(e.carryOver ? { carryOver: (nowMs: number) => e.carryOver!(nowMs) } : {}),
      ...(e.durableImage ? { durableImage: () => e.durableImage!() } : {}),
      ...(e.formed ? { formed: () => e.formed!() } : {}),
    };
  }

  /** What this node reports at `nowMs` (its own clock). */
  summary(nowMs: number): ElectionSummary {
    return this.core.summary(nowMs);
  }

  input(input: HostInput): void {
    if (input.type === 'persisted') this.durableId = input.id;
    for (const output of this.core.step(input)) this.carryOut(output);
  }

  private carryOut(output: HostOutput): void {
    switch (output.type) {
      case 'persist':
        this.io.write(output.id, output.batch);
        return;
      case 'publish':
        this.checkOrder('heartbeat', output.heartbeat);
        this.io.publish(output.heartbeat, output.to);
        return;
      case 'send':
        this.checkOrder('message', output.message);
        this.io.send(output.to, output.message, output.protocol);
        return;
      case 'event': {
        const e = output.event;
        const record = (term: number, detail: string) => this.io.record({ type: 'election', node: this.id, event: e.type as ElectionNodeEvent['type'], term, detail });
        switch (e.type) {
          case 'election-started':
            return record(e.term, e.reason);
          case 'election-finished':
            return record(e.term, e.result);
          case 'stepped-down':
            return record(e.term, e.reason);
          case 'configuration-changed':
            return record(0, `at ${e.index}: voters ${e.voters.map((r) => r.id).join(',')} learners ${e.learners.map((r) => r.id).join(',')}`);
          case 'raft-snapshot':
            return record(e.term, `${e.action} at ${e.index}${e.peer ? ` peer ${e.peer.id}` : ''}`);
          case 'heartbeat-late':
            return record(0, `${Math.round(e.lateMs)} ms late`);
          case 'role-changed':
          case 'term-changed':
          case 'leader-changed':
            return;
          default:
            return this.io.record({ type: 'membership', node: this.id, event: e });
        }
      }
      case 'refused': {
        // Dropped by a machine: traced, as the daemon logs it.
        this.io.record({ type: 'refused', node: this.id, from: output.from, reason: output.reason });
        return;
      }
      case 'summary':
        this.io.record({ type: 'summary', node: this.id, from: output.from, to: output.to });
        return;
      case 'stopped':
        this.io.stopped();
        return;
      case 'pump-overflow':
        this.io.pumpOverflow();
        return;
      case 'kv-answer':
        this.io.kvAnswer?.(output.id, output.answer);
        return;
      case 'kv-events':
        this.io.kvEvents?.(output.events);
        return;
      case 'command-result':
      case 'peers':
      case 'bootstrap-waiting':
        return;
    }
  }

  private checkOrder(what: string, payload: unknown): void {
    const needs = typeof payload === 'object' && payload !== null ? this.dependsOn.get(payload) : undefined;
    if (needs !== undefined && needs > this.durableId) this.io.orderViolation(`a ${what} left before persist ${needs} it followed was durable (durable up to ${this.durableId})`);
  }
}
