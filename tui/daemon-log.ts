/**
 * The daemon's own log in the log panel, under `conclave start --tui`. The panel already shows the
 * daemon's API events, and the runtime writes a log record, tagged `event`, for most events it
 * emits (runtime.ts): shown as well, each such happening would appear twice. So
 * the panel takes from the log only what the API does not carry: warnings, errors, start-up lines.
 */
import { recordBody, type LogRecord } from '../shared/log-record.js';
import { NODE_EVENT_TYPES } from '../protocols/host/events.js';
import type { LogTone } from './model.js';

const API_EVENT_TYPES: ReadonlySet<string> = new Set(NODE_EVENT_TYPES);

/**
 * A runtime record that repeats an API event: the runtime tags each with the event's type
 * (`event: 'leader-changed'`), so the panel recognises it whatever its wording.
 */
export function echoesApiEvent(record: LogRecord): boolean {
  return record.component === 'runtime' && typeof record.event === 'string' && API_EVENT_TYPES.has(record.event);
}

/** The panel line for one record, without its time (the panel shows its own); null when an API event shows it already. */
export function daemonLogNote(record: LogRecord): { text: string; tone: LogTone } | null {
  if (echoesApiEvent(record)) return null;
  const level = typeof record.level === 'number' ? record.level : 30;
  return { text: recordBody(record, false).trimEnd(), tone: level >= 50 ? 'bad' : level >= 40 ? 'warn' : 'info' };
}
