/**
 * Logging: pino, one child per component, every line tagged with the node's name so a
 * multi-node log reads clearly. `pretty` renders one readable line per record; `json` is pino's.
 */
import { createWriteStream } from 'node:fs';
import { Writable } from 'node:stream';
import { pino, stdSerializers, type Logger } from 'pino';
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

/** How a logger's destination fares: records it could not take since a write to it failed, and why it failed. */
export interface LogSinkHealth {
  dropped: number;
  /** The failure's code (EPIPE, ENOSPC, ...) or message; null while the destination works. */
  failure: string | null;
}

/** The time the records being written are stamped with instead of now (logAt), or null. */
let recordTimeMs: number | null = null;

/**
 * Runs `write` with the records it logs stamped `timeMs` (epoch ms) instead of the time of the
 * call: a line written later than what it reports (the runtime's event lines, EVENT_LOG_DELAY_MS).
 */
export function logAt(timeMs: number, write: () => void): void {
  recordTimeMs = timeMs;
  try {
    write();
  } finally {
    recordTimeMs = null;
  }
}

/** pino's epoch timestamp, or the one logAt sets: the `timestamp` option of every logger that logAt may stamp. */
export const logTimestamp = (): string => `,"time":${recordTimeMs ?? Date.now()}`;

/** Each createLogger logger's destination: its health (logSinkHealth) and how to open it again (reopenLog). */
const sinks = new WeakMap<Logger, { health: LogSinkHealth; reopen: () => void }>();

/** Every child (and grandchild) of each logger createLogger made, for setLogLevel. */
const families = new WeakMap<Logger, Set<WeakRef<Logger>>>();
/** Children are made once per component, not per request; past this many, the collected ones are swept. */
const SWEEP_ABOVE = 256;

export function createLogger(init: LogInit): Logger {
  const file = init.file;
  const { sink, health, reopen } = guardSink(file ? () => createWriteStream(file, { flags: 'a' }) : () => process.stderr);
  const stream = init.format === 'json' ? sink : prettyStream(sink, init.file === null && process.stderr.isTTY === true);
  const children = new Set<WeakRef<Logger>>();
  // pino hands onChild down to every child, so grandchildren are recorded too.
  const onChild = (child: Logger) => {
    if (children.size >= SWEEP_ABOVE) for (const ref of children) if (ref.deref() === undefined) children.delete(ref);
    children.add(new WeakRef(child));
  };
  const logger = pino({ level: init.level, base: { node: init.node }, onChild, timestamp: logTimestamp, serializers: { err: serializeError } }, init.tap ? tapStream(stream, init.tap) : stream);
  families.set(logger, children);
  sinks.set(logger, { health, reopen });
  return logger;
}

/** The destination health of a logger from createLogger (/metrics: conclave_log_records_dropped_total). */
export function logSinkHealth(logger: Logger): LogSinkHealth {
  return { ...(sinks.get(logger)?.health ?? { dropped: 0, failure: null }) };
}

/**
 * Opens a logger's `log.file` again (`conclave reload`, SIGHUP): anew at its path, so a file
 * logrotate moved away is created again and written from then on, and one whose write failed (a
 * full disk, since freed) is tried again. stderr cannot be opened again: a failed one stays so.
 */
export function reopenLog(logger: Logger): void {
  sinks.get(logger)?.reopen();
}

/**
 * pino's error serializer, with the error's `name` as its `type`. pino takes the type from the
 * constructor's name, which the bundle does not keep (scripts/bundle.mjs: a class whose name
 * another shares is renamed, so a TimeoutError would log as TimeoutError2); every error class
 * here sets `name`, as do the libraries'.
 */
function serializeError(err: unknown): unknown {
  const serialized = stdSerializers.err(err as Error) as unknown;
  if (err instanceof Error && typeof serialized === 'object' && serialized !== null) (serialized as { type: string }).type = err.name;
  return serialized;
}

/**
 * Sets the level of a logger from createLogger and of every child it made (`conclave reload`):
 * a pino child keeps the level it was made with when its parent's changes.
 */
export function setLogLevel(logger: Logger, level: LogLevel): void {
  logger.level = level;
  for (const ref of families.get(logger) ?? []) {
    const child = ref.deref();
    if (child) child.level = level;
  }
}

/**
 * The destination, until a write to it fails; after that, nothing until it is opened again: a
 * daemon whose stderr reader went away (the terminal or the pipe it was started from, a log
 * collector that restarted) gets EPIPE on every write, and each failure, reported as an uncaught
 * exception and logged, failed again: it ran at a whole core and no longer stopped on SIGTERM. It
 * keeps running without its log instead, its API unchanged, and counts in `health` each record it
 * no longer writes (the writes already handed to the destination when it failed are lost
 * uncounted). `reopen` opens the destination again and tries it afresh.
 */
function guardSink(open: () => NodeJS.WritableStream): { sink: NodeJS.WritableStream; health: LogSinkHealth; reopen: () => void } {
  const health: LogSinkHealth = { dropped: 0, failure: null };
  const watched = new WeakSet<NodeJS.WritableStream>();
  let current = open();
  const watch = (stream: NodeJS.WritableStream) => {
    if (watched.has(stream)) return;
    watched.add(stream);
    // A stream replaced by reopen that fails late says nothing of the one in use.
    stream.on('error', (err: NodeJS.ErrnoException) => {
      if (stream === current) health.failure ??= err.code ?? err.message;
    });
  };
  watch(current);
  const sink = new Writable({
    write(chunk: Buffer | string, _encoding, done) {
      if (health.failure === null) current.write(chunk);
      // One write per record: pino writes each record whole, the pretty form each line it makes of one.
      else health.dropped++;
      done();
    },
  });
  const reopen = () => {
    const old = current;
    current = open();
    watch(current);
    // stderr is the same stream again, and a pipe whose reader went away does not come back: it stays failed.
    if (old === current) return;
    health.failure = null;
    old.end();
  };
  return { sink, health, reopen };
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
