/**
 * The daemon's log records as text: one pino record per line on a terminal or in a file
 * (daemon/log.ts), and in the dashboard's log panel under `conclave start --tui`. Pure, and free
 * of pino, so the dashboard loads no logger to show a record.
 */

/** One pino record as parsed from its JSON line: `level`, `time`, `node`, `component`, `msg`, fields. */
export type LogRecord = Readonly<Record<string, unknown>>;

const LEVEL_NAMES: Record<number, string> = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO ', 40: 'WARN ', 50: 'ERROR', 60: 'FATAL' };
const LEVEL_COLOURS: Record<number, string> = { 10: '90', 20: '90', 30: '32', 40: '33', 50: '31', 60: '31' };
const OMITTED = new Set(['level', 'time', 'pid', 'hostname', 'node', 'component', 'msg']);

/** Formats one pino JSON record as `HH:MM:SS.mmm LEVEL node component: msg key=value…`. */
export function formatRecord(record: LogRecord, colour: boolean): string {
  const time = new Date(typeof record.time === 'number' ? record.time : Date.now()).toISOString().slice(11, 23);
  return `${time} ${recordBody(record, colour)}\n`;
}

/** A record without its time, `LEVEL node component: msg key=value…`, for a display that shows its own. */
export function recordBody(record: LogRecord, colour: boolean): string {
  const level = typeof record.level === 'number' ? record.level : 30;
  const name = LEVEL_NAMES[level] ?? String(level);
  const label = colour ? `\x1b[${LEVEL_COLOURS[level] ?? '0'}m${name}\x1b[0m` : name;
  const where = [record.node, record.component].filter((x) => x !== undefined).join(' ');
  const fields = Object.entries(record)
    .filter(([key]) => !OMITTED.has(key))
    .map(([key, value]) => `${key}=${typeof value === 'string' ? value : JSON.stringify(value)}`)
    .join(' ');
  return `${label} ${where}: ${String(record.msg ?? '')}${fields ? ' ' + fields : ''}`;
}
