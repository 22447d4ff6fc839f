/**
 * Strict codecs for what the store reads from outside: an operation from a log entry (a peer or
 * a damaged disk may hold anything) and a snapshot. Every string and array is bounded; an
 * operation's bounds are the absolute maxima (types.ts), the store then applies its own,
 * possibly smaller, limits with typed errors. A snapshot is checked against the limits it is
 * restored under and for consistency (revisions in order, sessions that exist, keys sorted and
 * unique), so a restored store is one that operations could have produced.
 */
import { z } from 'zod';
import { MAX_COUNTER } from '../bounds.js';
import type { Codec } from '../types.js';
import { codecOf, lazily } from '../zod-codec.js';
import { compareKeys, utf8ByteLength } from './text.js';
import {
  COMPARE_OPS,
  MAX_KEY_BYTES,
  MAX_SESSION_ID_CHARS,
  MAX_SESSION_NODE_CHARS,
  MAX_SESSION_TTL_MS,
  MAX_TXN_COMPARES,
  MAX_TXN_OPS,
  MAX_VALUE_BYTES,
  SESSION_END_REASONS,
  type KvLimits,
  type KvOperation,
  type KvSnapshotData,
} from './types.js';

/** UTF-8 text of at most `maxBytes` (the char bound first, so a huge string is refused before it is walked). */
function text(maxBytes: number, minChars = 0) {
  return z
    .string()
    .min(minChars)
    .max(maxBytes)
    .refine((s) => utf8ByteLength(s) !== null, { error: 'not well-formed UTF-16 (a lone surrogate)' })
    .refine((s) => (utf8ByteLength(s) ?? 0) <= maxBytes, { error: `longer than ${maxBytes} UTF-8 bytes` });
}

/** The schemas an operation is built of, made on first use (../zod-codec.ts lazily). */
const parts = lazily(() => {
  const counter = z.number().int().min(0).max(MAX_COUNTER);
  const key = text(MAX_KEY_BYTES, 1);
  const prefix = text(MAX_KEY_BYTES);
  const value = text(MAX_VALUE_BYTES);
  const sessionId = text(MAX_SESSION_ID_CHARS, 1);
  const node = z.string().min(1).max(MAX_SESSION_NODE_CHARS);

  const put = z.strictObject({ kind: z.literal('put'), key, value, ifModRevision: counter.optional(), session: sessionId.optional() });
  const del = z.strictObject({ kind: z.literal('delete'), key, ifModRevision: counter.optional() });
  const deletePrefix = z.strictObject({ kind: z.literal('deletePrefix'), prefix });
  const get = z.strictObject({ kind: z.literal('get'), key });
  const txnOp = z.discriminatedUnion('kind', [
    z.strictObject({ kind: z.literal('put'), key, value, session: sessionId.optional() }),
    z.strictObject({ kind: z.literal('delete'), key }),
    deletePrefix,
    get,
  ]);
  const compare = z.union([
    z.strictObject({ key, target: z.literal('value'), op: z.enum(COMPARE_OPS), value }),
    z.strictObject({ key, target: z.enum(['version', 'createRevision', 'modRevision']), op: z.enum(COMPARE_OPS), value: counter }),
  ]);

  const operation = z.discriminatedUnion('kind', [
    put,
    del,
    deletePrefix,
    z.strictObject({
      kind: z.literal('txn'),
      compare: z.array(compare).max(MAX_TXN_COMPARES),
      success: z.array(txnOp).max(MAX_TXN_OPS),
      failure: z.array(txnOp).max(MAX_TXN_OPS),
    }),
    z.strictObject({ kind: z.literal('sessionGrant'), id: sessionId, node, ttlMs: z.number().int().min(1).max(MAX_SESSION_TTL_MS) }),
    z.strictObject({ kind: z.literal('sessionKeepAlive'), id: sessionId }),
    z.strictObject({ kind: z.literal('sessionRevoke'), id: sessionId, reason: z.enum(SESSION_END_REASONS), ifKeptAliveIndex: counter.optional() }),
  ]);
  return { counter, sessionId, node, operation: operation as z.ZodType<KvOperation> };
});

/** The operation schema, for codecs that carry an operation inside something else (a Raft entry or message). */
export function kvOperationSchema(): z.ZodType<KvOperation> {
  return parts().operation;
}

/** Validates an operation read from a log entry. */
export const kvOperationCodec: Codec<KvOperation> = codecOf<KvOperation>(kvOperationSchema, 'kv operation');

/** The snapshot schema under `limits`: shape and bounds first, then consistency across fields. */
export function kvSnapshotSchema(limits: KvLimits) {
  const { counter, sessionId, node } = parts();
  const keyValue = z.strictObject({
    key: text(limits.maxKeyBytes, 1),
    value: text(limits.maxValueBytes),
    createRevision: counter.min(1),
    modRevision: counter.min(1),
    version: counter.min(1),
    session: sessionId.nullable(),
  });
  const session = z.strictObject({
    id: sessionId,
    node,
    ttlMs: z.number().int().min(limits.minSessionTtlMs).max(limits.maxSessionTtlMs),
    grantedIndex: counter.min(1),
    keptAliveIndex: counter.min(1),
  });
  return z
    .strictObject({
      v: z.literal(1),
      revision: counter,
      appliedIndex: counter,
      keys: z.array(keyValue).max(limits.maxKeys),
      sessions: z.array(session).max(limits.maxSessions),
    })
    .superRefine((s, ctx) => {
      const issue = (path: (string | number)[], message: string) => ctx.addIssue({ code: 'custom', path, message });
      const sessions = new Set<string>();
      s.sessions.forEach((x, i) => {
        if (i > 0 && compareKeys(s.sessions[i - 1]!.id, x.id) >= 0) issue(['sessions', i, 'id'], 'sessions must be sorted by id, each once');
        if (x.keptAliveIndex < x.grantedIndex) issue(['sessions', i, 'keptAliveIndex'], 'below grantedIndex');
        if (x.keptAliveIndex > s.appliedIndex) issue(['sessions', i, 'keptAliveIndex'], 'above appliedIndex');
        sessions.add(x.id);
      });
      let totalBytes = 0;
      s.keys.forEach((kv, i) => {
        if (i > 0 && compareKeys(s.keys[i - 1]!.key, kv.key) >= 0) issue(['keys', i, 'key'], 'keys must be sorted, each once (duplicate or out of order)');
        if (kv.modRevision > s.revision) issue(['keys', i, 'modRevision'], `above the store revision ${s.revision}`);
        if (kv.createRevision > kv.modRevision) issue(['keys', i, 'createRevision'], 'above modRevision');
        // Each put after the creation took a revision of its own.
        if (kv.version > kv.modRevision - kv.createRevision + 1) issue(['keys', i, 'version'], 'more puts than revisions between create and last put');
        if (kv.session !== null && !sessions.has(kv.session)) issue(['keys', i, 'session'], `session ${JSON.stringify(kv.session)} does not exist`);
        totalBytes += (utf8ByteLength(kv.key) ?? 0) + (utf8ByteLength(kv.value) ?? 0);
      });
      if (totalBytes > limits.maxTotalBytes) issue(['keys'], `${totalBytes} bytes, above maxTotalBytes ${limits.maxTotalBytes}`);
    });
}

/** Validates a snapshot to be restored under `limits`. */
export function kvSnapshotCodec(limits: KvLimits): Codec<KvSnapshotData> {
  return codecOf<KvSnapshotData>(lazily(() => kvSnapshotSchema(limits)), 'kv snapshot');
}
