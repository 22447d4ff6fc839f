/** Helpers for the store's tests: an applier that numbers log entries, small limits, and random operations (fast-check). */
import fc from 'fast-check';
import { KvStore } from './store.js';
import { DEFAULT_KV_LIMITS, type KvLimits, type KvOperation, type KvResult, type KvSnapshotData, type KvTxnOp } from './types.js';

/** Limits small enough that random operations reach every one of them. */
export const SMALL_LIMITS: KvLimits = {
  ...DEFAULT_KV_LIMITS,
  maxKeyBytes: 8,
  maxValueBytes: 6,
  maxKeys: 4,
  maxTotalBytes: 24,
  maxTxnCompares: 3,
  maxTxnOps: 3,
  maxSessions: 2,
  minSessionTtlMs: 10,
  maxSessionTtlMs: 1000,
  historyRevisions: 5,
  historyEvents: 8,
};

/** Applies operations as consecutive log entries after the store's applied index. */
export function applier(store: KvStore): (op: KvOperation) => KvResult {
  return (op) => store.apply(op, store.appliedIndex() + 1);
}

/** Asserts a result is a success and narrows it (tests read its fields). */
export function ok<R extends KvResult>(result: R): Extract<R, { ok: true }> {
  if (!result.ok) throw new Error(`expected success, got ${result.code}: ${result.message}`);
  return result as Extract<R, { ok: true }>;
}

/** The replicated state without the applied index (which every applied entry moves, failed or not). */
export function stateOf(store: KvStore): Omit<KvSnapshotData, 'appliedIndex'> {
  const { appliedIndex: _, ...rest } = store.snapshot();
  return rest;
}

const key = fc.constantFrom('a', 'b', 'ab', 'abc', 'b/1', 'b/2', 'toolongkey');
const prefix = fc.constantFrom('', 'a', 'b/', 'x');
const value = fc.constantFrom('', 'v', 'vv', 'value!', 'too-long');
const sessionId = fc.constantFrom('s1', 's2', 's3');
const revision = fc.integer({ min: 0, max: 12 });
const maybe = <T>(arb: fc.Arbitrary<T>) => fc.option(arb, { nil: undefined });

function definedOnly<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}

const txnOp: fc.Arbitrary<KvTxnOp> = fc.oneof(
  fc.record({ kind: fc.constant('put' as const), key, value, session: maybe(sessionId) }).map(definedOnly),
  fc.record({ kind: fc.constant('delete' as const), key }),
  fc.record({ kind: fc.constant('deletePrefix' as const), prefix }),
  fc.record({ kind: fc.constant('get' as const), key }),
);

/** Random operations over a few keys and sessions, often colliding, often over SMALL_LIMITS. */
export const kvOperation: fc.Arbitrary<KvOperation> = fc.oneof(
  { weight: 5, arbitrary: fc.record({ kind: fc.constant('put' as const), key, value, ifModRevision: maybe(revision), session: maybe(sessionId) }).map(definedOnly) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('delete' as const), key, ifModRevision: maybe(revision) }).map(definedOnly) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('deletePrefix' as const), prefix }) },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('txn' as const),
      compare: fc.array(
        fc.oneof(
          fc.record({ key, target: fc.constant('value' as const), op: fc.constantFrom('=', '!=', '<', '>'), value }),
          fc.record({ key, target: fc.constantFrom('version', 'createRevision', 'modRevision'), op: fc.constantFrom('=', '!=', '<', '>'), value: revision }),
        ),
        { maxLength: 4 },
      ),
      success: fc.array(txnOp, { maxLength: 4 }),
      failure: fc.array(txnOp, { maxLength: 4 }),
    }),
  },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('sessionGrant' as const), id: sessionId, node: fc.constantFrom('n1', 'n2'), ttlMs: fc.constantFrom(5, 10, 100, 5000) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('sessionKeepAlive' as const), id: sessionId }) },
  {
    weight: 1,
    arbitrary: fc
      .record({ kind: fc.constant('sessionRevoke' as const), id: sessionId, reason: fc.constantFrom('expired', 'revoked', 'node-dead', 'node-left'), ifKeptAliveIndex: maybe(fc.integer({ min: 1, max: 30 })) })
      .map(definedOnly),
  },
) as fc.Arbitrary<KvOperation>;
