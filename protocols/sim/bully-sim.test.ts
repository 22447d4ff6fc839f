/**
 * Bully in the simulator (issue 7): the cold starts and the partition the issue names, each on
 * drifting clocks, and the lease invariants shown to fire on machines that break the contract.
 * The swarm over many seeds is bully-swarm.test.ts.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DEFAULT_BULLY_CONFIG } from '../bully/config.js';
import type { Election } from '../election.js';
import { MAX_CLOCK_DRIFT } from '../lease.js';
import type { ElectionSummary } from '../types.js';
import { bullyProtocol } from './protocols.js';
import { createSimulation } from './run.js';
import { quietScenario, scenarioFromSeed } from './scenario.js';
import type { Simulation } from './sim.js';
import type { InvariantFactory, Scenario } from './types.js';

/** Clocks at the edges of the drift bound and between. */
const DRIFTING = [1 + MAX_CLOCK_DRIFT, 1 - MAX_CLOCK_DRIFT, 1 + MAX_CLOCK_DRIFT / 2, 1 - MAX_CLOCK_DRIFT / 2, 1];

function scenario(seed: number, overrides: Partial<Scenario> = {}): Scenario {
  const clusterSize = overrides.clusterSize ?? 5;
  return quietScenario(seed, {
    clusterSize,
    preset: 'lan',
    priorities: Array.from({ length: clusterSize }, (_, i) => i + 1),
    clockRates: Array.from({ length: clusterSize }, (_, i) => DRIFTING[i % DRIFTING.length]!),
    ...overrides,
  });
}

function leaderOf(sim: Simulation): string | null {
  const live = sim.nodes.filter((n) => n.live && n.report() !== null);
  const leaders = live.filter((n) => n.report()!.role === 'leader');
  if (leaders.length !== 1) return null;
  return live.every((n) => n.report()!.leader === leaders[0]!.id) ? leaders[0]!.id : null;
}

/** Fails the run if any of `ids` ever reports leadership (before `untilMs`, when given). */
function neverLeads(ids: string[], untilMs = Infinity): InvariantFactory {
  return () => ({
    name: 'never-leads',
    check(view) {
      if (view.nowMs >= untilMs) return null;
      const leader = view.nodes.find((n) => ids.includes(n.id) && n.report()?.role === 'leader');
      return leader ? `${leader.id} reports leadership at ${view.nowMs} ms` : null;
    },
  });
}

describe('bully scenarios', () => {
  it('draws clock rates within the drift bound and bootstrapExpect values that keep the guarantee', () => {
    for (let seed = 1; seed <= 300; seed++) {
      const s = scenarioFromSeed(seed);
      for (const rate of s.clockRates) assert.ok(Math.abs(rate - 1) <= MAX_CLOCK_DRIFT, `seed ${seed}: rate ${rate}`);
      // Two groups that each reached bootstrapExpect must overlap.
      assert.ok(2 * (Math.floor(s.bootstrapExpect / 2) + 1) > s.clusterSize, `seed ${seed}: expect ${s.bootstrapExpect} of ${s.clusterSize}`);
    }
  });
});

describe('bully cold start', () => {
  it('staggered start with bootstrapExpect 5: no leader before the fifth node, then the highest rank leads', () => {
    const starts = [0, 1500, 3000, 4500, 9000];
    const sim = createSimulation(scenario(31), { protocol: 'bully', extraInvariants: [neverLeads(['n01', 'n02', 'n03', 'n04', 'n05'], 9000)] });
    starts.forEach((atMs, i) => sim.at(atMs, `start n0${i + 1}`, () => sim.start(`n0${i + 1}`)));
    assert.equal(sim.runUntil(9000 + 6000), null);
    assert.equal(leaderOf(sim), 'n05');
  });

  it('a node that never hears the others never leads; the rest (bootstrapExpect 4) elect among themselves', () => {
    const sim = createSimulation(scenario(32, { bootstrapExpect: 4 }), { protocol: 'bully', extraInvariants: [neverLeads(['n05'])] });
    for (const other of ['n01', 'n02', 'n03', 'n04']) {
      sim.cut('n05', other);
      sim.cut(other, 'n05');
    }
    for (const node of sim.nodes) sim.at(0, `start ${node.id}`, () => sim.start(node.id));
    assert.equal(sim.runUntil(20_000), null);
    assert.equal(sim.node('n05').report()!.leader, null);
    const rest = sim.nodes.filter((n) => n.id !== 'n05');
    assert.ok(rest.every((n) => n.report()!.leader === 'n04'), JSON.stringify(rest.map((n) => n.report())));
  });

  it('a node alone (one of three, bootstrapExpect 3) never makes itself leader of a cluster of one', () => {
    const sim = createSimulation(scenario(33, { clusterSize: 3 }), { protocol: 'bully', extraInvariants: [neverLeads(['n03'])] });
    sim.start('n03');
    assert.equal(sim.runUntil(30_000), null);
    assert.deepEqual(sim.node('n03').report(), { role: 'follower', term: 0, leader: null, fencingToken: 0 });
  });
});

describe('bully partitions', () => {
  it('the leader cut off with one other (2 | 3): never two leaders, the majority elects once the lease ran out', () => {
    const sim = createSimulation(scenario(34), { protocol: 'bully' });
    for (const node of sim.nodes) sim.at(0, `start ${node.id}`, () => sim.start(node.id));
    assert.equal(sim.runUntil(8000), null);
    assert.equal(leaderOf(sim), 'n05');
    const lease = sim.node('n05').leaseRemainingVirtualMs()!;
    sim.partition([['n04', 'n05'], ['n01', 'n02', 'n03']]);
    // The old leader keeps its lease to the end, no further; single-leader-at-every-instant
    // watches every step in between.
    assert.equal(sim.runUntil(8000 + lease - 1), null);
    assert.equal(sim.node('n05').report()!.role, 'leader');
    assert.equal(sim.runUntil(8000 + lease + 1), null);
    assert.equal(sim.node('n05').report()!.role, 'follower');
    assert.equal(sim.runUntil(8000 + DEFAULT_BULLY_CONFIG.leaseMs + 3000), null);
    const majority = ['n01', 'n02', 'n03'].map((id) => sim.node(id).report()!);
    assert.ok(majority.every((s) => s.leader === 'n03'), JSON.stringify(majority));
    assert.deepEqual(['n04', 'n05'].map((id) => sim.node(id).report()!.leader), [null, null]);
    sim.heal();
    assert.equal(sim.runUntil(8000 + DEFAULT_BULLY_CONFIG.leaseMs + 8000), null);
    assert.equal(leaderOf(sim), 'n03', 'after healing the old leader follows the newer epoch');
  });
});

describe('lease invariants fire', () => {
  it('single-leader-at-every-instant: Bully without the quorum guard elects on both sides of a partition', () => {
    const sim = createSimulation(scenario(35), { protocol: bullyProtocol({ ...DEFAULT_BULLY_CONFIG, quorum: 'none' }) });
    for (const node of sim.nodes) sim.at(0, `start ${node.id}`, () => sim.start(node.id));
    assert.equal(sim.runUntil(8000), null);
    sim.partition([['n04', 'n05'], ['n01', 'n02', 'n03']]);
    assert.equal(sim.runUntil(20_000)?.invariant, 'single-leader-at-every-instant');
  });

  it('named-leader-holds-lease: a node that keeps naming the last leader it heard of', () => {
    const sticky = (machine: Election<unknown, unknown>): Election<unknown, unknown> => {
      let last: ElectionSummary | null = null;
      return {
        protocol: machine.protocol,
        step: (input) => machine.step(input),
        drain: () => machine.drain(),
        deadline: () => machine.deadline(),
        status: (nowMs) => machine.status(nowMs),
        summary: (nowMs) => {
          const s = machine.summary(nowMs);
          if (s.leader !== null) last = s;
          return s.leader === null && last !== null && s.role !== 'leader' ? { ...s, leader: last.leader, term: last.term } : s;
        },
      };
    };
    for (const [protocol, expected] of [
      [bullyProtocol(), null],
      [bullyProtocol(DEFAULT_BULLY_CONFIG, sticky), 'named-leader-holds-lease'],
    ] as const) {
      const sim = createSimulation(scenario(36), { protocol });
      for (const node of sim.nodes) sim.at(0, `start ${node.id}`, () => sim.start(node.id));
      sim.at(8000, 'pause n05', () => sim.pause('n05'));
      assert.equal(sim.runUntil(20_000)?.invariant ?? null, expected);
    }
  });
});
