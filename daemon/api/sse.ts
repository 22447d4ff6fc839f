/**
 * Server-sent events framing (https://html.spec.whatwg.org/multipage/server-sent-events.html):
 * the server writes one `event:` + `data:` block per event; the client parses the stream back.
 */
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
