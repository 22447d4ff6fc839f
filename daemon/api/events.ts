/**
 * The /v1/events streams: a snapshot first, then live events, a keep-alive comment on a timer.
 * Each client's unsent bytes are bounded; a client that stops reading is dropped, never buffered
 * without limit in the daemon.
 */
import type { ServerResponse } from 'node:http';
import { formatSseComment, formatSseEvent } from './sse.js';
import type { ApiEvent, ControlSource, SnapshotEvent } from './types.js';

export interface EventStreamsInit {
  source: ControlSource;
  keepAliveMs: number;
  /** A client with more unsent bytes than this is disconnected. */
  maxBufferedBytes: number;
}

export class EventStreams {
  private readonly closers = new Set<() => void>();

  constructor(private readonly init: EventStreamsInit) {}

  get size(): number {
    return this.closers.size;
  }

  /** Starts a stream on `res`; `types` (when given) filters live events, never the snapshot. */
  open(res: ServerResponse, types: ReadonlySet<string> | null): void {
    const { source, keepAliveMs, maxBufferedBytes } = this.init;
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      connection: 'keep-alive',
      // Tells a reverse proxy not to hold events back.
      'x-accel-buffering': 'no',
    });
    let closed = false;
    let unsubscribe: () => void = () => undefined;
    let keepAlive: NodeJS.Timeout | undefined;
    const close = () => {
      if (closed) return;
      closed = true;
      unsubscribe();
      clearInterval(keepAlive);
      this.closers.delete(close);
      res.end();
    };
    const write = (text: string) => {
      if (closed) return;
      if (res.writableLength > maxBufferedBytes) {
        // The client stopped reading: drop it instead of growing its buffer.
        res.destroy();
        close();
        return;
      }
      res.write(text);
    };
    this.closers.add(close);
    res.on('close', close);
    // Subscribing and writing the snapshot in one synchronous run keeps the snapshot first and
    // loses nothing in between.
    unsubscribe = source.subscribe((event) => {
      if (types === null || types.has(event.type)) write(formatSseEvent(withTime(event)));
    });
    const snapshot: SnapshotEvent = { type: 'snapshot', at: new Date().toISOString(), status: source.status(), members: source.members().members };
    write(formatSseEvent(snapshot));
    keepAlive = setInterval(() => write(formatSseComment('keep-alive')), keepAliveMs);
    keepAlive.unref();
  }

  closeAll(): void {
    for (const close of [...this.closers]) close();
  }
}

function withTime(event: ApiEvent): ApiEvent {
  return typeof event.at === 'string' ? event : { ...event, at: new Date().toISOString() };
}
