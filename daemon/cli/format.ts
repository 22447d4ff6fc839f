/** Pure text formatting for the reporting commands: tables and summaries (durations and ids: shared/format.ts). */
import { MEMBER_STATES } from '../../protocols/types.js';
import { expectTooLow, expectTooLowLine } from '../../shared/bootstrap-expect.js';
import { formatDuration, shortId } from '../../shared/format.js';
import type { NodeId } from '../../protocols/types.js';
import type { KeyRevisions, KeyValue, KvEvent } from '../../protocols/kv/types.js';
import type { KvDeleteResponse, KvTxnRequest, KvTxnResponse, LeaderResponse, MemberResponse, NodeRef, RaftResponse, ReloadResponse, StatusResponse } from '../api/types.js';

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

/** `conclave reload`: what took effect, then what waits for a restart, one field a line. */
export function formatReload(r: ReloadResponse): string {
  if (r.unchanged) return 'nothing changed';
  const line = (c: ReloadResponse['applied'][number]) => `  ${c.field}: ${JSON.stringify(c.from)} → ${JSON.stringify(c.to)}${c.note ? ` (${c.note})` : ''}`;
  return [
    ...(r.applied.length > 0 ? ['applied:', ...r.applied.map(line)] : []),
    ...(r.needsRestart.length > 0 ? ['needs a restart to take effect:', ...r.needsRestart.map(line)] : []),
  ].join('\n');
}

/** The bootstrap line shows while it holds the node back from leading, or once more members are live than bootstrapExpect protects. */
export function formatStatus(s: StatusResponse): string {
  const counts = MEMBER_STATES.map((state) => `${s.members[state]} ${state}`).join(', ');
  // Absent from older daemons: then nothing is known of the swarm's key, and no line is shown.
  const boot = s.bootstrap as StatusResponse['bootstrap'] | undefined;
  const security = s.security as StatusResponse['security'] | undefined;
  const tooLow = boot?.complete ? expectTooLow(boot.expect, s.members.alive + s.members.suspect) : null;
  return [
    `node      ${s.name} (${shortId(s.id)})`,
    `cluster   ${s.cluster} (${s.protocol})`,
    ...(s.era ? [`protocol  ${formatEra(s.protocol, s.era)}`] : []),
    ...(security ? [`security  ${formatSecurity(security)}`] : []),
    `role      ${s.role}, term ${s.term}${leaseSuffix(s.leaseRemainingMs)}`,
    `leader    ${nodeLabel(s.leader)}, fencing token ${s.fencingToken}`,
    `members   ${counts}`,
    ...(s.raft ? [`raft      commit ${s.raft.commitIndex}, last ${s.raft.lastIndex} (term ${s.raft.lastTerm}), voters ${s.raft.voters.map((v) => v.name).join(' ') || 'none yet'}${s.raft.learners.length ? `, learners ${s.raft.learners.map((v) => v.name).join(' ')}` : ''}`] : []),
    ...(s.raft?.kv ? [`kv        revision ${s.raft.kv.revision}, ${s.raft.kv.keys} ${s.raft.kv.keys === 1 ? 'key' : 'keys'}`] : []),
    // The daemon reports only what is on disk; this says why it holds back.
    ...(s.persistError ? [`disk      ${s.persistError.message}; sending no election messages until a write succeeds`] : []),
    ...(boot && !boot.complete ? [`bootstrap waiting: seen ${boot.seen} of ${boot.expect} members (never leads before ${boot.expect})`] : []),
    ...(tooLow ? [`bootstrap ${expectTooLowLine(tooLow)}`] : []),
    `uptime    ${formatDuration(s.uptimeMs)}, version ${s.version}`,
  ].join('\n');
}

/** `raft, era 2`, then what this node asks for when it differs, a switch under way, an order not yet carried out. */
export function formatEra(running: string, e: NonNullable<StatusResponse['era']>): string {
  const parts = [`${running}, era ${e.era}`];
  if (e.requested !== running) parts.push(`asks for ${e.requested}`);
  if (e.switch) parts.push(`switching to ${e.switch.to}: ${e.switch.holding} of ${e.switch.known} members hold it, ${e.switch.needed} needed`);
  if (e.ordered) parts.push(`switch to ${e.ordered} ordered here`);
  return parts.join('; ');
}

export const MEMBER_COLUMNS = ['NAME', 'ID', 'STATE', 'ROLE', 'TERM', 'FOLLOWS', 'LAST SEEN', 'ADDRESS'] as const;
/** Raft adds VOTE after ROLE: voter, learner, or `-` for a member outside the configuration. */
export const RAFT_MEMBER_COLUMNS = ['NAME', 'ID', 'STATE', 'ROLE', 'VOTE', 'TERM', 'FOLLOWS', 'LAST SEEN', 'ADDRESS'] as const;

export type Vote = 'voter' | 'learner';

/** Each member's place in a Raft configuration (from /v1/status's `raft`); null under Bully. */
export function votesOf(status: Pick<StatusResponse, 'raft'>): ReadonlyMap<NodeId, Vote> | null {
  if (!status.raft) return null;
  return new Map<NodeId, Vote>([...status.raft.learners.map((r) => [r.id, 'learner'] as const), ...status.raft.voters.map((r) => [r.id, 'voter'] as const)]);
}

/**
 * One row per member; the leader each one follows is shown by name when it is a known member.
 * With `votes` (Raft) a VOTE column says who votes and who only learns.
 */
export function formatMembers(members: readonly MemberResponse[], votes: ReadonlyMap<NodeId, Vote> | null = null): string {
  const names = new Map(members.map((m) => [m.id, m.name]));
  // While members run or ask for different protocols (a switch under way), each one's: running, or running→requested.
  const label = (m: MemberResponse) => (m.requested !== undefined && m.requested !== m.protocol ? `${m.protocol}→${m.requested}` : m.protocol);
  const mixed = new Set(members.map(label)).size > 1;
  // While members speak different Raft dialects (a rolling upgrade, README "Upgrading a cluster"), each one's.
  const dialect = (m: MemberResponse) => String(m.raftWire ?? 1);
  const dialects = new Set(members.map(dialect)).size > 1;
  const rows = members.map((m) => [
    m.self ? `${m.name} *` : m.name,
    ...(mixed ? [label(m)] : []),
    ...(dialects ? [dialect(m)] : []),
    shortId(m.id),
    m.state,
    m.role,
    ...(votes ? [votes.get(m.id) ?? '-'] : []),
    String(m.term),
    m.leader === null ? '-' : (names.get(m.leader) ?? shortId(m.leader)),
    m.self ? 'self' : formatDuration(m.lastSeenMs),
    m.addrs[0] ?? '-',
  ]);
  const columns: readonly string[] = votes ? RAFT_MEMBER_COLUMNS : MEMBER_COLUMNS;
  return alignTable([columns[0]!, ...(mixed ? ['PROTOCOL'] : []), ...(dialects ? ['DIALECT'] : []), ...columns.slice(1)], rows);
}

export const RAFT_PEER_COLUMNS = ['NAME', 'VOTE', 'MATCH', 'LAG', 'LAST CONTACT', 'STATE'] as const;

/**
 * `conclave raft`: the log and configuration, then the leader's per-peer progress table; a
 * follower says which node tracks progress instead.
 */
export function formatRaft(r: RaftResponse): string {
  const names = (refs: readonly NodeRef[]) => refs.map((ref) => ref.name).join(' ') || 'none';
  const lines = [
    `node      ${nodeLabel(r)}, ${r.role}, term ${r.term}`,
    `log       commit ${r.commitIndex}, applied ${r.appliedIndex}, last ${r.lastIndex} (term ${r.lastTerm}), snapshot ${r.snapshotIndex}`,
    `voters    ${names(r.configuration.voters)}`,
    `learners  ${names(r.configuration.learners)}`,
  ];
  if (r.role !== 'leader') {
    const where = r.leader ? `the leader, ${nodeLabel(r.leader)}: run conclave raft against it` : 'the leader, and no leader is known now';
    return [...lines, `progress  tracked by ${where}`].join('\n');
  }
  const rows = r.peers.map((p) => [
    p.name,
    p.vote,
    String(p.matchIndex),
    String(p.lag),
    // Heartbeats come every few hundred ms: under a second, whole ms say more than `0.0s`.
    p.lastContactMs === null ? 'never' : `${p.lastContactMs < 1000 ? `${Math.round(p.lastContactMs)}ms` : formatDuration(p.lastContactMs)} ago`,
    p.state,
  ]);
  return [...lines, '', rows.length > 0 ? alignTable(RAFT_PEER_COLUMNS, rows) : 'no other members to replicate to'].join('\n');
}

export function formatLeader(l: LeaderResponse): string {
  return l.leader ? `${nodeLabel(l.leader)}, term ${l.term}, fencing token ${l.fencingToken}${leaseSuffix(l.leaseRemainingMs)}` : `no leader (term ${l.term})`;
}

/** `conclave is-leader`: `leader: n1 leads (term 4, fencing token 7, lease 2.6s left)` or `not leader: n2 follows n1 (term 4)`. */
export function formatIsLeader(s: StatusResponse): string {
  if (s.role === 'leader') return `leader: ${s.name} leads (term ${s.term}, fencing token ${s.fencingToken}${leaseSuffix(s.leaseRemainingMs)})`;
  const follows = s.leader ? `follows ${nodeLabel(s.leader)}` : 'knows no leader';
  return `not leader: ${s.name} is ${s.role} and ${follows} (term ${s.term})`;
}

/** One line of `leader --watch`: `2025-01-01T10:00:00.000Z n1 (12D3…), term 4, fencing token 7` or `… none, term 5`. */
export function formatLeaderChange(at: string, leader: NodeRef | null, term: number, fencingToken: number): string {
  return leader ? `${at} ${nodeLabel(leader)}, term ${term}, fencing token ${fencingToken}` : `${at} none, term ${term}`;
}

const KV_FIELD_ESCAPES: Readonly<Record<string, string>> = { '\\': '\\\\', '\t': '\\t', '\n': '\\n', '\r': '\\r' };

/** A key or value on one line: a backslash, tab, newline or carriage return written `\\`, `\t`, `\n`, `\r`. */
function kvField(text: string): string {
  return text.replace(/[\\\t\n\r]/g, (c) => KV_FIELD_ESCAPES[c]!);
}

/**
 * `conclave kv ls`: one `KEY<TAB>VALUE` line per key. A backslash, tab, newline or carriage
 * return in either is written `\\`, `\t`, `\n`, `\r`, so each key stays one line that splits
 * at its one tab (PostgreSQL's COPY text format); `--json` gives the exact strings.
 */
export function formatKvList(kvs: readonly KeyValue[]): string {
  return kvs.map((kv) => `${kvField(kv.key)}\t${kvField(kv.value)}`).join('\n');
}

/**
 * `conclave kv watch`: `put KEY=VALUE @REVISION` or `delete KEY @REVISION`, key and value escaped
 * as `kv ls` escapes them, so each change is one line whose revision is its last word. A key that
 * holds `=` makes the split ambiguous: `--json` gives the exact strings.
 */
export function formatKvEvent(event: KvEvent): string {
  return event.type === 'put'
    ? `put ${kvField(event.kv.key)}=${kvField(event.kv.value)} @${event.revision}`
    : `delete ${kvField(event.kv.key)} @${event.revision}`;
}

/** `conclave kv put`: `put "app/db" at revision 7` (keys are JSON-quoted: any character stays on the line). */
export function formatKvPut(key: string, revision: number): string {
  return `put ${JSON.stringify(key)} at revision ${revision}`;
}

/** `conclave kv del`: `deleted 1 key at revision 8`; deleting nothing leaves the store's revision as it was. */
export function formatKvDelete(reply: Pick<KvDeleteResponse, 'deleted' | 'revision'>): string {
  return `deleted ${reply.deleted} ${reply.deleted === 1 ? 'key' : 'keys'} at revision ${reply.revision}`;
}

/**
 * Why a compare-and-set lost, from the key's revisions now: `key "lock" is at modRevision 5
 * (version 2, created at revision 3), not absent` or `key "lock" is absent, not at modRevision 4`.
 */
export function formatKvCompareFailed(key: string, ifModRevision: number, current: KeyRevisions): string {
  const now = current === null ? 'absent' : `at modRevision ${current.modRevision} (version ${current.version}, created at revision ${current.createRevision})`;
  const wanted = ifModRevision === 0 ? 'absent' : `at modRevision ${ifModRevision}`;
  return `compare failed: key ${JSON.stringify(key)} is ${now}, not ${wanted}`;
}

/**
 * `conclave kv txn`: which branch ran and the revision, then one line per operation of that
 * branch, in order: `put "k"`, `delete "k": 1 deleted`, `deletePrefix "p/": 3 deleted`,
 * `get "k" = "value"` or `get "k": absent` (keys and values JSON-quoted).
 */
export function formatKvTxn(request: KvTxnRequest, reply: KvTxnResponse): string {
  const ops = reply.succeeded ? request.success : request.failure;
  const head = reply.succeeded ? `succeeded at revision ${reply.revision}` : `compare failed: ran the failure branch, at revision ${reply.revision}`;
  const lines = reply.responses.map((result, i) => {
    const op = ops[i];
    const target = op === undefined ? '' : ` ${JSON.stringify(op.kind === 'deletePrefix' ? op.prefix : op.key)}`;
    switch (result.kind) {
      case 'put':
        return `put${target}`;
      case 'delete':
      case 'deletePrefix':
        return `${result.kind}${target}: ${result.deleted} deleted`;
      case 'get':
        return result.kv === null ? `get${target}: absent` : `get${target} = ${JSON.stringify(result.kv.value)}`;
      default:
        // A result kind newer than this CLI: named, not interpreted.
        return `${(result as { kind: string }).kind}${target}`;
    }
  });
  return [head, ...lines].join('\n');
}
