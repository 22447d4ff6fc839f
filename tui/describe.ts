/** One log line per API event: what happened, in words, and how alarming it is. */
import { formatDuration } from '../shared/format.js';
import type { StreamEvent } from '../daemon/api/types.js';
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
      return { text: `stepped down from term ${event.term} (${event.reason})`, tone: event.reason === 'transfer' ? 'info' : 'warn' };
    case 'configuration-changed':
      return { text: `configuration at ${event.index}: voters ${names(event.voters)}${event.learners.length > 0 ? `, learners ${names(event.learners)}` : ''}`, tone: 'info' };
    case 'raft-snapshot':
      return { text: `snapshot ${event.action} at index ${event.index} (term ${event.term})${event.peer ? `${event.action === 'installed' ? ' from ' : ' to '}${event.peer.name}` : ''}`, tone: 'info' };
    case 'heartbeat-late':
      return { text: `heartbeat sent ${formatMs(event.lateMs)} late: event loop or disk overloaded`, tone: 'warn' };
  }
}

function names(refs: readonly { name: string }[]): string {
  return refs.map((r) => r.name).join(', ') || 'none';
}

/** Whole milliseconds: the daemon measures durations with sub-ms precision nobody reads. */
function formatMs(ms: number): string {
  return `${Math.round(ms)} ms`;
}
