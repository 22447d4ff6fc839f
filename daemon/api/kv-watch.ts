/**
 * `GET /v1/kv/watch?key=K|prefix=P[&fromRevision=R]`: the changes to a key or a prefix as
 * server-sent events (`event: put` / `event: delete`, data: the KvEvent as JSON, `id:` its
 * revision), in revision order with no gaps, as this node's store applies them (any node serves
 * watches; a follower's lags its leader by a commit round). From `fromRevision` when given, out
 * of this node's watch history first (410 `compacted`, naming the oldest revision it still has,
 * when it no longer reaches back that far); from the next change otherwise.
 *
 * Joining the live changes before reading the history, and sending a live change only above the
 * revision the history ran up to, loses and repeats nothing in between (events of one write share
 * a revision, so after that nothing is filtered by revision). Watches are capped per
 * listener, and a client that stops reading is dropped once its unsent bytes pass a bound, never
 * buffered without limit (as /v1/events streams are).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { KvEvent, KvWatchFilter } from '../../protocols/kv/types.js';
import { HttpError } from './http.js';
import type { RouteContext } from './routes.js';
import { formatSseComment } from './sse.js';

export const KV_WATCH_PATH = '/v1/kv/watch';

/** Watches one listener serves at once. */
const MAX_WATCHES = 256;
/** A watcher with more unsent bytes than this is dropped (it re-watches from its last revision). */
const MAX_UNSENT_BYTES = 4 * 1024 * 1024;
const KEEP_ALIVE_MS = 15_000;

let open = 0;

export async function watch(_req: IncomingMessage, res: ServerResponse, url: URL, { source }: RouteContext): Promise<void> {
  const key = url.searchParams.get('key');
  const prefix = url.searchParams.get('prefix');
  if ((key === null) === (prefix === null)) throw new HttpError(400, 'invalid', 'a watch takes key=K or prefix=P (prefix= with nothing after it watches every key)');
  if (key === '') throw new HttpError(400, 'invalid', 'the key is empty');
  const filter: KvWatchFilter = key !== null ? { key } : { prefix: prefix! };
  const rawFrom = url.searchParams.get('fromRevision');
  if (rawFrom !== null && !/^\d{1,15}$/.test(rawFrom)) throw new HttpError(400, 'invalid', `fromRevision must be a non-negative integer, got ${JSON.stringify(rawFrom)}`);
  if (open >= MAX_WATCHES) throw new HttpError(503, 'too-many-watches', `${MAX_WATCHES} watches are already open on this daemon, its limit; close one and retry`, { 'retry-after': '5' });
  const matches = (e: KvEvent) => ('key' in filter ? e.kv.key === filter.key : e.kv.key.startsWith(filter.prefix));

  // Join the live changes first; hold them until the history is out.
  let held: KvEvent[] | null = [];
  let closed = false;
  // One write can change several keys (a prefix delete, a txn): its events share a revision, so
  // nothing is skipped by revision except what the history already held.
  const send = (e: KvEvent) => {
    if (closed || !matches(e)) return;
    res.write(`id: ${e.revision}\nevent: ${e.type}\ndata: ${JSON.stringify(e)}\n\n`);
    if (res.writableLength > MAX_UNSENT_BYTES) close();
  };
  const unsubscribe = source.subscribeKv((events) => {
    if (held) held.push(...events);
    else for (const e of events) send(e);
  });
  let keepAlive: NodeJS.Timeout | null = null;
  const close = () => {
    if (closed) return;
    closed = true;
    unsubscribe();
    if (keepAlive) clearInterval(keepAlive);
    open--;
    res.end();
  };
  open++;
  try {
    // The history from fromRevision, or (without one) the revision now: the watch starts after it.
    const from = rawFrom === null ? null : Number(rawFrom);
    const answer = await source.kv({ kind: 'read', read: { kind: 'events', fromRevision: from ?? Number.MAX_SAFE_INTEGER, filter }, consistency: 'serializable' });
    if (!answer.ok) {
      // The message names the oldest revision still held: re-read, then watch from there.
      if (answer.code === 'compacted') throw new HttpError(410, 'compacted', answer.message);
      throw new HttpError(answer.code === 'not-raft' ? 501 : answer.code === 'invalid-revision' ? 400 : 503, answer.code, answer.message);
    }
    if (answer.kind !== 'events') throw new Error(`the store gave an answer of another kind for a watch: ${answer.kind}`);
    res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store', connection: 'keep-alive', 'x-accel-buffering': 'no' });
    res.on('close', close);
    if (from !== null) for (const e of answer.events) send(e);
    // The changes that came while the history was read: those up to its revision are in it.
    const live = held;
    held = null;
    for (const e of live) if (e.revision > answer.revision) send(e);
    res.write(formatSseComment(`watching from revision ${answer.revision + 1}`));
    keepAlive = setInterval(() => res.write(formatSseComment('keep-alive')), KEEP_ALIVE_MS);
    keepAlive.unref();
  } catch (err) {
    if (!res.headersSent) {
      closed = true;
      unsubscribe();
      open--;
    } else close();
    throw err;
  }
}
