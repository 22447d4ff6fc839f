/**
 * Machines for the simulator's own tests: deliberately broken membership (each breaks one
 * promise, so the invariant guarding it must fire; they wrap the real machine) and a toy
 * election that exercises the host's election plumbing.
 */
import type { Election, ElectionEffect } from '../election.js';
import { createMembership } from '../membership/index.js';
import type { Member } from '../membership/types.js';
import type { NodeId } from '../types.js';
import type { SimProtocol } from './protocols.js';
import type { ElectionFactory, InvariantFactory, MembershipFactory, MembershipMachine } from './types.js';

function withView(inner: MembershipMachine, view: (m: Member) => Member): MembershipMachine {
  return {
    step: (input) => inner.step(input),
    drain: () => inner.drain(),
    members: () => inner.members().map(view),
    member: (id) => {
      const m = inner.member(id);
      return m && view(m);
    },
    self: () => inner.self(),
    health: () => inner.health(),
    deadline: () => inner.deadline(),
  };
}

/** Never declares anyone dead: the verdict is withheld and the member stays suspect. */
export const neverDeclaresDead: MembershipFactory = (init) => {
  const inner = createMembership(init);
  const machine = withView(inner, (m) => (m.state === 'dead' ? { ...m, state: 'suspect' } : m));
  return { ...machine, drain: () => inner.drain().filter((e) => !(e.type === 'event' && e.event.type === 'member-dead')) };
};

/**
 * Declares death far too eagerly: after half a heartbeat interval of silence, with no suspicion
 * period (so no chance to refute), by reporting every suspicion as a death.
 */
export const declaresDeadEagerly: MembershipFactory = (init) => {
  const inner = createMembership({ ...init, timings: { ...init.timings, suspectAfterMs: init.timings.heartbeatIntervalMs / 2 } });
  const machine = withView(inner, (m) => (m.state === 'suspect' ? { ...m, state: 'dead' } : m));
  return {
    ...machine,
    drain: () =>
      inner.drain().map((e) => {
        if (e.type !== 'event' || e.event.type !== 'member-suspect') return e;
        const { id, name, incarnation } = e.event;
        return { type: 'event', event: { type: 'member-dead', id, name, incarnation, suspectedForMs: 0 } };
      }),
  };
};

/** Never forgives: a member once seen dead is reported dead whatever it says later. */
export const neverRevives: MembershipFactory = (init) => {
  const inner = createMembership(init);
  const condemned = new Set<NodeId>();
  const machine = withView(inner, (m) => (condemned.has(m.id) ? { ...m, state: 'dead' } : m));
  return {
    ...machine,
    drain: () => {
      const effects = inner.drain();
      for (const e of effects) if (e.type === 'event' && e.event.type === 'member-dead') condemned.add(e.event.id);
      return effects.filter((e) => !(e.type === 'event' && e.event.type === 'member-alive' && condemned.has(e.event.id)));
    },
  };
};

/** Trusts the latest heartbeat: a late copy from an older life lowers the incarnation it shows. */
export const lastHeartbeatWins: MembershipFactory = (init) => {
  const inner = createMembership(init);
  const lastIncarnation = new Map<NodeId, number>();
  const machine = withView(inner, (m) => {
    const last = lastIncarnation.get(m.id);
    return last === undefined || m.self ? m : { ...m, incarnation: last };
  });
  return {
    ...machine,
    step: (input) => {
      if (input.type === 'heartbeat') lastIncarnation.set(input.from, input.heartbeat.incarnation);
      inner.step(input);
    },
  };
};

export interface ToyMessage {
  type: 'hello';
  term: number;
}

export interface ToyState {
  term: number;
}

export interface ToyElectionOptions {
  /** Write the term to disk on every change (a correct machine does). */
  persist: boolean;
  /** Keep the first leader ever seen, whatever membership says later. */
  stubborn?: boolean;
  /** Decide nothing before the view lists this many members (dead ones count). */
  minMembers?: number;
}

/**
 * A toy election for testing the host and the election invariants before a real protocol
 * exists: the lowest-id alive member leads; every local leader change is a new term, which is
 * also the fencing token. Unsafe under partitions by design.
 */
export function toyElection(options: ToyElectionOptions): ElectionFactory<ToyMessage, ToyState> {
  return (ctx) => {
    let term = ctx.persisted?.term ?? 0;
    let leader: NodeId | null = null;
    let effects: ElectionEffect<ToyMessage, ToyState>[] = [];
    const election: Election<ToyMessage, ToyState> = {
      protocol: 'bully',
      step(input) {
        if (input.type === 'shutdown') effects.push({ type: 'shutdown-ready' });
        if (input.type !== 'members') return;
        if (options.stubborn && leader !== null) return;
        if (input.members.length < (options.minMembers ?? 0)) return;
        const alive = input.members.filter((m) => m.state === 'alive').map((m) => m.id).sort();
        const next = alive[0] ?? null;
        if (next === leader) return;
        leader = next;
        term += 1;
        if (options.persist) effects.push({ type: 'persist', batch: { hardState: { term } } });
        if (next !== null && next !== ctx.id) effects.push({ type: 'send', to: next, message: { type: 'hello', term } });
      },
      deadline() {
        return Infinity;
      },
      drain() {
        const out = effects;
        effects = [];
        return out;
      },
      summary: () => ({ role: leader === ctx.id ? 'leader' : 'follower', term, leader, fencingToken: term }),
      status: () => ({ leaseRemainingMs: null, bootstrap: { expect: 1, seen: 1, complete: true } }),
    };
    return election;
  };
}

export function toyProtocol(options: ToyElectionOptions, invariants: readonly InvariantFactory[]): SimProtocol {
  return {
    name: 'toy',
    summary: 'lowest-id alive member leads (tests only)',
    protocol: 'bully',
    electionFor: () => toyElection(options) as ElectionFactory,
    invariants,
    agreement: [],
    livenessExtraMs: () => 0,
  };
}
