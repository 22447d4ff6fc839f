/**
 * Server-sent events framing (https://html.spec.whatwg.org/multipage/server-sent-events.html):
 * the server writes one `event:` + `data:` block per event; the client parses the stream back.
 */
import type { ServerResponse } from 'node:http';
import type { StreamEvent } from './types.js';

/** One event as an SSE block; JSON.stringify never emits raw newlines, so one data line suffices. */
export function formatSseEvent(event: StreamEvent): string {
  return `event: ${event.type.replace(/[\r\n]/g, ' ')}\ndata: ${JSON.stringify(event)}\n\n`;
}

export function formatSseComment(text: string): string {
  return `: ${text}\n\n`;
}

export interface SseMessage {
  event: string;
  data: string;
}

/** Incremental parser: feed text as it arrives, get back each completed message. */
export class SseParser {
  private pending = '';
  private eventName = '';
  private dataLines: string[] = [];

  feed(chunk: string): SseMessage[] {
    this.pending += chunk;
    const out: SseMessage[] = [];
    for (;;) {
      const end = this.pending.search(/\r\n|\r|\n/);
      if (end < 0) break;
      // A lone trailing \r may be the first half of \r\n: wait for the next chunk.
      if (this.pending[end] === '\r' && end === this.pending.length - 1) break;
      const line = this.pending.slice(0, end);
      this.pending = this.pending.slice(end + (this.pending.startsWith('\r\n', end) ? 2 : 1));
      const message = this.line(line);
      if (message) out.push(message);
    }
    return out;
  }

  private line(line: string): SseMessage | null {
    if (line === '') {
      if (this.dataLines.length === 0) {
        this.eventName = '';
        return null;
      }
      const message = { event: this.eventName || 'message', data: this.dataLines.join('\n') };
      this.eventName = '';
      this.dataLines = [];
      return message;
    }
    if (line.startsWith(':')) return null;
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'event') this.eventName = value;
    else if (field === 'data') this.dataLines.push(value);
    return null;
  }
}

/**
 * One server-sent event stream on a reply, for the watch-like routes (kv watch, election
 * observe): the headers, a keep-alive comment every `keepAliveMs`, and one end. A client that
 * stops reading is dropped once its unsent bytes pass `maxUnsentBytes`, never buffered without
 * limit; it resumes from what it saw. `onEnd` runs once, whether the stream ends or is given up
 * before it opened (then the error goes out as a plain reply, so nothing is written here).
 */
export class SseReply {
  private ended = false;
  private keepAlive: NodeJS.Timeout | null = null;

  constructor(
    private readonly res: ServerResponse,
    private readonly opts: { maxUnsentBytes: number; keepAliveMs: number; onEnd: () => void },
  ) {}

  get isEnded(): boolean {
    return this.ended;
  }

  open(): void {
    this.res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store', connection: 'keep-alive', 'x-accel-buffering': 'no' });
    this.res.on('close', () => this.end());
    this.keepAlive = setInterval(() => this.write(formatSseComment('keep-alive')), this.opts.keepAliveMs);
    this.keepAlive.unref();
  }

  write(text: string): void {
    if (this.ended || !this.res.headersSent) return;
    this.res.write(text);
    if (this.res.writableLength > this.opts.maxUnsentBytes) this.end();
  }

  end(): void {
    if (this.ended) return;
    this.ended = true;
    if (this.keepAlive) clearInterval(this.keepAlive);
    this.opts.onEnd();
    if (this.res.headersSent) this.res.end();
  }
}
