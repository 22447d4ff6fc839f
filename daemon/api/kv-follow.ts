/**
 * Following the changes to a key or a prefix of this node's store, from a revision, in revision
 * order with no gaps: what a watch stream (kv-watch.ts), a campaign waiting on its predecessor
 * and an election's observers (election-routes.ts) all need.
 *
 * Joining the live changes before reading the history, and passing on a live change only above
 * the revision the history ran up to, loses and repeats nothing in between (events of one write
 * share a revision, so after that nothing is filtered by revision).
 */
import type { KvAnswer } from '../../protocols/kv/requests.js';
import type { KvEvent, KvWatchFilter } from '../../protocols/kv/types.js';
import type { ControlSource } from './types.js';

export type KvFollowing =
  /** Following: `revision` is what the history ran up to (the live changes come after it). */
  | { ok: true; revision: number; stop: () => void }
  /** The history could not be read (compacted, not Raft, shutting down): nothing is followed. */
  | { ok: false; answer: Exclude<KvAnswer, { ok: true }> };

export function matchesFilter(filter: KvWatchFilter, e: KvEvent): boolean {
  return 'key' in filter ? e.kv.key === filter.key : e.kv.key.startsWith(filter.prefix);
}

/**
 * Calls `onEvents` with the changes matching `filter`: from `fromRevision` out of the history
 * first, or (null) only those after now. The caller stops with the returned `stop`; `stop` may
 * also be called before the promise settles, through `signal`.
 */
export async function followKv(
  source: Pick<ControlSource, 'kv' | 'subscribeKv'>,
  filter: KvWatchFilter,
  fromRevision: number | null,
  onEvents: (events: KvEvent[]) => void,
  signal?: AbortSignal,
): Promise<KvFollowing> {
  let held: KvEvent[] | null = [];
  let stopped = false;
  const deliver = (events: KvEvent[]) => {
    const mine = events.filter((e) => matchesFilter(filter, e));
    if (mine.length > 0 && !stopped) onEvents(mine);
  };
  const unsubscribe = source.subscribeKv((events) => {
    if (held) held.push(...events);
    else deliver(events);
  });
  const stop = () => {
    stopped = true;
    unsubscribe();
  };
  signal?.addEventListener('abort', stop, { once: true });
  const answer = await source.kv({ kind: 'read', read: { kind: 'events', fromRevision: fromRevision ?? Number.MAX_SAFE_INTEGER, filter }, consistency: 'serializable' });
  if (!answer.ok) {
    stop();
    return { ok: false, answer };
  }
  if (answer.kind !== 'events') throw new Error(`the store gave an answer of another kind for a watch: ${answer.kind}`);
  const live = held;
  held = null;
  if (fromRevision !== null) deliver(answer.events);
  // The changes that came while the history was read: those up to its revision are in it.
  deliver(live.filter((e) => e.revision > answer.revision));
  return { ok: true, revision: answer.revision, stop };
}
