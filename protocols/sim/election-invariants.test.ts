import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { agreedLeaderAfterHeal, fencingTokensGrow, oneLeaderPerTerm } from './election-invariants.js';
import type { SimProtocol } from './protocols.js';
import { createSimulation, runSeed } from './run.js';
import { quietScenario } from './scenario.js';
import type { Simulation } from './sim.js';
import { toyProtocol } from './testing.js';

const agreedSoonAfterConvergence = agreedLeaderAfterHeal(({ bounds }) => bounds.convergeMs + 500);

function booted(protocol: SimProtocol, clusterSize = 3): Simulation {
  const sim = createSimulation(quietScenario(21, { clusterSize }), { protocol });
  for (const node of sim.nodes) sim.at(0, `start ${node.id}`, () => sim.start(node.id));
  return sim;
}

describe('election hosting', () => {
  it('runs an election machine under swarm faults: messages flow, state persists, one leader after heal', () => {
    const protocol = toyProtocol({ persist: true }, [fencingTokensGrow, agreedSoonAfterConvergence]);
    let hellos = 0;
    for (let seed = 1; seed <= 60; seed++) {
      const result = runSeed(seed, { protocol, onTrace: (line) => (hellos += line.includes(' msg {"type":"hello"') ? 1 : 0) });
      assert.equal(result.violation, null, result.violation ? `seed ${seed}: ${result.violation.invariant}: ${result.violation.message}` : '');
    }
    assert.ok(hellos > 100, `only ${hellos} election messages delivered`);
  });

  it('restores persisted state on restart', () => {
    const sim = booted(toyProtocol({ persist: true }, [fencingTokensGrow]));
    sim.at(2000, 'crash n02', () => sim.crash('n02'));
    sim.at(2500, 'restart n02', () => sim.start('n02'));
    assert.equal(sim.runUntil(2499), null);
    const before = (sim.node('n02').persisted() as { term: number }).term;
    assert.ok(before > 0);
    assert.equal(sim.runUntil(6000), null);
    assert.ok(sim.node('n02').summary()!.fencingToken >= before);
  });
});

describe('election invariants fire', () => {
  it('fencing-tokens-grow: a machine that forgets its state across a restart', () => {
    const sim = booted(toyProtocol({ persist: false }, [fencingTokensGrow]));
    sim.at(2000, 'crash n02', () => sim.crash('n02'));
    sim.at(2500, 'restart n02', () => sim.start('n02'));
    assert.equal(sim.runUntil(6000)?.invariant, 'fencing-tokens-grow');
  });

  it('one-leader-per-term: a machine that elects on each side of a partition', () => {
    // Waiting for the whole cluster keeps boot from electing several leaders in term 1.
    const protocol = toyProtocol({ persist: true, minMembers: 3 }, [oneLeaderPerTerm]);
    assert.equal(booted(protocol).runUntil(10_000), null);
    const sim = booted(protocol);
    // n03 loses n02 first: it then takes over from n01 alone, in the same term n02 takes over in.
    sim.at(500, 'cut n02>n03', () => sim.cut('n02', 'n03'));
    sim.at(1000, 'partition', () => sim.partition([['n01'], ['n02'], ['n03']]));
    assert.equal(sim.runUntil(10_000)?.invariant, 'one-leader-per-term');
  });

  it('agreed-leader-after-heal: a machine that keeps following a dead leader', () => {
    for (const [stubborn, expected] of [
      [false, null],
      [true, 'agreed-leader-after-heal'],
    ] as const) {
      // minMembers: everyone first follows n01, the lowest id, once all three are seen.
      const sim = booted(toyProtocol({ persist: true, stubborn, minMembers: 3 }, [agreedSoonAfterConvergence]));
      sim.at(2000, 'crash n01', () => sim.crash('n01'));
      sim.at(3000, 'liveness', () => sim.beginLiveness(() => false));
      assert.equal(sim.runUntil(3000 + sim.bounds.convergeMs + 2000)?.invariant ?? null, expected);
    }
  });
});
