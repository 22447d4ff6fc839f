/** The API's routes: path → method → handler. Handlers speak JSON and throw HttpError to refuse. */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { CommandResult, LeadershipCommand } from '../../protocols/election.js';
import { PROTOCOL_NAMES, type NodeId, type ProtocolName } from '../../protocols/types.js';
import type { EventStreams } from './events.js';
import { HttpError, readJsonBody, sendJson } from './http.js';
import { MAX_LEADER_WAIT_MS, type LeaderWaits } from './leader-wait.js';
import { decideLeave, removeSelf } from './leave.js';
import type { ConfigError } from '../errors.js';
import type { ControlSource, InvalidConfigBody } from './types.js';

export interface RouteContext {
  source: ControlSource;
  streams: EventStreams;
  waits: LeaderWaits;
}

/**
 * On the 503s of a full listener: a slot frees as soon as another client leaves, so retry soon;
 * the connection closes, so a refused client holds no connection slot meanwhile.
 */
const RETRY_LATER = { 'retry-after': '5', connection: 'close' } as const;

type Handler = (req: IncomingMessage, res: ServerResponse, url: URL, ctx: RouteContext) => Promise<void> | void;

export const ROUTES: Readonly<Record<string, Readonly<Partial<Record<string, Handler>>>>> = {
  '/v1/status': { GET: (_req, res, _url, { source }) => sendJson(res, 200, source.status()) },
  '/v1/members': { GET: (_req, res, _url, { source }) => sendJson(res, 200, source.members()) },
  '/v1/leader': { GET: leader },
  '/v1/events': { GET: events },
  '/v1/leadership/transfer': { POST: transfer },
  '/v1/leadership/resign': { POST: (req, res, _url, ctx) => command(req, res, ctx, () => ({ kind: 'resign' })) },
  '/v1/election': { POST: (req, res, _url, ctx) => command(req, res, ctx, () => ({ kind: 'elect' })) },
  '/v1/members/forget': { POST: forget },
  '/v1/raft': { GET: raft },
  '/v1/leave': { POST: leave },
  '/v1/protocol/switch': { POST: switchProtocol },
  '/v1/reload': { POST: reload },
  '/metrics': { GET: metrics },
  '/healthz': { GET: (_req, res) => sendJson(res, 200, { ok: true }) },
};

async function leader(_req: IncomingMessage, res: ServerResponse, url: URL, { source, waits }: RouteContext): Promise<void> {
  const waitMs = optionalInteger(url.searchParams, 'waitMs', null);
  const after = optionalInteger(url.searchParams, 'after', null);
  if (waitMs === null) {
    sendJson(res, 200, source.leader());
    return;
  }
  // Without `after`, wait for a change from what is reported now.
  const gone = new AbortController();
  res.on('close', () => gone.abort());
  const pending = waits.wait(after ?? source.leader().revision, Math.min(waitMs, MAX_LEADER_WAIT_MS), gone.signal);
  if (pending === null) {
    throw new HttpError(
      503,
      'too-many-long-polls',
      `${waits.capacity} long-polls already wait on this listener, its limit; retry later, and have each client wait in one poll at a time`,
      RETRY_LATER,
    );
  }
  const answer = await pending;
  if (!res.destroyed) sendJson(res, 200, answer);
}

function events(_req: IncomingMessage, res: ServerResponse, url: URL, { streams }: RouteContext): void {
  const raw = url.searchParams.get('types');
  let types: Set<string> | null = null;
  if (raw !== null) {
    const names = raw.split(',').map((t) => t.trim());
    if (names.some((t) => !/^[a-z][a-z0-9-]*$/.test(t))) {
      throw new HttpError(400, 'invalid', 'types must be a comma-separated list of event types, e.g. types=leader-changed,member-joined');
    }
    types = new Set(names);
  }
  if (!streams.open(res, types)) {
    throw new HttpError(
      503,
      'too-many-event-streams',
      `${streams.capacity} event streams are already open on this listener, its limit; close one (each dashboard holds one per daemon) and retry`,
      RETRY_LATER,
    );
  }
}

async function transfer(req: IncomingMessage, res: ServerResponse, _url: URL, ctx: RouteContext): Promise<void> {
  await command(req, res, ctx, (body) => {
    if (body !== undefined && (typeof body !== 'object' || body === null || Array.isArray(body))) {
      throw new HttpError(400, 'invalid', 'the body must be a JSON object like {"to": "<node id or name>"}');
    }
    const to = (body as { to?: unknown } | undefined)?.to;
    if (to === undefined || to === null) return { kind: 'transfer', to: null };
    if (typeof to !== 'string' || to === '') throw new HttpError(400, 'invalid', '"to" must be a node id or name');
    return { kind: 'transfer', to: resolveNode(ctx.source, to) };
  });
}

async function forget(req: IncomingMessage, res: ServerResponse, _url: URL, ctx: RouteContext): Promise<void> {
  await command(req, res, ctx, (body) => {
    const node = (body as { node?: unknown } | undefined)?.node;
    if (typeof node !== 'string' || node === '') throw new HttpError(400, 'invalid', 'the body must be a JSON object like {"node": "<node id or name>"}');
    return { kind: 'forget', id: resolveNode(ctx.source, node) };
  });
}

/** A node id, or the name of exactly one member (a live one wins over dead namesakes). */
export function resolveNode(source: ControlSource, idOrName: string): NodeId {
  const members = source.members().members;
  if (members.some((m) => m.id === idOrName)) return idOrName;
  const named = members.filter((m) => m.name === idOrName);
  const live = named.filter((m) => m.state === 'alive' || m.state === 'suspect');
  const candidates = live.length > 0 ? live : named;
  if (candidates.length === 1) return candidates[0]!.id;
  if (candidates.length === 0) throw new HttpError(404, 'unknown-node', `no member has the id or name ${JSON.stringify(idOrName)}`);
  throw new HttpError(409, 'ambiguous-node', `several members are named ${JSON.stringify(idOrName)} (${candidates.map((m) => m.id).join(', ')}); use the id`);
}

function raft(_req: IncomingMessage, res: ServerResponse, _url: URL, { source }: RouteContext): void {
  const view = source.raft();
  if (view === null) {
    const { protocol } = source.status();
    throw new HttpError(409, 'not-raft', `this node runs ${protocol}, not raft: it keeps no log or configuration (see /v1/status and /v1/leader)`);
  }
  sendJson(res, 200, view);
}

/**
 * Leaves the cluster for good: the election removes this node from its configuration, then the
 * daemon stops as on SIGTERM (leave.ts decides). A refusal is the reply, and the daemon keeps running.
 */
async function leave(req: IncomingMessage, res: ServerResponse, _url: URL, { source }: RouteContext): Promise<void> {
  const body = await readJsonBody(req);
  if (body !== undefined && (typeof body !== 'object' || body === null || Array.isArray(body))) {
    throw new HttpError(400, 'invalid', 'the body must be empty or a JSON object like {"force": true}');
  }
  const force = (body as { force?: unknown } | undefined)?.force;
  if (force !== undefined && typeof force !== 'boolean') throw new HttpError(400, 'invalid', '"force" must be true or false');
  const self = source.status();
  const removal = await removeSelf(source, self.id);
  const outcome = decideLeave(removal, { name: self.name, protocol: self.protocol, hasConfiguration: self.raft !== undefined, force: force === true });
  if (!('ok' in outcome)) throw new HttpError(outcome.code === 'timeout' ? 504 : (COMMAND_ERROR_STATUS[outcome.code] ?? 409), outcome.code, outcome.message);
  // Stop only once the reply is out: the stop closes this listener.
  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    source.stop(`leave requested over the API (${outcome.removed ? 'removed from the configuration' : 'not removed'})`);
  };
  res.once('finish', stop);
  res.once('close', stop);
  sendJson(res, 200, outcome);
}

/**
 * Loads the config again and applies what can change live, as SIGHUP does. A config that does not
 * load is 400 `invalid-config` with every problem by field path; the daemon keeps its config.
 */
async function reload(req: IncomingMessage, res: ServerResponse, _url: URL, { source }: RouteContext): Promise<void> {
  const body = await readJsonBody(req);
  if (body !== undefined && (typeof body !== 'object' || body === null || Array.isArray(body) || Object.keys(body).length > 0)) {
    throw new HttpError(400, 'invalid', 'the body must be empty or {}: a reload reads the config file the daemon started with');
  }
  try {
    sendJson(res, 200, source.reload());
  } catch (err) {
    if ((err as Error).name !== 'ConfigError') throw err;
    const { message, issues } = err as ConfigError;
    const refused: InvalidConfigBody = {
      error: { code: 'invalid-config', message: `reload refused, the daemon keeps running its previous configuration; ${message}` },
      issues,
    };
    sendJson(res, 400, refused);
  }
}

const COMMAND_ERROR_STATUS: Readonly<Record<string, number>> = {
  'not-leader': 409,
  'unknown-node': 404,
  // Raft: no leader to relay to (retry once one is elected), no answer in time, not in the configuration.
  'no-leader': 503,
  timeout: 504,
  'not-a-member': 404,
  'no-candidate': 409,
  'member-alive': 409,
  busy: 409,
  invalid: 400,
};

async function command(req: IncomingMessage, res: ServerResponse, { source }: RouteContext, build: (body: unknown) => LeadershipCommand): Promise<void> {
  const cmd = build(await readJsonBody(req));
  const pending = source.command(cmd);
  if (pending === null) {
    throw new HttpError(501, 'not-implemented', `the election protocol of this daemon does not implement ${cmd.kind}`);
  }
  const result: CommandResult = await pending;
  if (result.ok) {
    sendJson(res, 200, { ok: true, detail: result.detail });
    return;
  }
  throw new HttpError(COMMAND_ERROR_STATUS[result.code] ?? 409, result.code, result.message);
}

/** Orders the cluster to run another protocol (README "Switching protocols"); answers once this node runs it. */
async function switchProtocol(req: IncomingMessage, res: ServerResponse, _url: URL, { source }: RouteContext): Promise<void> {
  const body = await readJsonBody(req);
  const protocol = (body as { protocol?: unknown } | undefined)?.protocol;
  if (typeof protocol !== 'string' || !PROTOCOL_NAMES.some((p) => p === protocol)) {
    throw new HttpError(400, 'invalid', `the body must be a JSON object like {"protocol": "raft"}; protocols: ${PROTOCOL_NAMES.join(', ')}`);
  }
  if (!source.orderProtocol) throw new HttpError(501, 'not-implemented', 'this daemon cannot switch protocols live');
  const result = await source.orderProtocol(protocol as ProtocolName);
  if (result.ok) {
    sendJson(res, 200, { ok: true, detail: result.detail });
    return;
  }
  throw new HttpError(COMMAND_ERROR_STATUS[result.code] ?? 409, result.code, result.message);
}

async function metrics(_req: IncomingMessage, res: ServerResponse, _url: URL, { source }: RouteContext): Promise<void> {
  const { contentType, body } = await source.metrics();
  res.writeHead(200, { 'content-type': contentType, 'content-length': Buffer.byteLength(body), 'cache-control': 'no-store' });
  res.end(body);
}

/** A non-negative decimal integer query parameter, `absent` when missing; 400 when malformed. */
function optionalInteger<T extends number | null>(params: URLSearchParams, name: string, absent: T): number | T {
  const raw = params.get(name);
  if (raw === null) return absent;
  if (!/^\d{1,15}$/.test(raw)) throw new HttpError(400, 'invalid', `${name} must be a non-negative integer, got ${JSON.stringify(raw)}`);
  return Number(raw);
}
