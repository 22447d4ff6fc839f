/** A scriptable ControlSource for tests of the API server, its client and the CLI. */
import type { CommandResult, LeadershipCommand } from '../../protocols/election.js';
import type { NodeEvent } from '../../protocols/host/events.js';
import { stampEvent } from './event-codec.js';
import type { ApiEvent, ControlSource, LeaderResponse, MemberResponse, MembersResponse, StatusResponse } from './types.js';

export const SELF_ID = '12D3KooWSelfSelfSelfSelfSelfSelfSelfSelfSelf0001';
export const PEER_ID = '12D3KooWPeerPeerPeerPeerPeerPeerPeerPeerPeer0002';

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
      revision: this.leaderNow.revision,
      uptimeMs: 1234,
      version: '0.1.0',
    };
  }

  members(): MembersResponse {
    return { members: this.memberList.map((m) => ({ ...m })) };
  }

  leader(): LeaderResponse {
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
