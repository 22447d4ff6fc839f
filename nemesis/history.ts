/**
 * A chaos run's history, one JSON record per line (`chaos/<run>/history.jsonl`): what the nemesis
 * did and when, what every node answered when asked, and the membership and leadership events
 * each node streamed, and in Raft runs the key-value and named-election clients' operations. `t` is milliseconds since the run began, on the recorder's monotonic clock,
 * so records of different nodes order correctly. The checker (check.ts) reads only this file.
 */
import type { KvInput, KvOutput } from '../protocols/check/kv-model.js';
import type { LeadershipSample } from '../protocols/sim/leadership-history.js';
import type { HostileOutcome } from './hostile-fault.js';
import type { Fault } from './schedule.js';

export interface RunMeta {
  type: 'meta';
  t: number;
  seed: number;
  nodes: number;
  protocol: string;
  durationMs: number;
  sampleIntervalMs: number;
  /** Wall-clock start, for people reading the file. */
  startedAt: string;
  /** The planned schedule (the actual times are in the fault records). */
  faults: Fault[];
}

export interface FaultRecord {
  type: 'fault-start' | 'fault-end';
  t: number;
  fault: Fault;
  /** On a hostile fault's end: what the attack got through (hostile-fault.ts). */
  outcome?: HostileOutcome;
}

/** One node's /v1/status answer in sampling round `round` (every node is asked at once). */
export interface SampleRecord extends LeadershipSample {
  type: 'sample';
  t: number;
  leaseRemainingMs: number | null;
}

/** An event a node streamed on /v1/events that the checks read. */
export interface EventRecord {
  type: 'event';
  t: number;
  node: string;
  event: 'member-dead' | 'member-suspect' | 'leader-changed';
  /** The member concerned (member events) or the new leader (leader-changed; null: none). */
  member: string | null;
  term?: number;
  fencingToken?: number;
}

/** A `conclave run` child (job.ts) starting or being stopped, at `node`, under fencing token `token`. */
export interface JobRecord {
  type: 'job';
  t: number;
  node: string;
  event: 'start' | 'stop';
  token: number;
  pid: number;
}

/**
 * A key-value operation of a Raft run's clients (kv-workload.ts), written once its outcome is
 * known: `t` is when it was called, `returnT` when its outcome came back (null: never, a write
 * that may or may not have been applied), `output` what it returned.
 */
export interface KvRecord {
  type: 'kv';
  t: number;
  id: number;
  client: string;
  returnT: number | null;
  input: KvInput;
  output?: KvOutput;
}

/** A named-election client's outcome (election-workload.ts). */
export type ElectionRecord =
  | { type: 'election'; t: number; node: string; event: 'elected'; token: number; callT: number }
  | { type: 'election'; t: number; node: string; event: 'resigned'; token: number }
  | { type: 'election'; t: number; node: string; event: 'observed'; token: number | null; revision: number };

export interface EndRecord {
  type: 'end';
  t: number;
}

export type HistoryRecord = RunMeta | FaultRecord | SampleRecord | EventRecord | JobRecord | KvRecord | ElectionRecord | EndRecord;

/** Parses history.jsonl; a line that is not a record is reported with its number, never skipped. */
export function parseHistory(text: string): HistoryRecord[] {
  const records: HistoryRecord[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (line === '') continue;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch {
      throw new SyntaxError(`history line ${i + 1} is not JSON: ${line.slice(0, 80)}`);
    }
    const record = value as Partial<HistoryRecord>;
    if (typeof record !== 'object' || record === null || typeof record.t !== 'number' || !['meta', 'fault-start', 'fault-end', 'sample', 'event', 'job', 'kv', 'election', 'end'].includes(String(record.type))) {
      throw new SyntaxError(`history line ${i + 1} is not a history record: ${line.slice(0, 80)}`);
    }
    records.push(record as HistoryRecord);
  }
  if (records[0]?.type !== 'meta') throw new SyntaxError('a history starts with its meta record');
  return records;
}
