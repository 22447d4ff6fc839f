/**
 * The client library's one class: a handle on one daemon's control API (unix socket or TCP, with
 * a token), for programs that need to know who leads or to act only while their node does. Plain
 * calls go through the CLI's own API client (daemon/api/client.ts); `watch()` and `lead()` add
 * reconnection and the lease rule on top. Nothing here loads libp2p, blessed, commander or the
 * daemon's config: the import graph is checked by a test.
 */
import { createApiClient, resolveApiAddress, type ApiClient, type CommandResponse } from '../daemon/api/client.js';
import type { ElectionObserved, ElectionsResponse, LeaderResponse, MemberResponse, NodeRef, StatusResponse, StreamEvent } from '../daemon/api/types.js';
import type { ElectionLeader } from '../protocols/kv/election.js';
import type { NodeEventType } from '../protocols/host/events.js';
import { LeaderTimeoutError } from './errors.js';
import { campaign, followElection, type CampaignOptions, type ElectionLeadership } from './campaign.js';
import { follow, isTransient, sleep } from './follow.js';
import { iterate } from './iterate.js';
import { lead, type LeadCallbacks } from './lead.js';

export interface ConclaveOptions {
  /**
   * The daemon's API: `HOST:PORT`, `[IPV6]:PORT` or `unix:PATH`. Default: `$CONCLAVE_API`, else
   * `127.0.0.1:7400`. A malformed address throws UsageError.
   */
  api?: string;
  /** Bearer token, needed on TCP when the daemon sets `api.token`. Default: `$CONCLAVE_API_TOKEN`. */
  token?: string | null;
  /** Bound on connecting and getting an answer, in ms (a long-poll adds its wait). Default 5000. */
  timeoutMs?: number;
}

/** Told when `watch()`'s stream broke; the next event after a reconnect is a fresh snapshot. */
export interface DisconnectedEvent {
  type: 'disconnected';
  /** Why: an ApiUnreachableError's message, or that the daemon closed the stream. */
  reason: string;
  /** True when nothing listens at the address (the daemon is not running). */
  gone: boolean;
  retryInMs: number;
}

/** What `watch()` yields: every event of the API's stream (a snapshot first, on each connection), and disconnections. */
export type WatchEvent = StreamEvent | DisconnectedEvent;

/** A leader reply that names a leader. */
export type KnownLeader = LeaderResponse & { leader: NodeRef };

/** A leadership command's answer: `detail` says what the daemon did. */
export type { CommandResponse };

/** A client of one Conclave daemon; cheap to create, holds no connection between calls. */
export class Conclave {
  /** The address in use, as given or resolved from the environment. */
  readonly address: string;
  private readonly api: ApiClient;

  constructor(opts: ConclaveOptions = {}) {
    this.address = resolveApiAddress(opts.api);
    const token = opts.token === undefined ? process.env.CONCLAVE_API_TOKEN || null : opts.token;
    this.api = createApiClient({ address: this.address, token, ...(opts.timeoutMs !== undefined ? { timeoutMs: opts.timeoutMs } : {}) });
  }

  /** `GET /v1/status`: this node's role, term, leader, fencing token, lease and member counts. */
  status(): Promise<StatusResponse> {
    return this.api.status();
  }

  /** `GET /v1/members`: every member this node knows, itself included. */
  async members(): Promise<MemberResponse[]> {
    return (await this.api.members()).members;
  }

  /**
   * `GET /v1/leader`. With `waitMs`, a long-poll that answers once anything of leader, role, term
   * or token changes after `after` (a previous reply's `revision`), or when the time is up.
   */
  leader(opts: { waitMs?: number; after?: number; signal?: AbortSignal } = {}): Promise<LeaderResponse> {
    return this.api.leader(opts);
  }

  /**
   * The daemon's events as an async iterator, until `signal` aborts or the loop breaks. Each
   * connection begins with a `snapshot` (status and members as they are); a broken connection
   * yields a `disconnected` event and is reopened (at once, then backing off to 2 s), so a reader
   * never acts on a stale picture. Errors no retry can cure (a refused token) are thrown.
   */
  watch(opts: { signal?: AbortSignal; types?: readonly NodeEventType[] } = {}): AsyncGenerator<WatchEvent, void, undefined> {
    return iterate<WatchEvent>(
      (push, signal) =>
        follow(
          this.api,
          {
            onEvent: (event) => push(event),
            onDown: (error, gone, retryInMs) => push({ type: 'disconnected', reason: error.message, gone, retryInMs }),
          },
          { signal, ...(opts.types ? { types: opts.types } : {}) },
        ),
      opts.signal,
    );
  }

  /**
   * Resolves with the first reply that names a leader (at once when one is known). While the
   * daemon is unreachable it keeps trying. `timeoutMs` bounds the wait (LeaderTimeoutError);
   * `signal` ends it early (rejects with the signal's reason).
   */
  async waitForLeader(opts: { timeoutMs?: number; signal?: AbortSignal } = {}): Promise<KnownLeader> {
    const deadlineMs = opts.timeoutMs === undefined ? Number.POSITIVE_INFINITY : Date.now() + opts.timeoutMs;
    let last: LeaderResponse | null = null;
    for (;;) {
      opts.signal?.throwIfAborted();
      const remainingMs = Math.max(0, deadlineMs - Date.now());
      try {
        last = last === null
          ? await this.api.leader(opts.signal ? { signal: opts.signal } : {})
          : await this.api.leader({ waitMs: Math.min(remainingMs, LEADER_POLL_CHUNK_MS), after: last.revision, ...(opts.signal ? { signal: opts.signal } : {}) });
        if (last.leader !== null) return last as KnownLeader;
      } catch (err) {
        if (!isTransient(err) || Date.now() >= deadlineMs) throw err;
        last = null;
        await sleep(Math.min(remainingMs, UNREACHABLE_RETRY_MS), opts.signal);
      }
      if (Date.now() >= deadlineMs) throw new LeaderTimeoutError(this.address, opts.timeoutMs ?? 0, last?.term ?? null);
    }
  }

  /** Asks the leader to hand leadership to `to` (node id or name), or to the best other node. */
  transfer(to?: string): Promise<CommandResponse> {
    return this.api.transfer(to);
  }

  /** Asks the leader to step down; asked of a follower, it is relayed to the leader. */
  resign(): Promise<CommandResponse> {
    return this.api.resign();
  }

  /** Makes the highest-ranked live member lead: a hand-off from the leader, or an election now. */
  elect(): Promise<CommandResponse> {
    return this.api.elect();
  }

  /**
   * Calls `onStartedLeading(signal, token)` each time this node begins to lead, and aborts that
   * signal the moment it stops — or the moment it can no longer know it leads: the daemon silent
   * past the lease it last reported, or not running. Also `onStoppedLeading` and `onNewLeader`,
   * as in Kubernetes' client-go. Runs until `signal` aborts. See lead.ts.
   *
   * @example
   * await new Conclave().lead({
   *   onStartedLeading: (signal, token) => runScheduler({ signal, fencingToken: token }),
   *   onNewLeader: ({ leader }) => console.log('leader is', leader?.name ?? 'none'),
   * });
   */
  lead(callbacks: LeadCallbacks, opts: { signal?: AbortSignal } = {}): Promise<void> {
    return lead(this.api, callbacks, opts);
  }

  /**
   * Leads the named election `name` (Raft mode): resolves once this program's candidate leads,
   * with its fencing token and a signal that aborts when the reign ends. See campaign.ts.
   *
   * @example
   * const reign = await new Conclave().campaign('billing-export', { value: hostname() });
   * await exportBatches({ fencingToken: reign.fencingToken, signal: reign.signal });
   * await reign.resign();
   */
  campaign(name: string, opts: CampaignOptions = {}): Promise<ElectionLeadership> {
    return campaign(this.api, name, opts);
  }

  /** The leader of election `name` now (linearizable read), or null when it has no candidate. */
  async electionLeader(name: string): Promise<ElectionLeader | null> {
    return (await this.api.election(name)).leader;
  }

  /** Every election with candidates, and its leader. */
  async elections(): Promise<ElectionsResponse['elections']> {
    return (await this.api.elections()).elections;
  }

  /**
   * The leader of election `name` now, then each change, as an async iterator (etcd's Observe);
   * reconnects on its own, each time starting with the leader as it is then.
   */
  observe(name: string, opts: { signal?: AbortSignal } = {}): AsyncGenerator<ElectionObserved, void, undefined> {
    return iterate<ElectionObserved>((push, signal) => followElection(this.api, name, push, signal), opts.signal);
  }
}

/** One long-poll's wait in waitForLeader: bounds how late an abort or a deadline is noticed. */
const LEADER_POLL_CHUNK_MS = 2000;
const UNREACHABLE_RETRY_MS = 250;
