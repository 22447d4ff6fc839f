/**
 * `campaign()`: leadership of one named election (etcd's `concurrency.Election.Campaign`) for a
 * program beside a Conclave daemon in Raft mode. It opens a session of its own, keeps it alive,
 * puts its candidate in the election through the daemon (which waits on the candidate's
 * predecessor only) and resolves once it leads, with the fencing token: its key's create
 * revision.
 *
 * Once leading, its signal aborts the moment the program can no longer know it still leads:
 * - the session ended (a keep-alive answered `session-not-found`: its TTL lapsed, it was
 *   revoked, or membership declared this node dead) — `lost`;
 * - no keep-alive succeeded in time: the session lives at least `ttlMs` after the leader applied
 *   the last keep-alive, counted here from when it was sent and shortened by the clock-drift bound
 *   (../protocols/lease.ts), so past that it may be gone — `lease-expired`;
 * - the daemon's view of the election names another leader, or none — `lost`;
 * - the daemon is gone (its socket refuses connections, as after `kill -9`): its node will be
 *   declared dead and the session ended, and nothing can keep it alive meanwhile — `daemon-gone`;
 * - `resign()` or the caller's signal — `closed`.
 * As for every lease, the token is what makes a late write safe: pass it to storage.
 */
import type { ApiClient } from '../daemon/api/client.js';
import type { ElectionObserved } from '../daemon/api/types.js';
import type { ElectionLeader } from '../protocols/kv/election.js';
import { leaderLeaseMs } from '../protocols/lease.js';
import { ApiError, LeadershipLostError, SessionEndedError } from './errors.js';
import { isDaemonGone, isTransient, reconnectDelayMs, sleep } from './follow.js';
import type { StopReason } from './leadership.js';

export interface CampaignOptions {
  /** What observers read as this candidate's value (a host name, an address). Default ''. */
  value?: string;
  /** The session's time to live: how long after the last keep-alive the leadership can outlive this program. Default 10000 (at least 1000). */
  ttlMs?: number;
  /** Aborting it gives up: before leading, the candidate is withdrawn; once leading, as `resign()`. */
  signal?: AbortSignal;
  /** Monotonic clock in ms; default performance.now. For tests. */
  now?: () => number;
}

/** One reign in a named election. */
export interface ElectionLeadership {
  name: string;
  /** The fencing token: pass it with every write; storage refuses tokens below the highest it has seen. */
  fencingToken: number;
  key: string;
  session: string;
  value: string;
  /** Aborts when this reign ends, with a LeadershipLostError as its reason. */
  signal: AbortSignal;
  /** Gives the leadership up: deletes the key, ends the session; the next candidate leads. */
  resign(): Promise<void>;
}

export const DEFAULT_SESSION_TTL_MS = 10_000;
/** Each campaign request waits this long for leadership before it is asked again (the candidate stays queued). */
const CAMPAIGN_WAIT_MS = 30_000;

export async function campaign(api: ApiClient, name: string, opts: CampaignOptions = {}): Promise<ElectionLeadership> {
  const now = opts.now ?? (() => performance.now());
  const ttlMs = opts.ttlMs ?? DEFAULT_SESSION_TTL_MS;
  opts.signal?.throwIfAborted();
  const grantSentAtMs = now();
  const session = (await api.sessionGrant(ttlMs)).id;
  const keeper = new SessionKeeper(api, session, ttlMs, grantSentAtMs, now);
  const giveUp = new AbortController();
  const onOuterAbort = () => giveUp.abort(opts.signal?.reason);
  opts.signal?.addEventListener('abort', onOuterAbort, { once: true });
  const why = (reason: StopReason) => (reason === 'lost' ? 'the daemon says it is gone' : reason === 'daemon-gone' ? 'its daemon is gone' : 'no keep-alive got through within its TTL');
  keeper.ended.then((reason) => giveUp.abort(new SessionEndedError(`session ${session} ended before the candidate led in ${name} (${why(reason)})`)));
  let elected: ElectionLeader;
  try {
    elected = await campaignUntilElected(api, name, session, opts.value ?? '', giveUp.signal);
  } catch (err) {
    opts.signal?.removeEventListener('abort', onOuterAbort);
    keeper.stop();
    await api.sessionRevoke(session).catch(() => undefined);
    throw giveUp.signal.aborted ? (giveUp.signal.reason ?? err) : err;
  }

  const reign = new AbortController();
  let resigning: Promise<void> | null = null;
  const end = (reason: StopReason) => {
    if (!reign.signal.aborted) reign.abort(new LeadershipLostError(reason, elected.token));
  };
  const resign = () => {
    resigning ??= (async () => {
      end('closed');
      keeper.stop();
      observing.abort();
      opts.signal?.removeEventListener('abort', onOuterAbort);
      await api.electionResign(name, session, elected.token).catch(() => undefined);
      await api.sessionRevoke(session).catch(() => undefined);
    })();
    return resigning;
  };
  keeper.ended.then((reason) => {
    end(reason);
    void resign();
  });
  opts.signal?.removeEventListener('abort', onOuterAbort);
  opts.signal?.addEventListener('abort', () => void resign(), { once: true });
  const observing = new AbortController();
  void observeUntil(
    api,
    name,
    observing.signal,
    (leader) => {
      if (leader?.key === elected.key && leader.token === elected.token) return false;
      end('lost');
      void resign();
      return true;
    },
    () => {
      end('daemon-gone');
      void resign();
    },
  );
  return { name, fencingToken: elected.token, key: elected.key, session, value: elected.value, signal: reign.signal, resign };
}

/** Asks the daemon again and again (each ask waits CAMPAIGN_WAIT_MS) until the candidate leads. */
async function campaignUntilElected(api: ApiClient, name: string, session: string, value: string, signal: AbortSignal): Promise<ElectionLeader> {
  for (let attempt = 0; ; ) {
    signal.throwIfAborted();
    try {
      const reply = await api.campaign(name, session, { value, waitMs: CAMPAIGN_WAIT_MS, signal });
      if (reply.elected) return reply.leader;
      attempt = 0;
    } catch (err) {
      signal.throwIfAborted();
      if (err instanceof ApiError && err.code === 'lost') throw new SessionEndedError(`the candidate's key in ${name} was deleted while it waited (its session ${session} ended, or it was resigned)`);
      if (!isTransient(err) && !(err instanceof ApiError && (err.code === 'no-leader' || err.code === 'timeout' || err.code === 'busy'))) throw err;
      await sleep(reconnectDelayMs(attempt++), signal);
    }
  }
}

/**
 * The election's leader as the daemon sees it, then each change, reconnecting after a broken
 * stream, until `signal` aborts (resolves). Rejects on an error no retry cures, and, with
 * `untilGone`, once no daemon listens at the address. `Conclave.observe()` is this as an iterator.
 */
export async function followElection(api: ApiClient, name: string, onObserved: (observed: ElectionObserved) => void, signal: AbortSignal, untilGone = false): Promise<void> {
  for (let attempt = 0; !signal.aborted; ) {
    try {
      await api.electionObserve(name, onObserved, { signal, onOpen: () => (attempt = 0) });
    } catch (err) {
      if (!isTransient(err) || (untilGone && isDaemonGone(err))) throw err;
    }
    await sleep(reconnectDelayMs(attempt++), signal).catch(() => undefined);
  }
}

/** Follows the election until `onLeader` returns true (it has seen enough) or `signal` aborts; `onGone` once the daemon is gone. */
async function observeUntil(api: ApiClient, name: string, signal: AbortSignal, onLeader: (leader: ElectionLeader | null) => boolean, onGone: () => void): Promise<void> {
  const stop = new AbortController();
  signal.addEventListener('abort', () => stop.abort(), { once: true });
  await followElection(api, name, (o) => onLeader(o.leader) && stop.abort(), stop.signal, true).catch((err: unknown) => {
    if (isDaemonGone(err)) onGone();
  });
}

/**
 * Keeps one session alive: a keep-alive every third of its TTL, and `ended` resolves with why it
 * can no longer be counted on (`lost`: the daemon says it is gone; `lease-expired`: no keep-alive
 * got through in time).
 */
class SessionKeeper {
  readonly ended: Promise<StopReason>;
  private finish!: (reason: StopReason) => void;
  private readonly stopping = new AbortController();
  private deadlineTimer: NodeJS.Timeout | null = null;

  constructor(
    private readonly api: ApiClient,
    private readonly session: string,
    private readonly ttlMs: number,
    grantSentAtMs: number,
    private readonly now: () => number,
  ) {
    this.ended = new Promise((resolve) => (this.finish = resolve));
    this.renewedAt(grantSentAtMs);
    void this.loop();
  }

  stop(): void {
    this.stopping.abort();
    if (this.deadlineTimer) clearTimeout(this.deadlineTimer);
  }

  private renewedAt(sentAtMs: number): void {
    if (this.deadlineTimer) clearTimeout(this.deadlineTimer);
    const deadlineMs = sentAtMs + leaderLeaseMs(this.ttlMs);
    this.deadlineTimer = setTimeout(() => this.end('lease-expired'), Math.max(0, deadlineMs - this.now()));
    this.deadlineTimer.unref?.();
  }

  private end(reason: StopReason): void {
    if (this.stopping.signal.aborted) return;
    this.stop();
    this.finish(reason);
  }

  private async loop(): Promise<void> {
    const interval = Math.max(100, Math.floor(this.ttlMs / 3));
    while (!this.stopping.signal.aborted) {
      try {
        await sleep(interval, this.stopping.signal);
      } catch {
        return;
      }
      const sentAtMs = this.now();
      try {
        await this.api.sessionKeepAlive(this.session);
        if (!this.stopping.signal.aborted) this.renewedAt(sentAtMs);
      } catch (err) {
        if (err instanceof ApiError && err.code === 'session-not-found') return this.end('lost');
        if (isDaemonGone(err)) return this.end('daemon-gone');
        // Anything else (unreachable, no leader for a moment): try again at the next beat; the deadline decides.
      }
    }
  }
}
