/**
 * Checks across fields of the effective config, after all layers are merged: each names the
 * field to change and why the combination cannot work.
 */
import { membershipTimingProblems } from '../../protocols/membership/timings.js';
import type { ConfigIssue } from '../errors.js';
import { isLoopbackHost, parseHostPort } from './addresses.js';
import { NODE_NAME_RE } from './schema.js';
import type { ConclaveConfig } from './types.js';

export function checkConfig(config: ConclaveConfig): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  for (const problem of membershipTimingProblems(config.membership)) issues.push({ path: `membership.${problem.field}`, message: problem.message });
  const b = config.bully;
  if (b.coordinatorTimeoutMs < b.answerTimeoutMs) {
    issues.push({ path: 'bully.coordinatorTimeoutMs', message: `must be at least answerTimeoutMs (${b.answerTimeoutMs}): the answering node runs its own election before it announces` });
  }
  const r = config.raft;
  if (r.heartbeatIntervalMs * 2 > r.electionTimeoutMs) {
    issues.push({
      path: 'raft.heartbeatIntervalMs',
      message: `must be at most half of electionTimeoutMs (${r.electionTimeoutMs}): followers would time out between two heartbeats, and the leader's lease would lapse between renewals`,
    });
  }
  if (r.minQuorum > r.maxVoters) {
    issues.push({
      path: 'raft.minQuorum',
      message: `must not exceed maxVoters (${r.maxVoters}): dead voters could never be removed, since promotion stops at maxVoters`,
    });
  }
  const api = parseHostPort(config.api.listen);
  if (api && !isLoopbackHost(api.host) && config.api.token === null) {
    issues.push({
      path: 'api.token',
      message: `required because api.listen ${config.api.listen} is not a loopback address: anyone who reaches it could move leadership (set a token, or listen on 127.0.0.1)`,
    });
  }
  if (!NODE_NAME_RE.test(config.node.name)) {
    issues.push({ path: 'node.name', message: `the host name ${JSON.stringify(config.node.name)} is not usable as a node name; set node.name (A-Z a-z 0-9 . _ -)` });
  }
  return issues;
}
