/**
 * Properties over random fault schedules (fast-check): crashes, restarts from disk, cuts,
 * isolation, partitions, false suspicions, message loss, commands and graceful stops. Each runs
 * with a fixed 25 ms tick and with ticks only at each node's deadline() (testing.ts TickMode).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { leadersAtOnce, TermLeaders, termAboveToken, TokenHighWater } from '../election-safety.js';
import type { NodeId } from '../types.js';
import { BullyNet, specs, TEST_BULLY_CONFIG, type TickMode } from './testing.js';

const SIZE = 5;
const ids = specs(SIZE).map((s) => s.id);
const node = fc.integer({ min: 0, max: SIZE - 1 }).map((i) => ids[i]!);

const action = fc.oneof(
  fc.record({ kind: fc.constant('advance' as const), ms: fc.integer({ min: 25, max: 4000 }) }),
  fc.record({ kind: fc.constant('crash' as const), node }),
  fc.record({ kind: fc.constant('restart' as const), node }),
  fc.record({ kind: fc.constant('cut' as const), a: node, b: node }),
  fc.record({ kind: fc.constant('isolate' as const), node }),
  fc.record({ kind: fc.constant('partition' as const), split: fc.integer({ min: 1, max: SIZE - 1 }) }),
  fc.record({ kind: fc.constant('suspect' as const), a: node, b: node }),
  fc.record({ kind: fc.constant('lossy' as const), seed: fc.integer({ min: 0, max: 1000 }), percent: fc.integer({ min: 5, max: 50 }) }),
  fc.constant({ kind: 'recover' as const }),
  fc.record({ kind: fc.constant('command' as const), node, command: fc.constantFrom('elect', 'resign', 'transfer') }),
  fc.record({ kind: fc.constant('stop' as const), node }),
);
type Action = typeof action extends fc.Arbitrary<infer A> ? A : never;

function apply(net: BullyNet, a: Action): void {
  const up = (id: NodeId) => net.up().includes(id);
  switch (a.kind) {
    case 'advance':
      return net.advance(a.ms);
    case 'crash':
      if (up(a.node)) net.crash(a.node);
      return;
    case 'restart':
      if (!up(a.node)) net.start(a.node);
      return;
    case 'cut':
      if (a.a !== a.b) net.cut(a.a, a.b);
      return;
    case 'isolate':
      return net.isolate(a.node);
    case 'partition':
      return net.partition(ids.slice(0, a.split), ids.slice(a.split));
    case 'suspect':
      if (a.a !== a.b && up(a.a)) net.suspect(a.a, a.b);
      return;
    case 'lossy': {
      let x = a.seed;
      // A small deterministic generator: the schedule, not the clock, decides what is lost.
      net.drop(() => ((x = (x * 1103515245 + 12345) % 2147483648) % 100) < a.percent);
      return;
    }
    case 'recover':
      return net.recover();
    case 'command':
      if (up(a.node)) net.command(a.node, a.command === 'transfer' ? { kind: 'transfer', to: null } : { kind: a.command });
      return;
    case 'stop':
      if (!up(a.node)) return;
      net.shutdown(a.node);
      net.advance(TEST_BULLY_CONFIG.coordinatorTimeoutMs + net.tickMs);
      if (up(a.node)) net.crash(a.node);
      return;
  }
}

/**
 * Installs the safety checks after every step; returns a function that throws the first
 * violation seen. The rules are the simulator's (../election-safety.ts).
 */
function watch(net: BullyNet): () => void {
  const tokens = new TokenHighWater();
  const epochs = new TermLeaders();
  let violation: string | null = null;
  net.onStep = () => {
    const reports = net.up().map((id) => ({ id, ...net.summary(id)! }));
    const leaders = leadersAtOnce(reports).map((r) => r.id);
    if (leaders.length > 1) violation ??= `${leaders.join(' and ')} both report leadership at ${net.nowMs} ms`;
    for (const s of reports) {
      const before = tokens.observe(s.id, s.fencingToken);
      if (before !== null) violation ??= `${s.id}: fencing token ${s.fencingToken} after ${before}`;
      if (termAboveToken(s)) violation ??= `${s.id}: term ${s.term} above fencing token ${s.fencingToken}`;
      const holder = epochs.observe(s.id, s);
      if (holder !== null) violation ??= `${s.id} leads epoch ${s.term}, which ${holder} led`;
    }
  };
  return () => {
    if (violation) throw new Error(violation);
  };
}

function cluster(seed: number, tickMode: TickMode): BullyNet {
  const net = new BullyNet(specs(SIZE), TEST_BULLY_CONFIG, seed);
  net.tickMode = tickMode;
  return net;
}

describe('bully properties', () => {
  for (const tickMode of ['fixed', 'deadline'] as const) {
    it(`"fencingToken never decreases at a node, including across restarts", "no two nodes ever lead the same epoch" and no two lead at once (${tickMode} ticks)`, () => {
      fc.assert(
        fc.property(fc.array(action, { minLength: 1, maxLength: 40 }), fc.integer({ min: 1, max: 1000 }), (actions, seed) => {
          const net = cluster(seed, tickMode);
          const check = watch(net);
          net.start();
          for (const a of actions) {
            apply(net, a);
            check();
          }
        }),
        { numRuns: 150 },
      );
    });

    it(`after faults heal, every running node agrees on exactly one leader (${tickMode} ticks)`, () => {
      fc.assert(
        fc.property(fc.array(action, { minLength: 1, maxLength: 30 }), fc.integer({ min: 1, max: 1000 }), (actions, seed) => {
          const net = cluster(seed, tickMode);
          const check = watch(net);
          net.start();
          for (const a of actions) apply(net, a);
          net.recover();
          net.start(...ids);
          // Resign holds, settle periods and leases all end within this.
          net.advance(TEST_BULLY_CONFIG.resignHoldMs + 3 * TEST_BULLY_CONFIG.leaseMs);
          check();
          const leader = net.agreedLeader();
          assert.ok(leader !== null, `leaders ${JSON.stringify(net.leaders())}, follow ${JSON.stringify(net.up().map((id) => net.summary(id)))}`);
          const epoch = net.summary(leader)!.term;
          net.advance(10_000);
          assert.equal(net.agreedLeader(), leader, 'a stable, fault-free cluster keeps its leader');
          assert.equal(net.summary(leader)!.term, epoch);
        }),
        { numRuns: 100 },
      );
    });
  }
});
