/**
 * The sequential specification of the key-value store (etcd v3's data model, DESIGN §5) for the
 * linearizability checker: put, get, delete and compare-and-set on one key, with etcd's
 * revisions. Keys are independent objects, so histories are partitioned per key; what ties keys
 * together (one global revision counter, unique across keys) is not checked here.
 *
 * Per-key state: the value (null: absent), the modRevision a get would return (0 when absent),
 * and `lastWriteMin`, the revision of the last write to the key (put, successful cas, effective
 * delete): every later write must carry a greater one, revisions only grow.
 *
 * Unknown outcomes: a put (or a cas that matched) whose client never heard back may have taken
 * effect, but nobody learned its revision. Its state holds the value with `modRevision: null`,
 * and `lastWriteMin` one above the previous write (revisions are integers and strictly grow, so
 * that is the least the unknown revision can be). A later get returning that value with a
 * modRevision at least `lastWriteMin` is accepted and pins the revision down; a later write
 * needs a revision above `lastWriteMin`, which is exactly "above some revision that could have
 * been the unknown one". A cas naming a revision the unknown one could be may match it (and pins
 * it). The one thing not tracked: a failed cas proves the unknown revision is not the one it
 * named; forgetting that may accept a history that only that inequality would refute, never
 * refuse a correct one.
 */
import type { Model, Operation, Partition, StepResult } from './linearizability.js';
import { outcomeUnknown } from './linearizability.js';

export type KvInput =
  | { kind: 'put'; key: string; value: string }
  | { kind: 'get'; key: string }
  | { kind: 'delete'; key: string }
  /** `ifModRevision` 0: create, only if the key is absent. */
  | { kind: 'cas'; key: string; ifModRevision: number; value: string };

export interface KvPutOutput {
  /** The global revision the put was written at. */
  revision: number;
}
export interface KvGetOutput {
  value: string | null;
  /** 0 when absent. */
  modRevision: number;
}
export interface KvDeleteOutput {
  deleted: 0 | 1;
  /** The deletion's revision; with nothing deleted, the store's revision at the time. */
  revision: number;
}
export interface KvCasOutput {
  ok: boolean;
  /** The write's revision; when it failed, the store's revision at the time. */
  revision: number;
}
export type KvOutput = KvPutOutput | KvGetOutput | KvDeleteOutput | KvCasOutput;

export type KvOperation = Operation<KvInput, KvOutput>;

export interface KvState {
  value: string | null;
  /** What a get returns: 0 when absent, null when written by an operation whose revision is unknown. */
  modRevision: number | null;
  /** The last write's revision, or the least it can be when unknown. */
  lastWriteMin: number;
}

export const INITIAL_KV_STATE: KvState = { value: null, modRevision: 0, lastWriteMin: 0 };

const reject = (state: KvState): StepResult<KvState> => ({ ok: false, state });
const accept = (state: KvState): StepResult<KvState> => ({ ok: true, state });

/** A write at a known revision: it must come after the key's last write. */
function written(state: KvState, value: string | null, revision: number): StepResult<KvState> {
  if (!(revision > state.lastWriteMin)) return reject(state);
  return accept({ value, modRevision: value === null ? 0 : revision, lastWriteMin: revision });
}

/** A write whose revision nobody learned: it is at least one above the last write. */
function writtenUnknown(value: string | null, after: number): StepResult<KvState> {
  return accept({ value, modRevision: value === null ? 0 : null, lastWriteMin: after + 1 });
}

/** The store's revision as a failed cas or an empty delete reports it: at least the key's last write. */
const revisionPlausible = (state: KvState, revision: number): boolean => revision >= state.lastWriteMin;

/**
 * Whether a cas naming `ifModRevision` matches `state`, and the revision its write must follow
 * (the matched unknown revision is then pinned to `ifModRevision`); null when it cannot match.
 */
function casMatch(state: KvState, ifModRevision: number): { after: number } | null {
  if (state.value === null) return ifModRevision === 0 ? { after: state.lastWriteMin } : null;
  if (state.modRevision !== null) return ifModRevision === state.modRevision ? { after: state.lastWriteMin } : null;
  return ifModRevision >= state.lastWriteMin ? { after: ifModRevision } : null;
}

/** One key's transition; `output` undefined: the operation took effect, outcome unknown. */
export function kvStep(state: KvState, input: KvInput, output: KvOutput | undefined): StepResult<KvState> {
  switch (input.kind) {
    case 'put': {
      if (output === undefined) return writtenUnknown(input.value, state.lastWriteMin);
      return written(state, input.value, (output as KvPutOutput).revision);
    }
    case 'get': {
      if (output === undefined) return accept(state);
      const seen = output as KvGetOutput;
      if (seen.value !== state.value) return reject(state);
      if (state.modRevision !== null) return seen.modRevision === state.modRevision ? accept(state) : reject(state);
      // The value of an unknown-outcome write: any revision it could have had, which is now known.
      if (!(seen.modRevision >= state.lastWriteMin)) return reject(state);
      return accept({ value: state.value, modRevision: seen.modRevision, lastWriteMin: seen.modRevision });
    }
    case 'delete': {
      if (output === undefined) return state.value === null ? accept(state) : writtenUnknown(null, state.lastWriteMin);
      const done = output as KvDeleteOutput;
      if (done.deleted === 1) return state.value === null ? reject(state) : written(state, null, done.revision);
      return state.value === null && revisionPlausible(state, done.revision) ? accept(state) : reject(state);
    }
    case 'cas': {
      const match = casMatch(state, input.ifModRevision);
      if (output === undefined) return match ? writtenUnknown(input.value, match.after) : accept(state);
      const done = output as KvCasOutput;
      if (!done.ok) return match && state.modRevision !== null ? reject(state) : revisionPlausible(state, done.revision) ? accept(state) : reject(state);
      if (!match) return reject(state);
      return written({ ...state, lastWriteMin: match.after }, input.value, done.revision);
    }
  }
}

function hashString(text: string, seed: number): number {
  let h = seed ^ 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

export function kvHash(state: KvState): number {
  const h = state.value === null ? 0x5bd1e995 : hashString(state.value, 0);
  return (Math.imul(h ^ (state.modRevision ?? -1), 0x01000193) ^ Math.imul(state.lastWriteMin, 0x9e3779b1)) >>> 0;
}

export function kvEqual(a: KvState, b: KvState): boolean {
  return a.value === b.value && a.modRevision === b.modRevision && a.lastWriteMin === b.lastWriteMin;
}

/** One partition per key, in order of first appearance. */
export function partitionByKey(history: readonly KvOperation[]): Partition<KvInput, KvOutput>[] {
  const byKey = new Map<string, KvOperation[]>();
  for (const op of history) {
    let ops = byKey.get(op.input.key);
    if (!ops) byKey.set(op.input.key, (ops = []));
    ops.push(op);
  }
  return [...byKey].map(([key, operations]) => ({ key, operations }));
}

const quote = (value: string | null): string => (value === null ? 'absent' : JSON.stringify(value));

export function describeKvOperation(op: KvOperation): string {
  const input = op.input;
  const out = outcomeUnknown(op) ? undefined : op.output;
  const key = JSON.stringify(input.key);
  switch (input.kind) {
    case 'put':
      return `put ${key}=${quote(input.value)} -> ${out ? `revision ${(out as KvPutOutput).revision}` : 'unknown'}`;
    case 'get':
      return `get ${key} -> ${out ? `${quote((out as KvGetOutput).value)} at modRevision ${(out as KvGetOutput).modRevision}` : 'unknown'}`;
    case 'delete':
      return `delete ${key} -> ${out ? `deleted ${(out as KvDeleteOutput).deleted} at revision ${(out as KvDeleteOutput).revision}` : 'unknown'}`;
    case 'cas':
      return `cas ${key} if modRevision ${input.ifModRevision} then =${quote(input.value)} -> ${out ? `${(out as KvCasOutput).ok ? 'ok' : 'failed'} at revision ${(out as KvCasOutput).revision}` : 'unknown'}`;
  }
}

export function describeKvState(state: KvState): string {
  const at = state.modRevision === null ? `an unknown modRevision >= ${state.lastWriteMin}` : `modRevision ${state.modRevision}`;
  return state.value === null ? `absent (last write at revision >= ${state.lastWriteMin})` : `${quote(state.value)} at ${at}`;
}

/** The key-value store as the checker's model. */
export const kvModel: Model<KvState, KvInput, KvOutput> = {
  init: () => INITIAL_KV_STATE,
  step: kvStep,
  hash: kvHash,
  equal: kvEqual,
  partition: partitionByKey,
  describeOperation: describeKvOperation,
  describeState: describeKvState,
};
