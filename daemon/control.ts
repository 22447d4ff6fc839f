/** The daemon's side of the control API: answers from the runtime's current view. */
import { MEMBER_STATES, type MemberState } from '../protocols/types.js';
import type { ControlSource, LeaderResponse, MembersResponse, StatusResponse } from './api/types.js';
import type { ConclaveConfig } from './config/types.js';
import type { Runtime } from './runtime.js';
import { securityStatus } from './security.js';
import { VERSION } from './version.js';

export interface ControlInit {
  runtime: Runtime;
  config: ConclaveConfig;
  metrics: () => Promise<{ contentType: string; body: string }>;
}

export function createControlSource({ runtime, config, metrics }: ControlInit): ControlSource {
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
      return {
        id: runtime.selfId,
        name,
        cluster: config.cluster.name,
        protocol: config.protocol,
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
                lastIndex: status.log.lastIndex,
                lastTerm: status.log.lastTerm,
                voters: status.log.voters.map((id) => runtime.nodeRef(id)!),
                learners: status.log.learners.map((id) => runtime.nodeRef(id)!),
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
    metrics,
  };
}
