/**
 * The checker of a chaos run: reads a history (history.ts) and reports every broken promise, by
 * the rules the simulator holds the machines to (../protocols/election-safety.ts), plus what only
 * a run with faults can show. Pure, so it is tested on histories with violations put in by hand.
 *
 * - `two-leaders`: two nodes answered `leader` in one sampling round (the lease contract).
 * - `term-shared`: two nodes led the same term (Raft term, Bully epoch).
 * - `ghost-leader`: a node named a leader for a term that node never led (by its own answers and
 *   its own event stream).
 * - `stranger-leader`: a node named as leader something that is not one of the cluster's nodes (a
 *   hostile peer's forged claim taken for real).
 * - `token-regression`: a node's fencing token went backwards.
 * - `cluster-token-regression`: a new reign began with a fencing token not above the last one.
 * - `minority-leader`: a node cut off from a majority (a partition's minority side; a bridge's
 *   side that, with the bridge node, is still not a majority; a node whose packets no longer reach
 *   half the cluster) still answered `leader` longer than the lease after the cut.
 * - `no-leader-after-heal`: after a fault was undone, the nodes did not agree on one leader
 *   within `healBoundMs`, though nothing else happened meanwhile.
 * - `false-dead`: a node declared dead a member that no fault touched (neither was faulted, nor
 *   were they on different sides of a partition or a one-way cut) within `faultGraceMs`.
 * - `run-overlap`: the `conclave run` children of two nodes were alive at once for longer than
 *   `runOverlapBoundMs`.
 * - `run-token-regression`: a `conclave run` child started under a lower fencing token than one
 *   that started before it.
 * - `kv-not-linearizable` (Raft runs): the key-value clients' history has no linearization
 *   (protocols/check/linearizability.ts with the store's model, per key); `kv-check-unfinished`:
 *   the search ran out of budget before it could say.
 * - `election-token-regression` (Raft runs): a campaign called after another had returned elected
 *   was elected with a token not above that one's.
 * - `election-observed-regression`: an observer was told a leader with a lower token than one it
 *   had been told before.
 * - `election-split`: two observers were told different leaders as of the same store revision.
 */
import { ReignTokens, TermLeaders } from '../protocols/election-safety.js';
import { checkLeadershipHistory, type LeadershipHistoryReport } from '../protocols/sim/leadership-history.js';
import { percentile } from '../bench/stats.js';
import { checkLinearizability, DEFAULT_MAX_STEPS, outcomeUnknown } from '../protocols/check/linearizability.js';
import { kvModel, partitionByKey, type KvOperation } from '../protocols/check/kv-model.js';
import type { ElectionRecord, EventRecord, FaultRecord, HistoryRecord, JobRecord, KvRecord, RunMeta, SampleRecord } from './history.js';
import type { Fault, FaultKind } from './schedule.js';

export const VIOLATION_KINDS = [
  'two-leaders',
  'term-shared',
  'ghost-leader',
  'stranger-leader',
  'token-regression',
  'cluster-token-regression',
  'minority-leader',
  'no-leader-after-heal',
  'false-dead',
  'run-overlap',
  'run-token-regression',
  'kv-not-linearizable',
  'kv-check-unfinished',
  'election-token-regression',
  'election-observed-regression',
  'election-split',
] as const;
export type ViolationKind = (typeof VIOLATION_KINDS)[number];

export interface Violation {
  kind: ViolationKind;
  /** When it was seen, ms since the run began. */
  atMs: number;
  detail: string;
}

export interface CheckOptions {
  /** After a fault ends, the nodes agree on a leader within this (if nothing else happens first). */
  healBoundMs: number;
  /** A fault excuses dead verdicts involving its nodes until this long after it ended. */
  faultGraceMs: number;
  /**
   * How long a cut-off leader may keep answering `leader`: its lease. Default: the longest
   * `leaseRemainingMs` any leader reported in the run, plus two sampling intervals and 500 ms
   * for the answer's trip.
   */
  leaseBoundMs?: number;
  /**
   * How long two nodes' `conclave run` children may both be alive: the old leader's `run` is told
   * (or times the lease out itself) before the next leader may lead, so this is only the time its
   * SIGTERM takes to reach the child and the child to record it.
   */
  runOverlapBoundMs: number;
  /** Search steps the key-value check may take; default DEFAULT_MAX_STEPS plus 50 per operation. */
  kvMaxSteps?: number;
}

/**
 * The heal bound is the shortest quiet period of the schedule (schedule.ts), so every quiet period
 * is judged; ten-minute runs of both protocols agreed within 1.7 s of every fault's end.
 */
export const DEFAULT_CHECK_OPTIONS: CheckOptions = { healBoundMs: 5_000, faultGraceMs: 10_000, runOverlapBoundMs: 250 };

export interface ChaosReport {
  ok: boolean;
  violations: Violation[];
  faults: Partial<Record<FaultKind, number>>;
  rounds: number;
  /** Distinct (leader, term) reigns seen, minus the first. */
  leaderChanges: number;
  /** Each stretch of rounds in which no leader was named by a majority, in ms. */
  leaderlessMs: number[];
  /** The same stretches: from the first round without such a leader to the next round with one. */
  leaderless: { fromMs: number; toMs: number }[];
  leaseBoundMs: number;
  /** `conclave run` children started. */
  jobStarts: number;
  /**
   * Per fault undone: ms from its end to the first round in which every answering node (a
   * majority at least) names one leader that says it leads; null when the next fault (or the
   * run's end) came first.
   */
  agreedAfterHealMs: (number | null)[];
  /** The key-value clients' history (Raft runs): operations, those of unknown outcome, and the verdict. */
  kv: { operations: number; unknown: number; keys: number; verdict: 'linearizable' | 'not linearizable' | 'unfinished' | 'no operations' };
  /** Named-election clients (Raft runs): campaigns won and leaders observed. */
  elections: { elected: number; observed: number };
  /** Hostile faults whose attack could not run (the tool's failure, not the cluster's), with why. */
  hostileFailures: string[];
}

interface FaultSpan {
  fault: Fault;
  startMs: number;
  /** Infinity while it was never undone (the run ended during it). */
  endMs: number;
}

/**
 * The largest or smallest of `values`, `empty` when there are none. Not Math.max(...values): an
 * hour's history holds hundreds of thousands of samples, beyond what a call's arguments may be
 * (the first 1-hour run ended in "Maximum call stack size exceeded").
 */
export function extreme(values: readonly number[], which: 'max' | 'min', empty: number): number {
  if (values.length === 0) return empty;
  let best = values[0]!;
  for (const v of values) if (which === 'max' ? v > best : v < best) best = v;
  return best;
}

export function checkHistory(records: readonly HistoryRecord[], options: CheckOptions = DEFAULT_CHECK_OPTIONS): ChaosReport {
  const meta = records[0] as RunMeta;
  const samples = records.filter((r): r is SampleRecord => r.type === 'sample').sort((a, b) => a.round - b.round);
  const events = records.filter((r): r is EventRecord => r.type === 'event');
  const spans = faultSpans(records.filter((r): r is FaultRecord => r.type === 'fault-start' || r.type === 'fault-end'));
  const rounds = groupRounds(samples);
  // Job records are appended after the run, so the end is the end record's time, not the last line's.
  const endMs = records.find((r) => r.type === 'end')?.t ?? extreme(records.map((r) => r.t), 'max', 0);
  const jobs = records.filter((r): r is JobRecord => r.type === 'job');
  const majority = Math.floor(meta.nodes / 2) + 1;
  const maxLease = extreme(samples.map((s) => s.leaseRemainingMs ?? 0), 'max', 0);
  const leaseBoundMs = options.leaseBoundMs ?? maxLease + 2 * meta.sampleIntervalMs + 500;

  const history = checkLeadershipHistory(samples);
  const kvCheck = checkKv(records.filter((r): r is KvRecord => r.type === 'kv'), options.kvMaxSteps);
  const elections = records.filter((r): r is ElectionRecord => r.type === 'election');
  const violations: Violation[] = [
    ...leadershipViolations(samples, rounds, history, events),
    ...strangerLeaders(samples, meta.nodes),
    ...minorityLeaders(samples, spans, meta.nodes, leaseBoundMs),
    ...slowHeals(rounds, spans, majority, options.healBoundMs, endMs),
    ...falseDeaths(events, spans, meta.nodes, options.faultGraceMs),
    ...jobViolations(jobs, endMs, options.runOverlapBoundMs),
    ...kvCheck.violations,
    ...electionViolations(elections),
  ].sort((a, b) => a.atMs - b.atMs);

  const faults: ChaosReport['faults'] = {};
  for (const { fault } of spans) faults[fault.kind] = (faults[fault.kind] ?? 0) + 1;
  const leaderless = leaderlessStretches(rounds, majority);
  return {
    ok: violations.length === 0,
    violations,
    faults,
    rounds: rounds.length,
    leaderChanges: Math.max(0, history.reigns.length - 1),
    leaderlessMs: leaderless.map((s) => s.toMs - s.fromMs),
    leaderless,
    leaseBoundMs,
    jobStarts: jobs.filter((j) => j.event === 'start').length,
    kv: kvCheck.summary,
    elections: { elected: elections.filter((e) => e.event === 'elected').length, observed: elections.filter((e) => e.event === 'observed').length },
    hostileFailures: records.flatMap((r) => (r.type === 'fault-end' && r.outcome?.error !== undefined ? [r.outcome.error] : [])),
    agreedAfterHealMs: spans.map((span, i) => {
      if (!Number.isFinite(span.endMs)) return null;
      const before = spans[i + 1]?.startMs ?? endMs;
      const round = rounds.find((r) => r.t >= span.endMs && r.t <= before && agreedLeader(r, majority) !== null);
      return round ? round.t - span.endMs : null;
    }),
  };
}

interface Round {
  round: number;
  t: number;
  answers: SampleRecord[];
}

function groupRounds(samples: readonly SampleRecord[]): Round[] {
  const byRound = new Map<number, Round>();
  for (const s of samples) {
    const round = byRound.get(s.round) ?? { round: s.round, t: s.t, answers: [] };
    round.t = Math.min(round.t, s.t);
    round.answers.push(s);
    byRound.set(s.round, round);
  }
  return [...byRound.values()].sort((a, b) => a.round - b.round);
}

/** Matches each fault's start with its end. */
function faultSpans(records: readonly FaultRecord[]): FaultSpan[] {
  const spans: FaultSpan[] = [];
  const open: FaultSpan[] = [];
  for (const r of records) {
    if (r.type === 'fault-start') {
      const span = { fault: r.fault, startMs: r.t, endMs: Number.POSITIVE_INFINITY };
      spans.push(span);
      open.push(span);
      continue;
    }
    const i = open.findIndex((s) => s.fault.atMs === r.fault.atMs && s.fault.kind === r.fault.kind);
    if (i >= 0) open.splice(i, 1)[0]!.endMs = r.t;
  }
  return spans;
}

/** The leader every answering node names, when a majority answered and that leader says so itself. */
function agreedLeader(round: Round, majority: number): string | null {
  if (round.answers.length < majority) return null;
  const named = new Set(round.answers.map((a) => a.leader));
  if (named.size !== 1) return null;
  const [leader] = named;
  if (leader === null || leader === undefined) return null;
  return round.answers.some((a) => a.node === leader && a.role === 'leader') ? leader : null;
}

/**
 * The lease contract as the integration tests check it (checkLeadershipHistory: two leaders in a
 * round, ghosts, per-node token regressions), plus one term led by two nodes and a reign whose
 * token does not outrank the last.
 */
function leadershipViolations(samples: readonly SampleRecord[], rounds: readonly Round[], history: LeadershipHistoryReport, events: readonly EventRecord[]): Violation[] {
  const at = new Map(rounds.map((r) => [r.round, r.t]));
  // A reign shorter than a sampling interval may never be sampled; the node's own event stream
  // saying it became leader of that term is as first-hand as its answer (bully 1-hour run: n5
  // led term 1968 for 33 ms, between two rounds, and n1 named it in the next).
  const selfReported = new Set(events.filter((e) => e.event === 'leader-changed' && e.member === e.node).map((e) => `${e.node}@${e.term}`));
  const violations: Violation[] = [
    ...history.roundsWithTwoLeaders.map((r): Violation => ({ kind: 'two-leaders', atMs: at.get(r.round)!, detail: `round ${r.round}: ${r.leaders.join(', ')} all answered leader` })),
    ...history.ghostLeaders
      .filter((g) => !selfReported.has(`${g.named}@${g.term}`))
      .map((g): Violation => ({ kind: 'ghost-leader', atMs: at.get(g.round)!, detail: `${g.node} named ${g.named} leader of term ${g.term}, which ${g.named} never led` })),
    ...history.tokenRegressions.map((r): Violation => ({ kind: 'token-regression', atMs: at.get(r.round)!, detail: `${r.node}'s fencing token went from ${r.from} to ${r.to}` })),
  ];
  const led = new TermLeaders();
  const reignTokens = new ReignTokens();
  const outrankedReported = new Set<string>();
  for (const s of samples) {
    const other = led.observe(s.node, s);
    if (other !== null) violations.push({ kind: 'term-shared', atMs: s.t, detail: `${s.node} led term ${s.term}, which ${other} had led` });
    const outranked = reignTokens.observe(s.node, s);
    if (outranked !== null && !outrankedReported.has(`${s.node}@${s.term}`)) {
      outrankedReported.add(`${s.node}@${s.term}`);
      violations.push({ kind: 'cluster-token-regression', atMs: s.t, detail: `${s.node} began leading term ${s.term} with fencing token ${s.fencingToken}, not above ${outranked.node}'s ${outranked.token} (term ${outranked.term})` });
    }
  }
  return violations;
}

/** Samples naming a leader outside n1..nN, once per (node, named leader). */
function strangerLeaders(samples: readonly SampleRecord[], nodes: number): Violation[] {
  const members = new Set(Array.from({ length: nodes }, (_, i) => `n${i + 1}`));
  const reported = new Set<string>();
  const violations: Violation[] = [];
  for (const s of samples) {
    if (s.leader === null || members.has(s.leader) || reported.has(`${s.node} ${s.leader}`)) continue;
    reported.add(`${s.node} ${s.leader}`);
    violations.push({ kind: 'stranger-leader', atMs: s.t, detail: `${s.node} named ${s.leader}, which is not one of the cluster's ${nodes} nodes, leader of term ${s.term}` });
  }
  return violations;
}

/**
 * The nodes that cannot reach a majority during a cut: a partition's or bridge's group that, with
 * the nodes in no group, is under half; a one-way cut's muted node when what it still reaches
 * (itself included) is under half.
 */
function cutOffMinority(fault: Fault, nodes: number): Set<string> {
  if (fault.kind === 'one-way') {
    const unreached = fault.groups![1]!.length;
    return new Set((nodes - unreached) * 2 <= nodes ? [`n${fault.nodes[0]}`] : []);
  }
  const groups = fault.groups ?? [];
  const ungrouped = nodes - groups.reduce((sum, g) => sum + g.length, 0);
  return new Set(groups.filter((g) => (g.length + ungrouped) * 2 <= nodes).flat().map((i) => `n${i}`));
}

/** The faults that cut the LAN into sides rather than hitting one node. */
function isCut(kind: FaultKind): boolean {
  return kind === 'partition' || kind === 'bridge' || kind === 'one-way';
}

function minorityLeaders(samples: readonly SampleRecord[], spans: readonly FaultSpan[], nodes: number, leaseBoundMs: number): Violation[] {
  const violations: Violation[] = [];
  for (const span of spans) {
    if (!isCut(span.fault.kind)) continue;
    const minority = cutOffMinority(span.fault, nodes);
    const reported = new Set<string>();
    for (const s of samples) {
      if (s.role !== 'leader' || !minority.has(s.node) || reported.has(s.node)) continue;
      if (s.t > span.startMs + leaseBoundMs && s.t < span.endMs) {
        reported.add(s.node);
        violations.push({ kind: 'minority-leader', atMs: s.t, detail: `${s.node}, on the minority side of the ${span.fault.kind} at ${Math.round(span.startMs)} ms, still answered leader ${Math.round(s.t - span.startMs)} ms into it (lease bound ${leaseBoundMs} ms)` });
      }
    }
  }
  return violations;
}

function slowHeals(rounds: readonly Round[], spans: readonly FaultSpan[], majority: number, healBoundMs: number, endMs: number): Violation[] {
  const violations: Violation[] = [];
  for (let i = 0; i < spans.length; i++) {
    const healedMs = spans[i]!.endMs;
    if (!Number.isFinite(healedMs)) continue;
    const nextFaultMs = spans[i + 1]?.startMs ?? endMs;
    // Only a quiet period at least as long as the bound can show a slow heal.
    if (nextFaultMs - healedMs < healBoundMs) continue;
    const agreed = rounds.some((r) => r.t >= healedMs && r.t <= healedMs + healBoundMs && agreedLeader(r, majority) !== null);
    if (!agreed) {
      const f = spans[i]!.fault;
      violations.push({ kind: 'no-leader-after-heal', atMs: healedMs + healBoundMs, detail: `no agreed leader within ${healBoundMs} ms after the ${f.kind} of ${f.nodes.map((n) => `n${n}`).join(',')} ended at ${Math.round(healedMs)} ms` });
    }
  }
  return violations;
}

/** Was the pair (observer, member) separated or touched by a fault at `t`, or within `graceMs` after it ended? */
function excused(observer: string, member: string, t: number, spans: readonly FaultSpan[], graceMs: number): boolean {
  return spans.some(({ fault, startMs, endMs }) => {
    if (t < startMs || t > endMs + graceMs) return false;
    const names = fault.nodes.map((i) => `n${i}`);
    if (isCut(fault.kind)) {
      // Different sides; a bridge node (in no group) reaches both; a one-way cut's muted node and its targets.
      const side = (name: string) => fault.groups?.findIndex((g) => g.some((i) => `n${i}` === name)) ?? -1;
      return side(observer) >= 0 && side(member) >= 0 && side(observer) !== side(member);
    }
    return names.includes(member) || names.includes(observer);
  });
}

/** Dead verdicts of the cluster's own nodes that no fault explains (a hostile peer that goes away is rightly dead). */
function falseDeaths(events: readonly EventRecord[], spans: readonly FaultSpan[], nodes: number, graceMs: number): Violation[] {
  const violations: Violation[] = [];
  for (const e of events) {
    if (e.event !== 'member-dead' || e.member === null || !/^n\d+$/.test(e.member) || Number(e.member.slice(1)) > nodes) continue;
    if (!excused(e.node, e.member, e.t, spans, graceMs)) {
      violations.push({ kind: 'false-dead', atMs: e.t, detail: `${e.node} declared ${e.member} dead, and no fault touched either within ${graceMs} ms` });
    }
  }
  return violations;
}

/** Each child's life from its start to its stop (or the run's end), checked pairwise across nodes. */
function jobViolations(jobs: readonly JobRecord[], endMs: number, boundMs: number): Violation[] {
  const violations: Violation[] = [];
  const lives: { node: string; token: number; startMs: number; stopMs: number }[] = [];
  const byPid = new Map<number, { node: string; token: number; startMs: number; stopMs: number }>();
  for (const j of [...jobs].sort((a, b) => a.t - b.t)) {
    if (j.event === 'start') {
      const life = { node: j.node, token: j.token, startMs: j.t, stopMs: endMs };
      const earlier = lives.filter((l) => l.token > j.token);
      if (earlier.length > 0) violations.push({ kind: 'run-token-regression', atMs: j.t, detail: `${j.node}'s child started under fencing token ${j.token}, after ${earlier[0]!.node}'s under ${earlier[0]!.token}` });
      lives.push(life);
      byPid.set(j.pid, life);
    } else {
      const life = byPid.get(j.pid);
      if (life) life.stopMs = j.t;
    }
  }
  for (let i = 0; i < lives.length; i++) {
    for (let k = i + 1; k < lives.length; k++) {
      const a = lives[i]!;
      const b = lives[k]!;
      if (a.node === b.node) continue;
      const overlapMs = Math.min(a.stopMs, b.stopMs) - Math.max(a.startMs, b.startMs);
      if (overlapMs > boundMs) {
        violations.push({ kind: 'run-overlap', atMs: Math.max(a.startMs, b.startMs), detail: `the children of ${a.node} (token ${a.token}) and ${b.node} (token ${b.token}) were both alive for ${Math.round(overlapMs)} ms (bound ${boundMs} ms)` });
      }
    }
  }
  return violations;
}

/**
 * Search steps allowed per recorded operation, on top of the checker's default: an hour's history
 * is hundreds of thousands of operations over short-lived keys, each key linearized alone.
 */
const KV_STEPS_PER_OPERATION = 50;

function checkKv(records: readonly KvRecord[], maxSteps: number | undefined): { violations: Violation[]; summary: ChaosReport['kv'] } {
  const ops: KvOperation[] = records.map((r) => ({ id: r.id, client: r.client, callMs: r.t, returnMs: r.returnT, input: r.input, ...(r.output ? { output: r.output } : {}) }));
  const summary = { operations: ops.length, unknown: ops.filter(outcomeUnknown).length, keys: partitionByKey(ops).length };
  if (ops.length === 0) return { violations: [], summary: { ...summary, verdict: 'no operations' } };
  const result = checkLinearizability(kvModel, ops, { maxSteps: maxSteps ?? DEFAULT_MAX_STEPS + KV_STEPS_PER_OPERATION * ops.length });
  if (result.ok === true) return { violations: [], summary: { ...summary, verdict: 'linearizable' } };
  const firstOf = (key: string) => extreme(records.filter((r) => r.input.key === key).map((r) => r.t), 'min', 0);
  if (result.ok === 'unknown') {
    return { violations: [{ kind: 'kv-check-unfinished', atMs: firstOf(result.partition), detail: `the search ran out of its ${result.steps} steps at key ${JSON.stringify(result.partition)}; nothing was found wrong before that` }], summary: { ...summary, verdict: 'unfinished' } };
  }
  const failing = new Set(result.failingOps);
  const atMs = extreme(records.filter((r) => failing.has(r.id)).map((r) => r.t), 'min', firstOf(result.partition));
  return { violations: [{ kind: 'kv-not-linearizable', atMs, detail: result.reason }], summary: { ...summary, verdict: 'not linearizable' } };
}

function electionViolations(records: readonly ElectionRecord[]): Violation[] {
  const violations: Violation[] = [];
  const elected = records.filter((r): r is Extract<ElectionRecord, { event: 'elected' }> => r.event === 'elected').sort((a, b) => a.t - b.t);
  for (const e of elected) {
    const before = elected.find((f) => f !== e && f.t < e.callT && f.token >= e.token);
    if (before) violations.push({ kind: 'election-token-regression', atMs: e.t, detail: `${e.node} was elected with token ${e.token} by a campaign called at ${Math.round(e.callT)} ms, after ${before.node} had been elected with token ${before.token} at ${Math.round(before.t)} ms` });
  }
  const observed = records.filter((r): r is Extract<ElectionRecord, { event: 'observed' }> => r.event === 'observed').sort((a, b) => a.t - b.t);
  const lastToken = new Map<string, number>();
  const atRevision = new Map<number, ElectionRecord & { event: 'observed' }>();
  const splitReported = new Set<number>();
  for (const o of observed) {
    const last = lastToken.get(o.node);
    if (o.token !== null && last !== undefined && o.token < last) {
      violations.push({ kind: 'election-observed-regression', atMs: o.t, detail: `${o.node} was told the leader holds token ${o.token}, after it had been told ${last}` });
    }
    if (o.token !== null) lastToken.set(o.node, Math.max(last ?? 0, o.token));
    const other = atRevision.get(o.revision);
    if (other && other.token !== o.token && !splitReported.has(o.revision)) {
      splitReported.add(o.revision);
      violations.push({ kind: 'election-split', atMs: o.t, detail: `at revision ${o.revision} ${other.node} was told token ${other.token ?? 'none'} leads and ${o.node} token ${o.token ?? 'none'}` });
    }
    if (!other) atRevision.set(o.revision, o);
  }
  return violations;
}

/** A leader that says it leads and that a majority of the cluster names (a cut-off minority may disagree). */
function majorityLeader(round: Round, majority: number): string | null {
  for (const a of round.answers) {
    if (a.role !== 'leader') continue;
    if (round.answers.filter((b) => b.leader === a.node).length >= majority) return a.node;
  }
  return null;
}

function leaderlessStretches(rounds: readonly Round[], majority: number): ChaosReport['leaderless'] {
  const stretches: ChaosReport['leaderless'] = [];
  let since: number | null = null;
  for (const round of rounds) {
    const led = majorityLeader(round, majority) !== null;
    if (!led && since === null) since = round.t;
    if (led && since !== null) {
      stretches.push({ fromMs: since, toMs: round.t });
      since = null;
    }
  }
  return stretches;
}

function formatAgreed(values: readonly (number | null)[]): string {
  const known = values.filter((v): v is number => v !== null);
  const none = values.length - known.length;
  if (known.length === 0) return `agreed after a fault     ${none === 0 ? 'no faults' : `never before the next fault (${none})`}`;
  return `agreed after a fault     p50 ${Math.round(percentile(known, 50))} ms, p99 ${Math.round(percentile(known, 99))} ms, max ${Math.round(Math.max(...known))} ms${none > 0 ? `; ${none} not before the next fault` : ''}`;
}

/** The summary table a run prints (and writes beside its history). */
export function formatReport(report: ChaosReport): string {
  const faults = Object.entries(report.faults).map(([kind, n]) => `${kind} ${n}`).join(', ') || 'none';
  const lines = [
    `faults injected          ${faults}`,
    `sampling rounds          ${report.rounds}`,
    `leader changes           ${report.leaderChanges}`,
    report.leaderlessMs.length === 0
      ? 'leaderless stretches     none'
      : `leaderless stretches     ${report.leaderlessMs.length}: p50 ${Math.round(percentile(report.leaderlessMs, 50))} ms, p99 ${Math.round(percentile(report.leaderlessMs, 99))} ms, max ${Math.round(Math.max(...report.leaderlessMs))} ms`,
    `lease bound              ${report.leaseBoundMs} ms`,
    formatAgreed(report.agreedAfterHealMs),
    `conclave run children    ${report.jobStarts} started`,
    ...(report.kv.operations === 0 ? [] : [`key-value operations     ${report.kv.operations} on ${report.kv.keys} keys (${report.kv.unknown} of unknown outcome): ${report.kv.verdict}`]),
    ...(report.elections.elected + report.elections.observed === 0 ? [] : [`named elections          ${report.elections.elected} won, ${report.elections.observed} leaders observed`]),
    ...(report.hostileFailures.length === 0 ? [] : [`hostile attacks not run  ${report.hostileFailures.length} (first: ${report.hostileFailures[0]})`]),
  ];
  for (const kind of VIOLATION_KINDS) lines.push(`${kind.padEnd(28)} ${report.violations.filter((v) => v.kind === kind).length}`);
  for (const v of report.violations.slice(0, 20)) lines.push(`  ${v.kind} at ${Math.round(v.atMs)} ms: ${v.detail}`);
  if (report.violations.length > 20) lines.push(`  … and ${report.violations.length - 20} more (all in report.json)`);
  lines.push(report.ok ? 'result                   every check holds' : `result                   ${report.violations.length} violation(s)`);
  return lines.join('\n');
}
