/**
 * `GET /v1/kv/watch?key=K|prefix=P[&fromRevision=R]`: the changes to a key or a prefix as
 * server-sent events (`event: put` / `event: delete`, data: the KvEvent as JSON, `id:` its
 * revision), in revision order with no gaps, as this node's store applies them (any node serves
 * watches; a follower's lags its leader by a commit round). From `fromRevision` when given, out
 * of this node's watch history first (410 `compacted`, naming the oldest revision it still has,
 * when it no longer reaches back that far); from the next change otherwise.
 *
 * The catch-up and the live changes come from followKv (kv-follow.ts). Watches are capped per
 * listener, and a client that stops reading is dropped once its unsent bytes pass a bound, never
 * buffered without limit (as /v1/events streams are).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { KvEvent, KvWatchFilter } from '../../protocols/kv/types.js';
import { HttpError } from './http.js';
import type { RouteContext } from './routes.js';
import { followKv } from './kv-follow.js';
import { formatSseComment, SseReply } from './sse.js';

export const KV_WATCH_PATH = '/v1/kv/watch';

/** Watches one daemon serves at once: room is left within a listener's 256 connections (see MAX_CAMPAIGNS). */
const MAX_WATCHES = 32;
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
  const stopping = new AbortController();
  open++;
  const stream = new SseReply(res, {
    maxUnsentBytes: MAX_UNSENT_BYTES,
    keepAliveMs: KEEP_ALIVE_MS,
    onEnd: () => {
      stopping.abort();
      open--;
    },
  });
  const send = (events: KvEvent[]) => {
    for (const e of events) stream.write(`id: ${e.revision}\nevent: ${e.type}\ndata: ${JSON.stringify(e)}\n\n`);
  };
  try {
    // The history from fromRevision, or (without one) the revision now: the watch starts after it.
    const from = rawFrom === null ? null : Number(rawFrom);
    let early: KvEvent[] | null = [];
    const following = await followKv(source, filter, from, (events) => (early ? early.push(...events) : send(events)), stopping.signal);
    if (!following.ok) {
      const answer = following.answer;
      // The message names the oldest revision still held: re-read, then watch from there.
      if (answer.code === 'compacted') throw new HttpError(410, 'compacted', answer.message);
      throw new HttpError(answer.code === 'not-raft' ? 501 : answer.code === 'invalid-revision' ? 400 : 503, answer.code, answer.message);
    }
    stream.open();
    const caughtUp = early;
    early = null;
    send(caughtUp);
    stream.write(formatSseComment(`watching from revision ${following.revision + 1}`));
  } catch (err) {
    stream.end();
    throw err;
  }
}
