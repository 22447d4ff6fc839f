/**
 * A fake daemon for the dashboard's end-to-end test: the real control-API server over a Unix
 * socket, fed by a scriptable source with five members. The test drives it (events, leader
 * changes) and stops and restarts it to prove the dashboard reconnects.
 */
import { startApiServer, type ApiServer } from '../../daemon/api/server.js';
import { FakeControlSource, fakeMember } from '../../daemon/api/testing.js';
import type { MemberResponse } from '../../daemon/api/types.js';

export const FAKE_NAMES = ['alpha', 'bravo', 'charlie', 'delta', 'echo'] as const;

export function fakeId(name: string): string {
  return `12D3KooWFake${name.padStart(36, 'x')}`;
}

/** Five alive members; `alpha` (the viewed daemon) leads and everyone follows it. */
export function fiveMembers(): MemberResponse[] {
  const leader = fakeId('alpha');
  return FAKE_NAMES.map((name, i) =>
    fakeMember({
      id: fakeId(name),
      name,
      self: i === 0,
      role: i === 0 ? 'leader' : 'follower',
      leader,
      lastSeenMs: i === 0 ? 0 : 200 * i,
      priority: 5 - i,
      addrs: [`/ip4/127.0.0.1/tcp/${4001 + i}`],
    }),
  );
}

export class FakeDaemon {
  readonly source = new FakeControlSource();
  private server: ApiServer | null = null;

  constructor(readonly socketPath: string) {
    this.source.memberList = fiveMembers();
    this.source.leaderNow = { leader: { id: fakeId('alpha'), name: 'alpha' }, term: 3, fencingToken: 11, role: 'leader', leaseRemainingMs: 2500, revision: 100 };
  }

  get address(): string {
    return `unix:${this.socketPath}`;
  }

  async start(): Promise<void> {
    if (this.server) return;
    this.server = await startApiServer({ source: this.source, tcpListen: null, socketPath: this.socketPath, token: null, keepAliveMs: 1000 });
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = null;
    await server?.close();
  }

  /** Moves leadership to `name`: every member follows it, and a leader-changed event goes out. */
  changeLeader(name: string): void {
    const id = fakeId(name);
    this.source.memberList = this.source.memberList.map((m) => ({ ...m, leader: id, role: m.id === id ? 'leader' : 'follower', term: this.source.leaderNow.term + 1 }));
    this.source.changeLeader(name, id);
  }
}
