/** Builders for the dashboard's unit tests: members, snapshots and events with readable names. */
import type { ApiEvent, MemberResponse, SnapshotEvent, StatusResponse } from '../daemon/api/types.js';
import type { NodeEvent, NodeEventType } from '../protocols/host/events.js';
import type { MemberView } from './model.js';

export function idOf(name: string): string {
  return `12D3KooW${name.padStart(40, 'x')}`;
}

export function member(name: string, overrides: Partial<MemberResponse> = {}): MemberResponse {
  return {
    id: idOf(name),
    name,
    addrs: ['/ip4/127.0.0.1/tcp/4001'],
    state: 'alive',
    incarnation: 1,
    lastSeenMs: 100,
    self: false,
    protocol: 'bully',
    role: 'follower',
    term: 3,
    leader: idOf('alpha'),
    priority: 1,
    version: '0.1.0',
    ...overrides,
  };
}

export function memberView(name: string, overrides: Partial<MemberView> = {}): MemberView {
  return { ...member(name), heardAtMs: 0, ...overrides };
}

export function status(overrides: Partial<StatusResponse> = {}): StatusResponse {
  return {
    id: idOf('alpha'),
    name: 'alpha',
    cluster: 'lab',
    protocol: 'bully',
    role: 'leader',
    term: 3,
    leader: { id: idOf('alpha'), name: 'alpha' },
    fencingToken: 11,
    members: { alive: 3, suspect: 0, dead: 0, left: 0 },
    leaseRemainingMs: 2600,
    bootstrap: { expect: 3, seen: 3, complete: true },
    security: { psk: true },
    revision: 7,
    uptimeMs: 60_000,
    version: '0.1.0',
    ...overrides,
  };
}

/** alpha leads, bravo and charlie follow it. */
export function threeMembers(): MemberResponse[] {
  return [
    member('alpha', { self: true, role: 'leader', lastSeenMs: 0, priority: 3 }),
    member('bravo', { priority: 2 }),
    member('charlie', { priority: 1 }),
  ];
}

export function snapshotEvent(members: MemberResponse[] = threeMembers(), s: StatusResponse = status()): SnapshotEvent {
  return { type: 'snapshot', at: '2024-05-01T12:00:00.000Z', status: s, members };
}

/** An event of `type` with exactly the fields that type has, stamped with `at`. */
export function event<T extends NodeEventType>(type: T, fields: Omit<Extract<NodeEvent, { type: T }>, 'type'>, at = '2024-05-01T12:00:01.000Z'): Extract<ApiEvent, { type: T }> {
  // The parameters pin the fields to the type; the compiler cannot follow that through the spread.
  return { type, at, ...fields } as unknown as Extract<ApiEvent, { type: T }>;
}

/** Raft: alpha leads term 5 with bravo voting and charlie learning; as the leader it reports each one's lag. */
export function raftStatus(overrides: Partial<StatusResponse> = {}, lags: { bravo: number; charlie: number } = { bravo: 0, charlie: 140 }): StatusResponse {
  const ref = (name: string) => ({ id: idOf(name), name });
  const peer = (name: string, vote: 'voter' | 'learner', lag: number) => ({ id: idOf(name), name, vote, matchIndex: 200 - lag, nextIndex: 201 - lag, lag, lastContactMs: 50, state: 'replicate' as const });
  return status({
    protocol: 'raft',
    term: 5,
    raft: {
      commitIndex: 200,
      appliedIndex: 200,
      lastIndex: 200,
      lastTerm: 5,
      voters: [ref('alpha'), ref('bravo')],
      learners: [ref('charlie')],
      snapshotIndex: 0,
      peers: [peer('bravo', 'voter', lags.bravo), peer('charlie', 'learner', lags.charlie)],
    },
    ...overrides,
  });
}

/** threeMembers() on Raft at term 5. */
export function raftMembers(): MemberResponse[] {
  return threeMembers().map((m) => ({ ...m, protocol: 'raft', term: 5 }));
}
