/**
 * The /v1/events streams: a snapshot first, then live events, a keep-alive comment on a timer.
 * The number of streams is capped, and each client's unsent bytes are bounded: a client that stops
 * reading is dropped, never buffered without limit in the daemon. All streams share one
 * subscription and one timer, and each event is formatted once, whatever the number of clients.
 */
import type { ServerResponse } from 'node:http';
import { formatSseComment, formatSseEvent } from './sse.js';
import type { ApiEvent, ControlSource, SnapshotEvent } from './types.js';

export interface EventStreamsInit {
  source: ControlSource;
  keepAliveMs: number;
  /** A client with more unsent bytes than this, beyond its snapshot, is disconnected. */
  maxBufferedBytes: number;
  /** Streams served at once; open() refuses more. */
  maxStreams: number;
  /** Told the unsent bytes of each client dropped for not reading. */
  onSlowClient?: (unsentBytes: number) => void;
}

interface Stream {
  readonly types: ReadonlySet<string> | null;
  write(text: string): void;
  close(): void;
}

const KEEP_ALIVE = formatSseComment('keep-alive');

export class EventStreams {
  private readonly streams = new Set<Stream>();
  private unsubscribe: (() => void) | null = null;
  private keepAlive: NodeJS.Timeout | null = null;

  constructor(private readonly init: EventStreamsInit) {}

  get size(): number {
    return this.streams.size;
  }

  get capacity(): number {
    return this.init.maxStreams;
  }

  /**
   * Starts a stream on `res`; `types` (when given) filters live events, never the snapshot. False,
   * with nothing written, when maxStreams streams are open already.
   */
  open(res: ServerResponse, types: ReadonlySet<string> | null): boolean {
    const { source, maxBufferedBytes, maxStreams, onSlowClient } = this.init;
    if (this.streams.size >= maxStreams) return false;
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      connection: 'keep-alive',
      // Tells a reverse proxy not to hold events back.
      'x-accel-buffering': 'no',
    });
    let closed = false;
    let limitBytes = maxBufferedBytes;
    const stream: Stream = {
      types,
      write: (text) => {
        if (closed) return;
        res.write(text);
        // Checked after every write, keep-alives included, so a client that stopped reading goes as
        // soon as its backlog passes the limit.
        const unsent = res.writableLength;
        if (unsent > limitBytes) {
          res.destroy();
          stream.close();
          onSlowClient?.(unsent);
        }
      },
      close: () => {
        if (closed) return;
        closed = true;
        this.streams.delete(stream);
        if (this.streams.size === 0) this.stop();
        res.end();
      },
    };
    res.on('close', stream.close);
    // Joining the fan-out and writing the snapshot in one synchronous run keeps the snapshot first
    // and loses nothing in between.
    this.streams.add(stream);
    this.run();
    const snapshot: SnapshotEvent = { type: 'snapshot', at: new Date().toISOString(), status: source.status(), members: source.members().members };
    const text = formatSseEvent(snapshot);
    // A large cluster's snapshot may exceed the limit on its own: it is always written whole, the
    // limit bounds what piles up behind it.
    limitBytes += Buffer.byteLength(text);
    stream.write(text);
    return true;
  }

  closeAll(): void {
    for (const stream of [...this.streams]) stream.close();
  }

  /** Subscribes and starts the keep-alive timer with the first stream. */
  private run(): void {
    if (this.unsubscribe !== null) return;
    this.unsubscribe = this.init.source.subscribe((event) => this.publish(event));
    this.keepAlive = setInterval(() => {
      for (const stream of [...this.streams]) stream.write(KEEP_ALIVE);
    }, this.init.keepAliveMs);
    this.keepAlive.unref();
  }

  /** Unsubscribes and stops the timer once the last stream has gone. */
  private stop(): void {
    this.unsubscribe?.();
    this.unsubscribe = null;
    clearInterval(this.keepAlive ?? undefined);
    this.keepAlive = null;
  }

  private publish(event: ApiEvent): void {
    let text: string | null = null;
    for (const stream of [...this.streams]) {
      if (stream.types === null || stream.types.has(event.type)) stream.write((text ??= formatSseEvent(event)));
    }
  }
}
