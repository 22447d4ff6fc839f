import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { checkHistory, DEFAULT_CHECK_OPTIONS, formatReport, type ViolationKind } from './check.js';
import { parseHistory, type ElectionRecord, type EventRecord, type HistoryRecord, type KvRecord, type SampleRecord } from './history.js';
import { hostileFailure } from './hostile-fault.js';
import { cleanHistory, event, INTERVAL, job, steadyHistory } from './testing.js';
import type { RunMeta } from './history.js';

function kinds(records: HistoryRecord[]): ViolationKind[] {
  return [...new Set(checkHistory(records).violations.map((v) => v.kind))].sort();
}

/** Replaces the sample of `node` in the round at `t`. */
function tamper(records: HistoryRecord[], t: number, node: string, change: Partial<SampleRecord>): HistoryRecord[] {
  return records.map((r) => (r.type === 'sample' && r.t === t && r.node === node ? { ...r, ...change } : r));
}

describe('chaos history checker', () => {
  it('finds nothing wrong with a clean history, and sums it up', () => {
    const report = checkHistory(cleanHistory());
    assert.deepEqual(report.violations, []);
    assert.ok(report.ok);
    assert.equal(report.leaderChanges, 1);
    assert.deepEqual(report.faults, { partition: 1 });
    assert.equal(report.leaseBoundMs, 500 + 2 * INTERVAL + 500);
    assert.equal(report.jobStarts, 2);
    // Every node names n3 in the first round after the partition ends.
    assert.deepEqual(report.agreedAfterHealMs, [0]);
    assert.match(formatReport(report), /agreed after a fault\s+p50 0 ms/);
    // n5's lease runs out at 2.6 s, when n1–n3 still name it but it no longer leads; n3 leads from 3 s.
    assert.deepEqual(report.leaderlessMs, [3000 - 2600]);
    assert.match(formatReport(report), /every check holds/);
  });

  it('catches two leaders in one round', () => {
    // n4 leading term 1 beside n5 also shares n5's term and starts a reign with n5's token.
    assert.deepEqual(kinds(tamper(cleanHistory(), 1000, 'n4', { role: 'leader' })), ['cluster-token-regression', 'term-shared', 'two-leaders']);
  });

  it('catches a term led by two nodes at different times', () => {
    // n2 claims term 1 alone, while n5 is not answering that round.
    const records = cleanHistory().filter((r) => !(r.type === 'sample' && r.t === 1000 && r.node === 'n5'));
    assert.deepEqual(kinds(tamper(records, 1000, 'n2', { role: 'leader', leader: 'n2' })), ['cluster-token-regression', 'term-shared']);
  });

  it('catches a ghost: a leader named for a term it never led', () => {
    assert.deepEqual(kinds(tamper(cleanHistory(), 1000, 'n1', { leader: 'n4' })), ['ghost-leader']);
    // n4's own event stream says it led term 1 (a reign between two sampling rounds): no ghost.
    const led: EventRecord = { type: 'event', t: 990, node: 'n4', event: 'leader-changed', member: 'n4', term: 1, fencingToken: 1 };
    assert.deepEqual(kinds([...tamper(cleanHistory(), 1000, 'n1', { leader: 'n4' }), led]), []);
    // Another node's event naming n4 is no evidence that n4 led.
    assert.deepEqual(kinds([...tamper(cleanHistory(), 1000, 'n1', { leader: 'n4' }), { ...led, node: 'n2' }]), ['ghost-leader']);
  });

  it('catches a node naming a leader that is not one of the cluster (a forged claim believed)', () => {
    assert.deepEqual(kinds(tamper(cleanHistory(), 1000, 'n1', { leader: 'hostile-abc123', term: 2 })), ['ghost-leader', 'stranger-leader']);
  });

  it("catches a node's fencing token going backwards", () => {
    assert.deepEqual(kinds(tamper(cleanHistory(), 10_000, 'n1', { fencingToken: 1 })), ['token-regression']);
  });

  it('catches a new reign whose token is not above the last one', () => {
    const records = cleanHistory().map((r) => (r.type === 'sample' && r.term === 2 ? { ...r, fencingToken: 1 } : r));
    assert.deepEqual(kinds(records), ['cluster-token-regression']);
  });

  it('catches a leader cut off on the minority side beyond its lease', () => {
    // n5 answers leader at 3.5 s, 1.5 s into the partition (lease bound 1.2 s) while n3 does not lead that round.
    const records = tamper(tamper(cleanHistory(), 2500, 'n3', { role: 'follower' }), 2500, 'n5', { role: 'leader' });
    assert.deepEqual(kinds(tamper(records, 3500, 'n5', { role: 'leader', leader: 'n5', leaseRemainingMs: 0 }).filter((r) => !(r.type === 'sample' && r.t === 3500 && r.node === 'n3'))), ['cluster-token-regression', 'minority-leader']);
  });

  it('catches a cluster that does not agree on a leader within the bound after a fault ends', () => {
    const records = cleanHistory().map((r) => (r.type === 'sample' && r.t >= 6000 ? { ...r, leader: null, role: 'follower' as const } : r));
    assert.deepEqual(kinds(records), ['no-leader-after-heal']);
    // A shorter quiet period than the bound shows nothing either way.
    const endMs = 6000 + DEFAULT_CHECK_OPTIONS.healBoundMs - 1;
    const short: HistoryRecord[] = [...records.filter((r) => r.type !== 'end' && r.t < endMs), { type: 'end', t: endMs }];
    assert.deepEqual(kinds(short), []);
  });

  it('catches a dead verdict no fault explains, and excuses those that one does', () => {
    assert.deepEqual(kinds([...cleanHistory(), event(12_000, 'n1', 'member-dead', 'n2')].sort((a, b) => a.t - b.t)), ['false-dead']);
    // Within the grace after the partition ended, across its sides: excused.
    assert.deepEqual(kinds([...cleanHistory(), event(12_000, 'n1', 'member-dead', 'n4')].sort((a, b) => a.t - b.t)), []);
    // A peer that is not one of the cluster (a hostile one that went away) is rightly dead.
    assert.deepEqual(kinds([...cleanHistory(), event(12_000, 'n1', 'member-dead', 'hostile-abc123')].sort((a, b) => a.t - b.t)), []);
    // The same side of the partition: not excused.
    assert.deepEqual(kinds([...cleanHistory(), event(4000, 'n1', 'member-dead', 'n2')].sort((a, b) => a.t - b.t)), ['false-dead']);
  });

  it('catches two nodes running their `conclave run` children at once beyond the bound, and a child under an older token', () => {
    const withoutStop = cleanHistory().filter((r) => !(r.type === 'job' && r.event === 'stop'));
    assert.deepEqual(kinds(withoutStop), ['run-overlap']);
    const late = cleanHistory().map((r) => (r.type === 'job' && r.event === 'stop' ? { ...r, t: 3020 + DEFAULT_CHECK_OPTIONS.runOverlapBoundMs } : r));
    assert.deepEqual(kinds(late), [], 'within the bound');
    assert.deepEqual(kinds(late.map((r) => (r.type === 'job' && r.event === 'stop' ? { ...r, t: r.t + 1 } : r))), ['run-overlap']);
    // Records appended after the run (as the runner does) count the same.
    const older = [...cleanHistory(), job(9000, 'n4', 'start', 1, 400)];
    assert.deepEqual(kinds(older), ['run-overlap', 'run-token-regression']);
  });

  it('a bridge: a side that reaches a majority through the bridge node may keep its leader, one that does not may not; deaths across the sides are excused, of the bridge node not', () => {
    /** n5 leads term 1 throughout; a bridge fault from 2 s to 8 s with n3 as the bridge node. */
    const history = (groups: number[][]) => steadyHistory({ kind: 'bridge', atMs: 2000, durationMs: 6000, nodes: [3], groups });
    // n5 with n4, and n3 the bridge: three of five.
    const reaches = history([[1, 2], [4, 5]]);
    assert.deepEqual(kinds([...reaches, event(5000, 'n1', 'member-dead', 'n4')]), [], 'across the sides: excused');
    assert.deepEqual(kinds([...reaches, event(5000, 'n1', 'member-dead', 'n3')]), ['false-dead'], 'the bridge node reaches everyone');
    // n5 alone with the bridge: two of five, so it must stop leading within its lease.
    assert.deepEqual(kinds(history([[5], [1, 2, 4]])), ['minority-leader']);
  });

  it('a one-way cut: a leader whose packets reach under half the cluster must stop leading; deaths between the muted node and its targets are excused, others not', () => {
    /** n5 leads term 1 throughout; n5's packets to `targets` are dropped from 2 s to 8 s. */
    const history = (targets: number[]) => steadyHistory({ kind: 'one-way', atMs: 2000, durationMs: 6000, nodes: [5], groups: [[5], targets] });
    // n5 still reaches n1, n2 and itself: three of five, so it may keep leading.
    const two = history([3, 4]);
    assert.deepEqual(kinds(two), []);
    assert.deepEqual(kinds([...two, event(5000, 'n3', 'member-dead', 'n5'), event(5000, 'n5', 'member-dead', 'n4')]), [], 'between n5 and its targets: excused');
    assert.deepEqual(kinds([...two, event(5000, 'n1', 'member-dead', 'n3')]), ['false-dead'], 'n1 and n3 still reach each other');
    // n5 reaches only n1 and itself: two of five.
    assert.deepEqual(kinds(history([2, 3, 4])), ['minority-leader']);
  });

  it('checks the key-value clients\' history for linearizability, and sums it up', () => {
    const put = (id: number, t: number, returnT: number | null, value: string, revision: number): KvRecord => ({ type: 'kv', t, id, client: 'n1', returnT, input: { kind: 'put', key: 'k', value }, ...(returnT === null ? {} : { output: { revision } }) });
    const get = (id: number, t: number, returnT: number, value: string | null, modRevision: number): KvRecord => ({ type: 'kv', t, id, client: 'n2', returnT, input: { kind: 'get', key: 'k' }, output: { value, modRevision } });
    const withKv = (kv: KvRecord[]) => [...cleanHistory(), ...kv];
    const clean = checkHistory(withKv([put(1, 1000, 1100, 'a', 5), get(2, 1200, 1300, 'a', 5), put(3, 1400, null, 'b', 0), get(4, 9000, 9100, 'b', 7)]));
    assert.deepEqual(clean.violations, []);
    assert.deepEqual(clean.kv, { operations: 4, unknown: 1, keys: 1, verdict: 'linearizable' });
    assert.match(formatReport(clean), /key-value operations\s+4 on 1 keys \(1 of unknown outcome\): linearizable/);
    // A read after the put returned that does not see it.
    const stale = checkHistory(withKv([put(1, 1000, 1100, 'a', 5), get(2, 1200, 1300, null, 0)]));
    assert.deepEqual(stale.violations.map((v) => v.kind), ['kv-not-linearizable']);
    assert.equal(stale.kv.verdict, 'not linearizable');
    assert.match(stale.violations[0]!.detail, /get "k" -> absent/);
    // A search that runs out of budget is reported, never passed.
    const unfinished = checkHistory(withKv([put(1, 1000, 1100, 'a', 5), get(2, 1200, 1300, 'a', 5)]), { ...DEFAULT_CHECK_OPTIONS, kvMaxSteps: 1 });
    assert.deepEqual(unfinished.violations.map((v) => v.kind), ['kv-check-unfinished']);
    assert.equal(unfinished.kv.verdict, 'unfinished');
    // No operations (a Bully run): nothing said.
    assert.doesNotMatch(formatReport(checkHistory(cleanHistory())), /key-value/);
  });

  it('catches a named election won with an older token, an observer told an older leader, and two leaders at one revision', () => {
    const elected = (t: number, node: string, token: number, callT: number): ElectionRecord => ({ type: 'election', t, node, event: 'elected', token, callT });
    const observed = (t: number, node: string, token: number | null, revision: number): ElectionRecord => ({ type: 'election', t, node, event: 'observed', token, revision });
    const ok = [elected(1000, 'n1', 10, 900), { type: 'election' as const, t: 2000, node: 'n1', event: 'resigned' as const, token: 10 }, elected(2500, 'n2', 12, 1500), observed(1000, 'n3', 10, 10), observed(2100, 'n3', null, 11), observed(2500, 'n3', 12, 12), observed(2600, 'n4', 12, 12)];
    const report = checkHistory([...cleanHistory(), ...ok]);
    assert.deepEqual(report.violations, []);
    assert.deepEqual(report.elections, { elected: 2, observed: 4 });
    // Called after n1's win returned (1000 ms), yet elected with a lower token.
    assert.deepEqual(kinds([...cleanHistory(), ...ok, elected(3000, 'n5', 9, 1100)]), ['election-token-regression']);
    // Called before n1's win returned: concurrent, nothing to say.
    assert.deepEqual(kinds([...cleanHistory(), ...ok, elected(3000, 'n5', 9, 950)]), []);
    assert.deepEqual(kinds([...cleanHistory(), ...ok, observed(2700, 'n3', 10, 13)]), ['election-observed-regression']);
    assert.deepEqual(kinds([...cleanHistory(), ...ok, observed(2700, 'n5', 10, 12)]), ['election-split']);
  });

  it('reports a hostile attack that could not run, apart from the violations', () => {
    const records = cleanHistory().map((r) => (r.type === 'fault-end' ? { ...r, outcome: hostileFailure(new Error('hostile peer did not start within 20000 ms')) } : r));
    const report = checkHistory(records);
    assert.deepEqual(report.hostileFailures, ['hostile peer did not start within 20000 ms']);
    assert.ok(report.ok);
    assert.match(formatReport(report), /hostile attacks not run\s+1 \(first: hostile peer did not start/);
  });

  it('judges an hour of samples (five nodes every 50 ms: 360,000) without running out of stack', () => {
    const meta = cleanHistory()[0] as RunMeta;
    const records: HistoryRecord[] = [{ ...meta, durationMs: 3_600_000, sampleIntervalMs: 50 }];
    for (let round = 1; round <= 72_000; round++) {
      const t = round * 50;
      for (let i = 1; i <= 5; i++) records.push({ type: 'sample', t, round, node: `n${i}`, role: i === 5 ? 'leader' : 'follower', term: 1, leader: 'n5', fencingToken: 1, leaseRemainingMs: i === 5 ? 3000 : null });
    }
    // No end record: the run's end is the last record's time.
    const report = checkHistory(records);
    assert.deepEqual(report.violations, []);
    assert.equal(report.rounds, 72_000);
    assert.equal(report.leaseBoundMs, 3000 + 2 * 50 + 500);
  });

  it('reads history.jsonl back, and names a broken line', () => {
    const text = cleanHistory().map((r) => JSON.stringify(r)).join('\n');
    assert.deepEqual(checkHistory(parseHistory(text)).violations, []);
    assert.throws(() => parseHistory(`${text}\n{"type":"sample"`), /line \d+ is not JSON/);
    assert.throws(() => parseHistory(`${text}\n{"type":"nope","t":1}`), /line \d+ is not a history record/);
    assert.throws(() => parseHistory('{"type":"end","t":1}'), /starts with its meta record/);
  });
});
