/**
 * Deliberately broken membership machines for the simulator's own tests: each one breaks one
 * promise, so the invariant that guards it must fire. They wrap the real machine.
 */
import { createMembership } from '../membership/index.js';
import type { Member } from '../membership/types.js';
import type { NodeId } from '../types.js';
import type { MembershipFactory, MembershipMachine } from './types.js';

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
  };
}

/** Never declares anyone dead: the verdict is withheld and the member stays suspect. */
export const neverDeclaresDead: MembershipFactory = (init) => {
  const inner = createMembership(init);
  const machine = withView(inner, (m) => (m.state === 'dead' ? { ...m, state: 'suspect' } : m));
  return { ...machine, drain: () => inner.drain().filter((e) => !(e.type === 'event' && e.event.type === 'member-dead')) };
};

/** Declares death far too eagerly: timeouts shorter than one heartbeat interval. */
export const declaresDeadEagerly: MembershipFactory = (init) =>
  createMembership({ ...init, timings: { ...init.timings, suspectAfterMs: init.timings.heartbeatIntervalMs / 2, suspicionMinMs: 1, suspicionMaxMs: 1 } });

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
