/** Synthetic histories for the checker's and the report's tests. */
import type { EventRecord, HistoryRecord, JobRecord, RunMeta, SampleRecord } from './history.js';
import type { Fault } from './schedule.js';

export const INTERVAL = 100;

/**
 * A clean 5-node history: n5 leads term 1 (token 1) from the start; a partition cuts n4,n5 off at
 * 2 s; n5 answers leader until 2.6 s (its lease); n3 leads term 2 (token 2) from 3 s; the
 * partition heals at 6 s and everyone names n3 by 6.5 s; the run ends at 20 s.
 */
export function cleanHistory(): HistoryRecord[] {
  const partition: Fault = { kind: 'partition', atMs: 2000, durationMs: 4000, nodes: [4, 5], groups: [[4, 5], [1, 2, 3]] };
  const meta: RunMeta = { type: 'meta', t: 0, seed: 1, nodes: 5, protocol: 'bully', durationMs: 20_000, sampleIntervalMs: INTERVAL, startedAt: '2026-12-03T00:00:00.000Z', faults: [partition] };
  const records: HistoryRecord[] = [meta];
  let round = 0;
  for (let t = 0; t < 20_000; t += INTERVAL) {
    round++;
    if (t === 2000) records.push({ type: 'fault-start', t, fault: partition });
    if (t === 6000) records.push({ type: 'fault-end', t, fault: partition });
    for (let i = 1; i <= 5; i++) records.push(sample(round, t, i));
  }
  // The majority declares the cut-off nodes dead during the partition: excused.
  records.push(event(3500, 'n1', 'member-dead', 'n5'));
  // `conclave run` children: n5's until its lease ran out, n3's from when it leads.
  records.push(job(50, 'n5', 'start', 1, 100), job(2610, 'n5', 'stop', 1, 100), job(3020, 'n3', 'start', 2, 300));
  records.push({ type: 'end', t: 20_000 });
  return records.sort((a, b) => a.t - b.t);
}

/** 20 s of 5 nodes in which n5 leads term 1 throughout, with `fault` from 2 s to 8 s. */
export function steadyHistory(fault: Fault): HistoryRecord[] {
  const meta: RunMeta = { type: 'meta', t: 0, seed: 1, nodes: 5, protocol: 'bully', durationMs: 20_000, sampleIntervalMs: INTERVAL, startedAt: '2026-12-03T00:00:00.000Z', faults: [fault] };
  const records: HistoryRecord[] = [meta, { type: 'fault-start', t: 2000, fault }, { type: 'fault-end', t: 8000, fault }, { type: 'end', t: 20_000 }];
  let round = 0;
  for (let t = 0; t < 20_000; t += INTERVAL) {
    round++;
    for (let i = 1; i <= 5; i++) records.push({ type: 'sample', t, round, node: `n${i}`, role: i === 5 ? 'leader' : 'follower', term: 1, leader: 'n5', fencingToken: 1, leaseRemainingMs: i === 5 ? 500 : null });
  }
  return records.sort((a, b) => a.t - b.t);
}

function sample(round: number, t: number, i: number): SampleRecord {
  const node = `n${i}`;
  const cutOff = i >= 4 && t >= 2000 && t < 6000;
  const oldReign = t < 3000 || (cutOff && t < 2600);
  if (cutOff) {
    // The cut-off side: n5 keeps its lease until 2.6 s, then nobody leads there.
    const leads = i === 5 && t < 2600;
    return { type: 'sample', t, round, node, role: leads ? 'leader' : 'follower', term: 1, leader: t < 2600 ? 'n5' : null, fencingToken: 1, leaseRemainingMs: leads ? 500 : null };
  }
  if (oldReign) return { type: 'sample', t, round, node, role: i === 5 ? 'leader' : 'follower', term: 1, leader: 'n5', fencingToken: 1, leaseRemainingMs: i === 5 ? 500 : null };
  return { type: 'sample', t, round, node, role: i === 3 ? 'leader' : 'follower', term: 2, leader: 'n3', fencingToken: 2, leaseRemainingMs: i === 3 ? 500 : null };
}

export function event(t: number, node: string, kind: EventRecord['event'], member: string | null): EventRecord {
  return { type: 'event', t, node, event: kind, member };
}

export function job(t: number, node: string, event: JobRecord['event'], token: number, pid: number): JobRecord {
  return { type: 'job', t, node, event, token, pid };
}

