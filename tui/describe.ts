/** One log line per API event: what happened, in words, and how alarming it is. */
import { formatDuration } from '../shared/format.js';
import type { StreamEvent } from '../daemon/api/types.js';
import type { StepDownReason } from '../protocols/election.js';
import type { LogTone } from './model.js';

export function describeEvent(event: StreamEvent): { text: string; tone: LogTone } {
  switch (event.type) {
    case 'snapshot':
      return { text: 'attached: snapshot received', tone: 'info' };
    case 'member-joined':
      return { text: `${event.member.name} joined`, tone: 'good' };
    case 'member-updated':
      return { text: `${event.member.name} updated`, tone: 'info' };
    case 'member-suspect':
      return { text: `${event.name} suspect (${event.reason})`, tone: 'warn' };
    case 'member-alive':
      return { text: `${event.name} alive again (was ${event.previous})`, tone: 'good' };
    case 'member-dead':
      return { text: `${event.name} dead after ${formatDuration(event.suspectedForMs)} suspect`, tone: 'bad' };
    case 'member-left':
      return { text: `${event.name} left`, tone: 'info' };
    case 'member-forgotten':
      return { text: `${event.name} forgotten`, tone: 'info' };
    case 'protocol-mismatch':
      return { text: `${event.name} runs ${event.protocol}, not ${event.expected}`, tone: 'warn' };
    case 'refuted':
      return { text: `refuted a suspicion (incarnation ${event.incarnation})`, tone: 'warn' };
    case 'role-changed':
      return { text: `role ${event.from} -> ${event.to} (term ${event.term})`, tone: 'info' };
    case 'term-changed':
      return { text: `term ${event.from} -> ${event.to}`, tone: 'info' };
    case 'leader-changed': {
      const tail = event.leaderlessMs > 0 ? `, ${event.leaderlessMs} ms leaderless` : '';
      return event.to
        ? { text: `leader ${event.to.name} (term ${event.term}, token ${event.fencingToken}${tail})`, tone: 'good' }
        : { text: `no leader (term ${event.term})`, tone: 'bad' };
    }
    case 'election-started':
      return { text: `election started, term ${event.term} (${event.reason})`, tone: 'warn' };
    case 'election-finished':
      return { text: `election ${event.result}, term ${event.term} in ${formatMs(event.durationMs)}`, tone: event.result === 'won' ? 'good' : 'info' };
    case 'stepped-down':
      return { text: `stepped down in term ${event.term}: ${STEP_DOWN_WORDS[event.reason]}`, tone: event.reason === 'transfer' || event.reason === 'removed' || event.reason === 'shutdown' ? 'info' : 'warn' };
    case 'configuration-changed':
      return { text: `configuration changed at index ${event.index}: voters ${names(event.voters)}${event.learners.length > 0 ? `; learners ${names(event.learners)}` : ''}`, tone: 'info' };
    case 'raft-snapshot':
      return { text: snapshotText(event), tone: 'info' };
    case 'heartbeat-late':
      return { text: `heartbeats went out ${formatMs(event.lateMs)} late (event loop or disk overloaded): followers may start an election`, tone: 'warn' };
    case 'protocol-switch-started':
      return { text: `switching the cluster to ${event.to} (era ${event.era}, ${event.why === 'ordered' ? 'ordered by an operator' : 'asked for by most members'})`, tone: 'warn' };
    case 'protocol-switched':
      return { text: `now running ${event.to} (era ${event.era}, was ${event.from}; ${event.how === 'agreed' ? 'switched the cluster as leader' : 'followed the cluster'}; tokens above ${event.tokenFloor})`, tone: 'warn' };
  }
}

/** Each step-down reason in words, with the etcd term an operator may search for. */
const STEP_DOWN_WORDS: Readonly<Record<StepDownReason, string>> = {
  'check-quorum': 'lost contact with a majority (check-quorum)',
  transfer: 'handed leadership over (transfer)',
  'higher-term': 'a member is in a newer term (higher-term)',
  removed: 'removed from the configuration',
  shutdown: 'shutting down with no successor in time',
};

function snapshotText(event: Extract<StreamEvent, { type: 'raft-snapshot' }>): string {
  const at = `at index ${event.index} (term ${event.term})`;
  switch (event.action) {
    case 'taken':
      return `snapshot taken ${at}: log compacted`;
    case 'sent':
      return `snapshot ${at} sent to ${event.peer?.name ?? 'a follower'}: it was too far behind for the log`;
    case 'installed':
      return `snapshot ${at} installed from ${event.peer?.name ?? 'the leader'}`;
  }
}

function names(refs: readonly { name: string }[]): string {
  return refs.map((r) => r.name).join(', ') || 'none';
}

/** Whole milliseconds: the daemon measures durations with sub-ms precision nobody reads. */
function formatMs(ms: number): string {
  return `${Math.round(ms)} ms`;
}
