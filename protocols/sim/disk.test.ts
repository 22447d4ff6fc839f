/**
 * The simulated disk: writes sync after a drawn delay or a stall, a crash keeps only a prefix of
 * the unsynced writes, and the persist-before-send invariant catches a host that lets a message
 * overtake the write it followed.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { HostCore } from '../host/core.js';
import { bullyProtocol } from './protocols.js';
import { createSimulation, runSeed } from './run.js';
import { quietScenario, scenarioFromSeed } from './scenario.js';
import { toyProtocol } from './testing.js';

/** Longer than a heartbeat interval (local preset: 200 ms), so heartbeats are due while it syncs. */
const SLOW_DISK = { fsyncMinMs: 600, fsyncMaxMs: 600, stallProbability: 0, stallMaxMs: 0 };

function toyRun(disk = SLOW_DISK) {
  const lines: string[] = [];
  const sim = createSimulation(quietScenario(5, { disk }), { protocol: toyProtocol({ persist: true, minMembers: 3 }, []), onTrace: (l) => lines.push(l), traceKeep: 10_000 });
  for (const node of sim.nodes) sim.at(0, `start ${node.id}`, () => sim.start(node.id));
  return { sim, lines };
}

describe('simulated disk', () => {
  it('a slow fsync holds the messages that followed the write, and not the heartbeats', () => {
    const { sim, lines } = toyRun();
    assert.equal(sim.runUntil(3000), null);
    // Each follower's "hello" follows its term write, which takes 600 ms to sync.
    const hello = lines.find((l) => l.includes(' msg {"type":"hello"'));
    assert.ok(hello, 'the toy followers greet their leader');
    const sentAtMs = Number(hello.trim().split(' ')[0]);
    const follower = hello.trim().split(' ')[1]!.split('>')[0]!;
    assert.ok(sentAtMs >= 600, `the hello waited for its write (${sentAtMs} ms)`);
    // Heartbeats went on meanwhile (times are arrivals: a few ms after sending).
    const beats = lines.filter((l) => l.includes(`${follower}>`) && l.includes(' hb ')).map((l) => Number(l.trim().split(' ')[0]));
    const during = beats.filter((t) => t > sentAtMs - 550 && t < sentAtMs);
    assert.ok(during.length >= 2, `heartbeats left while the write synced (hello at ${sentAtMs}, heartbeats ${beats.join(',')})`);
  });

  it('persist-before-send fires when the host lets a message overtake its write', () => {
    const emit = Object.getOwnPropertyDescriptor(HostCore.prototype, 'emit')!.value as (this: unknown, source: string, output: unknown) => void;
    // A broken core: everything goes out at once, as if nothing had to wait for the disk.
    (HostCore.prototype as unknown as { emit: unknown }).emit = function (this: { deliver(o: unknown): void }, _source: string, output: unknown) {
      this.deliver(output);
    };
    try {
      const { sim } = toyRun();
      assert.equal(sim.runUntil(3000)?.invariant, 'persist-before-send');
    } finally {
      (HostCore.prototype as unknown as { emit: unknown }).emit = emit;
    }
    assert.equal(toyRun().sim.runUntil(3000), null, 'the real core passes');
  });

  it('Bully keeps every invariant on a disk that stalls often and loses unsynced writes in crashes', () => {
    for (let seed = 1; seed <= 12; seed++) {
      const scenario = { ...scenarioFromSeed(seed), disk: { fsyncMinMs: 1, fsyncMaxMs: 30, stallProbability: 0.3, stallMaxMs: 1200 } };
      const result = runSeed(seed, { protocol: bullyProtocol(), scenario });
      assert.equal(result.violation, null, result.violation ? `seed ${seed}: ${result.violation.invariant}: ${result.violation.message}` : '');
    }
  });
});
