/**
 * Logging: pino, one child per component, every line tagged with the node's name so a
 * multi-node log reads clearly. `pretty` renders one readable line per record; `json` is pino's.
 */
import { createWriteStream } from 'node:fs';
import { Writable } from 'node:stream';
import { pino, type Logger } from 'pino';
import { formatRecord, type LogRecord } from '../shared/log-record.js';
import type { LogFormat, LogLevel } from './config/types.js';

export type { Logger };

export interface LogInit {
  level: LogLevel;
  format: LogFormat;
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
