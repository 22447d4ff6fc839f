/**
 * The key-value store's applied state (etcd v3's model, issue 12 section 1): keys with their
 * create/mod revisions and versions, one global revision, compare-and-set, txns, sessions (etcd's
 * leases) and a bounded watch history. Every node applies the same committed log entries in the
 * same order through `apply(op, index)`, so the store is a pure deterministic machine: no clock,
 * no randomness, no I/O, and no map's iteration order reaches a result or a snapshot.
 *
 * Revisions: a write that changes something takes exactly one new revision (a txn with several
 * writes, a prefix delete, a session revoke: one); a write that changes nothing (deleting a
 * missing key, a txn branch of reads) and session grants and keep-alives take none. A failed
 * operation changes nothing but the applied index.
 *
 * Sessions, the contract with the Raft leader (the store never reads a clock):
 * - a session has `ttlMs` and `keptAliveIndex`, the log index of its grant or last keep-alive;
 * - the leader keeps, on its own monotonic clock, a deadline per session: now + ttlMs whenever it
 *   applies a grant or keep-alive of it, and for every session when it becomes leader (it cannot
 *   know what the previous leader's clock said; etcd's lessor does the same on promotion);
 * - when a deadline passes, it proposes `sessionRevoke { reason: 'expired', ifKeptAliveIndex }`
 *   with the keptAliveIndex it saw, so a keep-alive committed first wins and the revoke is refused;
 * - when membership declares a node dead or left, it proposes a revoke for each of
 *   `sessionsOfNode(node)` with reason 'node-dead' or 'node-left'.
 * Revoking deletes every key attached to the session at one revision.
 *
 * Watch history is local, not replicated: a store restored from a snapshot holds none, and
 * `eventsSince` below its snapshot revision answers 'compacted' (the watcher re-reads).
 *
 * All nodes must run with the same KvLimits: the limits decide which writes are refused.
 */
import { isCounter, MAX_COUNTER } from '../bounds.js';
import { kvSnapshotCodec } from './codec.js';
import { KvHistory } from './history.js';
import { compareKeys } from './text.js';
import {
  DEFAULT_KV_LIMITS,
  MAX_KEY_BYTES,
  MAX_SESSION_TTL_MS,
  MAX_TXN_COMPARES,
  MAX_TXN_OPS,
  MAX_VALUE_BYTES,
  type KeyRevisions,
  type KeyValue,
  type KvApplied,
  type KvCompareFailed,
  type KvDelete,
  type KvDeletePrefix,
  type KvError,
  type KvEventsResult,
  type KvFailure,
  type KvLimits,
  type KvOperation,
  type KvPut,
  type KvRange,
  type KvResult,
  type KvSession,
  type KvSessionGrant,
  type KvSessionKeepAlive,
  type KvSessionRevoke,
  type KvSnapshotData,
  type KvTxn,
  type KvTxnOp,
  type KvTxnOpResult,
  type KvWatchFilter,
} from './types.js';
import { checkKey, checkPrefix, checkTxnOp, checkValue, compareHolds, findOverlap, kvBytes, quote, WritePlan, type KvReader } from './writes.js';

function fail(code: KvError['code'], message: string): KvError {
  return { ok: false, code, message };
}

function revisionsOf(kv: KeyValue | null): KeyRevisions {
  return kv === null ? null : { createRevision: kv.createRevision, modRevision: kv.modRevision, version: kv.version };
}

/** Throws on limits no store may run with (a configuration bug, not input). */
function checkLimits(limits: KvLimits): void {
  const within = (name: keyof KvLimits, min: number, max: number) => {
    const v = limits[name];
    if (!Number.isSafeInteger(v) || v < min || v > max) throw new RangeError(`KvLimits.${name} = ${v}, outside [${min}, ${max}]`);
  };
  within('maxKeyBytes', 1, MAX_KEY_BYTES);
  within('maxValueBytes', 0, MAX_VALUE_BYTES);
  within('maxKeys', 0, MAX_COUNTER);
  within('maxTotalBytes', 0, MAX_COUNTER);
  within('maxTxnCompares', 0, MAX_TXN_COMPARES);
  within('maxTxnOps', 0, MAX_TXN_OPS);
  within('maxSessions', 0, MAX_COUNTER);
  within('minSessionTtlMs', 1, MAX_SESSION_TTL_MS);
  within('maxSessionTtlMs', limits.minSessionTtlMs, MAX_SESSION_TTL_MS);
  within('historyRevisions', 0, MAX_COUNTER);
  within('historyEvents', 0, MAX_COUNTER);
}

export class KvStore implements KvReader {
  readonly limits: Readonly<KvLimits>;
  private readonly kvs = new Map<string, KeyValue>();
  /** Every key in key order; null when a create or delete made it stale (rebuilt on the next read). */
  private sorted: string[] | null = [];
  private totalBytes = 0;
  private rev = 0;
  private applied = 0;
  private readonly sessionsById = new Map<string, KvSession>();
  /** Keys attached to each session (every session has an entry, maybe empty). */
  private readonly attached = new Map<string, Set<string>>();
  private readonly history: KvHistory;

  /** An empty store, or one holding `from` (already validated: use restoreKvStore for untrusted data). */
  constructor(limits: KvLimits = DEFAULT_KV_LIMITS, from?: KvSnapshotData) {
    checkLimits(limits);
    this.limits = Object.freeze({ ...limits });
    if (from !== undefined) {
      this.rev = from.revision;
      this.applied = from.appliedIndex;
      for (const s of from.sessions) {
        this.sessionsById.set(s.id, Object.freeze({ ...s }));
        this.attached.set(s.id, new Set());
      }
      for (const kv of from.keys) this.store(Object.freeze({ ...kv }));
      this.sorted = null;
    }
    this.history = new KvHistory(limits.historyRevisions, limits.historyEvents, this.rev);
  }

  /** The store's revision: the number of writes that changed something. */
  revision(): number {
    return this.rev;
  }

  /** How many keys it holds. */
  keyCount(): number {
    return this.kvs.size;
  }

  /** The log index of the last operation applied. */
  appliedIndex(): number {
    return this.applied;
  }

  /**
   * Applies one committed operation, read from the log entry at `index`. Indexes only grow: one
   * at or below the last applied is a host bug (an entry applied twice) and throws.
   */
  apply(op: KvOperation, index: number): KvResult {
    if (!isCounter(index) || index <= this.applied) throw new RangeError(`kv apply at index ${index}, not above the last applied ${this.applied}`);
    this.applied = index;
    switch (op.kind) {
      case 'put':
        return this.put(op);
      case 'delete':
        return this.delete(op);
      case 'deletePrefix':
        return this.deletePrefix(op);
      case 'txn':
        return this.txn(op);
      case 'sessionGrant':
        return this.grant(op, index);
      case 'sessionKeepAlive':
        return this.keepAlive(op, index);
      case 'sessionRevoke':
        return this.revoke(op);
    }
  }

  get(key: string): KeyValue | null {
    return this.kvs.get(key) ?? null;
  }

  /** One key read with the revision it was read at. */
  read(key: string): { kv: KeyValue | null; revision: number } {
    return { kv: this.get(key), revision: this.rev };
  }

  /** Keys starting with `prefix` ('' for all) in key order, at most `limit` of them (0: no limit). */
  range(prefix: string, limit = 0): KvRange {
    const keys = this.keysWithPrefix(prefix);
    const cut = limit > 0 && keys.length > limit;
    const kvs = (cut ? keys.slice(0, limit) : keys).map((k) => this.kvs.get(k)!);
    return { kvs, more: cut, revision: this.rev };
  }

  keysWithPrefix(prefix: string): string[] {
    const sorted = this.sortedKeys();
    let lo = 0;
    let hi = sorted.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (compareKeys(sorted[mid]!, prefix) < 0) lo = mid + 1;
      else hi = mid;
    }
    const out: string[] = [];
    for (let i = lo; i < sorted.length && sorted[i]!.startsWith(prefix); i++) out.push(sorted[i]!);
    return out;
  }

  /** Events with revision >= fromRevision for one key or a prefix, in revision order, or 'compacted'. */
  eventsSince(fromRevision: number, filter: KvWatchFilter): KvEventsResult {
    return this.history.since(fromRevision, filter, this.rev);
  }

  /** The oldest revision eventsSince can start from. */
  oldestRevision(): number {
    return this.history.oldestRevision();
  }

  session(id: string): KvSession | null {
    return this.sessionsById.get(id) ?? null;
  }

  /** Every session, sorted by id: what the leader times. */
  sessions(): KvSession[] {
    return [...this.sessionsById.values()].sort((a, b) => compareKeys(a.id, b.id));
  }

  /** Ids of the sessions `node` holds, sorted: what to revoke when membership declares it dead or left. */
  sessionsOfNode(node: string): string[] {
    return this.sessions()
      .filter((s) => s.node === node)
      .map((s) => s.id);
  }

  /** Keys attached to a session, in key order. */
  keysOfSession(id: string): string[] {
    return [...(this.attached.get(id) ?? [])].sort(compareKeys);
  }

  /** The whole replicated state as plain JSON, in a canonical order. */
  snapshot(): KvSnapshotData {
    return {
      v: 1,
      revision: this.rev,
      appliedIndex: this.applied,
      keys: this.sortedKeys().map((k) => this.kvs.get(k)!),
      sessions: this.sessions(),
    };
  }

  private sortedKeys(): string[] {
    this.sorted ??= [...this.kvs.keys()].sort(compareKeys);
    return this.sorted;
  }

  private put(op: KvPut): KvResult {
    const invalid = checkKey(op.key, this.limits) ?? checkValue(op.value, this.limits, op.key) ?? this.checkSession(op.session);
    if (invalid) return invalid;
    const mismatch = this.checkModRevision(op.key, op.ifModRevision);
    if (mismatch) return mismatch;
    const plan = this.plan();
    const prevKv = plan.put(op.key, op.value, op.session ?? null);
    return this.commit(plan, (revision, events) => ({ ok: true, kind: 'put', revision, events, prevKv }));
  }

  private delete(op: KvDelete): KvResult {
    const invalid = checkKey(op.key, this.limits);
    if (invalid) return invalid;
    const mismatch = this.checkModRevision(op.key, op.ifModRevision);
    if (mismatch) return mismatch;
    const plan = this.plan();
    const deleted = plan.delete(op.key) ? 1 : 0;
    return this.commit(plan, (revision, events) => ({ ok: true, kind: 'delete', revision, events, deleted }));
  }

  private deletePrefix(op: KvDeletePrefix): KvResult {
    const invalid = checkPrefix(op.prefix, this.limits);
    if (invalid) return invalid;
    const plan = this.plan();
    const deleted = plan.deletePrefix(op.prefix);
    return this.commit(plan, (revision, events) => ({ ok: true, kind: 'deletePrefix', revision, events, deleted }));
  }

  /** Compares against the state before the txn, then one branch as one plan: all of it at one revision, or none. */
  private txn(op: KvTxn): KvResult {
    const { maxTxnCompares, maxTxnOps } = this.limits;
    if (op.compare.length > maxTxnCompares) return fail('txn-too-large', `txn has ${op.compare.length} compares, above maxTxnCompares ${maxTxnCompares}`);
    for (const branch of ['success', 'failure'] as const) {
      const ops = op[branch];
      if (ops.length > maxTxnOps) return fail('txn-too-large', `txn ${branch} has ${ops.length} operations, above maxTxnOps ${maxTxnOps}`);
      for (const o of ops) {
        const invalid = checkTxnOp(o, this.limits) ?? (o.kind === 'put' ? this.checkSession(o.session) : null);
        if (invalid) return invalid;
      }
      const overlap = findOverlap(ops);
      if (overlap) return overlap;
    }
    for (const c of op.compare) {
      const invalid = checkKey(c.key, this.limits) ?? (c.target === 'value' ? checkValue(c.value, this.limits, c.key) : null);
      if (invalid) return invalid;
    }
    const succeeded = op.compare.every((c) => compareHolds(c, this.get(c.key)));
    const plan = this.plan();
    const responses = (succeeded ? op.success : op.failure).map((o) => this.planTxnOp(plan, o));
    return this.commit(plan, (revision, events) => ({ ok: true, kind: 'txn', revision, events, succeeded, responses }));
  }

  private planTxnOp(plan: WritePlan, op: KvTxnOp): KvTxnOpResult {
    switch (op.kind) {
      case 'put':
        return { kind: 'put', prevKv: plan.put(op.key, op.value, op.session ?? null) };
      case 'delete':
        return { kind: 'delete', deleted: plan.delete(op.key) ? 1 : 0 };
      case 'deletePrefix':
        return { kind: 'deletePrefix', deleted: plan.deletePrefix(op.prefix) };
      case 'get':
        return { kind: 'get', kv: plan.get(op.key) };
    }
  }

  private grant(op: KvSessionGrant, index: number): KvResult {
    if (this.sessionsById.has(op.id)) return fail('session-exists', `session ${quote(op.id)} already exists`);
    if (this.sessionsById.size >= this.limits.maxSessions) return fail('too-many-sessions', `${this.sessionsById.size} sessions open, maxSessions ${this.limits.maxSessions}`);
    const { minSessionTtlMs: min, maxSessionTtlMs: max } = this.limits;
    if (!Number.isSafeInteger(op.ttlMs) || op.ttlMs < min || op.ttlMs > max) return fail('ttl-out-of-range', `ttlMs ${op.ttlMs} outside [minSessionTtlMs ${min}, maxSessionTtlMs ${max}]`);
    this.sessionsById.set(op.id, Object.freeze({ id: op.id, node: op.node, ttlMs: op.ttlMs, grantedIndex: index, keptAliveIndex: index }));
    this.attached.set(op.id, new Set());
    return { ok: true, kind: 'sessionGrant', revision: this.rev, events: [], id: op.id, ttlMs: op.ttlMs };
  }

  private keepAlive(op: KvSessionKeepAlive, index: number): KvResult {
    const s = this.sessionsById.get(op.id);
    if (!s) return fail('session-not-found', `session ${quote(op.id)} does not exist (expired or revoked)`);
    this.sessionsById.set(op.id, Object.freeze({ ...s, keptAliveIndex: index }));
    return { ok: true, kind: 'sessionKeepAlive', revision: this.rev, events: [], id: op.id, ttlMs: s.ttlMs };
  }

  private revoke(op: KvSessionRevoke): KvResult {
    const s = this.sessionsById.get(op.id);
    if (!s) return fail('session-not-found', `session ${quote(op.id)} does not exist`);
    if (op.ifKeptAliveIndex !== undefined && op.ifKeptAliveIndex !== s.keptAliveIndex) {
      const failed: KvCompareFailed = {
        ok: false,
        code: 'compare-failed',
        message: `session ${quote(op.id)} was kept alive at index ${s.keptAliveIndex}, not ${op.ifKeptAliveIndex}`,
        current: { keptAliveIndex: s.keptAliveIndex },
        revision: this.rev,
      };
      return failed;
    }
    const plan = this.plan();
    for (const key of this.keysOfSession(op.id)) plan.delete(key);
    const result = this.commit(plan, (revision, events) => ({ ok: true, kind: 'sessionRevoke', revision, events, id: op.id, reason: op.reason, deleted: events.length }));
    if (result.ok) {
      this.sessionsById.delete(op.id);
      this.attached.delete(op.id);
    }
    return result;
  }

  private checkSession(session: string | undefined): KvError | null {
    if (session === undefined || this.sessionsById.has(session)) return null;
    return fail('session-not-found', `session ${quote(session)} does not exist`);
  }

  /** Compare-and-set: undefined passes; 0 requires the key absent; n requires its modRevision to be n. */
  private checkModRevision(key: string, ifModRevision: number | undefined): KvCompareFailed | null {
    if (ifModRevision === undefined) return null;
    const kv = this.get(key);
    if ((kv?.modRevision ?? 0) === ifModRevision) return null;
    const now = kv === null ? 'absent' : `at modRevision ${kv.modRevision}`;
    const wanted = ifModRevision === 0 ? 'absent' : `at modRevision ${ifModRevision}`;
    return { ok: false, code: 'compare-failed', message: `key ${quote(key)} is ${now}, not ${wanted}`, current: revisionsOf(kv), revision: this.rev };
  }

  private plan(): WritePlan {
    return new WritePlan(this, this.rev + 1);
  }

  /**
   * Commits a plan whole, at one new revision, after checking the store's size limits against
   * the state it would leave; a plan that changes nothing takes no revision.
   */
  private commit<R extends KvApplied>(plan: WritePlan, result: (revision: number, events: KvApplied['events']) => R): R | KvFailure {
    if (plan.changes.length === 0) return result(this.rev, []);
    let keys = this.kvs.size;
    let bytes = this.totalBytes;
    for (const { prev, next } of plan.changes) {
      if (prev) (keys--, (bytes -= kvBytes(prev)));
      if (next) (keys++, (bytes += kvBytes(next)));
    }
    if (keys > this.limits.maxKeys) return fail('too-many-keys', `the write would hold ${keys} keys, above maxKeys ${this.limits.maxKeys}`);
    if (bytes > this.limits.maxTotalBytes) return fail('store-full', `the write would hold ${bytes} bytes, above maxTotalBytes ${this.limits.maxTotalBytes}`);
    if (plan.revision > MAX_COUNTER) return fail('revision-exhausted', `revision ${plan.revision} is above ${MAX_COUNTER}`);
    const events = plan.events();
    for (const { prev, next } of plan.changes) {
      if (prev) this.unstore(prev);
      if (next) this.store(next);
      // A replaced key keeps its place in the order; a created or deleted one does not.
      if ((prev === null) !== (next === null)) this.sorted = null;
    }
    this.rev = plan.revision;
    this.history.record(events, this.rev);
    return result(this.rev, events);
  }

  private store(kv: KeyValue): void {
    this.kvs.set(kv.key, kv);
    this.totalBytes += kvBytes(kv);
    if (kv.session !== null) this.attached.get(kv.session)!.add(kv.key);
  }

  private unstore(kv: KeyValue): void {
    this.kvs.delete(kv.key);
    this.totalBytes -= kvBytes(kv);
    if (kv.session !== null) this.attached.get(kv.session)?.delete(kv.key);
  }
}

/** An empty store under `limits`. */
export function createKvStore(limits: KvLimits = DEFAULT_KV_LIMITS): KvStore {
  return new KvStore(limits);
}

/** A store from untrusted snapshot data (a file, a peer): refused with the field path and reason if malformed or inconsistent. */
export function restoreKvStore(data: unknown, limits: KvLimits = DEFAULT_KV_LIMITS): { ok: true; store: KvStore } | { ok: false; reason: string } {
  const parsed = kvSnapshotCodec(limits).parse(data);
  if (!parsed.ok) return parsed;
  return { ok: true, store: new KvStore(limits, parsed.value) };
}
