/**
 * The control API contract (issue 2, section 7). The dashboard, scripts, tests and users'
 * programs build on these shapes; change them only additively.
 */
import type { MemberState, NodeId, ProtocolName, Role } from '../../protocols/types.js';
import type { CommandResult, LeadershipCommand } from '../../protocols/election.js';
import type { MemberView, NodeEvent, NodeRef } from '../../protocols/host/events.js';
import type { KvAnswer, KvRequest } from '../../protocols/kv/requests.js';
import type { ElectionLeader } from '../../protocols/kv/election.js';
import type { KeyValue, KeyRevisions, KvCompare, KvEvent, KvTxnOp, KvTxnOpResult } from '../../protocols/kv/types.js';
import type { FieldChange } from '../config/reload.js';
import type { ConfigIssue } from '../errors.js';

export type { NodeRef };

export interface StatusResponse {
  id: NodeId;
  name: string;
  cluster: string;
  /** The protocol this node runs (the cluster's, once it joined one; see `era`). */
  protocol: ProtocolName;
  /** The protocol era (README "Switching protocols"); absent from daemons before eras. */
  era?: ProtocolEraResponse;
  role: Role;
  term: number;
  leader: NodeRef | null;
  fencingToken: number;
  members: Record<MemberState, number>;
  /** On the leader: how long its lease still runs on its own monotonic clock; null on any other node. */
  leaseRemainingMs: number | null;
  /** Whether this node has seen its cluster reach `cluster.bootstrapExpect` members (until then it never leads). */
  bootstrap: BootstrapStatus;
  /** Whether the swarm is closed to peers without the pre-shared key. */
  security: SecurityStatus;
  /**
   * Older daemons (before the host core) kept running while their election state could not be
   * written and reported the failure here. A daemon now stops with exit status 1 when a write
   * fails, so it never sends this; clients still show it when an older daemon does.
   */
  persistError?: PersistErrorStatus | null;
  /** Raft only: where this node's log stands and who votes. */
  raft?: RaftStatusResponse;
  /** Same as LeaderResponse.revision. */
  revision: number;
  uptimeMs: number;
  version: string;
}

export interface ProtocolEraResponse {
  /** Raised by one at every switch of the cluster; 0 until this node was part of a cluster with a leader. */
  era: number;
  /** The protocol this node asks for (its config, or an operator's order); a switch starts once most members ask for one. */
  requested: ProtocolName;
  /** A switch this node holds (announced by the leader, or acknowledged): to which protocol, how many members hold it, of how many, and how many it needs. */
  switch: { to: ProtocolName; holding: number; known: number; needed: number } | null;
  /** A switch ordered on this node (`conclave protocol switch`) and not yet carried out. */
  ordered: ProtocolName | null;
}

export interface RaftStatusResponse {
  /** The highest log index known committed (a majority holds it). */
  commitIndex: number;
  /** The highest index applied to the state machine. */
  appliedIndex: number;
  lastIndex: number;
  lastTerm: number;
  /** The configuration in the log: who votes; learners follow the log without voting. */
  voters: NodeRef[];
  learners: NodeRef[];
  /** Index of the newest snapshot (0: none). Absent from daemons older than it. */
  snapshotIndex?: number;
  /** On the leader: each other member's replication progress (as in GET /v1/raft); empty elsewhere. Absent from older daemons. */
  peers?: RaftPeerProgressResponse[];
  /** The key-value store as applied here: its revision and how many keys it holds. Absent from older daemons. */
  kv?: { revision: number; keys: number };
}

/**
 * `GET /v1/raft`: this node's view of the Raft log and configuration; on the leader also the
 * replication progress of every other member (etcd's Progress). Under Bully: 409 `not-raft`.
 */
export interface RaftResponse {
  id: NodeId;
  name: string;
  role: Role;
  term: number;
  /** The leader this node knows, or null: on a follower, where the progress below lives. */
  leader: NodeRef | null;
  commitIndex: number;
  appliedIndex: number;
  lastIndex: number;
  lastTerm: number;
  /** Index of the newest snapshot (0: none); entries up to it are compacted away. */
  snapshotIndex: number;
  configuration: { voters: NodeRef[]; learners: NodeRef[] };
  /** On the leader: every other member it replicates to. Empty on any other node (ask the leader). */
  peers: RaftPeerProgressResponse[];
  /** Same as LeaderResponse.revision. */
  revision: number;
}

/** One follower as the leader sees it. */
export interface RaftPeerProgressResponse {
  id: NodeId;
  name: string;
  /** A voter counts toward the quorum; a learner only follows the log. */
  vote: 'voter' | 'learner';
  /** The highest index known replicated there. */
  matchIndex: number;
  /** The next index the leader sends it. */
  nextIndex: number;
  /** The leader's last index minus matchIndex. */
  lag: number;
  /** ms since the leader last heard from it in this term; null: not yet. */
  lastContactMs: number | null;
  /** probe: one append at a time until it accepts; replicate: pipelined; snapshot: a snapshot is on its way. */
  state: 'probe' | 'replicate' | 'snapshot';
}

/** `POST /v1/leave`: what the daemon did before it began its graceful stop. */
export interface LeaveResponse {
  ok: true;
  /** True when the election removed this node from its configuration (Raft); false when it has none to leave (Bully) or `force` skipped a failed removal. */
  removed: boolean;
  /** What happened, in words: the removal's answer, or why there was none. */
  detail: string;
  /** Always true: the daemon stops (hand-off, leave announcement) once this reply is sent. */
  stopping: true;
}

/**
 * `POST /v1/reload` (`conclave reload`, also SIGHUP): the daemon loaded its config again from the
 * file, environment and flags it started with. `applied`: changed and in effect now (a `protocol`
 * with `note: "requested"` was asked of the cluster, which switches on its own); `needsRestart`:
 * changed, but the daemon keeps the running value until restarted. Values of secrets are
 * `<redacted>`. A config that does not load is refused whole: 400 `invalid-config`
 * (InvalidConfigBody), and the daemon keeps running the config it had.
 */
export interface ReloadResponse {
  applied: FieldChange[];
  needsRestart: FieldChange[];
  /** Nothing differed from the running config. */
  unchanged: boolean;
}

/** The body of a 400 `invalid-config`: the error, and every problem by field path, as at start. */
export interface InvalidConfigBody extends ApiErrorBody {
  issues: ConfigIssue[];
}

export interface BootstrapStatus {
  /** `cluster.bootstrapExpect`. */
  expect: number;
  /** Members this node has seen, itself and those it remembers durably included. */
  seen: number;
  /** True once `seen` reached `expect` (or this node followed a leader): durable, never goes back. */
  complete: boolean;
}

export interface SecurityStatus {
  /**
   * True when `security.pskFile` is set: only nodes holding the key can connect. False: the
   * cluster is open to anyone who can reach a node and knows the cluster name (mDNS announces it).
   */
  psk: boolean;
}

export interface PersistErrorStatus {
  /** The file that could not be written. */
  path: string;
  /** The errno code (`ENOSPC`, `EROFS`, `EACCES`, …), null when the cause had none. */
  code: string | null;
  /** The whole error, naming the file and its cause. */
  message: string;
}

/** One member in `GET /v1/members` and the snapshot: the host core's MemberView, as is. */
export type MemberResponse = MemberView;

export interface MembersResponse {
  members: MemberResponse[];
}

export interface LeaderResponse {
  /** The leader this node knows to hold its lease (itself when leading), or null. */
  leader: NodeRef | null;
  term: number;
  fencingToken: number;
  /** This node's own role. */
  role: Role;
  /** On the leader: how long its lease still runs on its own monotonic clock; null on any other node. */
  leaseRemainingMs: number | null;
  /**
   * Changes whenever leader, role, term or fencing token change at this node (never for
   * leaseRemainingMs alone). Pass it back as `after` to long-poll for the next change. Opaque:
   * compare for equality only; a restarted daemon starts from a new value.
   */
  revision: number;
}

/**
 * One live event on /v1/events: a NodeEvent (protocols/host/events.ts, the one union of what a
 * node reports) with the ISO time the daemon stamped it with. On the wire: `type`, `at`, then the
 * fields of that type.
 */
export type ApiEvent = NodeEvent & { at: string };

/** The first event on every /v1/events connection: the node's status and members as they are. */
export interface SnapshotEvent {
  type: 'snapshot';
  at: string;
  status: StatusResponse;
  members: MemberResponse[];
}

/** Everything a /v1/events stream carries; consumers switch on `type`. */
export type StreamEvent = ApiEvent | SnapshotEvent;
export type StreamEventType = StreamEvent['type'];

export interface ApiErrorBody {
  error: { code: string; message: string };
}

/** What the daemon exposes to the API server; the server owns HTTP only. */
/**
 * The key-value store (Raft only; issue 12). Keys are UTF-8 text of at most 1024 bytes, values
 * at most 64 KiB (and one log entry must fit half a frame, messaging.maxFrameBytes).
 *
 * - `GET /v1/kv/{key}` or `GET /v1/kv?key=K` → KvGetResponse (kv null when absent). Add
 *   `serializable=true` for this node's own, possibly stale, store; linearizable otherwise.
 * - `GET /v1/kv?prefix=P&limit=N` → KvRangeResponse (keys in UTF-8 byte order; limit 0 or absent: all).
 * - `PUT /v1/kv/{key}` (or `?key=K`) with `{"value": "...", "ifModRevision"?: n, "session"?: id}`
 *   → KvPutResponse. `ifModRevision` 0 creates only if absent; n sets only if the key's
 *   modRevision is n. A failed compare is 409 `compare-failed` with `current` (the key's revisions, null when absent).
 * - `DELETE /v1/kv/{key}` (or `?key=K`), optional `?ifModRevision=n` → KvDeleteResponse; `?prefix=P` deletes every key under P.
 * - `POST /v1/kv/txn` with `{"compare": [...], "success": [...], "failure": [...]}` → KvTxnResponse.
 * - `GET /v1/kv/watch?key=K|prefix=P[&fromRevision=R]` → server-sent events `put` / `delete`, each
 *   a KvEvent (`id:` its revision), in revision order with no gaps; 410 `compacted` (the message
 *   names the oldest revision held) when this node's history no longer reaches back to R.
 * Errors: 501 `not-raft` under Bully; 503 `no-leader` / `busy` / `shutting-down` (retry);
 * 504 `timeout` (a write may still be applied); 413 `entry-too-large` and the store's size
 * refusals (`key-too-large`, `value-too-large`, `too-many-keys`, `store-full`); 400 for a
 * malformed request and the store's other refusals; 409 `compare-failed`. The keys `txn` and
 * `watch`, and keys with a `.` or `..` path segment, need the `?key=` form.
 */
export interface KvGetResponse {
  kv: KeyValue | null;
  /** The store's revision the read saw. */
  revision: number;
}
export interface KvRangeResponse {
  kvs: KeyValue[];
  /** The limit cut the answer short. */
  more: boolean;
  revision: number;
}
export interface KvPutResponse {
  /** The store's revision after the write. */
  revision: number;
  prevKv: KeyValue | null;
  /** The log index the write was applied at. */
  index: number;
}
export interface KvDeleteResponse {
  revision: number;
  deleted: number;
  index: number;
}
export interface KvTxnRequest {
  compare: KvCompare[];
  success: KvTxnOp[];
  failure: KvTxnOp[];
}
export interface KvTxnResponse {
  succeeded: boolean;
  responses: KvTxnOpResult[];
  revision: number;
  index: number;
}
/**
 * Sessions (etcd's leases, Consul's sessions): `POST /v1/sessions` with `{"ttlMs": n}` (default
 * 10000, at least 1000) opens one owned by this node → SessionResponse; `POST
 * /v1/sessions/{id}/keepalive` restarts its TTL → SessionResponse; `DELETE /v1/sessions/{id}` ends
 * it → SessionRevokeResponse. It also ends when its TTL passes without a keep-alive (timed by
 * the leader) or when membership declares its node dead or gone; keys put with `"session": id`
 * are deleted with it. 404 `session-not-found`, 400 `ttl-out-of-range`, 413 `too-many-sessions`.
 */
export interface SessionResponse {
  id: string;
  ttlMs: number;
  index: number;
}
export interface SessionRevokeResponse {
  id: string;
  /** Keys deleted with it. */
  deleted: number;
  index: number;
}
/** The body of a 409 `compare-failed`: the error, and the key's revisions now (null: absent). */
export interface KvCompareFailedBody extends ApiErrorBody {
  current: KeyRevisions;
  /** The store's revision when the compare failed. */
  revision: number;
}

/**
 * Named elections on the store (Raft only; issue 12 section 2): each election `name` (letters,
 * digits, `.`, `_`, `-`) keeps its candidates under `conclave/elections/{name}/{session}`; the
 * lowest create revision leads, and that revision is its fencing token.
 *
 * - `GET /v1/elections` → ElectionsResponse: every election with candidates, and its leader.
 * - `GET /v1/elections/{name}` → ElectionResponse: its leader (null for none) and its queue.
 * - `POST /v1/elections/{name}/campaign[?waitMs=N]` with `{"session": id, "value"?: "…"}` →
 *   CampaignResponse once this candidate leads, or `elected: false` after waitMs (default 60 s, at
 *   most 300 s) with the candidate still queued. The session must exist (`POST /v1/sessions`) and
 *   is kept alive by the caller; the candidate's key goes with it. A campaign with the same
 *   session again resumes its place. Closing the request before it answers withdraws the
 *   candidate (its key is deleted). 404 `session-not-found`; 409 `lost` when the key was deleted
 *   while waiting (its session ended).
 * - `POST /v1/elections/{name}/resign` with `{"session": id, "token"?: n}` → ResignResponse:
 *   deletes the candidate's key (only the one created at revision `token`, when given).
 * - `GET /v1/elections/{name}/observe` → server-sent events `leader`, each an ElectionObserved:
 *   the leader now, then every change of leader, in revision order.
 */
export interface ElectionCandidate {
  key: string;
  session: string | null;
  value: string;
  /** The key's create revision: its place in the queue, and its fencing token once it leads. */
  token: number;
}
export interface ElectionResponse {
  name: string;
  leader: ElectionLeader | null;
  /** In the order they would lead; the first is the leader. */
  candidates: ElectionCandidate[];
  revision: number;
}
export interface ElectionsResponse {
  elections: { name: string; leader: ElectionLeader | null; candidates: number }[];
  revision: number;
}
export type CampaignResponse =
  /** `revision`: the store's revision at which it was found to lead. */
  | { elected: true; leader: ElectionLeader; revision: number }
  /** `waitMs` passed first: the candidate stays queued (its key, bound to its session); campaign again to go on waiting. */
  | { elected: false; queued: { key: string; token: number } | null };
export interface ResignResponse {
  /** False when the key was already gone (or is a newer campaign's, when `token` was given). */
  resigned: boolean;
  revision: number;
}
export interface ElectionObserved {
  name: string;
  leader: ElectionLeader | null;
  revision: number;
}

export interface ControlSource {
  status(): StatusResponse;
  members(): MembersResponse;
  leader(): LeaderResponse;
  /** Subscribe to live events; returns the unsubscribe function. */
  subscribe(listener: (event: ApiEvent) => void): () => void;
  /** Routes a leadership command to the election protocol; null when none implements it (501). */
  command(command: LeadershipCommand): Promise<CommandResult> | null;
  /** Prometheus text exposition of the daemon's metrics. */
  metrics(): Promise<{ contentType: string; body: string }>;
  /** A request to the replicated key-value store; answered `not-raft` under Bully. */
  kv(request: KvRequest): Promise<KvAnswer>;
  /** Every change the store applies on this node, in revision order; returns the unsubscribe function. */
  subscribeKv(listener: (events: KvEvent[]) => void): () => void;
  /**
   * `POST /v1/protocol/switch`: orders the cluster to run `protocol`; resolves once this node runs
   * it, or with the reason it does not yet. Absent: the daemon cannot switch (501).
   */
  orderProtocol?(protocol: ProtocolName): Promise<CommandResult>;
  /** The Raft view for GET /v1/raft; null when this node does not run Raft (409 `not-raft`). */
  raft(): RaftResponse | null;
  /**
   * Begins the daemon's graceful stop, the same as SIGTERM (hand-off, leave announcement, exit 0).
   * Returns at once; `reason` is logged.
   */
  stop(reason: string): void;
  /**
   * Loads the config again and applies what can change live (POST /v1/reload). Throws the
   * loader's ConfigError, having applied nothing, when the config does not load.
   */
  reload(): ReloadResponse;
}
