/**
 * Bully in the simulator: the config it runs with, how long it may take to agree after healing,
 * and the invariants only Bully promises (the protocol-neutral ones are in
 * election-invariants.ts).
 */
import { DEFAULT_BULLY_CONFIG, type BullyConfig } from '../bully/config.js';
import type { BullyPersisted } from '../bully/messages.js';
import { countedMembers, majorityOf } from '../bully/quorum.js';
import { termAboveToken } from '../election-safety.js';
import type { NodeId } from '../types.js';
import { agreedLeaderAfterHeal } from './election-invariants.js';
import type { InvariantFactory, InvariantSetup, SimBounds, SimView } from './types.js';

/** The daemon's defaults. */
export const SIM_BULLY_CONFIG: Readonly<BullyConfig> = DEFAULT_BULLY_CONFIG;

/**
 * Beyond membership's convergence: grants given before healing run out (one lease; a restarted
 * node honours its last grant for one more), then a leaderless node waits for its retry and
 * runs a few election rounds (answer, coordinator, claim).
 */
export function bullyAgreementExtraMs(config: BullyConfig = SIM_BULLY_CONFIG): number {
  const roundMs = config.answerTimeoutMs + config.coordinatorTimeoutMs;
  return config.settleMs + 2 * config.leaseMs + 4 * roundMs;
}

export function bullyAgreementBoundMs(setup: { bounds: SimBounds }, config: BullyConfig = SIM_BULLY_CONFIG): number {
  return setup.bounds.convergeMs + bullyAgreementExtraMs(config);
}

/**
 * Persist before announce: a node that reports itself leader of epoch E has E, and itself as
 * the node accepted for E, on its (simulated) disk already.
 */
export const bullyLeaderEpochDurable: InvariantFactory = () => ({
  name: 'bully-leader-epoch-durable',
  check(view: SimView): string | null {
    const node = view.touched;
    const summary = node?.election()?.protocol === 'bully' ? node.summary() : null;
    if (!node || !summary || summary.role !== 'leader') return null;
    const disk = node.persisted('bully') as BullyPersisted | null;
    if (!disk || disk.acceptedEpoch !== summary.term || disk.acceptedLeader !== node.id) {
      return `${node.id} leads epoch ${summary.term} but its disk holds ${JSON.stringify(disk)}`;
    }
    return null;
  },
});

/** A node's epoch never runs ahead of its fencing token (the rule the property tests check too). */
export const bullyEpochWithinToken: InvariantFactory = () => ({
  name: 'bully-epoch-within-token',
  check(view: SimView): string | null {
    const node = view.touched;
    const summary = node?.election()?.protocol === 'bully' ? node.machineSummary() : null;
    if (!node || !summary || !termAboveToken(summary)) return null;
    return `${node.id} reports epoch ${summary.term} above its fencing token ${summary.fencingToken}`;
  },
});

/**
 * No flapping: once the healed cluster has agreed on a leader, nothing changes while no fault
 * is in force: the same node leads the same epoch at every live node.
 */
export function stableLeaderWhenQuiet(boundMs: (setup: InvariantSetup) => number): InvariantFactory {
  return (setup) => {
    const bound = boundMs(setup);
    let settled: { leader: NodeId; term: number } | null = null;
    return {
      name: 'bully-stable-leader-when-quiet',
      check(view: SimView): string | null {
        if (view.healedAtMs === null || view.nowMs < view.healedAtMs + bound || view.quietSinceMs === null) {
          settled = null;
          return null;
        }
        const live = view.nodes.filter((n) => n.live && n.summary() !== null);
        if (settled === null) {
          const leaders = live.filter((n) => n.summary()!.role === 'leader');
          // agreed-leader-after-heal reports a missing or disputed leader; this one judges changes
          // once every live node follows the one leader (followers name it a message later).
          if (leaders.length !== 1) return null;
          const leader = leaders[0]!.id;
          const term = leaders[0]!.summary()!.term;
          if (!live.every((n) => n.summary()!.leader === leader && n.summary()!.term === term)) return null;
          settled = { leader, term };
          return null;
        }
        for (const n of live) {
          const s = n.summary()!;
          if (s.leader !== settled.leader || s.term !== settled.term) {
            return `${n.id} now reports leader ${s.leader ?? 'none'} at epoch ${s.term}; the cluster had settled on ${settled.leader} at epoch ${settled.term} with no fault since`;
          }
        }
        return null;
      },
    };
  };
}

/**
 * Whether the live nodes are a majority of the cluster as the quorum guard counts it: the
 * largest size any live node works with (dead members until forgotten, remembered ones too).
 */
export function liveMajority(view: SimView): boolean {
  const live = view.nodes.filter((n) => n.live);
  let size = 0;
  for (const n of live) {
    const members = (n.members() ?? []).filter((m) => m.protocol === 'bully');
    const remembered = (n.persisted('bully') as BullyPersisted | null)?.members ?? [];
    size = Math.max(size, countedMembers(members, n.id, remembered).length);
  }
  return live.length >= majorityOf(Math.max(size, view.scenario.bootstrapExpect)) && canBootstrap(view, live.length);
}

/**
 * No node leads before it has seen bootstrapExpect members: with fewer live nodes than that,
 * only a node that already saw the cluster whole (durably) can lead.
 */
function canBootstrap(view: SimView, liveCount: number): boolean {
  if (liveCount >= view.scenario.bootstrapExpect) return true;
  return view.nodes.some((n) => n.live && (n.persisted('bully') as BullyPersisted | null)?.bootstrapped === true);
}

/**
 * agreed-leader-after-heal, where the quorum guard promises it: once a majority of the cluster
 * is live, and for `boundMs` since that began (dead members being forgotten can create a
 * majority long after healing). Without a live majority no leader is the correct outcome.
 */
export function agreedLeaderWithLiveMajority(boundMs: (setup: InvariantSetup) => number): InvariantFactory {
  return (setup) => {
    const inner = agreedLeaderAfterHeal(() => 0)(setup);
    const bound = boundMs(setup);
    let majoritySinceMs: number | null = null;
    let majority: boolean | null = null;
    return {
      name: inner.name,
      check(view: SimView): string | null {
        if (view.healedAtMs === null) {
          majoritySinceMs = null;
          return null;
        }
        // Views, liveness and durable state change only with a membership event, a fault or an
        // election change: recount only then (it reads every node's whole view).
        if (majority === null || view.records.some((r) => r.type !== 'election')) majority = liveMajority(view);
        if (!majority) {
          majoritySinceMs = null;
          return null;
        }
        majoritySinceMs ??= Math.max(view.nowMs, view.healedAtMs);
        if (view.nowMs < majoritySinceMs + bound) return null;
        return inner.check(view);
      },
    };
  };
}
