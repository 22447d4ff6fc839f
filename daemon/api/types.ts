/**
 * The control API contract (issue 2, section 7). The dashboard, scripts, tests and users'
 * programs build on these shapes; change them only additively.
 */
import type { MemberState, NodeId, ProtocolName, Role } from '../../protocols/types.js';
import type { CommandResult, LeadershipCommand } from '../../protocols/election.js';

export interface NodeRef {
  id: NodeId;
  name: string;
}

export interface StatusResponse {
  id: NodeId;
  name: string;
  cluster: string;
  protocol: ProtocolName;
  role: Role;
  term: number;
  leader: NodeRef | null;
  fencingToken: number;
  members: Record<MemberState, number>;
  uptimeMs: number;
  version: string;
}

export interface MemberResponse {
  id: NodeId;
  name: string;
  addrs: string[];
  state: MemberState;
  incarnation: number;
  /** ms since last heard first-hand; 0 for self. */
  lastSeenMs: number;
  self: boolean;
  protocol: ProtocolName;
  role: Role;
  term: number;
  /** The id this member follows, or null. */
  leader: NodeId | null;
  priority: number;
  version: string;
}

export interface MembersResponse {
  members: MemberResponse[];
}

export interface LeaderResponse {
  leader: NodeRef | null;
  term: number;
  fencingToken: number;
}

/** One server-sent event: `type`, `at` (ISO time) and the fields of that type. */
export interface ApiEvent {
  type: string;
  at: string;
  [field: string]: unknown;
}

/** The first event on every /v1/events connection. */
export interface SnapshotEvent extends ApiEvent {
  type: 'snapshot';
  status: StatusResponse;
  members: MemberResponse[];
}

export interface ApiErrorBody {
  error: { code: string; message: string };
}

/** What the daemon exposes to the API server; the server owns HTTP only. */
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
}
