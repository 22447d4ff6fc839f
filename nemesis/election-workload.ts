/**
 * Named-election clients for a Raft chaos run (the store's elections, protocols/kv/election.ts):
 * on every node a campaigner opens a session, campaigns in one election, holds it for a while when
 * elected and resigns, again and again; and an observer streams the election's leader. Each
 * outcome goes to the history as an ElectionRecord for the checker (check.ts):
 *
 * - `elected`: a campaign answered elected, with the leader's fencing token (its key's create
 *   revision) and when the campaign was called;
 * - `resigned`: the campaigner gave the election up;
 * - `observed`: an observer was told the leader (null: none) as of a store revision.
 *
 * A session lives `SESSION_TTL_MS` unless kept alive, so a campaigner on a frozen or cut-off node
 * loses its place, as an application would.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { ApiClient } from '../daemon/api/client.js';
import type { ElectionRecord } from './history.js';

/** The election every node's campaigner runs in. */
export const CHAOS_ELECTION = 'chaos-job';
const SESSION_TTL_MS = 4_000;
const KEEP_ALIVE_MS = 1_000;
/** A campaign's wait before it asks again (the candidate stays queued meanwhile). */
const CAMPAIGN_WAIT_MS = 5_000;
const HOLD_MS = { min: 500, max: 3_000 };
const RETRY_MS = 500;

export interface ElectionWorkloadOptions {
  /** Node i's API client at index i - 1 (its records name it `n<i>`). */
  clients: readonly ApiClient[];
  now(): number;
  onRecord(record: ElectionRecord): void;
  random?: () => number;
}

export function startElectionWorkload(opts: ElectionWorkloadOptions): { stop: () => Promise<void> } {
  const random = opts.random ?? Math.random;
  const stopping = new AbortController();
  const stopped = stopping.signal;

  const campaigner = async (client: ApiClient, node: string) => {
    while (!stopped.aborted) {
      let session: string | null = null;
      let keepAlive: NodeJS.Timeout | null = null;
      try {
        session = (await client.sessionGrant(SESSION_TTL_MS)).id;
        const id = session;
        keepAlive = setInterval(() => void client.sessionKeepAlive(id).catch(() => undefined), KEEP_ALIVE_MS);
        for (;;) {
          const callT = opts.now();
          const answer = await client.campaign(CHAOS_ELECTION, id, { waitMs: CAMPAIGN_WAIT_MS, signal: stopped });
          if (!answer.elected) continue;
          const token = answer.leader.token;
          opts.onRecord({ type: 'election', t: opts.now(), node, event: 'elected', token, callT });
          await sleep(HOLD_MS.min + Math.floor(random() * (HOLD_MS.max - HOLD_MS.min)), undefined, { signal: stopped });
          await client.electionResign(CHAOS_ELECTION, id, token);
          opts.onRecord({ type: 'election', t: opts.now(), node, event: 'resigned', token });
          break;
        }
      } catch {
        // Frozen, cut off, restarting, or the session ended: start over with a new session.
        if (!stopped.aborted) await sleep(RETRY_MS, undefined, { signal: stopped }).catch(() => undefined);
      } finally {
        if (keepAlive) clearInterval(keepAlive);
        if (session !== null) await client.sessionRevoke(session).catch(() => undefined);
      }
    }
  };

  const observer = async (client: ApiClient, node: string) => {
    while (!stopped.aborted) {
      try {
        await client.electionObserve(
          CHAOS_ELECTION,
          (observed) => {
            if (!stopped.aborted) opts.onRecord({ type: 'election', t: opts.now(), node, event: 'observed', token: observed.leader?.token ?? null, revision: observed.revision });
          },
          { signal: stopped },
        );
      } catch {
        // The node is down or paused: observe again shortly.
      }
      if (!stopped.aborted) await sleep(RETRY_MS, undefined, { signal: stopped }).catch(() => undefined);
    }
  };

  const loops = opts.clients.flatMap((client, i) => [campaigner(client, `n${i + 1}`), observer(client, `n${i + 1}`)]);
  return {
    stop: async () => {
      stopping.abort();
      await Promise.all(loops);
    },
  };
}
