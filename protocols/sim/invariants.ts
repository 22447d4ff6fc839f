/**
 * Membership invariants, each a small function of the simulation's view with its own name.
 * They look at the node the last step drove (cheap, and every live node ticks often), or at
 * every live node after a step that drove none (a fault).
 */
import type { NodeId } from '../types.js';
import type { Invariant, InvariantFactory, NodeView, SimView } from './types.js';

function observers(view: SimView): readonly NodeView[] {
  if (view.touched) return view.touched.live ? [view.touched] : [];
  return view.nodes.filter((n) => n.live);
}

/** 1. After faults heal, every live member sees every live member `alive` within the bound. */
export function checkConvergesAfterHeal(view: SimView): string | null {
  if (view.healedAtMs === null) return null;
  const sinceHealMs = view.nowMs - view.healedAtMs;
  if (sinceHealMs < view.bounds.convergeMs) return null;
  const live = view.nodes.filter((n) => n.live);
  for (const observer of observers(view)) {
    for (const target of live) {
      const state = observer.member(target.id)?.state ?? 'unknown';
      if (state !== 'alive') {
        return `${observer.id} sees live ${target.id} as ${state} ${sinceHealMs} ms after healing (bound ${view.bounds.convergeMs} ms)`;
      }
    }
  }
  return null;
}

/**
 * When `observer` must have declared crashed `target` dead. The clock starts when the observer
 * could judge (after its own start, pause or stall); a recent pause or stall may have stretched
 * its timeouts (Lifeguard), which the bound allows for.
 */
export function deadlineForDeathMs(view: SimView, observer: NodeView, crashedAtMs: number): number {
  const startMs = Math.max(crashedAtMs, observer.lifeStartedMs, observer.lastDisruptedMs ?? -Infinity);
  const lagged = observer.lastDisruptedMs !== null && observer.lastDisruptedMs + view.bounds.lagRecoveryMs >= startMs;
  const boundMs = view.bounds.detectDeadMs * (lagged ? view.scenario.timings.maxHealthMultiplier : 1);
  return startMs + boundMs;
}

/** 2. A crashed node (not restarted) is `dead` at every live member within the bound. */
export function checkCrashedNodesDeclaredDead(view: SimView): string | null {
  const crashed = view.nodes.filter((n) => !n.up && n.crashedAtMs !== null);
  if (crashed.length === 0) return null;
  for (const observer of observers(view)) {
    for (const target of crashed) {
      const member = observer.member(target.id);
      if (!member || member.state === 'dead' || member.state === 'left') continue;
      const deadlineMs = deadlineForDeathMs(view, observer, target.crashedAtMs!);
      if (view.nowMs >= deadlineMs) {
        return `${observer.id} still sees ${target.id} (crashed at ${target.crashedAtMs} ms) as ${member.state} at ${view.nowMs} ms (deadline ${deadlineMs} ms)`;
      }
    }
  }
  return null;
}

/** 3. While nothing is wrong (no loss, partition, cut, pause or stall), no live member is declared dead. */
export function checkNoFalseDeathWhenQuiet(view: SimView): string | null {
  if (view.quietSinceMs === null) return null;
  const quietForMs = view.nowMs - view.quietSinceMs;
  if (quietForMs < view.bounds.quietBeforeJudgingMs) return null;
  for (const record of view.records) {
    if (record.type !== 'membership' || record.event.type !== 'member-dead') continue;
    const death = record.event;
    const target = view.nodes.find((n) => n.id === death.id);
    // A death of an earlier life (before a restart) is old news, not a false verdict.
    if (target?.live && death.incarnation >= target.lifeIncarnation) {
      return `${record.node} declared live ${target.id} (inc ${death.incarnation}) dead after ${quietForMs} ms without faults`;
    }
  }
  return null;
}

/** Highest incarnation each observer (per life) has shown for each member. */
export type IncarnationHistory = Map<NodeId, { life: number; highest: Map<NodeId, number> }>;

/** 4. Incarnations seen for a member never decrease at any observer (within one life of it). */
export function checkIncarnationsNeverDecrease(history: IncarnationHistory, view: SimView): string | null {
  for (const observer of observers(view)) {
    let entry = history.get(observer.id);
    if (!entry || entry.life !== observer.life) {
      entry = { life: observer.life, highest: new Map() };
      history.set(observer.id, entry);
    }
    for (const member of observer.members() ?? []) {
      const before = entry.highest.get(member.id);
      if (before !== undefined && member.incarnation < before) {
        return `${observer.id} shows ${member.id} at incarnation ${member.incarnation} after ${before}`;
      }
      entry.highest.set(member.id, member.incarnation);
    }
  }
  return null;
}

function stateless(name: string, check: (view: SimView) => string | null): InvariantFactory {
  return () => ({ name, check });
}

export const convergesAfterHeal = stateless('converges-after-heal', checkConvergesAfterHeal);
export const crashedNodesDeclaredDead = stateless('crashed-node-declared-dead', checkCrashedNodesDeclaredDead);
export const noFalseDeathWhenQuiet = stateless('no-false-death-when-quiet', checkNoFalseDeathWhenQuiet);
export const incarnationsNeverDecrease: InvariantFactory = (): Invariant => {
  const history: IncarnationHistory = new Map();
  return { name: 'incarnations-never-decrease', check: (view) => checkIncarnationsNeverDecrease(history, view) };
};

/** 5. Nothing leaves a node before the write it followed is durable (checked by the simulated host, sim/host.ts). */
export function checkPersistBeforeSend(view: SimView): string | null {
  return view.orderViolations[0] ?? null;
}
export const persistBeforeSend = stateless('persist-before-send', checkPersistBeforeSend);

export const MEMBERSHIP_INVARIANTS: readonly InvariantFactory[] = [
  persistBeforeSend,
  convergesAfterHeal,
  crashedNodesDeclaredDead,
  noFalseDeathWhenQuiet,
  incarnationsNeverDecrease,
];
