/**
 * Election invariants any protocol entry may list (protocols.ts): they read only the
 * `ElectionSummary` each node reports, so Bully and Raft are judged by the same rules. The rules
 * themselves are ../election-safety.ts, shared with the property tests; these decide when to look.
 */
import { leadersAtOnce, ReignTokens, TermLeaders, TokenHighWater } from '../election-safety.js';
import type { NodeId } from '../types.js';
import type { InvariantFactory, InvariantSetup, NodeView, SimView } from './types.js';

/** The nodes the last step drove (or every up node after a fault): whose reports may have changed. */
export function steppedNodes(view: SimView): readonly NodeView[] {
  return view.touched ? [view.touched] : view.nodes.filter((n) => n.up);
}

/** Never two leaders in one term: a term, once some node led it, belongs to that node. */
export const oneLeaderPerTerm: InvariantFactory = () => {
  const leaders = new TermLeaders();
  return {
    name: 'one-leader-per-term',
    check(view: SimView): string | null {
      for (const record of view.records) {
        if (record.type !== 'summary') continue;
        const holder = leaders.observe(record.node, record.to);
        if (holder !== null) return `${record.node} leads term ${record.to.term}, which ${holder} already led`;
      }
      return null;
    },
  };
};

/**
 * The lease contract (README "Leadership you can trust"): at no instant do two nodes report
 * leadership. Each node is judged by what it would answer at that instant on its own drifting
 * clock, paused and stalled nodes included. A node's report turns to leader only in a step of
 * its own and leaves it by itself as time passes, so comparing everyone whenever the node just
 * stepped reports leader covers every instant.
 */
export const singleLeaderAtEveryInstant: InvariantFactory = () => ({
  name: 'single-leader-at-every-instant',
  check(view: SimView): string | null {
    const candidates = steppedNodes(view);
    if (!candidates.some((n) => n.report()?.role === 'leader')) return null;
    const reports = view.nodes.flatMap((node) => {
      const report = node.report();
      return report ? [{ node, ...report }] : [];
    });
    const leaders = leadersAtOnce(reports);
    if (leaders.length < 2) return null;
    // The node that just stepped first: it is the one that broke the rule.
    const [first, second] = [...leaders].sort((a, b) => Number(candidates.includes(b.node)) - Number(candidates.includes(a.node)));
    return `${first!.node.id} (term ${first!.term}) and ${second!.node.id} (term ${second!.term}) both report leadership at ${view.nowMs} ms${second!.node.paused ? ` (${second!.node.id} is paused)` : ''}`;
  },
});

/**
 * Followers name only leaders that hold their lease: a node that names X as leader of term T at
 * some instant has seen X lead T (no ghost leaders), and no later than one message delay after
 * X's lease for T ran out (X's lease end is tracked in virtual time from what X reports).
 */
export const namedLeaderHoldsLease: InvariantFactory = (setup) => {
  const leaseEndMs = new Map<string, number>();
  const key = (id: NodeId, term: number) => `${id}@${term}`;
  const slackMs = setup.bounds.maxPathDelayMs + 1;
  return {
    name: 'named-leader-holds-lease',
    check(view: SimView): string | null {
      const stepped = steppedNodes(view);
      for (const node of stepped) {
        const report = node.report();
        if (report?.role !== 'leader') continue;
        const remaining = node.leaseRemainingVirtualMs();
        if (remaining !== null) {
          const k = key(node.id, report.term);
          leaseEndMs.set(k, Math.max(leaseEndMs.get(k) ?? -Infinity, view.nowMs + remaining));
        }
      }
      for (const node of stepped) {
        const report = node.report();
        if (!report || report.leader === null || report.leader === node.id) continue;
        const endMs = leaseEndMs.get(key(report.leader, report.term));
        if (endMs === undefined) return `${node.id} names ${report.leader} leader of term ${report.term}, which it never led`;
        if (view.nowMs > endMs + slackMs) {
          return `${node.id} still names ${report.leader} leader of term ${report.term} ${Math.round(view.nowMs - endMs)} ms after its lease ran out (allowed: one message delay, ${slackMs} ms)`;
        }
      }
      return null;
    },
  };
};

/** Fencing tokens only grow at each node, across its crashes and restarts (they are durable). */
export const fencingTokensGrow: InvariantFactory = () => {
  const tokens = new TokenHighWater();
  return {
    name: 'fencing-tokens-grow',
    check(view: SimView): string | null {
      for (const node of steppedNodes(view)) {
        const token = node.summary()?.fencingToken;
        if (token === undefined) continue;
        const before = tokens.observe(node.id, token);
        if (before !== null) return `${node.id} reports fencing token ${token} after ${before} (life ${node.life})`;
      }
      return null;
    },
  };
};

/**
 * Fencing tokens grow from reign to reign, cluster-wide, whatever protocol each reign ran under
 * (../election-safety.ts ReignTokens): judged on what each node would answer when it steps.
 */
export const reignTokensGrow: InvariantFactory = () => {
  const reigns = new ReignTokens();
  return {
    name: 'reign-tokens-grow',
    check(view: SimView): string | null {
      for (const node of steppedNodes(view)) {
        const report = node.report();
        if (!report) continue;
        const earlier = reigns.observe(node.id, report);
        if (earlier !== null) return `${node.id} leads term ${report.term} with fencing token ${report.fencingToken}, not above token ${earlier.token} of the reign before it (${earlier.node}, term ${earlier.term})`;
      }
      return null;
    },
  };
};

/**
 * After healing, within `boundMs(setup)`: exactly one live node leads, and every live node
 * follows it. The bound is the protocol's to give (its timeouts, on top of membership's).
 */
export function agreedLeaderAfterHeal(boundMs: (setup: InvariantSetup) => number): InvariantFactory {
  return (setup) => {
    const bound = boundMs(setup);
    return {
      name: 'agreed-leader-after-heal',
      check(view: SimView): string | null {
        if (view.healedAtMs === null || view.nowMs < view.healedAtMs + bound) return null;
        // Judge when a node steps or a fault lands; every live node ticks, so this is often.
        const live = view.nodes.filter((n) => n.live && n.summary() !== null);
        if (live.length === 0) return null;
        const leaders = live.filter((n) => n.summary()!.role === 'leader').map((n) => n.id);
        if (leaders.length !== 1) return `${leaders.length} live leaders (${leaders.join(', ') || 'none'}) ${view.nowMs - view.healedAtMs} ms after healing (bound ${bound} ms)`;
        const dissent = live.find((n) => n.summary()!.leader !== leaders[0]);
        return dissent ? `${dissent.id} follows ${dissent.summary()!.leader ?? 'nobody'}, not ${leaders[0]}` : null;
      },
    };
  };
}
