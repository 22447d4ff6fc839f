import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createMembership } from '../membership/index.js';
import { createSimulation, runSeed } from './run.js';
import { quietScenario, scenarioFromSeed } from './scenario.js';
import type { Simulation } from './sim.js';
import { declaresDeadEagerly, lastHeartbeatWins, neverDeclaresDead, neverRevives } from './testing.js';
import type { MembershipFactory, Scenario } from './types.js';

/** Enough seeds to cover every fault mix many times, few enough for about 20 s on one core. */
const SWARM_SEEDS = 300;

function booted(scenario: Scenario, membershipFactory: MembershipFactory = createMembership): Simulation {
  const sim = createSimulation(scenario, { membershipFactory });
  for (const node of sim.nodes) sim.at(0, `start ${node.id}`, () => sim.start(node.id));
  return sim;
}

describe('swarm', () => {
  it(`holds every membership invariant over ${SWARM_SEEDS} seeds of faults, then converges`, () => {
    const startedMs = performance.now();
    let virtualMs = 0;
    let slowestConvergenceMs = 0;
    for (let seed = 1; seed <= SWARM_SEEDS; seed++) {
      const result = runSeed(seed);
      assert.equal(result.violation, null, result.violation ? `seed ${seed}: ${result.violation.invariant}: ${result.violation.message}\n${result.violation.trace.join('\n')}` : '');
      assert.notEqual(result.stats.convergedAfterHealMs, null, `seed ${seed} never converged`);
      virtualMs += result.stats.virtualMs;
      slowestConvergenceMs = Math.max(slowestConvergenceMs, result.stats.convergedAfterHealMs!);
    }
    const wallS = (performance.now() - startedMs) / 1000;
    console.log(
      `# swarm: ${SWARM_SEEDS} seeds, ${(virtualMs / 1000).toFixed(0)} virtual s in ${wallS.toFixed(1)} s; slowest convergence after heal ${slowestConvergenceMs} ms`,
    );
  });

  it('picks cluster size 3–7 and both presets from the seed', () => {
    const scenarios = Array.from({ length: 200 }, (_, i) => scenarioFromSeed(i + 1));
    const sizes = new Set(scenarios.map((s) => s.clusterSize));
    assert.deepEqual([...sizes].sort(), [3, 4, 5, 6, 7]);
    assert.deepEqual(new Set(scenarios.map((s) => s.preset)), new Set(['local', 'lan']));
  });
});

describe('replay', () => {
  it('gives the identical trace for the same seed', () => {
    for (const seed of [7, 123, 4242]) {
      const lines: string[][] = [[], []];
      const first = runSeed(seed, { onTrace: (line) => lines[0]!.push(line) });
      const second = runSeed(seed, { onTrace: (line) => lines[1]!.push(line) });
      assert.equal(first.stats.traceHash, second.stats.traceHash);
      assert.deepEqual(first.stats, second.stats);
      assert.deepEqual(lines[0], lines[1]);
      assert.ok(lines[0]!.length > 100);
    }
  });

  it('gives different traces for different seeds', () => {
    const hashes = new Set([1, 2, 3, 4, 5].map((seed) => runSeed(seed).stats.traceHash));
    assert.equal(hashes.size, 5);
  });
});

describe('faults', () => {
  it('a graceful stop leaves the node `left` at every peer, not dead', () => {
    const sim = booted(quietScenario(15, { clusterSize: 4 }));
    sim.at(2000, 'stop n04', () => sim.stop('n04'));
    assert.equal(sim.runUntil(2000 + 2 * sim.bounds.detectDeadMs), null);
    assert.equal(sim.node('n04').up, false);
    for (const id of ['n01', 'n02', 'n03']) assert.equal(sim.node(id).member('n04')?.state, 'left');
  });

  it('a crash is seen through connection-closed hints, a partition is not', () => {
    const lines: string[] = [];
    const sim = createSimulation(quietScenario(16), { onTrace: (line) => lines.push(line) });
    for (const node of sim.nodes) sim.at(0, `start ${node.id}`, () => sim.start(node.id));
    sim.at(1000, 'partition', () => sim.partition([['n01', 'n02'], ['n03']]));
    sim.at(3000, 'crash n02', () => sim.crash('n02'));
    assert.equal(sim.runUntil(5000), null);
    const hints = lines.filter((l) => /^\d+ \S+ connection-closed \S+$/.test(l));
    assert.deepEqual(hints.map((l) => l.split(' ').slice(1).join(' ')), ['n01 connection-closed n02']);
  });

  it('a paused node gets what arrived meanwhile on resume, after its overdue tick', () => {
    const lines: string[] = [];
    const sim = createSimulation(quietScenario(17), { onTrace: (line) => lines.push(line) });
    for (const node of sim.nodes) sim.at(0, `start ${node.id}`, () => sim.start(node.id));
    sim.at(1000, 'pause n01', () => sim.pause('n01'));
    sim.at(1600, 'resume n01', () => sim.resume('n01'));
    assert.equal(sim.runUntil(3000), null);
    const toN01 = lines.filter((l) => l.includes('>n01 hb')).map((l) => Number(l.split(' ')[0]));
    assert.ok(!toN01.some((t) => t > 1000 && t < 1600), 'nothing processed while paused');
    assert.ok(toN01.filter((t) => t === 1600).length >= 2, 'the backlog is processed at resume');
  });
});

describe('invariants fire on broken membership', () => {
  it('crashed-node-declared-dead: a machine that never declares death', () => {
    const scenario = quietScenario(11);
    for (const [factory, expected] of [
      [createMembership, null],
      [neverDeclaresDead, 'crashed-node-declared-dead'],
    ] as const) {
      const sim = booted(scenario, factory);
      sim.at(3000, 'crash n03', () => sim.crash('n03'));
      const violation = sim.runUntil(3000 + 2 * sim.bounds.detectDeadMs);
      assert.equal(violation?.invariant ?? null, expected);
      if (violation) {
        assert.equal(violation.seed, 11);
        assert.ok(violation.nowMs >= 3000 + sim.bounds.detectDeadMs);
        assert.ok(violation.notable.some((line) => line.includes('fault crash n03')));
      }
    }
  });

  it('no-false-death-when-quiet: a machine that declares death too eagerly', () => {
    const scenario = quietScenario(12, { clusterSize: 4 });
    assert.equal(booted(scenario).runUntil(10_000), null);
    const violation = booted(scenario, declaresDeadEagerly).runUntil(10_000);
    assert.equal(violation?.invariant, 'no-false-death-when-quiet');
  });

  it('converges-after-heal: a machine that never revives a member it saw dead', () => {
    const scenario = quietScenario(13);
    for (const [factory, expected] of [
      [createMembership, null],
      [neverRevives, 'converges-after-heal'],
    ] as const) {
      const sim = booted(scenario, factory);
      sim.at(1000, 'partition', () => sim.partition([['n01'], ['n02', 'n03']]));
      sim.at(1000 + 2 * sim.bounds.detectDeadMs, 'liveness', () => sim.beginLiveness(() => true));
      const violation = sim.runUntil(1000 + 3 * sim.bounds.detectDeadMs + sim.bounds.convergeMs + 1000);
      assert.ok(sim.healedAtMs !== null);
      assert.equal(violation?.invariant ?? null, expected);
    }
  });

  it('incarnations-never-decrease: a machine that lets a late heartbeat of an older life win', () => {
    // Wide jitter and duplication let the old life's last heartbeats overtake the new life's first.
    const scenario = quietScenario(14, { preset: 'lan', baseDelayMaxMs: 2, jitterMaxMs: 60, duplicateProbability: 0.5 });
    for (const [factory, expected] of [
      [createMembership, null],
      [lastHeartbeatWins, 'incarnations-never-decrease'],
    ] as const) {
      const sim = booted(scenario, factory);
      sim.setNetwork(0, scenario.duplicateProbability);
      // Each life publishes at boot and one interval later; the bounce comes just after that.
      for (let i = 0; i < 25; i++) {
        sim.at(1000 + i * (scenario.timings.heartbeatIntervalMs + 20), 'bounce n03', () => {
          sim.crash('n03');
          sim.start('n03');
        });
      }
      const violation = sim.runUntil(10_000);
      assert.equal(violation?.invariant ?? null, expected);
    }
  });
});
