/**
 * What an application asks of the replicated key-value store through its daemon, and what it is
 * told (issue 12): a write goes through the Raft log and is answered with the store's result of
 * applying it; a read is answered from the applied state, linearizable by default (ReadIndex,
 * thesis §6.4) or, when asked, serializable (this node's state as it is, possibly stale).
 *
 * The request and answer types are protocol-agnostic: the host core hands requests to an
 * election machine that keeps the store (Raft), and answers `not-raft` for one that does not.
 */
import type { KvEvent, KvOperation, KvRange, KvResult, KvWatchFilter } from './types.js';

export type KvRead =
  | { kind: 'get'; key: string }
  /** Keys starting with `prefix`, in key order; `limit` 0 means all. */
  | { kind: 'range'; prefix: string; limit: number }
  /**
   * The changes with revision >= fromRevision to a key or a prefix, from this node's watch
   * history (a watch's catch-up; always this node's own store). `compacted` when the history no
   * longer reaches that far back.
   */
  | { kind: 'events'; fromRevision: number; filter: KvWatchFilter };

export type KvConsistency = 'linearizable' | 'serializable';

export type KvRequest =
  | { kind: 'write'; op: KvOperation }
  | { kind: 'read'; read: KvRead; consistency: KvConsistency };

/**
 * Why a request got no answer from the store. `no-leader`: no leader is known to forward it to
 * (an election is under way; retry). `not-raft`: this protocol keeps no store. `entry-too-large`:
 * the write, as a log entry, would not fit one message to the followers. `shutting-down`,
 * `timeout`: no answer in time; for a write, whether it was applied is unknown (it may still be).
 * `busy`: a leadership transfer is under way and the leader takes no new writes meanwhile.
 * `invalid`: a write its peers' codec would refuse as a log entry (it never enters the log).
 */
export const KV_REQUEST_ERRORS = ['no-leader', 'not-raft', 'entry-too-large', 'shutting-down', 'timeout', 'busy', 'compacted', 'invalid-revision', 'invalid'] as const;
export type KvRequestErrorCode = (typeof KV_REQUEST_ERRORS)[number];

export type KvAnswer =
  /** The write was applied at `index`; `result` is the store's (a refused compare-and-set is an applied result too). */
  | { ok: true; kind: 'write'; index: number; result: KvResult }
  | { ok: true; kind: 'read'; range: KvRange }
  /** A watch's catch-up: the events in revision order, and the store's revision they run up to. */
  | { ok: true; kind: 'events'; events: KvEvent[]; revision: number }
  | { ok: false; code: KvRequestErrorCode; message: string };

export function kvRequestError(code: KvRequestErrorCode, message: string): KvAnswer {
  return { ok: false, code, message };
}
