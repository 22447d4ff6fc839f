/**
 * The key-value store's data model (etcd v3's, issue 12 section 1): its limits, the operations
 * that travel in Raft log entries, the key-values and watch events it hands back, and the typed
 * results of applying an operation. Types and constants only; the machine is store.ts.
 */
import { MAX_NODE_ID_CHARS } from '../bounds.js';

/** Bound on a key in UTF-8 bytes (etcd's default request limit allows far more; names need little). */
export const MAX_KEY_BYTES = 1024;
/** Bound on a value in UTF-8 bytes: a coordination store, not a blob store (one log entry stays small). */
export const MAX_VALUE_BYTES = 64 * 1024;
/** Bound on a txn's compares and on each of its branches' operations (etcd's --max-txn-ops is 128). */
export const MAX_TXN_COMPARES = 64;
export const MAX_TXN_OPS = 64;
/** Bound on a session id: the proposer chooses it (a random id or a counter fits easily). */
export const MAX_SESSION_ID_CHARS = 128;
/** Bound on a session's time to live: a day; a longer-lived session is a key, not a session. */
export const MAX_SESSION_TTL_MS = 24 * 60 * 60 * 1000;
/** Bound on the node id a session names (a libp2p peer id). */
export const MAX_SESSION_NODE_CHARS = MAX_NODE_ID_CHARS;

/**
 * What one store holds at most. Every node of a cluster must run with the same limits: a write
 * refused on one node and applied on another would split the replicated state.
 */
export interface KvLimits {
  /** Longest key, UTF-8 bytes (at most MAX_KEY_BYTES). */
  maxKeyBytes: number;
  /** Longest value, UTF-8 bytes (at most MAX_VALUE_BYTES). */
  maxValueBytes: number;
  /** Most keys held at once. */
  maxKeys: number;
  /** Most bytes held at once, keys plus values (what a snapshot roughly weighs). */
  maxTotalBytes: number;
  /** Most compares in one txn (at most MAX_TXN_COMPARES). */
  maxTxnCompares: number;
  /** Most operations in one txn branch (at most MAX_TXN_OPS). */
  maxTxnOps: number;
  /** Most sessions open at once. */
  maxSessions: number;
  /** Shortest and longest session time to live, ms (the longest at most MAX_SESSION_TTL_MS). */
  minSessionTtlMs: number;
  maxSessionTtlMs: number;
  /** Watch history: events of the last this many revisions are kept for eventsSince. */
  historyRevisions: number;
  /** Watch history: at most this many events (a prefix delete can write thousands in one revision). */
  historyEvents: number;
}

export const DEFAULT_KV_LIMITS: Readonly<KvLimits> = Object.freeze({
  maxKeyBytes: MAX_KEY_BYTES,
  maxValueBytes: MAX_VALUE_BYTES,
  // 100,000 keys of a typical size stay well inside the byte bound and a snapshot of seconds.
  maxKeys: 100_000,
  // 64 MiB: a snapshot a new member receives in a few seconds on a LAN.
  maxTotalBytes: 64 * 1024 * 1024,
  maxTxnCompares: MAX_TXN_COMPARES,
  maxTxnOps: MAX_TXN_OPS,
  maxSessions: 10_000,
  // A session shorter than an election could expire during every failover.
  minSessionTtlMs: 1_000,
  maxSessionTtlMs: MAX_SESSION_TTL_MS,
  // A watcher that reconnects within about this many writes resumes without a full re-read.
  historyRevisions: 10_000,
  historyEvents: 100_000,
});

/** A key as the store holds it; every field is part of the replicated state. */
export interface KeyValue {
  key: string;
  value: string;
  /** The revision that created this incarnation of the key. */
  createRevision: number;
  /** The revision of its last put. */
  modRevision: number;
  /** 1 on creation, +1 per put. */
  version: number;
  /** The session it is attached to (deleted when that session ends), or null. */
  session: string | null;
}

/** The revisions of a key, or null when absent: what a failed compare-and-set reports. */
export type KeyRevisions = Pick<KeyValue, 'createRevision' | 'modRevision' | 'version'> | null;

/** put: ifModRevision 0 creates only if absent; another number sets only if the key's modRevision equals it. */
export interface KvPut {
  kind: 'put';
  key: string;
  value: string;
  ifModRevision?: number;
  session?: string;
}
export interface KvDelete {
  kind: 'delete';
  key: string;
  ifModRevision?: number;
}
/** Deletes every key starting with `prefix` ('' deletes every key). */
export interface KvDeletePrefix {
  kind: 'deletePrefix';
  prefix: string;
}
/** A read, only inside a txn (plain reads are not log operations). */
export interface KvGet {
  kind: 'get';
  key: string;
}

export const COMPARE_TARGETS = ['value', 'version', 'createRevision', 'modRevision'] as const;
export type CompareTarget = (typeof COMPARE_TARGETS)[number];
export const COMPARE_OPS = ['=', '!=', '<', '>'] as const;
export type CompareOp = (typeof COMPARE_OPS)[number];

/**
 * One txn guard. An absent key has version, createRevision and modRevision 0 (so `version = 0`
 * tests absence); a compare on the value of an absent key is false, as in etcd.
 */
export type KvCompare =
  | { key: string; target: 'value'; op: CompareOp; value: string }
  | { key: string; target: 'version' | 'createRevision' | 'modRevision'; op: CompareOp; value: number };

/** What a txn branch may do; compare-and-set inside a txn is what `compare` is for. */
export type KvTxnOp = Omit<KvPut, 'ifModRevision'> | Omit<KvDelete, 'ifModRevision'> | KvDeletePrefix | KvGet;

export interface KvTxn {
  kind: 'txn';
  compare: KvCompare[];
  success: KvTxnOp[];
  failure: KvTxnOp[];
}

export const SESSION_END_REASONS = ['expired', 'revoked', 'node-dead', 'node-left'] as const;
export type SessionEndReason = (typeof SESSION_END_REASONS)[number];

/** Opens a session; the proposer chooses the id (a duplicate is refused). */
export interface KvSessionGrant {
  kind: 'sessionGrant';
  id: string;
  node: string;
  ttlMs: number;
}
export interface KvSessionKeepAlive {
  kind: 'sessionKeepAlive';
  id: string;
}
/**
 * Ends a session and deletes its keys. ifKeptAliveIndex: revoke only if the session was last
 * kept alive at that log index, so an expiry the leader decided loses to a keep-alive committed
 * before it.
 */
export interface KvSessionRevoke {
  kind: 'sessionRevoke';
  id: string;
  reason: SessionEndReason;
  ifKeptAliveIndex?: number;
}

/** Everything a log entry of the store can carry. */
export type KvOperation = KvPut | KvDelete | KvDeletePrefix | KvTxn | KvSessionGrant | KvSessionKeepAlive | KvSessionRevoke;

/** One change, as a watcher sees it. A delete's `kv` has the key, the deleting revision and nothing else (etcd's). */
export interface KvEvent {
  type: 'put' | 'delete';
  kv: KeyValue;
  prevKv?: KeyValue;
  revision: number;
}

export interface KvSession {
  id: string;
  node: string;
  ttlMs: number;
  /** Log index of the grant. */
  grantedIndex: number;
  /** Log index of the grant or of the last keep-alive: the leader's cue to restart its timer. */
  keptAliveIndex: number;
}

export type KvErrorCode =
  | 'empty-key'
  | 'not-utf8'
  | 'key-too-large'
  | 'value-too-large'
  | 'too-many-keys'
  | 'store-full'
  | 'txn-too-large'
  | 'duplicate-key'
  | 'compare-failed'
  | 'session-not-found'
  | 'session-exists'
  | 'too-many-sessions'
  | 'ttl-out-of-range'
  | 'revision-exhausted'
  | 'compacted'
  | 'invalid-revision';

export interface KvError {
  ok: false;
  code: Exclude<KvErrorCode, 'compare-failed' | 'compacted'>;
  message: string;
}
export interface KvCompareFailed {
  ok: false;
  code: 'compare-failed';
  message: string;
  /** The key's revisions now (null: absent), or for a revoke the session's keptAliveIndex. */
  current: KeyRevisions | { keptAliveIndex: number };
  /** The store's revision when the compare failed (what a linearizability check places it by). */
  revision: number;
}
export type KvFailure = KvError | KvCompareFailed;

/** What one op inside a txn returned. */
export type KvTxnOpResult =
  | { kind: 'put'; prevKv: KeyValue | null }
  | { kind: 'delete' | 'deletePrefix'; deleted: number }
  | { kind: 'get'; kv: KeyValue | null };

/** Common to every success: the store's revision after the op and the events it caused, in order. */
interface Applied {
  ok: true;
  revision: number;
  events: KvEvent[];
}
export type KvPutResult = Applied & { kind: 'put'; prevKv: KeyValue | null };
export type KvDeleteResult = Applied & { kind: 'delete' | 'deletePrefix'; deleted: number };
export type KvTxnResult = Applied & { kind: 'txn'; succeeded: boolean; responses: KvTxnOpResult[] };
export type KvSessionResult = Applied & { kind: 'sessionGrant' | 'sessionKeepAlive'; id: string; ttlMs: number };
export type KvRevokeResult = Applied & { kind: 'sessionRevoke'; id: string; reason: SessionEndReason; deleted: number };
export type KvApplied = KvPutResult | KvDeleteResult | KvTxnResult | KvSessionResult | KvRevokeResult;

export type KvResult = KvApplied | KvFailure;

/** A read: the key-values found and the revision they were read at. */
export interface KvRange {
  kvs: KeyValue[];
  /** True when `limit` cut the answer short. */
  more: boolean;
  revision: number;
}

export type KvWatchFilter = { key: string } | { prefix: string };

export type KvEventsResult =
  | { ok: true; events: KvEvent[]; revision: number }
  | { ok: false; code: 'compacted'; oldestRevision: number; message: string }
  | { ok: false; code: 'invalid-revision'; message: string };

/** The store as plain JSON (`snapshot()`), keys and sessions sorted so equal states give equal bytes. */
export interface KvSnapshotData {
  v: 1;
  revision: number;
  /** The last log index applied. */
  appliedIndex: number;
  keys: KeyValue[];
  sessions: KvSession[];
}
