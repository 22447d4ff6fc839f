/**
 * Named elections' routes (issue 12 section 2; the contract is in types.ts above ElectionResponse).
 * The recipe is protocols/kv/election.ts; this file runs it over this daemon's store: a campaign
 * is a `Campaign` whose port is this node's store (`storePort`), an observer an `ElectionView`
 * fed by followKv.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { kvOperationCodec } from '../../protocols/kv/codec.js';
import { Campaign, campaignTxn, candidateKey, ELECTIONS_PREFIX, electionNameProblem, electionOfKey, electionPrefix, ElectionView, leaderFromKv, electionLeader, resignTxn, type CampaignEvent, type CampaignPort } from '../../protocols/kv/election.js';
import { kvRequestError, type KvAnswer } from '../../protocols/kv/requests.js';
import type { KeyValue, KvEvent, KvTxn } from '../../protocols/kv/types.js';
import { HttpError, readJsonBody, sendJson } from './http.js';
import { followKv } from './kv-follow.js';
import { MAX_LEADER_WAIT_MS } from './leader-wait.js';
import { ask, booleanParam, KV_ERROR_STATUS } from './kv-routes.js';
import type { RouteContext } from './routes.js';
import { formatSseComment, SseReply } from './sse.js';
import type { CampaignResponse, ControlSource, ElectionCandidate, ElectionObserved, ElectionResponse, ElectionsResponse, ResignResponse } from './types.js';

type Handler = (req: IncomingMessage, res: ServerResponse, url: URL, ctx: RouteContext) => Promise<void>;

export const ELECTIONS_PATH = '/v1/elections';
export const ELECTION_PREFIX = '/v1/elections/';

export const ELECTIONS_ROUTES: Readonly<Partial<Record<string, Handler>>> = { GET: list };
/** `/v1/elections/{name}[/campaign|/resign|/observe]`. */
export const ELECTION_ROUTES: Readonly<Partial<Record<string, Handler>>> = {
  GET: (req, res, url, ctx) => {
    const [name, action] = electionPath(url);
    if (action === null) return show(name, res, url, ctx);
    if (action === 'observe') return observe(name, req, res, ctx);
    throw notFound(url);
  },
  POST: (req, res, url, ctx) => {
    const [name, action] = electionPath(url);
    if (action === 'campaign') return campaign(name, req, res, url, ctx);
    if (action === 'resign') return resign(name, req, res, ctx);
    throw notFound(url);
  },
};

/** How long a campaign waits to lead before it answers `elected: false` (the candidate stays queued). */
const DEFAULT_CAMPAIGN_WAIT_MS = 60_000;
/**
 * Campaign requests one daemon holds open at once (each follows a key or two of the store). With
 * the other long-lived requests (32 event streams, 128 leader long-polls, 32 kv watches, 16
 * observers; limits.ts) it leaves plain requests room within a listener's 256 connections.
 */
export const MAX_CAMPAIGNS = 32;
let campaigns = 0;
/** Observers one listener serves at once (each holds a subscription to the store's changes). */
const MAX_OBSERVERS = 16;
const MAX_UNSENT_BYTES = 1024 * 1024;
const KEEP_ALIVE_MS = 15_000;
let observers = 0;

/** A campaign's port over this daemon's store: its requests, its changes (followKv), and timers. */
export function storePort(source: Pick<ControlSource, 'kv' | 'subscribeKv'>): CampaignPort {
  return {
    request(request, onAnswer) {
      source.kv(request).then(onAnswer, (err: unknown) => onAnswer(kvRequestError('shutting-down', err instanceof Error ? err.message : String(err))));
    },
    watch(key, fromRevision, onEvents, onLost) {
      const stopping = new AbortController();
      followKv(source, { key }, fromRevision, onEvents, stopping.signal).then(
        (following) => {
          if (!following.ok && !stopping.signal.aborted) onLost(following.answer.message);
        },
        (err: unknown) => {
          if (!stopping.signal.aborted) onLost(err instanceof Error ? err.message : String(err));
        },
      );
      return () => stopping.abort();
    },
    after(ms, fn) {
      const timer = setTimeout(fn, ms);
      return () => clearTimeout(timer);
    },
  };
}

async function list(_req: IncomingMessage, res: ServerResponse, url: URL, { source }: RouteContext): Promise<void> {
  const range = await readPrefix(source, ELECTIONS_PREFIX, url);
  const byName = new Map<string, KeyValue[]>();
  for (const kv of range.kvs) {
    const name = electionOfKey(kv.key);
    if (name !== null) byName.set(name, [...(byName.get(name) ?? []), kv]);
  }
  const elections = [...byName].map(([name, kvs]) => {
    const leader = electionLeader(kvs);
    return { name, leader: leader ? leaderFromKv(name, leader) : null, candidates: kvs.length };
  });
  sendJson(res, 200, { elections, revision: range.revision } satisfies ElectionsResponse);
}

async function show(name: string, res: ServerResponse, url: URL, { source }: RouteContext): Promise<void> {
  const range = await readPrefix(source, electionPrefix(name), url);
  const view = new ElectionView(name, range.kvs, range.revision);
  const candidates = view.queue().map((kv): ElectionCandidate => ({ key: kv.key, session: kv.session, value: kv.value, token: kv.createRevision }));
  sendJson(res, 200, { name, leader: view.leader(), candidates, revision: range.revision } satisfies ElectionResponse);
}

/**
 * Waits until the candidate leads, then answers and lets go (the key stays, bound to the
 * caller's session). The caller closing the request first withdraws the candidate.
 */
async function campaign(name: string, req: IncomingMessage, res: ServerResponse, url: URL, { source }: RouteContext): Promise<void> {
  const rawWait = url.searchParams.get('waitMs');
  if (rawWait !== null && !/^\d{1,9}$/.test(rawWait)) throw new HttpError(400, 'invalid', `waitMs must be a non-negative integer, got ${JSON.stringify(rawWait)}`);
  const waitMs = Math.min(rawWait === null ? DEFAULT_CAMPAIGN_WAIT_MS : Number(rawWait), MAX_LEADER_WAIT_MS);
  const body = objectBody(await readJsonBody(req), '{"session": "…", "value": "…"}');
  const { session, value = '', ...rest } = body;
  if (Object.keys(rest).length > 0) throw new HttpError(400, 'invalid', `unknown field ${JSON.stringify(Object.keys(rest)[0])}; a campaign takes session and value`);
  if (typeof session !== 'string' || session === '') throw new HttpError(400, 'invalid', 'a campaign needs "session": the id of a session of yours (POST /v1/sessions)');
  if (typeof value !== 'string') throw new HttpError(400, 'invalid', '"value" must be a string');
  // The log entry the campaign will write, checked as the followers will check it.
  checkTxn(campaignTxn(name, session, value));
  if (campaigns >= MAX_CAMPAIGNS) throw new HttpError(503, 'too-many-campaigns', `${MAX_CAMPAIGNS} campaigns already wait on this daemon, its limit; retry later`, { 'retry-after': '5' });
  campaigns++;
  res.once('close', () => campaigns--);
  let queued: { key: string; token: number } | null = null;
  const ended = await new Promise<CampaignEvent | 'waited' | null>((resolve) => {
    const running = new Campaign(name, session, value, storePort(source), (event) => {
      if (event.kind === 'queued') queued = { key: event.key, token: event.token };
      else if (event.kind === 'elected') {
        running.detach();
        resolve(event);
      } else resolve(event);
    });
    const timer = setTimeout(() => {
      running.detach();
      resolve('waited');
    }, waitMs);
    res.on('close', () => {
      clearTimeout(timer);
      if (!running.ended) {
        running.resign();
        resolve(null);
      }
    });
    running.start();
  });
  if (ended === null || res.destroyed) return;
  if (ended === 'waited') {
    sendJson(res, 200, { elected: false, queued } satisfies CampaignResponse);
    return;
  }
  if (ended.kind === 'elected') {
    sendJson(res, 200, { elected: true, leader: ended.leader, revision: ended.revision } satisfies CampaignResponse);
    return;
  }
  if (ended.kind !== 'ended') return;
  if (ended.reason === 'session-ended') throw new HttpError(404, 'session-not-found', ended.message);
  if (ended.reason === 'lost') throw new HttpError(409, 'lost', `${ended.message}; campaign again with a live session`);
  const code = ended.code ?? 'campaign-failed';
  throw new HttpError(KV_ERROR_STATUS[code as keyof typeof KV_ERROR_STATUS] ?? 400, code, ended.message);
}

async function resign(name: string, req: IncomingMessage, res: ServerResponse, { source }: RouteContext): Promise<void> {
  const body = objectBody(await readJsonBody(req), '{"session": "…", "token": 123}');
  const { session, token, ...rest } = body;
  if (Object.keys(rest).length > 0) throw new HttpError(400, 'invalid', `unknown field ${JSON.stringify(Object.keys(rest)[0])}; a resign takes session and token`);
  if (typeof session !== 'string' || session === '') throw new HttpError(400, 'invalid', 'a resign needs "session": the session the candidate campaigned with');
  if (token !== undefined && (typeof token !== 'number' || !Number.isSafeInteger(token) || token < 1)) throw new HttpError(400, 'invalid', '"token" must be a positive integer: the fencing token the campaign got');
  const key = candidateKey(name, session);
  const txn: KvTxn = token === undefined ? { kind: 'txn', compare: [{ key, target: 'version', op: '>', value: 0 }], success: [{ kind: 'delete', key }], failure: [] } : resignTxn(key, token as number);
  checkTxn(txn);
  const answer = await ask(source.kv({ kind: 'write', op: txn }));
  if (!answer.ok || answer.kind !== 'write' || !answer.result.ok || answer.result.kind !== 'txn') throw new Error(`the store gave an unexpected answer to a resign: ${JSON.stringify(answer).slice(0, 200)}`);
  sendJson(res, 200, { resigned: answer.result.succeeded, revision: answer.result.revision } satisfies ResignResponse);
}

/**
 * Server-sent `leader` events: the leader now (read linearizably), then each change of leader as
 * this node's store applies it. Changes that arrive while the first read is out are applied to
 * the view from that read, which skips what it already holds.
 */
async function observe(name: string, _req: IncomingMessage, res: ServerResponse, { source }: RouteContext): Promise<void> {
  if (observers >= MAX_OBSERVERS) throw new HttpError(503, 'too-many-watches', `${MAX_OBSERVERS} election observers are already open on this daemon, its limit; close one and retry`, { 'retry-after': '5' });
  observers++;
  const stopping = new AbortController();
  const stream = new SseReply(res, {
    maxUnsentBytes: MAX_UNSENT_BYTES,
    keepAliveMs: KEEP_ALIVE_MS,
    onEnd: () => {
      stopping.abort();
      observers--;
    },
  });
  let view: ElectionView | null = null;
  let early: KvEvent[] = [];
  const send = (observed: ElectionObserved) => stream.write(`id: ${observed.revision}\nevent: leader\ndata: ${JSON.stringify(observed)}\n\n`);
  const onEvents = (events: KvEvent[]) => {
    if (stream.isEnded) return;
    if (view === null) {
      early.push(...events);
      return;
    }
    const { changed, leader } = view.apply(events);
    if (changed) send({ name, leader, revision: view.at() });
  };
  try {
    const following = await followKv(source, { prefix: electionPrefix(name) }, null, onEvents, stopping.signal);
    if (!following.ok) throw requestFailure(following.answer);
    const range = await readPrefix(source, electionPrefix(name), null);
    view = new ElectionView(name, range.kvs, range.revision);
    stream.open();
    send({ name, leader: view.leader(), revision: view.at() });
    const held = early;
    early = [];
    if (held.length > 0) onEvents(held);
    stream.write(formatSseComment(`observing ${name} from revision ${range.revision + 1}`));
  } catch (err) {
    stream.end();
    throw err;
  }
}

/** The candidates under a prefix, linearizably unless `?serializable=true`. */
async function readPrefix(source: ControlSource, prefix: string, url: URL | null): Promise<{ kvs: KeyValue[]; revision: number }> {
  const consistency = url !== null && booleanParam(url, 'serializable') ? 'serializable' : 'linearizable';
  const answer = await ask(source.kv({ kind: 'read', read: { kind: 'range', prefix, limit: 0 }, consistency }));
  if (!answer.ok || answer.kind !== 'read') throw new Error(`the store gave an answer of another kind: ${JSON.stringify(answer).slice(0, 200)}`);
  return answer.range;
}

function requestFailure(answer: Exclude<KvAnswer, { ok: true }>): HttpError {
  return new HttpError(KV_ERROR_STATUS[answer.code], answer.code, answer.message);
}

function checkTxn(txn: KvTxn): void {
  const parsed = kvOperationCodec.parse(txn);
  if (!parsed.ok) throw new HttpError(400, 'invalid', `not a valid campaign: ${parsed.reason}`);
}

function objectBody(body: unknown, example: string): Record<string, unknown> {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new HttpError(400, 'invalid', `the body must be a JSON object like ${example}`);
  return body as Record<string, unknown>;
}

/** `/v1/elections/{name}[/action]`: the name (checked) and the action, if any. */
function electionPath(url: URL): [string, string | null] {
  const parts = url.pathname.slice(ELECTION_PREFIX.length).split('/');
  if (parts.length > 2 || parts[0] === '') throw notFound(url);
  const name = parts[0]!;
  const problem = electionNameProblem(name);
  if (problem !== null) throw new HttpError(400, 'invalid', problem);
  return [name, parts[1] ?? null];
}

function notFound(url: URL): HttpError {
  return new HttpError(404, 'not-found', `no route ${url.pathname}; see GET /v1/elections/{name}, POST …/campaign, POST …/resign, GET …/observe`);
}
