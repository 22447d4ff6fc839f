/**
 * Logging: pino, one child per component, every line tagged with the node's name so a
 * multi-node log reads clearly. `pretty` renders one readable line per record; `json` is pino's.
 */
import { createWriteStream } from 'node:fs';
import { Writable } from 'node:stream';
import { pino, type Logger } from 'pino';
import type { LogLevel } from './config/types.js';

export type { Logger };

/** One pino record as parsed from its JSON line: `level`, `time`, `node`, `component`, `msg`, fields. */
export type LogRecord = Readonly<Record<string, unknown>>;

export interface LogInit {
  level: LogLevel;
  format: 'pretty' | 'json';
  /** Append to this file instead of stderr. */
  file: string | null;
  node: string;
  /** Also receives every record, once (the dashboard's log panel picks and formats what it shows). */
  tap?: (record: LogRecord) => void;
}

export function createLogger(init: LogInit): Logger {
  const sink: NodeJS.WritableStream = init.file ? createWriteStream(init.file, { flags: 'a' }) : process.stderr;
  const stream = init.format === 'json' ? sink : prettyStream(sink, init.file === null && process.stderr.isTTY === true);
  return pino({ level: init.level, base: { node: init.node } }, init.tap ? tapStream(stream, init.tap) : stream);
}

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

function prettyStream(sink: NodeJS.WritableStream, colour: boolean): Writable {
  return new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString('utf8').split('\n')) {
        if (!line) continue;
        try {
          sink.write(formatRecord(JSON.parse(line) as LogRecord, colour));
        } catch {
          sink.write(line + '\n');
        }
      }
      done();
    },
  });
}

/** Passes records through to `sink` and hands each one, parsed, to `tap`. */
function tapStream(sink: NodeJS.WritableStream, tap: (record: LogRecord) => void): Writable {
  return new Writable({
    write(chunk: Buffer, _encoding, done) {
      sink.write(chunk);
      for (const line of chunk.toString('utf8').split('\n')) {
        if (line) tap(parseRecord(line));
      }
      done();
    },
  });
}

/** pino writes JSON; anything else still reaches the tap, as the message of an info record. */
function parseRecord(line: string): LogRecord {
  try {
    const record: unknown = JSON.parse(line);
    if (typeof record === 'object' && record !== null && !Array.isArray(record)) return record as LogRecord;
  } catch {
    // not JSON: below
  }
  return { level: 30, time: Date.now(), msg: line };
}
