/** Pure text formatting for the reporting commands: tables and summaries (durations and ids: shared/format.ts). */
import { MEMBER_STATES } from '../../protocols/types.js';
import { formatDuration, shortId } from '../../shared/format.js';
import type { LeaderResponse, MemberResponse, NodeRef, StatusResponse } from '../api/types.js';

/** Columns padded to their widest cell, two spaces apart; no trailing spaces. */
export function alignTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const all = [header, ...rows];
  const widths = header.map((_, col) => Math.max(...all.map((row) => (row[col] ?? '').length)));
  return all
    .map((row) => header.map((_, col) => (row[col] ?? '').padEnd(widths[col]!)).join('  ').trimEnd())
    .join('\n');
}

function nodeLabel(ref: NodeRef | null): string {
  return ref ? `${ref.name} (${shortId(ref.id)})` : 'none';
}

/** `, lease 2.6s left` on the leader; '' elsewhere (and from a daemon too old to report it). */
function leaseSuffix(leaseRemainingMs: number | null | undefined): string {
  return typeof leaseRemainingMs === 'number' ? `, lease ${formatDuration(leaseRemainingMs)} left` : '';
}

/** `open (…)` without a pre-shared key: anyone who can reach the node and knows the cluster name can join. */
export function formatSecurity(security: StatusResponse['security']): string {
  return security.psk ? 'pre-shared key' : 'open (no pre-shared key; run conclave init)';
}

/** The bootstrap line shows only while it holds the node back from leading. */
export function formatStatus(s: StatusResponse): string {
  const counts = MEMBER_STATES.map((state) => `${s.members[state]} ${state}`).join(', ');
  // Absent from older daemons: then nothing is known of the swarm's key, and no line is shown.
  const boot = s.bootstrap as StatusResponse['bootstrap'] | undefined;
  const security = s.security as StatusResponse['security'] | undefined;
  return [
    `node      ${s.name} (${shortId(s.id)})`,
    `cluster   ${s.cluster} (${s.protocol})`,
    ...(security ? [`security  ${formatSecurity(security)}`] : []),
    `role      ${s.role}, term ${s.term}${leaseSuffix(s.leaseRemainingMs)}`,
    `leader    ${nodeLabel(s.leader)}, fencing token ${s.fencingToken}`,
    `members   ${counts}`,
    ...(s.raft ? [`raft      commit ${s.raft.commitIndex}, last ${s.raft.lastIndex} (term ${s.raft.lastTerm}), voters ${s.raft.voters.map((v) => v.name).join(' ') || 'none yet'}${s.raft.learners.length ? `, learners ${s.raft.learners.map((v) => v.name).join(' ')}` : ''}`] : []),
    // The daemon reports only what is on disk; this says why it holds back.
    ...(s.persistError ? [`disk      ${s.persistError.message}; sending no election messages until a write succeeds`] : []),
    ...(boot && !boot.complete ? [`bootstrap waiting: seen ${boot.seen} of ${boot.expect} members (never leads before ${boot.expect})`] : []),
    `uptime    ${formatDuration(s.uptimeMs)}, version ${s.version}`,
  ].join('\n');
}

export const MEMBER_COLUMNS = ['NAME', 'ID', 'STATE', 'ROLE', 'TERM', 'FOLLOWS', 'LAST SEEN', 'ADDRESS'] as const;

/** One row per member; the leader each one follows is shown by name when it is a known member. */
export function formatMembers(members: readonly MemberResponse[]): string {
  const names = new Map(members.map((m) => [m.id, m.name]));
  const rows = members.map((m) => [
    m.self ? `${m.name} *` : m.name,
    shortId(m.id),
    m.state,
    m.role,
    String(m.term),
    m.leader === null ? '-' : (names.get(m.leader) ?? shortId(m.leader)),
    m.self ? 'self' : formatDuration(m.lastSeenMs),
    m.addrs[0] ?? '-',
  ]);
  return alignTable(MEMBER_COLUMNS, rows);
}

export function formatLeader(l: LeaderResponse): string {
  return l.leader ? `${nodeLabel(l.leader)}, term ${l.term}, fencing token ${l.fencingToken}${leaseSuffix(l.leaseRemainingMs)}` : `no leader (term ${l.term})`;
}
