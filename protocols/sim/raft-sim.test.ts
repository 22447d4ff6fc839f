/**
 * Raft in the simulator: a swarm of seeds through the entry point `npm run sim -- --protocol raft`
 * uses (runSwarm), each with faults, cold starts and drifting clocks, judged by the lease
 * invariants and the Raft paper's (raft-invariants.ts); and the Raft invariants shown to fire on a
 * machine that breaks them. A failing seed fails the test with its report and replay command.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Election, ElectionInput } from '../election.js';
import { MAX_CLOCK_DRIFT } from '../lease.js';
import type { RaftElection, RaftStatus } from '../raft/raft.js';
import { DEFAULT_RAFT_CONFIG } from '../raft/config.js';
import type { RaftEntry } from '../raft/messages.js';
import { raftElectionSafety, raftOneUncommittedConfig, raftVotersFloor } from './raft-invariants.js';
import { KV_LINEARIZABLE } from './kv-workload.js';
import { raftProtocol, type SimProtocol } from './protocols.js';
import { createSimulation, runSeed } from './run.js';
import { quietScenario } from './scenario.js';
import type { Simulation } from './sim.js';
import { failureReport, runSwarm } from './swarm.js';
import type { ColdStart, NodeView, Scenario, SimView } from './types.js';

/**
 * Seeds per `npm test`. One Raft seed took about 0.5 s on the shared 2-core machine (Dec 2026),
 * so 40 seeds take about 20 s. `npm run sim -- --protocol raft --seeds N --start S` runs more.
 */
const RAFT_SWARM_SEEDS = 40;

describe('raft swarm', () => {
  it(`holds the lease contract and every Raft invariant over ${RAFT_SWARM_SEEDS} seeds of faults and cold starts`, () => {
    const coldStarts = new Set<ColdStart>();
    const seeds = Array.from({ length: RAFT_SWARM_SEEDS }, (_, i) => i + 1);
    const checked: number[] = [];
    const report = runSwarm({
      seeds,
      protocol: 'raft',
      onSeed: ({ result }) => {
        if (!result) return;
        coldStarts.add(result.scenario.coldStart);
        if (result.stats.kvVerdict === 'linearizable') checked.push(result.stats.kvOperations ?? 0);
      },
    });
    assert.equal(report.failed.length, 0, report.failed.map((f) => failureReport(f, 'raft')).join('\n'));
    assert.deepEqual([...coldStarts].sort(), ['isolated', 'late', 'staggered', 'together']);
    // Every seed's key-value history was checked, and most were worth checking (a seed whose
    // cluster cannot elect for most of the run refuses its clients, and records little).
    assert.equal(checked.length, RAFT_SWARM_SEEDS, `${checked.length} of ${RAFT_SWARM_SEEDS} histories checked linearizable`);
    assert.ok(checked.filter((n) => n >= 100).length >= RAFT_SWARM_SEEDS / 2, `operations per seed: ${checked.join(', ')}`);
  });

  // Seeds that found bugs with the key-value clients: 10 (a duplicated proposal applied twice),
  // 115, 165 and 242 (a leader named again before it reported itself leading again), 144 (a
  // 2-voter cluster under endless disk stalls: stalls now heal with the other faults), 2777 (a put
  // applied twice: the leader, paused 5 s, forgot the proposal by its wall clock and took copies
  // that had waited in its socket).
  for (const seed of [10, 115, 144, 165, 242, 2777]) {
    it(`pinned seed ${seed}`, () => {
      const result = runSeed(seed, { protocol: 'raft' });
      assert.equal(result.violation, null, result.violation ? failureReport({ seed, result, crash: null }, 'raft') : '');
      assert.equal(result.stats.kvVerdict, 'linearizable');
    });
  }

  it('the key-value check finds a store that serves linearizable reads from its local state (a stale read)', () => {
    const honest = raftProtocol();
    const staleReads: SimProtocol = {
      ...honest,
      name: 'raft-stale-reads',
      electionFor: (scenario) => (ctx) => {
        const machine = honest.electionFor(scenario)!(ctx);
        return new Proxy(machine, {
          get(target, prop, receiver) {
            if (prop !== 'step') return Reflect.get(target, prop, receiver) as unknown;
            return (input: ElectionInput<unknown>) =>
              target.step(input.type === 'kv' && input.request.kind === 'read' ? { ...input, request: { ...input.request, consistency: 'serializable' } } : input);
          },
        });
      },
    };
    const caught = Array.from({ length: 30 }, (_, i) => i + 1).find((seed) => runSeed(seed, { protocol: staleReads }).violation?.invariant === KV_LINEARIZABLE);
    assert.ok(caught !== undefined, 'no seed of 30 caught the stale reads');
  });
});

/** Seeds of `raft-churn` per `npm test` (about 0.7 s each); `npm run sim -- --protocol raft-churn` runs more. */
const RAFT_CHURN_SWARM_SEEDS = 10;

describe('raft-churn swarm', () => {
  it(`configuration changes under faults (autopilot waits of seconds) hold every invariant over ${RAFT_CHURN_SWARM_SEEDS} seeds`, () => {
    const seeds = Array.from({ length: RAFT_CHURN_SWARM_SEEDS }, (_, i) => i + 1);
    const report = runSwarm({ seeds, protocol: 'raft-churn' });
    assert.equal(report.failed.length, 0, report.failed.map((f) => failureReport(f, 'raft-churn')).join('\n'));
  });
});

/** Seeds of `raft-upgrade` per `npm test`; `npm run sim -- --protocol raft-upgrade` runs more. */
const RAFT_UPGRADE_SWARM_SEEDS = 20;

describe('raft-upgrade swarm', () => {
  it(`a rolling upgrade (half the nodes gossip an older Raft dialect until they restart) holds every invariant over ${RAFT_UPGRADE_SWARM_SEEDS} seeds, and no older node is sent a message it would refuse`, () => {
    const seeds = Array.from({ length: RAFT_UPGRADE_SWARM_SEEDS }, (_, i) => i + 1);
    const report = runSwarm({ seeds, protocol: 'raft-upgrade' });
    assert.equal(report.failed.length, 0, report.failed.map((f) => failureReport(f, 'raft-upgrade')).join('\n'));
  });
});

/** Clocks at the edges of the drift bound and between. */
const DRIFTING = [1 + MAX_CLOCK_DRIFT, 1 - MAX_CLOCK_DRIFT, 1 + MAX_CLOCK_DRIFT / 2, 1 - MAX_CLOCK_DRIFT / 2, 1];

function scenario(seed: number, overrides: Partial<Scenario> = {}): Scenario {
  const clusterSize = overrides.clusterSize ?? 5;
  return quietScenario(seed, { clusterSize, preset: 'lan', clockRates: Array.from({ length: clusterSize }, (_, i) => DRIFTING[i % DRIFTING.length]!), ...overrides });
}

function leaderOf(sim: Simulation): string | null {
  const live = sim.nodes.filter((n) => n.live && n.report() !== null);
  const leaders = live.filter((n) => n.report()!.role === 'leader');
  if (leaders.length !== 1) return null;
  return live.every((n) => n.report()!.leader === leaders[0]!.id) ? leaders[0]!.id : null;
}

describe('raft scenarios', () => {
  it('the leader cut off with one other (2 | 3): it leads to the end of its lease and no further, the majority elects, and after healing everyone follows the newer term', () => {
    const sim = createSimulation(scenario(34), { protocol: 'raft' });
    for (const node of sim.nodes) sim.at(0, `start ${node.id}`, () => sim.start(node.id));
    assert.equal(sim.runUntil(8000), null);
    const leader = leaderOf(sim);
    assert.ok(leader);
    const lease = sim.node(leader).leaseRemainingVirtualMs()!;
    const other = sim.nodes.map((n) => n.id).find((id) => id !== leader)!;
    const rest = sim.nodes.map((n) => n.id).filter((id) => id !== leader && id !== other);
    sim.partition([[leader, other], rest]);
    // single-leader-at-every-instant and the Raft invariants watch every step in between.
    assert.equal(sim.runUntil(8000 + lease - 1), null);
    assert.equal(sim.node(leader).report()!.role, 'leader');
    assert.equal(sim.runUntil(8000 + lease + 1), null);
    assert.notEqual(sim.node(leader).report()!.role, 'leader');
    assert.equal(sim.runUntil(14_000), null);
    const majority = rest.map((id) => sim.node(id).report()!);
    assert.ok(majority.every((s) => s.leader !== null && s.leader === majority[0]!.leader), JSON.stringify(majority));
    sim.heal();
    assert.equal(sim.runUntil(22_000), null);
    assert.equal(leaderOf(sim), majority[0]!.leader);
  });
});

describe('raft membership churn', () => {
  it('a node that boots late joins as a learner; a voter that dies for good is replaced by it (promoted, then the dead one removed), under every invariant', () => {
    // Short autopilot waits so the run stays small; maxVoters 4 keeps the late node a learner until a voter dies.
    const config = { ...DEFAULT_RAFT_CONFIG, stabilizationMs: 2000, deadVoterRemoveMs: 4000, maxVoters: 4 };
    const sim = createSimulation(scenario(71, { clusterSize: 5, bootstrapExpect: 4 }), { protocol: raftProtocol(config) });
    const [late, ...first] = sim.nodes.map((n) => n.id).reverse();
    for (const id of first) sim.at(0, `start ${id}`, () => sim.start(id));
    sim.at(3000, `start ${late}`, () => sim.start(late!));
    assert.equal(sim.runUntil(9000), null);
    const statusOf = (id: string) => (sim.node(id).election() as RaftElection).raftStatus();
    const leader = leaderOf(sim);
    assert.ok(leader);
    assert.deepEqual(statusOf(leader).learners, [late], 'the late node is a learner (maxVoters reached)');
    const victim = first.find((id) => id !== leader)!;
    sim.crash(victim);
    assert.equal(sim.runUntil(20_000), null);
    const now = leaderOf(sim);
    assert.ok(now);
    assert.deepEqual(statusOf(now).voters, [...first.filter((id) => id !== victim), late].sort());
    assert.deepEqual(statusOf(now).learners, []);
  });
});

describe('raft invariants fire', () => {
  /** A view of nodes whose machines report the given internal statuses. */
  function viewOf(statuses: Record<string, Partial<RaftStatus>>): SimView {
    const nodes = Object.entries(statuses).map(([id, s]) => {
      const machine = { protocol: 'raft', raftStatus: () => ({ role: 'follower', term: 1, ...s }) as RaftStatus, logEntries: () => [] } as unknown as RaftElection;
      return { id, up: true, live: true, life: 1, election: () => machine as unknown as Election<unknown, unknown> } as unknown as NodeView;
    });
    return { nodes, touched: null } as unknown as SimView;
  }

  it('raft-one-uncommitted-config: a leader holding two configuration entries above its commit index', () => {
    const config = (index: number): RaftEntry => ({ index, term: 2, data: { kind: 'config', voters: ['a', 'b', 'c'], learners: [] } });
    const view = (entries: RaftEntry[]) => {
      const v = viewOf({ a: { role: 'leader', term: 2, commitIndex: 1 } });
      const machine = v.nodes[0]!.election() as unknown as { logEntries: () => RaftEntry[] };
      machine.logEntries = () => entries;
      return v;
    };
    const inv = raftOneUncommittedConfig({} as never);
    assert.equal(inv.check(view([config(1), config(2)])), null);
    assert.match(inv.check(view([config(1), config(2), config(3)])) ?? '', /holds 2 uncommitted configuration entries/);
  });

  it('raft-voters-floor: a configuration below min(minQuorum, bootstrapExpect)', () => {
    const inv = raftVotersFloor()({ scenario: { bootstrapExpect: 5 } } as never);
    assert.equal(inv.check(viewOf({ a: { voters: ['a', 'b', 'c'] } })), null);
    assert.match(inv.check(viewOf({ a: { voters: ['a', 'b'] } })) ?? '', /below min\(minQuorum, bootstrapExpect\) = 3/);
  });

  it('raft-election-safety: two internal leaders of one term, though neither reports leadership yet', () => {
    const inv = raftElectionSafety({} as never);
    assert.equal(inv.check(viewOf({ a: { role: 'leader', term: 2 }, b: { role: 'follower', term: 2 } })), null);
    assert.match(inv.check(viewOf({ a: { role: 'follower', term: 2 }, b: { role: 'leader', term: 2 } })) ?? '', /b is leader of term 2, which a led/);
  });
});
