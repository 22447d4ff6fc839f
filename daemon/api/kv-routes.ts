/**
 * The key-value store's routes (issue 12; the contract is types.ts KvGetResponse and the
 * comment above it). A key is in the path (`/v1/kv/{key}`, percent-decoded, slashes and all) or
 * in `?key=`, which also reaches the keys a URL path cannot spell (a `.` or `..` segment).
 * Every operation is checked with the codec peers check log entries with (kv/codec.ts) before it
 * reaches the store: an operation the followers would refuse must never enter the log.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { kvOperationCodec } from '../../protocols/kv/codec.js';
import { RESERVED_PREFIX } from '../../protocols/kv/election.js';
import type { KvAnswer, KvRead, KvRequestErrorCode } from '../../protocols/kv/requests.js';
import type { KvApplied, KvFailure, KvOperation } from '../../protocols/kv/types.js';
import { HttpError, readJsonBody, sendJson } from './http.js';
import type { RouteContext } from './routes.js';
import type { KvCompareFailedBody, KvDeleteResponse, KvGetResponse, KvPutResponse, KvRangeResponse, KvTxnResponse, SessionResponse, SessionRevokeResponse } from './types.js';

type Handler = (req: IncomingMessage, res: ServerResponse, url: URL, ctx: RouteContext) => Promise<void>;

export const KV_PATH = '/v1/kv';
export const KV_KEY_PREFIX = '/v1/kv/';
export const KV_TXN_PATH = '/v1/kv/txn';

/** `/v1/kv` (a key in `?key=`, or a prefix) and `/v1/kv/{key}`: the same handlers. */
export const KV_ROUTES: Readonly<Partial<Record<string, Handler>>> = { GET: get, PUT: put, DELETE: del };
export const KV_TXN_ROUTES: Readonly<Partial<Record<string, Handler>>> = { POST: txn };

export const SESSIONS_PATH = '/v1/sessions';
export const SESSION_PREFIX = '/v1/sessions/';
/** Sessions shorter than this are refused by the store anyway; a session asked for without one gets this. */
const DEFAULT_SESSION_TTL_MS = 10_000;

/** `POST /v1/sessions`: a new session of this node. */
export const SESSIONS_ROUTES: Readonly<Partial<Record<string, Handler>>> = { POST: grantSession };
/** `DELETE /v1/sessions/{id}` and `POST /v1/sessions/{id}/keepalive`. */
export const SESSION_ROUTES: Readonly<Partial<Record<string, Handler>>> = { DELETE: revokeSession, POST: keepAliveSession };

/**
 * Opens a session owned by this node, with a random id: it ends when its TTL passes without a
 * keep-alive, when it is revoked, or when membership declares this node dead or gone; the keys
 * put with it go with it.
 */
async function grantSession(req: IncomingMessage, res: ServerResponse, _url: URL, { source }: RouteContext): Promise<void> {
  const body = await readJsonBody(req);
  if (body !== undefined && (typeof body !== 'object' || body === null || Array.isArray(body))) throw new HttpError(400, 'invalid', 'the body must be empty or a JSON object like {"ttlMs": 10000}');
  const { ttlMs = DEFAULT_SESSION_TTL_MS, ...rest } = (body ?? {}) as Record<string, unknown>;
  if (Object.keys(rest).length > 0) throw new HttpError(400, 'invalid', `unknown field ${JSON.stringify(Object.keys(rest)[0])}; a session takes ttlMs`);
  const id = randomUUID();
  const applied = await write(source, { kind: 'sessionGrant', id, node: source.status().id, ttlMs });
  if (applied.result.kind !== 'sessionGrant') throw unexpected(applied);
  sendJson(res, 200, { id, ttlMs: applied.result.ttlMs, index: applied.index } satisfies SessionResponse);
}

async function keepAliveSession(_req: IncomingMessage, res: ServerResponse, url: URL, { source }: RouteContext): Promise<void> {
  const [id, action] = sessionPath(url);
  if (action !== 'keepalive') throw new HttpError(404, 'not-found', `no route ${url.pathname}; a session is kept alive with POST /v1/sessions/{id}/keepalive`);
  const applied = await write(source, { kind: 'sessionKeepAlive', id });
  if (applied.result.kind !== 'sessionKeepAlive') throw unexpected(applied);
  sendJson(res, 200, { id, ttlMs: applied.result.ttlMs, index: applied.index } satisfies SessionResponse);
}

async function revokeSession(_req: IncomingMessage, res: ServerResponse, url: URL, { source }: RouteContext): Promise<void> {
  const [id, action] = sessionPath(url);
  if (action !== null) throw new HttpError(404, 'not-found', `no route ${url.pathname}; a session is revoked with DELETE /v1/sessions/{id}`);
  const applied = await write(source, { kind: 'sessionRevoke', id, reason: 'revoked' });
  if (applied.result.kind !== 'sessionRevoke') throw unexpected(applied);
  sendJson(res, 200, { id, deleted: applied.result.deleted, index: applied.index } satisfies SessionRevokeResponse);
}

/** `/v1/sessions/{id}[/action]`: the id (percent-decoded) and the action, if any. */
function sessionPath(url: URL): [string, string | null] {
  const parts = url.pathname.slice(SESSION_PREFIX.length).split('/');
  if (parts.length > 2 || parts[0] === '') throw new HttpError(404, 'not-found', `no route ${url.pathname}`);
  try {
    return [decodeURIComponent(parts[0]!), parts[1] ?? null];
  } catch {
    throw new HttpError(400, 'invalid', 'the session id in the path is not valid percent-encoded UTF-8');
  }
}

/** The key a request names: the path after /v1/kv/, else `?key=`; null for neither (a prefix read). */
function keyOf(url: URL): string | null {
  if (url.pathname.startsWith(KV_KEY_PREFIX)) {
    try {
      return decodeURIComponent(url.pathname.slice(KV_KEY_PREFIX.length));
    } catch {
      throw new HttpError(400, 'invalid', 'the key in the path is not valid percent-encoded UTF-8');
    }
  }
  return url.searchParams.get('key');
}

function requireKey(url: URL, what: string): string {
  const key = keyOf(url);
  if (key === null || key === '') throw new HttpError(400, 'invalid', `${what} needs a key: /v1/kv/{key} or /v1/kv?key=K`);
  return key;
}

async function get(_req: IncomingMessage, res: ServerResponse, url: URL, { source }: RouteContext): Promise<void> {
  const consistency = booleanParam(url, 'serializable') ? 'serializable' : 'linearizable';
  const key = keyOf(url);
  const prefix = url.searchParams.get('prefix');
  if (key !== null && prefix !== null) throw new HttpError(400, 'invalid', 'give either a key or prefix=, not both');
  if (key === '') throw new HttpError(400, 'invalid', 'the key is empty');
  const read: KvRead = key !== null ? { kind: 'get', key } : { kind: 'range', prefix: prefix ?? '', limit: integerParam(url, 'limit') ?? 0 };
  const answer = await ask(source.kv({ kind: 'read', read, consistency }));
  if (!answer.ok || answer.kind !== 'read') throw unexpected(answer);
  if (read.kind === 'get') sendJson(res, 200, { kv: answer.range.kvs[0] ?? null, revision: answer.range.revision } satisfies KvGetResponse);
  else sendJson(res, 200, answer.range satisfies KvRangeResponse);
}

async function put(req: IncomingMessage, res: ServerResponse, url: URL, { source }: RouteContext): Promise<void> {
  const key = requireKey(url, 'PUT');
  const body = await readJsonBody(req);
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new HttpError(400, 'invalid', 'the body must be a JSON object like {"value": "…", "ifModRevision": 0}');
  }
  const { value, ifModRevision, session, ...rest } = body as Record<string, unknown>;
  if (Object.keys(rest).length > 0) throw new HttpError(400, 'invalid', `unknown field ${JSON.stringify(Object.keys(rest)[0])}; a PUT takes value, ifModRevision and session`);
  const applied = await write(source, { kind: 'put', key, value, ...(ifModRevision !== undefined ? { ifModRevision } : {}), ...(session !== undefined ? { session } : {}) });
  if (applied.result.kind !== 'put') throw unexpected(applied);
  sendJson(res, 200, { revision: applied.result.revision, prevKv: applied.result.prevKv, index: applied.index } satisfies KvPutResponse);
}

async function del(_req: IncomingMessage, res: ServerResponse, url: URL, { source }: RouteContext): Promise<void> {
  const prefix = url.searchParams.get('prefix');
  const key = keyOf(url);
  if (prefix !== null && key !== null) throw new HttpError(400, 'invalid', 'give either a key or prefix=, not both');
  const ifModRevision = integerParam(url, 'ifModRevision');
  let op: unknown;
  if (prefix !== null) {
    if (ifModRevision !== null) throw new HttpError(400, 'invalid', 'ifModRevision applies to one key, not to a prefix');
    op = { kind: 'deletePrefix', prefix };
  } else {
    op = { kind: 'delete', key: requireKey(url, 'DELETE'), ...(ifModRevision !== null ? { ifModRevision } : {}) };
  }
  const applied = await write(source, op);
  if (applied.result.kind !== 'delete' && applied.result.kind !== 'deletePrefix') throw unexpected(applied);
  sendJson(res, 200, { revision: applied.result.revision, deleted: applied.result.deleted, index: applied.index } satisfies KvDeleteResponse);
}

async function txn(req: IncomingMessage, res: ServerResponse, _url: URL, { source }: RouteContext): Promise<void> {
  const body = await readJsonBody(req);
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new HttpError(400, 'invalid', 'the body must be a JSON object like {"compare": [...], "success": [...], "failure": [...]}');
  }
  const { compare = [], success = [], failure = [], ...rest } = body as Record<string, unknown>;
  if (Object.keys(rest).length > 0) throw new HttpError(400, 'invalid', `unknown field ${JSON.stringify(Object.keys(rest)[0])}; a txn takes compare, success and failure`);
  const applied = await write(source, { kind: 'txn', compare, success, failure });
  if (applied.result.kind !== 'txn') throw unexpected(applied);
  const { succeeded, responses, revision } = applied.result;
  sendJson(res, 200, { succeeded, responses, revision, index: applied.index } satisfies KvTxnResponse);
}

/** Checks `op` as a peer would check its log entry, writes it, and turns every refusal into its HTTP error. */
async function write(source: RouteContext['source'], op: unknown): Promise<{ index: number; result: KvApplied }> {
  const parsed = kvOperationCodec.parse(op);
  if (!parsed.ok) throw new HttpError(400, 'invalid', `not a valid write: ${parsed.reason}`);
  const reserved = reservedKeyWritten(parsed.value as KvOperation);
  if (reserved !== null) {
    throw new HttpError(403, 'reserved-key', `${reserved} is under ${RESERVED_PREFIX}, which the daemon keeps (its leader record, named elections); use /v1/elections to campaign and resign`);
  }
  const answer = await ask(source.kv({ kind: 'write', op: parsed.value as KvOperation }));
  if (!answer.ok || answer.kind !== 'write') throw unexpected(answer);
  if (!answer.result.ok) throw storeRefusal(answer.result);
  return { index: answer.index, result: answer.result };
}

/** The store's answer, or its refusal as an HttpError. */
export async function ask(pending: Promise<KvAnswer>): Promise<KvAnswer> {
  const answer = await pending;
  if (!answer.ok) throw new HttpError(KV_ERROR_STATUS[answer.code], answer.code, answer.message, answer.code === 'no-leader' || answer.code === 'busy' ? { 'retry-after': '1' } : {});
  return answer;
}

export const KV_ERROR_STATUS: Readonly<Record<KvRequestErrorCode, number>> = {
  'not-raft': 501,
  'no-leader': 503,
  busy: 503,
  'shutting-down': 503,
  timeout: 504,
  'entry-too-large': 413,
  compacted: 410,
  'invalid-revision': 400,
  invalid: 400,
};

/** A write the store refused: 409 for a failed compare (with the key's revisions), else 400 (413 for size). */
function storeRefusal(failure: KvFailure): HttpError {
  if (failure.code === 'compare-failed') {
    const current = 'keptAliveIndex' in (failure.current ?? {}) ? null : (failure.current as KvCompareFailedBody['current']);
    return new KvCompareFailed(failure.message, current, failure.revision);
  }
  const status =
    failure.code === 'value-too-large' || failure.code === 'key-too-large' || failure.code === 'store-full' || failure.code === 'too-many-keys' || failure.code === 'too-many-sessions' ? 413
    : failure.code === 'session-not-found' ? 404
    : failure.code === 'session-exists' ? 409
    : 400;
  return new HttpError(status, failure.code, failure.message);
}

/** 409 `compare-failed`, whose body also carries the key's revisions now (sent by the server's error path). */
export class KvCompareFailed extends HttpError {
  constructor(
    message: string,
    readonly current: KvCompareFailedBody['current'],
    readonly revision: number,
  ) {
    super(409, 'compare-failed', message);
  }
}

/**
 * The first daemon-kept key (under `conclave/`) a plain write would change, or null. A prefix
 * delete that covers `conclave/` (the empty prefix, `con` …) counts too: it would end every
 * election at once. Reads and compares of those keys are free.
 */
function reservedKeyWritten(op: KvOperation): string | null {
  const touches = (o: { kind: string; key?: string; prefix?: string }): string | null => {
    if (o.kind === 'put' || o.kind === 'delete') return o.key!.startsWith(RESERVED_PREFIX) ? JSON.stringify(o.key) : null;
    if (o.kind === 'deletePrefix') {
      const p = o.prefix!;
      return p.startsWith(RESERVED_PREFIX) || RESERVED_PREFIX.startsWith(p) ? `the prefix ${JSON.stringify(p)} covers what` : null;
    }
    return null;
  };
  if (op.kind === 'txn') {
    for (const o of [...op.success, ...op.failure]) {
      const found = touches(o);
      if (found !== null) return found;
    }
    return null;
  }
  return touches(op);
}

function unexpected(answer: unknown): Error {
  return new Error(`the store gave an answer of another kind: ${JSON.stringify(answer).slice(0, 200)}`);
}

export function booleanParam(url: URL, name: string): boolean {
  const raw = url.searchParams.get(name);
  if (raw === null || raw === 'false') return false;
  if (raw === '' || raw === 'true') return true;
  throw new HttpError(400, 'invalid', `${name} must be true or false, got ${JSON.stringify(raw)}`);
}

function integerParam(url: URL, name: string): number | null {
  const raw = url.searchParams.get(name);
  if (raw === null) return null;
  if (!/^\d{1,15}$/.test(raw)) throw new HttpError(400, 'invalid', `${name} must be a non-negative integer, got ${JSON.stringify(raw)}`);
  return Number(raw);
}

