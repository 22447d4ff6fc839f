/**
 * The simulated disk: writes sync after a drawn delay or a stall, a crash keeps only a prefix of
 * the unsynced writes, and the persist-before-send invariant catches a host that lets a message
 * overtake the write it followed.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Election, ElectionEffect } from '../election.js';
import { HostCore } from '../host/core.js';
import type { LogEntry } from '../types.js';
import { bullyProtocol } from './protocols.js';
import { createSimulation, runSeed } from './run.js';
import { quietScenario, scenarioFromSeed } from './scenario.js';
import { toyProtocol } from './testing.js';
import type { SimProtocol } from './protocols.js';

/** A machine that appends one log entry every 50 ms (and, every fifth, rewrites its last two): what a log looks like to the disk. */
function appender(restored: LogEntry[][]): SimProtocol {
  return {
    name: 'appender',
    summary: 'appends log entries (tests only)',
    protocol: 'bully',
    livenessExtraMs: () => 0,
    invariants: [],
    agreement: [],
    electionFor: () => (ctx) => {
      restored.push([...ctx.log.entries]);
      let last = ctx.log.entries.at(-1)?.index ?? 0;
      let dueMs = ctx.nowMs;
      let effects: ElectionEffect<unknown, unknown>[] = [];
      const machine: Election<unknown, unknown> = {
        protocol: 'bully',
        step(input) {
          if (input.type !== 'tick' || input.nowMs < dueMs) return;
          dueMs = input.nowMs + 50;
          if (last >= 2 && last % 5 === 0) {
            effects.push({ type: 'persist', batch: { truncateAfter: last - 2, entries: [{ index: last - 1, term: 2, data: 'b' }, { index: last, term: 2, data: 'c' }] } });
          } else {
            last += 1;
            effects.push({ type: 'persist', batch: { entries: [{ index: last, term: 1, data: 'a' }] } });
          }
        },
        drain: () => {
          const out = effects;
          effects = [];
          return out;
        },
        deadline: () => dueMs,
        summary: () => ({ role: 'follower', term: 0, leader: null, fencingToken: 0 }),
        status: () => ({ leaseRemainingMs: null, bootstrap: { expect: 1, seen: 1, complete: true } }),
      };
      return machine;
    },
  };
}

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

  it('a crash keeps whole batches of log writes, in order: a prefix of what was written, all of what was synced', () => {
    const restored: LogEntry[][] = [];
    const disk = { fsyncMinMs: 5, fsyncMaxMs: 120, stallProbability: 0.2, stallMaxMs: 400 };
    const sim = createSimulation(quietScenario(9, { clusterSize: 1, bootstrapExpect: 1, disk }), { protocol: appender(restored) });
    const syncedAtCrash: number[] = [];
    sim.at(0, 'start', () => sim.start('n01'));
    for (let i = 1; i <= 8; i++) {
      sim.at(i * 700, 'crash', () => {
        syncedAtCrash.push(sim.node('n01').disk.entries.length);
        sim.crash('n01');
      });
      sim.at(i * 700 + 50, 'restart', () => sim.start('n01'));
    }
    assert.equal(sim.runUntil(8 * 700 + 100), null);
    assert.equal(restored.length, 9);
    for (const [life, entries] of restored.entries()) {
      entries.forEach((e, i) => assert.equal(e.index, i + 1, `life ${life + 1}: consecutive from 1`));
      if (life > 0) assert.ok(entries.length >= syncedAtCrash[life - 1]!, `life ${life + 1} restored ${entries.length} entries, ${syncedAtCrash[life - 1]} were synced`);
    }
    assert.ok(restored.at(-1)!.some((e) => e.term === 2), 'truncations happened and were kept');
  });
});
