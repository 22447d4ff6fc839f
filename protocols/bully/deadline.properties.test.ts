/**
 * The Election contract's `deadline()` (election.ts), held against Bully: "ticks before it are
 * harmless and change nothing". One random schedule (members coming and going, cuts, loss,
 * commands, shutdowns) runs twice through a BullyNet that ticks each node only at its deadline;
 * the second run adds extra ticks at random times strictly before every node's deadline. Both
 * must emit the same effects at the same times and report the same summary and status after
 * every action. A timer missing from deadline() fires late in the first run and on time in the
 * second (an extra tick lands after it), so the runs part.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import type { NodeId } from '../types.js';
import type { BullyConfig } from './config.js';
import { BullyNet, specs, TEST_BULLY_CONFIG } from './testing.js';

const MAX_SIZE = 5;
const index = fc.integer({ min: 0, max: MAX_SIZE - 1 });
/** Whom a command or shutdown goes to: the node at `index`, or the leader (most hand-off timers run there), or a follower (relays). */
const actor = fc.record({ who: fc.constantFrom('leader' as const, 'leader' as const, 'follower' as const, 'any' as const), index });
/** The hand-off and relay messages weigh double: losing one is what makes a bound fire. */
const LOST_TYPES = ['TRANSFER', 'TRANSFER', 'TRANSFER_REQUEST', 'TRANSFER_REQUEST', 'RESIGN_REQUEST', 'RESIGN_REQUEST', 'COORDINATOR', 'ACCEPT', 'RELEASE', 'ELECTION', 'ANSWER'] as const;
/**
 * A message type lost from then on (until recover), most of the copies or all: a command or
 * shutdown issued under it runs into its bound, a resigned node stays leaderless, a claim resends.
 */
const loss = fc.option(fc.record({ type: fc.constantFrom(...LOST_TYPES), seed: fc.integer({ min: 0, max: 1000 }), percent: fc.integer({ min: 50, max: 100 }) }), { nil: undefined });

/**
 * Durations that are no multiple of one another, nor of the 500 ms earn check or the liveness
 * tick: a missing timer must not hide behind another one due at the same instant. Short resign
 * holds (ending amid the elections that follow a resignation) and pre-emption delays let a short
 * schedule reach them.
 */
const ODD = { answerTimeoutMs: 210, coordinatorTimeoutMs: 630, settleMs: 1130, leaseMs: 3070, resignHoldMs: 3310 };
const CONFIGS: readonly BullyConfig[] = [
  TEST_BULLY_CONFIG,
  { ...TEST_BULLY_CONFIG, ...ODD },
  { ...TEST_BULLY_CONFIG, ...ODD, preempt: true, preemptDelayMs: 1530 },
  { ...TEST_BULLY_CONFIG, ...ODD, quorum: 'none', resignHoldMs: 910 },
  { ...TEST_BULLY_CONFIG, ...ODD, leaseMs: 1010, expectedSize: 5, resignHoldMs: 730 },
];

const action = fc.oneof(
  { weight: 6, arbitrary: fc.record({ kind: fc.constant('advance' as const), ms: fc.integer({ min: 1, max: 4000 }) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('crash' as const), node: index }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('restart' as const), node: index }) },
  fc.record({ kind: fc.constant('cut' as const), a: index, b: index }),
  fc.record({ kind: fc.constant('isolate' as const), node: index }),
  fc.record({ kind: fc.constant('suspect' as const), a: index, b: index, connectionClosed: fc.boolean() }),
  fc.record({ kind: fc.constant('lossy' as const), seed: fc.integer({ min: 0, max: 1000 }), percent: fc.integer({ min: 5, max: 50 }) }),
  fc.record({ kind: fc.constant('lose' as const), loss }),
  // The leader (often the highest rank) goes and comes back: with preempt it asks to take over.
  fc.record({ kind: fc.constant('bounce' as const), node: actor, downMs: fc.integer({ min: 300, max: 4000 }) }),
  fc.constant({ kind: 'recover' as const }),
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant('command' as const),
      node: actor,
      command: fc.constantFrom('elect', 'resign', 'transfer', 'transfer-to', 'forget'),
      target: index,
      loss,
    }),
  },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('shutdown' as const), node: actor, loss }) },
);
type Action = typeof action extends fc.Arbitrary<infer A> ? A : never;

interface Schedule {
  size: number;
  priorities: number[];
  config: number;
  /** Views say since when each member has been in its state, which the earn check reads. */
  stateSince: boolean;
  denseExtraTicks: boolean;
  seed: number;
  actions: Action[];
}

const schedule: fc.Arbitrary<Schedule> = fc.record({
  size: fc.integer({ min: 2, max: MAX_SIZE }),
  priorities: fc.array(fc.integer({ min: 0, max: 2 }), { minLength: MAX_SIZE, maxLength: MAX_SIZE }),
  config: fc.integer({ min: 0, max: CONFIGS.length - 1 }),
  stateSince: fc.boolean(),
  denseExtraTicks: fc.constantFrom(true, true, false),
  seed: fc.integer({ min: 1, max: 1000 }),
  actions: fc.array(action, { minLength: 5, maxLength: 30, size: 'max' }),
});

function apply(net: BullyNet, ids: readonly NodeId[], a: Action): void {
  const id = (i: number) => ids[i % ids.length]!;
  const up = (node: NodeId) => net.up().includes(node);
  const pick = ({ who, index: i }: { who: 'any' | 'leader' | 'follower'; index: number }): NodeId => {
    const leaders = net.leaders();
    const candidates = who === 'leader' ? leaders : who === 'follower' ? net.up().filter((n) => !leaders.includes(n)) : [];
    return candidates.length ? candidates[i % candidates.length]! : id(i);
  };
  switch (a.kind) {
    case 'advance':
      return net.advance(a.ms);
    case 'crash':
      if (up(id(a.node))) net.crash(id(a.node));
      return;
    case 'restart':
      if (!up(id(a.node))) net.start(id(a.node));
      return;
    case 'cut':
      if (id(a.a) !== id(a.b)) net.cut(id(a.a), id(a.b));
      return;
    case 'isolate':
      return net.isolate(id(a.node));
    case 'suspect':
      if (id(a.a) !== id(a.b) && up(id(a.a))) net.suspect(id(a.a), id(a.b), a.connectionClosed ? 'connection-closed' : 'silence');
      return;
    case 'lossy': {
      let x = a.seed;
      // The schedule, not the tick pattern, decides what is lost: both runs send the same messages.
      net.drop(() => ((x = (x * 1103515245 + 12345) % 2147483648) % 100) < a.percent);
      return;
    }
    case 'lose':
      return lose(net, a.loss);
    case 'bounce': {
      const node = pick(a.node);
      if (!up(node)) return;
      net.crash(node);
      net.advance(a.downMs);
      net.start(node);
      return;
    }
    case 'recover':
      return net.recover();
    case 'command': {
      const node = pick(a.node);
      if (!up(node)) return;
      lose(net, a.loss);
      const target = id(a.target);
      if (a.command === 'transfer') net.command(node, { kind: 'transfer', to: null });
      else if (a.command === 'transfer-to') net.command(node, { kind: 'transfer', to: target });
      else if (a.command === 'forget') net.command(node, { kind: 'forget', id: target });
      else net.command(node, { kind: a.command });
      return;
    }
    case 'shutdown': {
      const node = pick(a.node);
      if (!up(node)) return;
      lose(net, a.loss);
      net.shutdown(node);
      return;
    }
  }
}

function lose(net: BullyNet, loss: { type: (typeof LOST_TYPES)[number]; seed: number; percent: number } | undefined): void {
  if (!loss) return;
  let x = loss.seed;
  net.drop((m) => m.message.type === loss.type && ((x = (x * 1103515245 + 12345) % 2147483648) % 100) < loss.percent);
}

/**
 * Extra ticks for one gap between deadlines: sparse (0 to 2, a quarter of them at the gap's very
 * start, right after an input) or dense (every 1 to 40 ms, so a timer the plain run fires late
 * fires on time here).
 */
function extraTicksFrom(seed: number, dense: boolean): (fromMs: number, beforeMs: number) => number[] {
  let x = seed;
  const next = () => (x = (x * 1103515245 + 12345) % 2147483648) / 2147483648;
  return (fromMs, beforeMs) => {
    if (beforeMs <= fromMs) return [];
    const times: number[] = next() < 0.25 ? [fromMs] : [];
    if (dense) {
      for (let atMs = fromMs + 1 + next() * 40; atMs < beforeMs; atMs += 1 + next() * 40) times.push(atMs);
      return times;
    }
    for (let n = Math.floor(next() * 3); n > 0; n--) times.push(fromMs + next() * (beforeMs - fromMs));
    return times.sort((a, b) => a - b);
  };
}

/**
 * Everything observable: every effect with its time and node; every change of a node's summary
 * or deadline, read after every step as a host reads them (a lapse missing from deadline() shows
 * late; a timer fired early moves the deadline); and every node's summary and status after each
 * action.
 */
function observe(s: Schedule, extraTicksSeed: number | null): { effects: string; steps: string[]; reports: string[] } {
  const nodeSpecs = specs(s.size, s.priorities);
  const ids = nodeSpecs.map((n) => n.id);
  const net = new BullyNet(nodeSpecs, CONFIGS[s.config], s.seed);
  net.tickMode = 'deadline';
  net.reportStateSince = s.stateSince;
  if (extraTicksSeed !== null) net.extraTicks = extraTicksFrom(extraTicksSeed, s.denseExtraTicks);
  const steps: string[] = [];
  const last = new Map<NodeId, string>();
  net.onStep = () => {
    for (const id of net.up()) {
      const seen = JSON.stringify([net.summary(id), net.machine(id).deadline()]);
      if (last.get(id) === seen) continue;
      last.set(id, seen);
      steps.push(`${net.nowMs} ${id} ${seen}`);
    }
  };
  const reports: string[] = [];
  net.start();
  // From a settled cluster, so that commands find a leader to act on.
  net.advance(CONFIGS[s.config]!.settleMs + 2000);
  for (const a of s.actions) {
    apply(net, ids, a);
    const report = ids.map((id) => (net.up().includes(id) ? [net.summary(id), net.machine(id).status(net.nowMs)] : null));
    reports.push(JSON.stringify([net.nowMs, report]));
  }
  return { effects: JSON.stringify(net.effects), steps, reports };
}

describe('bully deadline() contract', () => {
  it('extra ticks at any time before the deadline change no effect, summary, status or deadline', () => {
    fc.assert(
      fc.property(schedule, fc.integer({ min: 1, max: 2 ** 30 }), (s, extraTicksSeed) => {
        const plain = observe(s, null);
        const jittered = observe(s, extraTicksSeed);
        assert.deepEqual(jittered.steps, plain.steps);
        assert.deepEqual(jittered.reports, plain.reports);
        assert.equal(jittered.effects, plain.effects);
      }),
      { numRuns: 300 },
    );
  });
});
