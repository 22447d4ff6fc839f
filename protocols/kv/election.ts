/**
 * Named elections on the key-value store (issue 12 section 2; etcd's `concurrency.Election`, the
 * ZooKeeper leader recipe): many independent leaderships on one cluster, each under its own key
 * prefix, each with its own fencing token.
 *
 * The recipe, all of it through the replicated store:
 * - a candidate creates `conclave/elections/{name}/{session}`, attached to its session (so the key
 *   goes when the session ends: its TTL lapses, it is revoked, or membership declares its node
 *   dead or gone), in one txn that creates it only if absent (a retried campaign finds its key);
 * - the candidate whose key has the lowest create revision leads, and that create revision is its
 *   fencing token: a key created later has a higher revision, and a key older than the leader's
 *   would have led before it, so the tokens of one election only ever grow;
 * - every other candidate waits for the deletion of its predecessor only (the key with the
 *   highest create revision below its own), never for the leader's: a leader's end wakes one
 *   candidate, not the herd; woken, it reads the candidates again (linearizably) and leads when
 *   none is older.
 *
 * This file is the pure part: names and keys, who leads a set of keys (`electionLeader`), the
 * observer's view of an election (`ElectionView`), and one candidate's campaign (`Campaign`), a
 * machine driven by the answers and changes its host feeds it through a `CampaignPort` (the daemon
 * over its own store; the simulator over a simulated cluster). It reads no clock and does no I/O.
 */
import type { KvAnswer, KvRequest, KvRequestErrorCode } from './requests.js';
import type { KeyValue, KvEvent, KvTxn } from './types.js';

/** Every election's keys live under this prefix; the daemon refuses plain writes below `conclave/`. */
export const ELECTIONS_PREFIX = 'conclave/elections/';
/** The keys the daemon itself owns (elections, its leader record): plain API writes to them are refused. */
export const RESERVED_PREFIX = 'conclave/';
/** The key of the daemon's own leader record (Raft's leader entry, as the store holds it). */
export const LEADER_RECORD_KEY = 'conclave/leader';
export const MAX_ELECTION_NAME_CHARS = 128;
const ELECTION_NAME = /^[A-Za-z0-9._-]+$/;

/** Why a name cannot name an election, or null when it can: a path segment of letters, digits, `.`, `_`, `-`. */
export function electionNameProblem(name: string): string | null {
  if (name.length === 0) return 'an election name is empty';
  if (name.length > MAX_ELECTION_NAME_CHARS) return `an election name has at most ${MAX_ELECTION_NAME_CHARS} characters, got ${name.length}`;
  if (!ELECTION_NAME.test(name) || name === '.' || name === '..') return `an election name uses letters, digits, ".", "_" and "-" only, got ${JSON.stringify(name)}`;
  return null;
}

export function electionPrefix(name: string): string {
  return `${ELECTIONS_PREFIX}${name}/`;
}

export function candidateKey(name: string, session: string): string {
  return `${electionPrefix(name)}${session}`;
}

/** The election a key belongs to, or null for a key outside every election. */
export function electionOfKey(key: string): string | null {
  if (!key.startsWith(ELECTIONS_PREFIX)) return null;
  const rest = key.slice(ELECTIONS_PREFIX.length);
  const slash = rest.indexOf('/');
  return slash > 0 ? rest.slice(0, slash) : null;
}

/** Who leads an election whose candidates' keys are `kvs`: the lowest create revision; null for none. */
export function electionLeader(kvs: readonly KeyValue[]): KeyValue | null {
  let leader: KeyValue | null = null;
  for (const kv of kvs) if (leader === null || kv.createRevision < leader.createRevision) leader = kv;
  return leader;
}

/** The candidate a candidate created at `createRevision` waits for: the newest older one; null when it leads. */
export function predecessorOf(kvs: readonly KeyValue[], createRevision: number): KeyValue | null {
  let found: KeyValue | null = null;
  for (const kv of kvs) if (kv.createRevision < createRevision && (found === null || kv.createRevision > found.createRevision)) found = kv;
  return found;
}

/** Creates the candidate's key only if absent; reads it either way (a retried campaign resumes). */
export function campaignTxn(name: string, session: string, value: string): KvTxn {
  const key = candidateKey(name, session);
  return {
    kind: 'txn',
    compare: [{ key, target: 'createRevision', op: '=', value: 0 }],
    success: [{ kind: 'put', key, value, session }],
    failure: [{ kind: 'get', key }],
  };
}

/** Deletes the candidate's key only if it is still the one created at `createRevision`. */
export function resignTxn(key: string, createRevision: number): KvTxn {
  return { kind: 'txn', compare: [{ key, target: 'createRevision', op: '=', value: createRevision }], success: [{ kind: 'delete', key }], failure: [] };
}

/** An election's leader as applications see it; `token` is its key's create revision. */
export interface ElectionLeader {
  name: string;
  key: string;
  session: string | null;
  value: string;
  token: number;
}

export function leaderFromKv(name: string, kv: KeyValue): ElectionLeader {
  return { name, key: kv.key, session: kv.session, value: kv.value, token: kv.createRevision };
}

/**
 * One election as an observer sees it: loaded from a read of its prefix, then kept current by
 * the changes to that prefix in revision order. `apply` returns the new leader when it changed.
 */
export class ElectionView {
  private readonly candidates = new Map<string, KeyValue>();
  private current: ElectionLeader | null = null;
  private revision: number;

  constructor(
    readonly name: string,
    kvs: readonly KeyValue[],
    revision: number,
  ) {
    for (const kv of kvs) this.candidates.set(kv.key, kv);
    this.revision = revision;
    this.current = this.compute();
  }

  leader(): ElectionLeader | null {
    return this.current;
  }

  /** Candidates in the order they would lead. */
  queue(): KeyValue[] {
    return [...this.candidates.values()].sort((a, b) => a.createRevision - b.createRevision);
  }

  /** The revision this view is current at. */
  at(): number {
    return this.revision;
  }

  /** Applies changes (already filtered to this election's prefix, in revision order); older ones are skipped. */
  apply(events: readonly KvEvent[]): { changed: boolean; leader: ElectionLeader | null } {
    const before = this.current;
    for (const e of events) {
      if (e.revision <= this.revision) continue;
      if (e.type === 'put') this.candidates.set(e.kv.key, e.kv);
      else this.candidates.delete(e.kv.key);
    }
    const last = events.at(-1);
    if (last && last.revision > this.revision) this.revision = last.revision;
    this.current = this.compute();
    const changed = before?.key !== this.current?.key || before?.token !== this.current?.token || before?.value !== this.current?.value;
    return { changed, leader: this.current };
  }

  private compute(): ElectionLeader | null {
    const kv = electionLeader([...this.candidates.values()]);
    return kv ? leaderFromKv(this.name, kv) : null;
  }
}

/** What a campaign needs of its host: the store's requests, changes to one key, and a timer. */
export interface CampaignPort {
  /** Sends a request to the store; `onAnswer` is called once, later or within this call. */
  request(request: KvRequest, onAnswer: (answer: KvAnswer) => void): void;
  /**
   * Follows the changes to `key` with revision >= `fromRevision`, in revision order, with no
   * gaps; `onLost` when that cannot be kept (the history no longer reaches back, the host lost
   * its store). Returns a function that stops following.
   */
  watch(key: string, fromRevision: number, onEvents: (events: KvEvent[]) => void, onLost: (reason: string) => void): () => void;
  /** Calls `fn` after `ms` of the host's clock; returns a function that cancels it. */
  after(ms: number, fn: () => void): () => void;
}

/**
 * How a campaign ended: `resigned` (asked to), `lost` (its key was deleted: its session ended,
 * or someone deleted the key), `session-ended` (its session was gone before its key was made),
 * `failed` (the store refused for good: no Raft, an invalid name or value).
 */
export type CampaignEndReason = 'resigned' | 'lost' | 'session-ended' | 'failed';

export type CampaignEvent =
  /** The candidate's key exists (made now, or found from an earlier try); `token` is its create revision. */
  | { kind: 'queued'; key: string; token: number }
  | { kind: 'elected'; leader: ElectionLeader; revision: number }
  /** `code`: for `failed`, the store's or the request's error code (`not-raft`, `invalid` …). */
  | { kind: 'ended'; reason: CampaignEndReason; message: string; wasLeader: boolean; code?: string };

/** After an answer that may be transient (no leader yet, a transfer, a timeout), ask again after this long. */
export const CAMPAIGN_RETRY_MS = 200;
const RETRYABLE: ReadonlySet<KvRequestErrorCode> = new Set(['no-leader', 'busy', 'timeout']);

type CampaignState = 'proposing' | 'reading' | 'waiting' | 'leading' | 'resigning' | 'ended';

/**
 * One candidate's campaign: create its key, then wait for its predecessor until none is left,
 * then lead until its key is deleted or it resigns. Every change of state is reported through
 * `onEvent`, in order; `ended` is the last. Deterministic: it acts only on what the port delivers.
 */
export class Campaign {
  private state: CampaignState = 'proposing';
  readonly key: string;
  private token: number | null = null;
  private resignWanted = false;
  /** Elected once in this campaign: its end is the end of a reign. */
  private elected = false;
  private stopOwnWatch: (() => void) | null = null;
  private stopPredecessorWatch: (() => void) | null = null;
  private cancelRetry: (() => void) | null = null;
  /** Bumped on every read and watch, so an answer to an abandoned one is ignored. */
  private epoch = 0;

  constructor(
    readonly name: string,
    readonly session: string,
    private readonly value: string,
    private readonly port: CampaignPort,
    private readonly onEvent: (event: CampaignEvent) => void,
  ) {
    this.key = candidateKey(name, session);
  }

  /** Starts (once). */
  start(): void {
    this.propose();
  }

  get leading(): boolean {
    return this.state === 'leading';
  }

  get ended(): boolean {
    return this.state === 'ended';
  }

  /** The fencing token while leading, else the key's create revision once known, else null. */
  get createRevision(): number | null {
    return this.token;
  }

  /**
   * Gives up the campaign or the leadership: deletes the key (if it is still this campaign's),
   * then ends `resigned`. Safe to call at any time and more than once.
   */
  resign(): void {
    if (this.state === 'ended' || this.resignWanted) return;
    this.resignWanted = true;
    // A proposal in flight may still create the key: delete it once its answer names it.
    if (this.state === 'proposing') return;
    this.deleteKey();
  }

  /**
   * Stops following without touching the key: a host that handed the elected candidate's key to
   * its owner (the API's campaign call answers, then the application follows the election).
   * Ends without an event.
   */
  detach(): void {
    if (this.state === 'ended') return;
    this.state = 'ended';
    this.epoch++;
    this.stopWatches();
  }

  private propose(): void {
    this.state = 'proposing';
    const epoch = ++this.epoch;
    this.port.request({ kind: 'write', op: campaignTxn(this.name, this.session, this.value) }, (answer) => {
      if (epoch !== this.epoch || this.state !== 'proposing') return;
      if (!answer.ok) return this.retryOrFail(answer.code, answer.message, () => this.propose());
      if (answer.kind !== 'write') return this.end('failed', `the store answered a campaign with a ${answer.kind}`);
      const result = answer.result;
      if (!result.ok) return this.end(result.code === 'session-not-found' ? 'session-ended' : 'failed', result.message, result.code);
      if (result.kind !== 'txn') return this.end('failed', `the store answered a campaign with a ${result.kind}`);
      const existing = result.succeeded ? null : result.responses[0];
      const kv = existing && existing.kind === 'get' ? existing.kv : null;
      if (!result.succeeded && kv === null) return this.propose(); // deleted between compare and now: impossible in one txn, but never trust it
      this.token = result.succeeded ? result.revision : kv!.createRevision;
      if (kv && kv.session !== this.session) return this.end('failed', `${this.key} belongs to session ${kv.session ?? 'none'}, not ${this.session}`);
      this.onEvent({ kind: 'queued', key: this.key, token: this.token });
      if (this.resignWanted) return this.deleteKey();
      this.followOwnKey(result.revision + 1);
      this.readCandidates();
    });
  }

  /** Its own key's deletion ends the campaign, leading or not. */
  private followOwnKey(fromRevision: number): void {
    this.stopOwnWatch?.();
    this.stopOwnWatch = this.port.watch(
      this.key,
      fromRevision,
      (events) => {
        if (this.state === 'ended' || this.state === 'resigning') return;
        for (const e of events) {
          if (e.kv.key !== this.key) continue;
          if (e.type === 'delete') return this.end('lost', `${this.key} was deleted at revision ${e.revision} (its session ended, or it was deleted)`);
          if (e.kv.createRevision !== this.token) return this.end('lost', `${this.key} was made again at revision ${e.kv.createRevision} by another campaign`);
        }
      },
      // The watch cannot go on: a fresh read decides (and watches again from it).
      () => {
        if (this.state === 'leading' || this.state === 'waiting') this.readCandidates();
      },
    );
  }

  private readCandidates(): void {
    this.stopPredecessorWatch?.();
    this.stopPredecessorWatch = null;
    const fromLeading = this.state === 'leading';
    if (!fromLeading) this.state = 'reading';
    const epoch = ++this.epoch;
    this.port.request({ kind: 'read', read: { kind: 'range', prefix: electionPrefix(this.name), limit: 0 }, consistency: 'linearizable' }, (answer) => {
      if (epoch !== this.epoch || this.state === 'ended' || this.state === 'resigning') return;
      if (!answer.ok) return this.retryOrFail(answer.code, answer.message, () => this.readCandidates());
      if (answer.kind !== 'read') return this.end('failed', `the store answered a read with a ${answer.kind}`);
      const { kvs, revision } = answer.range;
      const mine = kvs.find((kv) => kv.key === this.key);
      if (!mine || mine.createRevision !== this.token) return this.end('lost', `${this.key} is gone at revision ${revision} (its session ended, or it was deleted)`);
      // The own-key watch restarts from this read, so nothing between them is missed.
      this.followOwnKey(revision + 1);
      const predecessor = predecessorOf(kvs, this.token!);
      if (predecessor === null) {
        if (this.state !== 'leading') {
          this.state = 'leading';
          this.elected = true;
          this.onEvent({ kind: 'elected', leader: leaderFromKv(this.name, mine), revision });
        }
        return;
      }
      if (this.state === 'leading') {
        // Leading already, and an older key exists: impossible in a store whose revisions only grow.
        return this.end('lost', `an older candidate ${predecessor.key} appeared while leading`);
      }
      this.state = 'waiting';
      this.stopPredecessorWatch = this.port.watch(
        predecessor.key,
        revision + 1,
        (events) => {
          if (epoch !== this.epoch || this.state !== 'waiting') return;
          if (events.some((e) => e.kv.key === predecessor.key && e.type === 'delete')) this.readCandidates();
        },
        () => {
          if (epoch === this.epoch && this.state === 'waiting') this.readCandidates();
        },
      );
    });
  }

  private deleteKey(): void {
    this.state = 'resigning';
    this.stopWatches();
    if (this.token === null) return this.end('resigned', 'resigned before the key was made');
    const epoch = ++this.epoch;
    this.port.request({ kind: 'write', op: resignTxn(this.key, this.token) }, (answer) => {
      if (epoch !== this.epoch || this.state !== 'resigning') return;
      if (!answer.ok && RETRYABLE.has(answer.code)) {
        this.cancelRetry = this.port.after(CAMPAIGN_RETRY_MS, () => this.deleteKey());
        return;
      }
      // Deleted, or already gone (the compare failed), or the store is gone: the key is not ours.
      this.end('resigned', answer.ok ? `resigned ${this.key}` : `resigned; deleting ${this.key} failed: ${answer.message}`);
    });
  }

  private retryOrFail(code: KvRequestErrorCode, message: string, again: () => void): void {
    if (!RETRYABLE.has(code)) return this.end('failed', message, code);
    this.cancelRetry = this.port.after(CAMPAIGN_RETRY_MS, () => {
      this.cancelRetry = null;
      if (this.state !== 'ended' && this.state !== 'resigning') again();
    });
  }

  private stopWatches(): void {
    this.stopOwnWatch?.();
    this.stopOwnWatch = null;
    this.stopPredecessorWatch?.();
    this.stopPredecessorWatch = null;
    this.cancelRetry?.();
    this.cancelRetry = null;
  }

  private end(reason: CampaignEndReason, message: string, code?: string): void {
    if (this.state === 'ended') return;
    this.state = 'ended';
    this.epoch++;
    this.stopWatches();
    this.onEvent({ kind: 'ended', reason, message, wasLeader: this.elected, ...(code !== undefined ? { code } : {}) });
  }
}
