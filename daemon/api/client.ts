/**
 * Client of the control API, used by the CLI, the dashboard and tests. Connection failures
 * become ApiUnreachableError (naming the address tried); Conclave's error replies become
 * ApiError; a reply that is not Conclave's API at all (another server on that port) becomes
 * NotConclaveApiError, which names the status and content type and never echoes the body. A
 * key-value write whose compare-and-set lost is KvCompareFailedError, an ApiError that also
 * carries the key's revisions now; a reload refused for a malformed config is InvalidConfigError, an
 * ApiError that also carries the problems by field path. /v1/events and /v1/kv/watch are read by one server-sent
 * events reader (streamSse).
 */
import type { IncomingMessage, RequestOptions } from 'node:http';
import type { NodeEventType } from '../../protocols/host/events.js';
import type { KeyRevisions, KvEvent, KvWatchFilter } from '../../protocols/kv/types.js';
import type { ProtocolName } from '../../protocols/types.js';
import { parseApiAddress, type ApiTarget } from './address.js';
import { LEAVE_REMOVE_TIMEOUT_MS } from './leave.js';
import { ApiError, ApiUnreachableError, InvalidConfigError, KvCompareFailedError, NotConclaveApiError } from './errors.js';
import { exchange, ExchangeError, TimeoutError, type Reply } from './exchange.js';
import { SseParser } from './sse.js';
import type {
  ApiErrorBody,
  CampaignResponse,
  ElectionObserved,
  ElectionResponse,
  ElectionsResponse,
  ResignResponse,
  SessionResponse,
  SessionRevokeResponse,
  KvDeleteResponse,
  KvGetResponse,
  KvPutResponse,
  KvRangeResponse,
  KvTxnRequest,
  KvTxnResponse,
  LeaderResponse,
  LeaveResponse,
  MembersResponse,
  RaftResponse,
  ReloadResponse,
  StatusResponse,
  StreamEvent,
} from './types.js';

export { resolveApiAddress } from './address.js';

export interface ApiClientOptions {
  /** `HOST:PORT` or `unix:PATH`. */
  address: string;
  /** Sent as `Authorization: Bearer <token>` (needed on TCP when the daemon has api.token). */
  token?: string | null;
  /** Bound on connecting and getting an answer; a long-poll adds its own wait. Default 5000. */
  timeoutMs?: number;
}

export interface CommandResponse {
  ok: true;
  detail: string;
}

export interface ApiClient {
  readonly address: string;
  status(): Promise<StatusResponse>;
  members(): Promise<MembersResponse>;
  /**
   * With `waitMs`, a long-poll: answers once the reply's `revision` differs from `after` (any
   * change of leader, role, term or fencing token; default: the revision as it is now) or when
   * the time is up. Pass the previous reply's `revision` as `after`. `signal` abandons the
   * request (it rejects with the signal's reason, an AbortError by default).
   */
  leader(opts?: { waitMs?: number; after?: number; signal?: AbortSignal }): Promise<LeaderResponse>;
  /**
   * Streams /v1/events into `onEvent`, each event checked against its type (event-codec.ts);
   * resolves when the daemon ends the stream or `signal` aborts.
   */
  events(onEvent: (event: StreamEvent) => void, opts?: EventsOptions): Promise<void>;
  transfer(to?: string): Promise<CommandResponse>;
  resign(): Promise<CommandResponse>;
  /** Orders the cluster to run `protocol`; answers once this node runs it. */
  switchProtocol(protocol: ProtocolName): Promise<CommandResponse>;
  elect(): Promise<CommandResponse>;
  /** Drops a dead or departed member from the cluster size (`conclave forget`). */
  forget(node: string): Promise<CommandResponse>;
  healthz(): Promise<{ ok: true }>;
  /** This node's Raft log, configuration and (on the leader) per-peer progress; ApiError `not-raft` under Bully. */
  raft(): Promise<RaftResponse>;
  /**
   * Asks the daemon to leave the cluster for good and stop (`conclave leave`): it removes itself
   * from the Raft configuration first, waiting up to LEAVE_REMOVE_TIMEOUT_MS; with `force` it
   * stops even when the removal fails. Resolves once the daemon has begun its stop.
   */
  leave(opts?: { force?: boolean }): Promise<LeaveResponse>;
  /**
   * Has the daemon load its config again and apply what can change live (`conclave reload`, as
   * SIGHUP does): what it applied and what needs a restart. InvalidConfigError (exit code 2, the
   * problems in `issues`) when the config does not load; the daemon then keeps its config.
   */
  reload(): Promise<ReloadResponse>;
  /*
   * The key-value store (Raft only; under Bully each is ApiError 501 `not-raft`). Keys travel in
   * `?key=`, which spells every key, `.` and `..` segments and `txn` included. Writes are answered
   * once applied; a 504 `timeout` means a write may still be applied. A key that is not valid
   * UTF-16 (a lone surrogate) rejects with URIError before anything is sent.
   */
  /** One key (`kv` null when absent); linearizable unless `serializable` (this node's store, possibly stale). */
  kvGet(key: string, opts?: KvReadOptions): Promise<KvGetResponse>;
  /** The keys starting with `prefix` ('' for all) in UTF-8 byte order; `limit` (0 or absent: all) sets `more` when it cuts. */
  kvRange(prefix: string, opts?: KvReadOptions & { limit?: number }): Promise<KvRangeResponse>;
  /**
   * Sets `key`. With `ifModRevision` only if the key's modRevision is that (0: only if absent);
   * otherwise it rejects with KvCompareFailedError. `session`: the key goes when that session ends.
   */
  kvPut(key: string, value: string, opts?: { ifModRevision?: number; session?: string }): Promise<KvPutResponse>;
  /** Deletes `key` (`deleted` 0 when absent); `ifModRevision` as for kvPut. */
  kvDelete(key: string, opts?: { ifModRevision?: number }): Promise<KvDeleteResponse>;
  /** Deletes every key starting with `prefix` ('' deletes every key) in one write. */
  kvDeletePrefix(prefix: string): Promise<KvDeleteResponse>;
  /** If every compare holds, applies `success`, else `failure`, atomically; `succeeded` says which. */
  kvTxn(request: KvTxnRequest): Promise<KvTxnResponse>;
  /**
   * Streams the changes to one key or to every key under a prefix into `onEvent`, in revision
   * order with no gaps: from `fromRevision` out of the daemon's history when given (ApiError 410
   * `compacted`, naming the oldest revision held, when it no longer reaches back that far), else
   * from the next change. Resolves when the daemon ends the stream or `signal` aborts; the caller
   * resumes from the revisions it has seen. One write can change several keys at one revision.
   */
  kvWatch(filter: KvWatchFilter, onEvent: (event: KvEvent) => void, opts?: KvWatchOptions): Promise<void>;
  /** Opens a session of this node (`ttlMs` default 10000): it ends when not kept alive within its TTL, or when this node is declared dead or gone. */
  sessionGrant(ttlMs?: number): Promise<SessionResponse>;
  /** Restarts a session's TTL; ApiError 404 `session-not-found` once it has ended. */
  sessionKeepAlive(id: string): Promise<SessionResponse>;
  /** Ends a session now; the keys attached to it are deleted. */
  sessionRevoke(id: string): Promise<SessionRevokeResponse>;
  /*
   * Named elections (Raft only; see types.ts above ElectionResponse).
   */
  /** Every election that has candidates, with its leader. */
  elections(opts?: KvReadOptions): Promise<ElectionsResponse>;
  /** One election: its leader (null for none) and its candidates in the order they would lead. */
  election(name: string, opts?: KvReadOptions): Promise<ElectionResponse>;
  /**
   * Puts a candidate in election `name` with `session` and waits up to `waitMs` (default 60 s) for
   * it to lead: `elected: false` when the wait ran out (the candidate stays queued; call again).
   * Aborting `signal` withdraws the candidate.
   */
  campaign(name: string, session: string, opts?: { value?: string; waitMs?: number; signal?: AbortSignal }): Promise<CampaignResponse>;
  /** Deletes the candidate of `session` (only the one that got `token`, when given). */
  electionResign(name: string, session: string, token?: number): Promise<ResignResponse>;
  /** Streams the election's leader now, then each change, until the daemon ends the stream or `signal` aborts. */
  electionObserve(name: string, onObserved: (observed: ElectionObserved) => void, opts?: { signal?: AbortSignal; onOpen?: () => void }): Promise<void>;
}

export interface KvReadOptions {
  /** Read this node's own store as it is (possibly stale) instead of a linearizable read (ReadIndex). */
  serializable?: boolean;
}

export interface EventsOptions {
  signal?: AbortSignal;
  /** Live event types the daemon should send (the snapshot always comes first). */
  types?: readonly NodeEventType[];
  /**
   * Told why an event was skipped: a type this client does not know (from a newer daemon) or
   * fields of the wrong type. Skipped events never reach `onEvent`; the stream goes on.
   */
  onIgnored?: (reason: string) => void;
}

export interface KvWatchOptions {
  /** The first revision wanted (at least 1); absent: from the next change. */
  fromRevision?: number;
  signal?: AbortSignal;
  /** Called once the daemon has accepted the watch (before any event): a reconnecting caller resets its back-off. */
  onOpen?: () => void;
}

const DEFAULT_TIMEOUT_MS = 5000;
/**
 * Leadership commands, key-value writes and linearizable reads wait this much longer: the daemon
 * answers each within its own bound (5 s, or four Raft election timeouts when longer: 20 s at the
 * wan preset), and its answer (for a write: that it may still be applied) says more than a
 * client-side timeout would.
 */
const COMMAND_EXTRA_WAIT_MS = 20_000;
/** A campaign's wait before the daemon answers `elected: false` (the candidate stays queued). */
const DEFAULT_CAMPAIGN_WAIT_MS = 60_000;
/** An event stream silent for this long (three missed keep-alives) counts as lost. */
const EVENTS_IDLE_TIMEOUT_MS = 45_000;

export function createApiClient(opts: ApiClientOptions): ApiClient {
  const { address } = opts;
  const target = parseApiAddress(address);
  const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const headers: Record<string, string> = { accept: 'application/json' };
  if (opts.token) headers.authorization = `Bearer ${opts.token}`;
  const base = (method: string, path: string): RequestOptions => ({ ...targetOptions(target), method, path, headers: { ...headers }, agent: false });

  const call = async <T>(method: string, path: string, shape: Shape, body?: unknown, extraMs = 0, signal?: AbortSignal): Promise<T> => {
    const text = body === undefined ? undefined : JSON.stringify(body);
    let reply: Reply;
    try {
      reply = await exchange(target, {
        method,
        path,
        headers: text === undefined ? headers : { ...headers, 'content-type': 'application/json' },
        ...(text !== undefined ? { body: text } : {}),
        timeoutMs: timeoutMs + extraMs,
        ...(signal ? { signal } : {}),
      });
    } catch (err) {
      throw signal?.aborted ? err : connectionError(address, err);
    }
    return decode<T>(address, reply, shape);
  };

  return {
    address,
    status: () => call<StatusResponse>('GET', '/v1/status', SHAPES.status),
    members: () => call<MembersResponse>('GET', '/v1/members', SHAPES.members),
    leader: (wait = {}) => {
      const params = new URLSearchParams();
      if (wait.waitMs !== undefined) params.set('waitMs', String(Math.max(0, Math.floor(wait.waitMs))));
      if (wait.after !== undefined) params.set('after', String(wait.after));
      const query = params.size > 0 ? `?${params}` : '';
      return call<LeaderResponse>('GET', `/v1/leader${query}`, SHAPES.leader, undefined, wait.waitMs ?? 0, wait.signal);
    },
    events: (onEvent, eventOpts = {}) => streamEvents(address, base, timeoutMs, onEvent, eventOpts),
    transfer: (to) => call<CommandResponse>('POST', '/v1/leadership/transfer', SHAPES.command, to === undefined ? {} : { to }, COMMAND_EXTRA_WAIT_MS),
    resign: () => call<CommandResponse>('POST', '/v1/leadership/resign', SHAPES.command, {}, COMMAND_EXTRA_WAIT_MS),
    switchProtocol: (protocol) => call<CommandResponse>('POST', '/v1/protocol/switch', SHAPES.command, { protocol }, COMMAND_EXTRA_WAIT_MS),
    elect: () => call<CommandResponse>('POST', '/v1/election', SHAPES.command, {}, COMMAND_EXTRA_WAIT_MS),
    forget: (node) => call<CommandResponse>('POST', '/v1/members/forget', SHAPES.command, { node }, COMMAND_EXTRA_WAIT_MS),
    healthz: () => call<{ ok: true }>('GET', '/healthz', SHAPES.healthz),
    raft: () => call<RaftResponse>('GET', '/v1/raft', SHAPES.raft),
    leave: (leaveOpts = {}) => call<LeaveResponse>('POST', '/v1/leave', SHAPES.leave, leaveOpts.force ? { force: true } : {}, LEAVE_REMOVE_TIMEOUT_MS),
    reload: () => call<ReloadResponse>('POST', '/v1/reload', SHAPES.reload, {}),
    // async, so that encodeURIComponent's URIError rejects rather than throws.
    kvGet: async (key, readOpts = {}) =>
      call<KvGetResponse>('GET', kvPath({ key, serializable: readOpts.serializable ? 'true' : undefined }), SHAPES.kvGet, undefined, readWaitMs(readOpts)),
    kvRange: async (prefix, readOpts = {}) =>
      call<KvRangeResponse>('GET', kvPath({ prefix, limit: readOpts.limit, serializable: readOpts.serializable ? 'true' : undefined }), SHAPES.kvRange, undefined, readWaitMs(readOpts)),
    kvPut: async (key, value, putOpts = {}) => {
      const body = { value, ...(putOpts.ifModRevision !== undefined ? { ifModRevision: putOpts.ifModRevision } : {}), ...(putOpts.session !== undefined ? { session: putOpts.session } : {}) };
      return call<KvPutResponse>('PUT', kvPath({ key }), SHAPES.kvPut, body, COMMAND_EXTRA_WAIT_MS);
    },
    kvDelete: async (key, delOpts = {}) => call<KvDeleteResponse>('DELETE', kvPath({ key, ifModRevision: delOpts.ifModRevision }), SHAPES.kvDelete, undefined, COMMAND_EXTRA_WAIT_MS),
    kvDeletePrefix: async (prefix) => call<KvDeleteResponse>('DELETE', kvPath({ prefix }), SHAPES.kvDelete, undefined, COMMAND_EXTRA_WAIT_MS),
    kvTxn: (request) => call<KvTxnResponse>('POST', '/v1/kv/txn', SHAPES.kvTxn, request, COMMAND_EXTRA_WAIT_MS),
    kvWatch: async (filter, onEvent, watchOpts = {}) => {
      const path = kvPath({ ...filter, fromRevision: watchOpts.fromRevision }, KV_WATCH_PATH);
      const onMessage = (name: string, value: unknown) => {
        // Other event names would be a newer daemon's additions; a put or delete that cannot be
        // read is not skipped, since the caller's no-gap bookkeeping would silently lose it.
        if (name !== 'put' && name !== 'delete') return;
        if (!isKvEvent(value) || value.type !== name) throw new NotConclaveApiError(address, 200, 'text/event-stream', `a ${name} event of another shape`);
        onEvent(value);
      };
      await streamSse(address, base, timeoutMs, path, onMessage, watchOpts.signal, watchOpts.onOpen);
    },
    sessionGrant: (ttlMs) => call<SessionResponse>('POST', '/v1/sessions', SHAPES.session, ttlMs === undefined ? {} : { ttlMs }, COMMAND_EXTRA_WAIT_MS),
    sessionKeepAlive: async (id) => call<SessionResponse>('POST', `/v1/sessions/${encodeURIComponent(id)}/keepalive`, SHAPES.session, {}, COMMAND_EXTRA_WAIT_MS),
    sessionRevoke: async (id) => call<SessionRevokeResponse>('DELETE', `/v1/sessions/${encodeURIComponent(id)}`, SHAPES.sessionRevoke, undefined, COMMAND_EXTRA_WAIT_MS),
    elections: (readOpts = {}) => call<ElectionsResponse>('GET', `/v1/elections${readOpts.serializable ? '?serializable=true' : ''}`, SHAPES.elections, undefined, readWaitMs(readOpts)),
    election: async (name, readOpts = {}) =>
      call<ElectionResponse>('GET', `/v1/elections/${encodeURIComponent(name)}${readOpts.serializable ? '?serializable=true' : ''}`, SHAPES.election, undefined, readWaitMs(readOpts)),
    campaign: async (name, session, campaignOpts = {}) => {
      const waitMs = campaignOpts.waitMs ?? DEFAULT_CAMPAIGN_WAIT_MS;
      const body = { session, ...(campaignOpts.value !== undefined ? { value: campaignOpts.value } : {}) };
      return call<CampaignResponse>('POST', `/v1/elections/${encodeURIComponent(name)}/campaign?waitMs=${Math.max(0, Math.floor(waitMs))}`, SHAPES.campaign, body, waitMs + COMMAND_EXTRA_WAIT_MS, campaignOpts.signal);
    },
    electionResign: async (name, session, token) =>
      call<ResignResponse>('POST', `/v1/elections/${encodeURIComponent(name)}/resign`, SHAPES.resign, { session, ...(token !== undefined ? { token } : {}) }, COMMAND_EXTRA_WAIT_MS),
    electionObserve: async (name, onObserved, observeOpts = {}) => {
      const onMessage = (event: string, value: unknown) => {
        if (event !== 'leader') return;
        if (!isObject(value) || value.name !== name || typeof value.revision !== 'number' || (value.leader !== null && !isElectionLeader(value.leader))) {
          throw new NotConclaveApiError(address, 200, 'text/event-stream', 'a leader event of another shape');
        }
        onObserved(value as unknown as ElectionObserved);
      };
      await streamSse(address, base, timeoutMs, `/v1/elections/${encodeURIComponent(name)}/observe`, onMessage, observeOpts.signal, observeOpts.onOpen);
    },
  };
}

/** Not imported from kv-watch.ts: that is the server's module. */
const KV_WATCH_PATH = '/v1/kv/watch';

/**
 * `/v1/kv?key=…&…` (or `path?key=…`), never `/v1/kv/{key}`: a URL path cannot spell a key with a
 * `.` or `..` segment (it is normalized away), nor the keys `txn` and `watch`. Absent fields are
 * left out.
 */
function kvPath(fields: Readonly<Record<string, string | number | undefined>>, path = '/v1/kv'): string {
  const query = Object.entries(fields)
    .filter((field): field is [string, string | number] => field[1] !== undefined)
    .map(([name, value]) => `${name}=${encodeURIComponent(value)}`)
    .join('&');
  return `${path}?${query}`;
}

/** A serializable read is answered from this node's store at once; a linearizable one may wait on the leader. */
function readWaitMs(opts: KvReadOptions): number {
  return opts.serializable ? 0 : COMMAND_EXTRA_WAIT_MS;
}

function targetOptions(target: ApiTarget): RequestOptions {
  return target.kind === 'unix' ? { socketPath: target.socketPath } : { host: target.host, port: target.port };
}

/**
 * The event codec carries zod (about 100 ms to load): loaded on the first stream only, so
 * `conclave status` and the library's plain calls never pay for it.
 */
async function streamEvents(
  address: string,
  base: (method: string, path: string) => RequestOptions,
  timeoutMs: number,
  onEvent: (event: StreamEvent) => void,
  { signal, types, onIgnored }: EventsOptions,
): Promise<void> {
  const { streamEventCodec } = await import('./event-codec.js');
  const query = types && types.length > 0 ? `?types=${encodeURIComponent(types.join(','))}` : '';
  const onMessage = (_name: string, value: unknown) => {
    const parsed = streamEventCodec.parse(value);
    if (parsed.ok) onEvent(parsed.value);
    else onIgnored?.(parsed.reason);
  };
  await streamSse(address, base, timeoutMs, `/v1/events${query}`, onMessage, signal);
}

/**
 * GETs `path` as a server-sent event stream and hands each event to `onMessage`: its name and
 * its data parsed as JSON (comments, keep-alives included, never reach it). Resolves when the
 * daemon ends the stream or `signal` aborts. A reply other than 200 rejects as the other calls
 * do; so do a stream silent for EVENTS_IDLE_TIMEOUT_MS, data that is not JSON, and anything
 * `onMessage` throws (the stream is closed then).
 */
function streamSse(
  address: string,
  base: (method: string, path: string) => RequestOptions,
  timeoutMs: number,
  path: string,
  onMessage: (name: string, value: unknown) => void,
  signal?: AbortSignal,
  onOpen?: () => void,
): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    if (signal?.aborted) {
      resolve();
      return;
    }
    let settled = false;
    const finish = (err?: unknown) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      req.destroy();
      if (err === undefined) resolve();
      else reject(err);
    };
    const onAbort = () => finish();
    signal?.addEventListener('abort', onAbort, { once: true });
    const options = base('GET', path);
    options.headers = { ...options.headers, accept: 'text/event-stream' };
    const req = process.getBuiltinModule('node:http').request(options);
    let timer = setTimeout(() => req.destroy(new TimeoutError(`no answer within ${timeoutMs} ms`)), timeoutMs);
    req.on('error', (err) => finish(connectionError(address, err)));
    req.on('response', (res) => {
      clearTimeout(timer);
      if (res.statusCode !== 200) {
        readAll(res)
          .then((raw) => finish(errorFromReply(address, incoming(res, raw))))
          .catch((err: unknown) => finish(connectionError(address, err)));
        return;
      }
      const type = mediaType(incoming(res, ''));
      if (type !== 'text/event-stream') {
        finish(new NotConclaveApiError(address, 200, type, 'not an event stream'));
        return;
      }
      try {
        onOpen?.();
      } catch (err) {
        finish(err);
        return;
      }
      const idle = () => {
        clearTimeout(timer);
        timer = setTimeout(() => req.destroy(new TimeoutError(`the event stream was silent for ${EVENTS_IDLE_TIMEOUT_MS} ms`)), EVENTS_IDLE_TIMEOUT_MS);
      };
      idle();
      const parser = new SseParser();
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        idle();
        for (const message of parser.feed(chunk)) {
          if (settled) return;
          let value: unknown;
          try {
            value = JSON.parse(message.data) as unknown;
          } catch {
            finish(new NotConclaveApiError(address, 200, 'text/event-stream', 'an event that is not JSON'));
            return;
          }
          try {
            onMessage(message.event, value);
          } catch (err) {
            finish(err);
            return;
          }
        }
      });
      res.on('end', () => finish());
      res.on('error', (err) => finish(connectionError(address, err)));
    });
    req.end();
  });
}

function readAll(res: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let raw = '';
    res.setEncoding('utf8');
    res.on('data', (chunk: string) => (raw += chunk));
    res.on('end', () => resolve(raw));
    res.on('error', reject);
  });
}

type Shape = (value: unknown) => boolean;

function isConfigIssue(value: unknown): value is { path: string; message: string } {
  return isObject(value) && typeof value.path === 'string' && typeof value.message === 'string';
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isElectionLeader(value: unknown): boolean {
  return isObject(value) && typeof value.name === 'string' && typeof value.key === 'string' && typeof value.value === 'string' && typeof value.token === 'number';
}

/** A key-value as the store holds it (`session` is left out: not every reader needs it). */
function isKeyValue(value: unknown): boolean {
  return isObject(value) && typeof value.key === 'string' && typeof value.value === 'string' && isRevisions(value);
}

function isRevisions(value: unknown): value is NonNullable<KeyRevisions> {
  return isObject(value) && typeof value.createRevision === 'number' && typeof value.modRevision === 'number' && typeof value.version === 'number';
}

/**
 * A watch event, checked by hand (the zod codecs are not loaded for this): its type, its revision
 * (what a resuming caller counts on), and a key-value (a delete's holds the key, the deleting
 * revision and empty fields); `prevKv` only when present.
 */
function isKvEvent(value: unknown): value is KvEvent {
  return isObject(value) && (value.type === 'put' || value.type === 'delete') && Number.isSafeInteger(value.revision) &&
    isKeyValue(value.kv) && (value.prevKv === undefined || isKeyValue(value.prevKv));
}

/**
 * Enough of each reply to tell Conclave's API from another JSON server. Only long-standing
 * fields are required, so this CLI still reads a daemon older than its types (the contract
 * grows additively).
 */
const SHAPES = {
  // `security` is newer than the rest: absent from older daemons, and when present it must hold psk.
  status: (v: unknown) =>
    isObject(v) && typeof v.id === 'string' && typeof v.role === 'string' && typeof v.term === 'number' &&
    (v.security === undefined || (isObject(v.security) && typeof v.security.psk === 'boolean')),
  members: (v: unknown) => isObject(v) && Array.isArray(v.members),
  leader: (v: unknown) => isObject(v) && typeof v.term === 'number' && typeof v.fencingToken === 'number' && (v.leader === null || isObject(v.leader)),
  command: (v: unknown) => isObject(v) && v.ok === true && typeof v.detail === 'string',
  healthz: (v: unknown) => isObject(v) && v.ok === true,
  raft: (v: unknown) =>
    isObject(v) && typeof v.id === 'string' && typeof v.role === 'string' && typeof v.term === 'number' &&
    typeof v.commitIndex === 'number' && typeof v.lastIndex === 'number' && (v.leader === null || isObject(v.leader)) &&
    isObject(v.configuration) && Array.isArray(v.configuration.voters) && Array.isArray(v.configuration.learners) && Array.isArray(v.peers),
  leave: (v: unknown) => isObject(v) && v.ok === true && typeof v.removed === 'boolean' && typeof v.detail === 'string',
  reload: (v: unknown) => isObject(v) && typeof v.unchanged === 'boolean' && [v.applied, v.needsRestart].every((list) => Array.isArray(list) && list.every((c) => isObject(c) && typeof c.field === 'string')),
  kvGet: (v: unknown) => isObject(v) && typeof v.revision === 'number' && (v.kv === null || isKeyValue(v.kv)),
  kvRange: (v: unknown) => isObject(v) && typeof v.revision === 'number' && typeof v.more === 'boolean' && Array.isArray(v.kvs) && v.kvs.every(isKeyValue),
  kvPut: (v: unknown) => isObject(v) && typeof v.revision === 'number' && typeof v.index === 'number' && (v.prevKv === null || isKeyValue(v.prevKv)),
  kvDelete: (v: unknown) => isObject(v) && typeof v.revision === 'number' && typeof v.index === 'number' && typeof v.deleted === 'number',
  session: (v: unknown) => isObject(v) && typeof v.id === 'string' && typeof v.ttlMs === 'number',
  sessionRevoke: (v: unknown) => isObject(v) && typeof v.id === 'string' && typeof v.deleted === 'number',
  elections: (v: unknown) => isObject(v) && typeof v.revision === 'number' && Array.isArray(v.elections) && v.elections.every((e) => isObject(e) && typeof e.name === 'string' && (e.leader === null || isElectionLeader(e.leader))),
  election: (v: unknown) => isObject(v) && typeof v.revision === 'number' && (v.leader === null || isElectionLeader(v.leader)) && Array.isArray(v.candidates),
  campaign: (v: unknown) => isObject(v) && (v.elected === true ? isElectionLeader(v.leader) && typeof v.revision === 'number' : v.elected === false),
  resign: (v: unknown) => isObject(v) && typeof v.resigned === 'boolean' && typeof v.revision === 'number',
  kvTxn: (v: unknown) =>
    isObject(v) && typeof v.succeeded === 'boolean' && typeof v.revision === 'number' && typeof v.index === 'number' &&
    Array.isArray(v.responses) && v.responses.every((r) => isObject(r) && typeof r.kind === 'string'),
} satisfies Record<string, Shape>;

/** A node:http reply (the event stream's) as an exchange's Reply. */
function incoming(res: IncomingMessage, body: string): Reply {
  const type = res.headers['content-type'];
  return { status: res.statusCode ?? 0, headers: new Map(type === undefined ? [] : [['content-type', type]]), body };
}

function decode<T>(address: string, reply: Reply, shape: Shape): T {
  if (reply.status >= 400) throw errorFromReply(address, reply);
  const body = jsonBody(reply);
  if (reply.status >= 200 && reply.status < 300 && body !== undefined && shape(body)) return body as T;
  throw new NotConclaveApiError(address, reply.status, mediaType(reply), body === undefined ? undefined : 'JSON of another shape');
}

/**
 * Conclave's own error reply `{"error":{code,message}}` is an ApiError (a 409 `compare-failed`
 * with the key's revisions, `current`, a KvCompareFailedError); anything else is not Conclave.
 */
function errorFromReply(address: string, reply: Reply): ApiError {
  const body = jsonBody(reply);
  const error = isObject(body) && isObject(body.error) ? (body as unknown as ApiErrorBody).error : null;
  if (typeof error?.code === 'string' && typeof error.message === 'string') {
    if (reply.status === 409 && error.code === 'compare-failed' && isObject(body) && (body.current === null || isRevisions(body.current))) {
      return new KvCompareFailedError(error.message, body.current, typeof body.revision === 'number' ? body.revision : null);
    }
    if (reply.status === 400 && error.code === 'invalid-config' && isObject(body) && Array.isArray(body.issues) && body.issues.every(isConfigIssue)) {
      return new InvalidConfigError(error.message, body.issues);
    }
    return new ApiError(reply.status, error.code, error.message);
  }
  return new NotConclaveApiError(address, reply.status, mediaType(reply));
}

/** The parsed body of a reply labelled JSON; undefined when unlabelled or unparsable. */
function jsonBody(reply: Reply): unknown {
  if (!/^application\/([\w.-]+\+)?json$/.test(mediaType(reply))) return undefined;
  try {
    return JSON.parse(reply.body) as unknown;
  } catch {
    return undefined;
  }
}

/** `text/html` from `text/html; charset=utf-8`; bounded, since it is shown to the user. */
function mediaType(reply: Reply): string {
  return (reply.headers.get('content-type') ?? '').split(';')[0]!.trim().toLowerCase().slice(0, 100);
}

function connectionError(address: string, err: unknown): Error {
  if (err instanceof ApiError || err instanceof ApiUnreachableError) return err;
  if (err instanceof TimeoutError || err instanceof ExchangeError) return new ApiUnreachableError(address, err.message, { cause: err });
  const code = (err as NodeJS.ErrnoException).code;
  const reason =
    code === 'ECONNREFUSED' ? 'connection refused'
    : code === 'ENOENT' ? 'no socket file there'
    : code === 'EACCES' ? 'permission denied on the socket'
    : code === 'ECONNRESET' ? 'connection lost'
    : code ?? (err as Error).message;
  return new ApiUnreachableError(address, reason, { cause: err });
}
