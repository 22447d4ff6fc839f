/** A scriptable ControlSource for tests of the API server, its client and the CLI. */
import type { CommandResult, LeadershipCommand } from '../../protocols/election.js';
import type { KvAnswer, KvRequest } from '../../protocols/kv/requests.js';
import { createKvStore } from '../../protocols/kv/store.js';
import type { KvEvent } from '../../protocols/kv/types.js';
import type { NodeEvent } from '../../protocols/host/events.js';
import { stampEvent } from './event-codec.js';
import { ConfigError } from '../errors.js';
import type { ApiEvent, ControlSource, LeaderResponse, MemberResponse, MembersResponse, RaftResponse, ReloadResponse, StatusResponse } from './types.js';

export const SELF_ID = '12D3KooWSelfSelfSelfSelfSelfSelfSelfSelfSelf0001';
export const PEER_ID = '12D3KooWPeerPeerPeerPeerPeerPeerPeerPeerPeer0002';
export const GAMMA_ID = '12D3KooWGammaGammaGammaGammaGammaGammaGammaGa0003';

export function fakeMember(overrides: Partial<MemberResponse> = {}): MemberResponse {
  return {
    id: SELF_ID,
    name: 'alpha',
    addrs: ['/ip4/127.0.0.1/tcp/4001'],
    state: 'alive',
    incarnation: 7,
    lastSeenMs: 0,
    self: true,
    protocol: 'bully',
    role: 'leader',
    term: 3,
    leader: SELF_ID,
    priority: 5,
    version: '0.1.0',
    ...overrides,
  };
}

export class FakeControlSource implements ControlSource {
  readonly listeners = new Set<(event: ApiEvent) => void>();
  readonly commands: LeadershipCommand[] = [];
  memberList: MemberResponse[] = [
    fakeMember(),
    fakeMember({ id: PEER_ID, name: 'beta', self: false, role: 'follower', lastSeenMs: 312, incarnation: 2, priority: 1, addrs: ['/ip4/127.0.0.1/tcp/4002'] }),
  ];
  leaderNow: LeaderResponse = { leader: { id: SELF_ID, name: 'alpha' }, term: 3, fencingToken: 11, role: 'leader', leaseRemainingMs: 2500, revision: 100 };
  /** What `command` answers; null means "not implemented" (501). */
  commandResult: ((command: LeadershipCommand) => Promise<CommandResult>) | null = async () => ({ ok: true, detail: 'done' });
  failStatus: Error | null = null;
  /** What /v1/status says of the swarm; a key by default, so only tests about it see the open state. */
  security: StatusResponse['security'] = { psk: true };
  /** What GET /v1/raft answers; null (the default) is a Bully node. Set it with `useRaft`. */
  raftView: RaftResponse | null = null;
  /** The reasons `stop` was called with (POST /v1/leave). */
  readonly stops: string[] = [];
  /** Runs on `stop`, e.g. to close the API server as the daemon would. */
  onStop: ((reason: string) => void) | null = null;
  /** What `reload` answers, or the ConfigError it throws (a malformed config; see `refuseReload`). */
  reloadResult: ReloadResponse | ConfigError = {
    applied: [{ field: 'log.level', from: 'info', to: 'debug' }],
    needsRestart: [{ field: 'messaging.maxFrameBytes', from: 65536, to: 131072 }],
    unchanged: false,
  };
  /** How many times `reload` was called (POST /v1/reload). */
  reloads = 0;

  status(): StatusResponse {
    if (this.failStatus) throw this.failStatus;
    return {
      id: SELF_ID,
      name: 'alpha',
      cluster: 'test',
      protocol: 'bully',
      role: this.leaderNow.role,
      term: this.leaderNow.term,
      leader: this.leaderNow.leader,
      fencingToken: this.leaderNow.fencingToken,
      members: { alive: 2, suspect: 0, dead: 0, left: 0 },
      leaseRemainingMs: this.leaderNow.leaseRemainingMs,
      bootstrap: { expect: 3, seen: 3, complete: true },
      security: { ...this.security },
      ...(this.raftView
        ? {
            protocol: 'raft' as const,
            raft: {
              commitIndex: this.raftView.commitIndex,
              appliedIndex: this.raftView.appliedIndex,
              lastIndex: this.raftView.lastIndex,
              lastTerm: this.raftView.lastTerm,
              voters: this.raftView.configuration.voters.map((v) => ({ ...v })),
              learners: this.raftView.configuration.learners.map((v) => ({ ...v })),
              snapshotIndex: this.raftView.snapshotIndex,
              peers: this.raftView.peers.map((p) => ({ ...p })),
            },
          }
        : {}),
      revision: this.leaderNow.revision,
      uptimeMs: 1234,
      version: '0.1.0',
    };
  }

  members(): MembersResponse {
    return { members: this.memberList.map((m) => ({ ...m })) };
  }

  /** How many times the server asked for the leader (a client's polling rate shows in it). */
  leaderCalls = 0;

  leader(): LeaderResponse {
    this.leaderCalls++;
    return { ...this.leaderNow };
  }

  subscribe(listener: (event: ApiEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  command(command: LeadershipCommand): Promise<CommandResult> | null {
    this.commands.push(command);
    return this.commandResult ? this.commandResult(command) : null;
  }

  async metrics(): Promise<{ contentType: string; body: string }> {
    return { contentType: 'text/plain; version=0.0.4; charset=utf-8', body: '# TYPE conclave_term gauge\nconclave_term 3\n' };
  }

  raft(): RaftResponse | null {
    return this.raftView ? structuredClone(this.raftView) : null;
  }

  /** The store `kv` answers from: a real one, each write applied at the next index, as one node of a cluster would. */
  kvStore = createKvStore();
  private kvIndex = 0;
  /** The requests `kv` was asked, in order. */
  readonly kvRequests: KvRequest[] = [];
  /** When set, `kv` answers this instead of the store (a refusal: no-leader, not-raft, timeout …). */
  kvRefusal: KvAnswer | null = null;
  readonly kvListeners = new Set<(events: KvEvent[]) => void>();

  subscribeKv(listener: (events: KvEvent[]) => void): () => void {
    this.kvListeners.add(listener);
    return () => this.kvListeners.delete(listener);
  }

  async kv(request: KvRequest): Promise<KvAnswer> {
    this.kvRequests.push(structuredClone(request));
    if (this.kvRefusal) return this.kvRefusal;
    if (request.kind === 'write') {
      const index = ++this.kvIndex;
      const result = this.kvStore.apply(request.op, index);
      if (result.ok && result.events.length > 0) for (const listener of this.kvListeners) listener(result.events);
      return { ok: true, kind: 'write', index, result };
    }
    const read = request.read;
    if (read.kind === 'range') return { ok: true, kind: 'read', range: this.kvStore.range(read.prefix, read.limit) };
    if (read.kind === 'events') {
      const found = this.kvStore.eventsSince(read.fromRevision, read.filter);
      return found.ok ? { ok: true, kind: 'events', events: found.events, revision: found.revision } : { ok: false, code: found.code, message: found.message };
    }
    const { kv, revision } = this.kvStore.read(read.key);
    return { ok: true, kind: 'read', range: { kvs: kv ? [kv] : [], more: false, revision } };
  }

  stop(reason: string): void {
    this.stops.push(reason);
    this.onStop?.(reason);
  }

  reload(): ReloadResponse {
    this.reloads++;
    if (this.reloadResult instanceof ConfigError) throw this.reloadResult;
    return structuredClone(this.reloadResult);
  }

  /** Makes `reload` refuse, as a daemon whose config file no longer loads does. */
  refuseReload(issues = [{ path: 'log.level', message: 'expected one of trace, debug, info, warn, error, silent; got "loud"' }]): void {
    this.reloadResult = new ConfigError(issues, 'invalid configuration (config file /etc/conclave.yaml)');
  }

  /**
   * Makes this a Raft node: alpha (self) and beta vote, gamma learns. As the leader (the default)
   * it reports beta's and gamma's progress; as a follower of beta it reports none.
   */
  useRaft(role: 'leader' | 'follower' = 'leader'): RaftResponse {
    const leader = role === 'leader' ? { id: SELF_ID, name: 'alpha' } : { id: PEER_ID, name: 'beta' };
    this.leaderNow = { ...this.leaderNow, role, leader, leaseRemainingMs: role === 'leader' ? 2500 : null };
    this.raftView = {
      id: SELF_ID,
      name: 'alpha',
      role,
      term: this.leaderNow.term,
      leader,
      commitIndex: 42,
      appliedIndex: 42,
      lastIndex: 44,
      lastTerm: this.leaderNow.term,
      snapshotIndex: 0,
      configuration: { voters: [{ id: SELF_ID, name: 'alpha' }, { id: PEER_ID, name: 'beta' }], learners: [{ id: GAMMA_ID, name: 'gamma' }] },
      peers:
        role === 'leader'
          ? [
              { id: PEER_ID, name: 'beta', vote: 'voter', matchIndex: 44, nextIndex: 45, lag: 0, lastContactMs: 40, state: 'replicate' },
              { id: GAMMA_ID, name: 'gamma', vote: 'learner', matchIndex: 30, nextIndex: 31, lag: 14, lastContactMs: null, state: 'probe' },
            ]
          : [],
      revision: this.leaderNow.revision,
    };
    this.memberList = this.memberList.map((m) => ({ ...m, protocol: 'raft', leader: leader.id, role: m.id === leader.id ? 'leader' : 'follower' }));
    if (!this.memberList.some((m) => m.id === GAMMA_ID)) {
      this.memberList.push(fakeMember({ id: GAMMA_ID, name: 'gamma', self: false, protocol: 'raft', role: 'follower', leader: leader.id, lastSeenMs: 500, addrs: ['/ip4/127.0.0.1/tcp/4003'] }));
    }
    return this.raftView;
  }

  emit(event: NodeEvent): void {
    const stamped = stampEvent(event);
    for (const listener of [...this.listeners]) listener(stamped);
  }

  /**
   * Sends whatever `value` is as an event, as a broken daemon or one of another version might:
   * for tests of what reads the stream. The server needs only a string `type` to frame it.
   */
  emitRaw(value: { type: string } & Record<string, unknown>): void {
    for (const listener of [...this.listeners]) listener(value as unknown as ApiEvent);
  }

  /** A new leader: the fencing token grows, the revision moves and a `leader-changed` event goes out. */
  changeLeader(name: string, id: string): void {
    const role = id === SELF_ID ? 'leader' : 'follower';
    const from = this.leaderNow.leader;
    this.leaderNow = {
      leader: { id, name },
      term: this.leaderNow.term + 1,
      fencingToken: this.leaderNow.fencingToken + 1,
      role,
      leaseRemainingMs: role === 'leader' ? 2500 : null,
      revision: this.leaderNow.revision + 1,
    };
    this.emit({ type: 'leader-changed', from, to: { id, name }, term: this.leaderNow.term, fencingToken: this.leaderNow.fencingToken, leaderlessMs: 0 });
  }
}
