/** The daemon's side of the control API: answers from the runtime's current view. */
import type { ElectionLogStatus } from '../protocols/election.js';
import type { NodeRef } from '../protocols/host/events.js';
import { MEMBER_STATES, type MemberState, type NodeId } from '../protocols/types.js';
import type { ControlSource, LeaderResponse, MembersResponse, RaftPeerProgressResponse, RaftResponse, ReloadResponse, StatusResponse } from './api/types.js';
import type { ConclaveConfig } from './config/types.js';
import type { Runtime } from './runtime.js';
import { securityStatus } from './security.js';
import { VERSION } from './version.js';

export interface ControlInit {
  runtime: Runtime;
  config: ConclaveConfig;
  metrics: () => Promise<{ contentType: string; body: string }>;
  /** Begins the daemon's graceful stop (what SIGTERM does); `POST /v1/leave` calls it. */
  stop: (reason: string) => void;
  /** Reloads the config (what SIGHUP does); `POST /v1/reload` calls it. */
  reload: () => ReloadResponse;
}

export function createControlSource({ runtime, config, metrics, stop, reload }: ControlInit): ControlSource {
  const ref = (id: NodeId): NodeRef => runtime.nodeRef(id)!;
  const leader = (): LeaderResponse => {
    const { summary, revision, status } = runtime.leadership();
    return {
      leader: runtime.nodeRef(summary.leader),
      term: summary.term,
      fencingToken: summary.fencingToken,
      role: summary.role,
      leaseRemainingMs: status.leaseRemainingMs,
      revision,
    };
  };
  return {
    status(): StatusResponse {
      const counts = Object.fromEntries(MEMBER_STATES.map((state) => [state, 0])) as Record<MemberState, number>;
      let name = config.node.name;
      for (const member of runtime.members()) {
        counts[member.state]++;
        if (member.self) name = member.name;
      }
      const { summary, revision, status } = runtime.leadership();
      const era = runtime.protocolStatus();
      return {
        id: runtime.selfId,
        name,
        cluster: config.cluster.name,
        protocol: era.running,
        era: { era: era.era, requested: era.requested, switch: era.switch, ordered: era.ordered },
        role: summary.role,
        term: summary.term,
        leader: runtime.nodeRef(summary.leader),
        fencingToken: summary.fencingToken,
        members: counts,
        leaseRemainingMs: status.leaseRemainingMs,
        bootstrap: status.bootstrap,
        security: securityStatus(config),
        ...(status.log
          ? {
              raft: {
                commitIndex: status.log.commitIndex,
                appliedIndex: status.log.appliedIndex,
                ...(status.log.kv ? { kv: status.log.kv } : {}),
                lastIndex: status.log.lastIndex,
                lastTerm: status.log.lastTerm,
                voters: status.log.voters.map(ref),
                learners: status.log.learners.map(ref),
                snapshotIndex: status.log.snapshotIndex,
                peers: peerProgress(status.log, ref),
              },
            }
          : {}),
        revision,
        uptimeMs: Math.round(runtime.uptimeMs),
        version: VERSION,
      };
    },
    members(): MembersResponse {
      return { members: runtime.members().map((m) => runtime.toMemberResponse(m)) };
    },
    leader,
    subscribe: (listener) => runtime.subscribe(listener),
    command: (command) => runtime.command(command),
    orderProtocol: (protocol) => runtime.orderProtocol(protocol),
    kv: (request) => runtime.kv(request),
    subscribeKv: (listener) => runtime.subscribeKv(listener),
    metrics,
    raft(): RaftResponse | null {
      const { summary, revision, status } = runtime.leadership();
      const log = status.log;
      if (!log) return null;
      return {
        id: runtime.selfId,
        name: runtime.nodeRef(runtime.selfId)?.name ?? config.node.name,
        role: summary.role,
        term: summary.term,
        leader: runtime.nodeRef(summary.leader),
        commitIndex: log.commitIndex,
        appliedIndex: log.appliedIndex,
        lastIndex: log.lastIndex,
        lastTerm: log.lastTerm,
        snapshotIndex: log.snapshotIndex,
        configuration: { voters: log.voters.map(ref), learners: log.learners.map(ref) },
        peers: peerProgress(log, ref),
        revision,
      };
    },
    stop,
    reload,
  };
}

/** The leader's per-peer progress with names, in the order the machine gives (empty off the leader). */
export function peerProgress(log: ElectionLogStatus, ref: (id: NodeId) => NodeRef): RaftPeerProgressResponse[] {
  return log.peers.map((p) => ({
    id: p.id,
    name: ref(p.id).name,
    vote: p.voter ? 'voter' : 'learner',
    matchIndex: p.matchIndex,
    nextIndex: p.nextIndex,
    lag: p.lag,
    lastContactMs: p.lastContactMs === null ? null : Math.round(p.lastContactMs),
    state: p.state,
  }));
}
