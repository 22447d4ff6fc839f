/**
 * The safety phase's fault schedule (swarm testing): from the scenario's fault mix and its own
 * stream, pick a fault every so often, apply it through the simulation's verbs, and schedule
 * its end. Nothing here runs once the liveness phase has begun.
 */
import type { Rng } from '../rng.js';
import type { NodeId } from '../types.js';
import type { Simulation } from './sim.js';

type FaultKind = 'crash' | 'stop' | 'resign' | 'pause' | 'stall' | 'partition' | 'cut';
const KINDS: readonly FaultKind[] = ['crash', 'stop', 'resign', 'pause', 'stall', 'partition', 'cut'];
/** A graceful stop has exited by then (handoff bound + leave flush, as in the daemon). */
const STOP_DONE_MS = 1500;

export function planSafetyFaults(sim: Simulation, rng: Rng): void {
  const s = sim.scenario;
  const kinds = KINDS.filter((k) => s.faults[k]);
  if (kinds.length === 0) return;
  const detectMs = sim.bounds.detectDeadMs;
  let partitionToken = 0;
  const cutTokens = new Map<string, number>();
  const inSafety = () => sim.phase === 'safety';

  const gapMs = () => rng.int(Math.round(s.faults.meanGapMs / 2), Math.round(s.faults.meanGapMs * 1.5));
  const pick = <T>(items: readonly T[]): T | null => (items.length === 0 ? null : items[rng.int(0, items.length - 1)]!);
  // Keep at least two nodes running, so there is always someone to observe.
  const mayDisable = () => sim.nodes.filter((n) => n.live).length > 2;

  const apply: Record<FaultKind, () => void> = {
    crash: () => {
      if (!mayDisable()) return;
      const node = pick(sim.nodes.filter((n) => n.up));
      if (!node) return;
      sim.crash(node.id);
      if (rng.chance(s.faults.restartProbability)) {
        sim.at(sim.nowMs + rng.int(200, 2 * detectMs), `restart ${node.id}`, () => inSafety() && sim.start(node.id));
      }
    },
    stop: () => {
      if (!mayDisable()) return;
      // Half the stops are the leader's, as an operator's rolling restart makes them: its hand-off
      // (TimeoutNow, and the votes it asks for its successor) then runs under the other faults.
      const running = sim.nodes.filter((n) => n.live && !n.stopping);
      const leaders = running.filter((n) => sim.reportsLeader(n));
      const node = leaders.length > 0 && rng.chance(0.5) ? pick(leaders) : pick(running);
      if (!node) return;
      sim.stop(node.id);
      if (rng.chance(s.faults.restartProbability)) {
        sim.at(sim.nowMs + rng.int(STOP_DONE_MS, STOP_DONE_MS + 2 * detectMs), `restart ${node.id}`, () => inSafety() && sim.start(node.id));
      }
    },
    resign: () => {
      const leader = pick(sim.nodes.filter((n) => n.live && !n.stopping && sim.reportsLeader(n)));
      if (leader) sim.resign(leader.id);
    },
    pause: () => {
      if (!mayDisable()) return;
      const node = pick(sim.nodes.filter((n) => n.live && !n.stopping));
      if (!node) return;
      sim.pause(node.id);
      const life = node.life;
      sim.at(sim.nowMs + rng.int(200, 2 * detectMs), `resume ${node.id}`, () => node.life === life && sim.resume(node.id));
    },
    stall: () => {
      const node = pick(sim.nodes.filter((n) => n.live && !n.stopping));
      if (node) sim.stall(node.id, rng.int(50, Math.round(1.5 * s.timings.suspectAfterMs)));
    },
    partition: () => {
      const ids = shuffled(sim.nodes.map((n) => n.id), rng);
      const groupCount = ids.length >= 5 && rng.chance(0.25) ? 3 : 2;
      const groups: NodeId[][] = Array.from({ length: groupCount }, () => []);
      ids.forEach((id, i) => groups[i < groupCount ? i : rng.int(0, groupCount - 1)]!.push(id));
      sim.partition(groups);
      const token = ++partitionToken;
      sim.at(sim.nowMs + rng.int(300, 3 * detectMs), 'heal', () => inSafety() && token === partitionToken && sim.heal());
    },
    cut: () => {
      // The isolated node's cuts belong to the scenario: planned cuts never touch (or heal) them.
      const cuttable = sim.nodes.filter((n) => n.index !== s.isolatedIndex);
      const from = pick(cuttable)!;
      const to = pick(cuttable.filter((n) => n !== from));
      if (!to) return;
      sim.cut(from.id, to.id);
      const key = `${from.id}>${to.id}`;
      const token = (cutTokens.get(key) ?? 0) + 1;
      cutTokens.set(key, token);
      sim.at(sim.nowMs + rng.int(300, 2 * detectMs), `uncut ${key}`, () => inSafety() && cutTokens.get(key) === token && sim.uncut(from.id, to.id));
    },
  };

  const next = (): void => {
    const atMs = sim.nowMs + gapMs();
    if (atMs >= s.safetyMs) return;
    sim.at(atMs, 'fault', () => {
      if (!inSafety()) return;
      apply[pick(kinds)!]();
      next();
    });
  };
  next();
}

/** A seeded Fisher–Yates shuffle. */
export function shuffled<T>(items: readonly T[], rng: Rng): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = rng.int(0, i);
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}
