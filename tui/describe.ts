/** One log line per API event: what happened, in words, and how alarming it is. */
import { formatDuration } from '../shared/format.js';
import type { ApiEvent } from '../daemon/api/types.js';
import { count, member, nodeRef, text } from './event-fields.js';
import type { LogTone } from './model.js';

export function describeEvent(event: ApiEvent): { text: string; tone: LogTone } {
  const name = text(event, 'name') ?? member(event)?.name ?? '?';
  switch (event.type) {
    case 'snapshot':
      return { text: 'attached: snapshot received', tone: 'info' };
    case 'member-joined':
      return { text: `${name} joined`, tone: 'good' };
    case 'member-updated':
      return { text: `${name} updated`, tone: 'info' };
    case 'member-suspect':
      return { text: `${name} suspect (${text(event, 'reason') ?? 'silence'})`, tone: 'warn' };
    case 'member-alive':
      return { text: `${name} alive again (was ${text(event, 'previous') ?? '?'})`, tone: 'good' };
    case 'member-dead':
      return { text: `${name} dead after ${formatDuration(count(event, 'suspectedForMs') ?? NaN)} suspect`, tone: 'bad' };
    case 'member-left':
      return { text: `${name} left`, tone: 'info' };
    case 'member-forgotten':
      return { text: `${name} forgotten`, tone: 'info' };
    case 'protocol-mismatch':
      return { text: `${name} runs ${text(event, 'protocol') ?? '?'}, not ${text(event, 'expected') ?? '?'}`, tone: 'warn' };
    case 'refuted':
      return { text: `refuted a suspicion (incarnation ${count(event, 'incarnation') ?? '?'})`, tone: 'warn' };
    case 'role-changed':
      return { text: `role ${text(event, 'from') ?? '?'} -> ${text(event, 'to') ?? '?'} (term ${count(event, 'term') ?? '?'})`, tone: 'info' };
    case 'term-changed':
      return { text: `term ${count(event, 'from') ?? '?'} -> ${count(event, 'to') ?? '?'}`, tone: 'info' };
    case 'leader-changed': {
      const to = nodeRef(event, 'to');
      const gap = count(event, 'leaderlessMs') ?? 0;
      const tail = gap > 0 ? `, ${gap} ms leaderless` : '';
      return to
        ? { text: `leader ${to.name} (term ${count(event, 'term') ?? '?'}, token ${count(event, 'fencingToken') ?? '?'}${tail})`, tone: 'good' }
        : { text: `no leader (term ${count(event, 'term') ?? '?'})`, tone: 'bad' };
    }
    case 'election-started':
      return { text: `election started, term ${count(event, 'term') ?? '?'} (${text(event, 'reason') ?? '?'})`, tone: 'warn' };
    case 'election-finished': {
      const result = text(event, 'result') ?? '?';
      return { text: `election ${result}, term ${count(event, 'term') ?? '?'} in ${formatMs(count(event, 'durationMs'))}`, tone: result === 'won' ? 'good' : 'info' };
    }
    default:
      return { text: event.type, tone: 'info' };
  }
}

/** Whole milliseconds: the daemon measures durations with sub-ms precision nobody reads. */
function formatMs(ms: number | null): string {
  return ms === null ? '? ms' : `${Math.round(ms)} ms`;
}
