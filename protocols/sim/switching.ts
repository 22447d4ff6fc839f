/**
 * A cluster that switches protocols (issue 13, README "Switching protocols"), in the simulator:
 * nodes run Bully or Raft by era (../host/switch.ts), and operators ask for the other protocol in
 * the three ways the daemon offers, interleaved with the swarm's faults:
 *
 *   rolling  each node in turn is stopped (or killed), its config edited, and started again
 *   reload   each node's config is edited and re-read live (`conclave reload`)
 *   order    `conclave protocol switch` on one node
 *
 * The same rules judge every mix: at most one node reports leadership at any instant, tokens
 * never go back at a node nor from one reign to the next (across protocols), each protocol's own
 * safety properties hold, and after healing the cluster agrees on a leader under the protocol it
 * runs by then.
 */
import type { Rng } from '../rng.js';
import { PROTOCOL_NAMES, type ProtocolName } from '../types.js';
import { shuffled } from './faults.js';
import type { SimNode } from './node.js';
import type { Simulation } from './sim.js';
import type { Invariant, InvariantFactory, SimView } from './types.js';

/** A graceful stop has exited by then (handoff bound + leave flush), as faults.ts allows. */
const STOP_DONE_MS = 1500;
/** The first request comes once most nodes have started and elected (cold starts spread up to 8 s). */
const FIRST_REQUEST_MS = 2000;
/** A switching scenario's safety phase is this much longer than the seed draws, for two or three switches amid the faults. */
export const SWITCH_SAFETY_EXTRA_MS = 20_000;

type Method = 'rolling' | 'reload' | 'order';
const METHODS: readonly Method[] = ['rolling', 'reload', 'order'];

/**
 * Draws the protocols the nodes' configs ask for at their first start (now and then a mix: a
 * cold start of nodes that disagree), and two or three switch requests in the safety phase, each
 * by a drawn method, each asking for the protocol the cluster does not run when it begins (the
 * one of the latest era among live nodes). Requests may overlap, and faults may land in the
 * middle of one: a rolling restart can be cut short by the liveness phase.
 */
export function planSwitches(sim: Simulation, rng: Rng): void {
  const s = sim.scenario;
  const pick = <T>(items: readonly T[]): T => items[rng.int(0, items.length - 1)]!;
  const other = (p: ProtocolName): ProtocolName => PROTOCOL_NAMES.find((q) => q !== p)!;
  const inSafety = () => sim.phase === 'safety';
  const initial = pick(PROTOCOL_NAMES);
  const mixed = rng.chance(0.15);
  for (const node of sim.nodes) node.config = mixed ? pick(PROTOCOL_NAMES) : initial;
  // The protocol of the latest era a live node is in: what an operator sees the cluster run.
  const running = (): ProtocolName => {
    const live = sim.nodes.filter((n) => n.live && n.host);
    const latest = live.reduce<SimNode | null>((a, n) => (a === null || (n.disk.era?.era ?? 0) > (a.disk.era?.era ?? 0) ? n : a), null);
    return latest?.protocol ?? initial;
  };
  const episodes = rng.int(2, 3);
  const spanMs = Math.max(1000, s.safetyMs - FIRST_REQUEST_MS);
  for (let k = 0; k < episodes; k++) {
    // Decided when the episode begins; a rolling restart keeps it for every node.
    let to: ProtocolName = other(initial);
    const begin = () => (to = other(running()));
    const atMs = FIRST_REQUEST_MS + Math.round(((k + rng.next()) * spanMs) / episodes);
    const method = pick(METHODS);
    switch (method) {
      case 'order':
        sim.at(atMs, 'order', () => {
          const live = sim.nodes.filter((n) => n.live && !n.stopping);
          if (inSafety() && live.length > 0) sim.orderSwitch(pick(live).id, begin());
        });
        break;
      case 'reload':
        // Most nodes, one by one over up to three seconds; some configs are left as they were.
        sim.at(atMs, 'reload', begin);
        for (const node of sim.nodes) {
          if (rng.chance(0.85)) sim.at(atMs + rng.int(0, 3000), `reload ${node.id}`, () => inSafety() && sim.configure(node.id, to, true));
        }
        break;
      case 'rolling': {
        sim.at(atMs, 'rolling', begin);
        let t = atMs;
        for (const node of shuffled(sim.nodes, rng)) {
          const kill = rng.chance(0.3);
          const downMs = kill ? rng.int(100, 1000) : STOP_DONE_MS + rng.int(0, 500);
          sim.at(t, `rolling ${node.id}`, () => {
            if (!inSafety()) return;
            if (kill) sim.crash(node.id);
            else sim.stop(node.id);
            sim.configure(node.id, to, false);
          });
          sim.at(t + downMs, `rolling start ${node.id}`, () => inSafety() && sim.start(node.id));
          t += downMs + rng.int(0, 800);
        }
        break;
      }
    }
  }
}

/**
 * The agreement a protocol's entry promises after healing (its `agreed-leader-after-heal` and
 * the like), judged under the protocol every live node runs: from when they all run one, afresh
 * after each switch (a switch in the liveness phase, requested before it, is allowed its own
 * election). While live nodes run different protocols, nothing is judged here; the safety
 * invariants hold throughout.
 */
export function agreementUnderRunningProtocol(judges: Readonly<Record<ProtocolName, readonly InvariantFactory[]>>): InvariantFactory {
  return (setup) => {
    let running: ProtocolName | null = null;
    let active: Invariant[] = [];
    return {
      name: 'agreed-leader-after-heal',
      check(view: SimView): string | null {
        const protocols = new Set(view.nodes.filter((n) => n.live).map((n) => n.election()?.protocol));
        const now = protocols.size === 1 ? ([...protocols][0] ?? null) : null;
        if (now !== running) {
          running = now;
          active = now === null ? [] : judges[now].map((create) => create(setup));
        }
        for (const invariant of active) {
          const message = invariant.check(view);
          if (message !== null) return `${invariant.name} under ${running}: ${message}`;
        }
        return null;
      },
    };
  };
}
