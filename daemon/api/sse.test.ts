import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatSseEvent, SseParser } from './sse.js';

describe('server-sent events framing', () => {
  it('a formatted event parses back to its type and JSON, even when a field holds newlines', () => {
    const event = { type: 'election-started', at: '2025-01-01T00:00:00.000Z', term: 4, reason: 'two\nlines' } as const;
    const [message, ...rest] = new SseParser().feed(formatSseEvent(event));
    assert.deepEqual(rest, []);
    assert.equal(message!.event, 'election-started');
    assert.deepEqual(JSON.parse(message!.data), event);
  });

  it('messages split across chunks at any byte, with CRLF line ends, come out whole', () => {
    const text = 'event: a\r\ndata: {"x":1}\r\n\r\n: keep-alive\r\n\r\nevent: b\r\ndata: {"y":2}\r\n\r\n';
    for (let cut = 0; cut <= text.length; cut++) {
      const parser = new SseParser();
      const messages = [...parser.feed(text.slice(0, cut)), ...parser.feed(text.slice(cut))];
      assert.deepEqual(messages, [{ event: 'a', data: '{"x":1}' }, { event: 'b', data: '{"y":2}' }], `cut at ${cut}`);
    }
  });

  it('comments are ignored; several data lines join with newlines; no event name means "message"', () => {
    const messages = new SseParser().feed(': hello\n\ndata: one\ndata: two\n\n');
    assert.deepEqual(messages, [{ event: 'message', data: 'one\ntwo' }]);
  });
});
