/** EventStreams against fake responses: the stream cap, the unsent-bytes bound, one fan-out for all. */
import assert from 'node:assert/strict';
import type { ServerResponse } from 'node:http';
import { afterEach, beforeEach, describe, it, mock } from 'node:test';
import { EventStreams, type EventStreamsInit } from './events.js';
import { formatSseComment } from './sse.js';
import { FakeControlSource, fakeMember } from './testing.js';

/** What EventStreams uses of a ServerResponse. A stalled client never drains: every byte stays unsent. */
class FakeResponse {
  status: number | null = null;
  readonly chunks: string[] = [];
  writableLength = 0;
  draining = false;
  destroyed = false;
  ended = false;
  private readonly onClose: (() => void)[] = [];

  writeHead(status: number): this {
    this.status = status;
    return this;
  }

  write(text: string): boolean {
    this.chunks.push(text);
    if (!this.draining) this.writableLength += Buffer.byteLength(text);
    return true;
  }

  on(event: string, listener: () => void): this {
    if (event === 'close') this.onClose.push(listener);
    return this;
  }

  destroy(): void {
    this.destroyed = true;
    for (const listener of this.onClose) listener();
  }

  end(): void {
    this.ended = true;
  }

  get text(): string {
    return this.chunks.join('');
  }
}

const KEEP_ALIVE_MS = 1_000;

describe('event streams', () => {
  let source: FakeControlSource;
  let dropped: number[];
  const streams = (init: Partial<EventStreamsInit> = {}) =>
    new EventStreams({ source, keepAliveMs: KEEP_ALIVE_MS, maxBufferedBytes: 1024, maxStreams: 4, onSlowClient: (bytes) => dropped.push(bytes), ...init });
  const open = (s: EventStreams, types: ReadonlySet<string> | null = null) => {
    const res = new FakeResponse();
    return { res, opened: s.open(res as unknown as ServerResponse, types) };
  };

  beforeEach(() => {
    source = new FakeControlSource();
    dropped = [];
    mock.timers.enable({ apis: ['setInterval'] });
  });
  afterEach(() => mock.timers.reset());

  it('beyond maxStreams open() refuses and writes nothing; a closed stream frees its slot', () => {
    const s = streams({ maxStreams: 2 });
    const first = open(s);
    assert.equal(open(s).opened, true);
    const refused = open(s);
    assert.equal(refused.opened, false);
    assert.equal(refused.res.status, null, 'no head written, so the route can answer 503');
    assert.equal(s.size, 2);
    first.res.destroy();
    assert.equal(open(s).opened, true);
  });

  it('a stalled client is dropped by the keep-alive write alone once its backlog passes the limit', () => {
    const comment = Buffer.byteLength(formatSseComment('keep-alive'));
    const s = streams({ maxBufferedBytes: 2 * comment });
    const { res } = open(s);
    const snapshotBytes = res.writableLength;
    mock.timers.tick(KEEP_ALIVE_MS * 2);
    assert.equal(res.destroyed, false, 'two comments fit the limit');
    mock.timers.tick(KEEP_ALIVE_MS);
    assert.equal(res.destroyed, true, 'the third passes it');
    assert.deepEqual(dropped, [snapshotBytes + 3 * comment]);
    assert.equal(s.size, 0);
    assert.equal(source.listeners.size, 0, 'the last stream gone, the subscription goes');
  });

  it('a client that reads is never dropped, however much is sent', () => {
    const s = streams({ maxBufferedBytes: 40 });
    const { res } = open(s);
    res.draining = true;
    res.writableLength = 0;
    for (let i = 0; i < 100; i++) source.emit({ type: 'member-left', id: 'peer', name: 'x'.repeat(500) });
    mock.timers.tick(KEEP_ALIVE_MS * 10);
    assert.equal(res.destroyed, false);
    assert.deepEqual(dropped, []);
  });

  it('the snapshot is written whole even when larger than the limit; the limit bounds what follows it', () => {
    const s = streams({ maxBufferedBytes: 300 });
    const { res } = open(s);
    const snapshotBytes = res.writableLength;
    assert.ok(snapshotBytes > 300, 'the snapshot alone exceeds the limit');
    assert.equal(res.destroyed, false);
    source.emit({ type: 'member-left', id: 'peer', name: 'x'.repeat(100) });
    const eventBytes = res.writableLength - snapshotBytes;
    assert.ok(eventBytes > 150 && eventBytes <= 300, `one event is ${eventBytes} bytes`);
    assert.equal(res.destroyed, false, 'one event behind the snapshot fits');
    source.emit({ type: 'member-left', id: 'peer', name: 'x'.repeat(100) });
    assert.equal(res.destroyed, true, 'two do not');
  });

  it('all streams share one subscription; each gets the snapshot first, then the events its filter lets through', () => {
    const s = streams();
    const all = open(s).res;
    const leaders = open(s, new Set(['leader-changed'])).res;
    assert.equal(source.listeners.size, 1);
    source.emit({ type: 'member-joined', member: fakeMember({ id: 'gamma', name: 'gamma' }) });
    source.changeLeader('beta', 'peer');
    const types = (res: FakeResponse) => [...res.text.matchAll(/^event: (.*)$/gm)].map((m) => m[1]);
    assert.deepEqual(types(all), ['snapshot', 'member-joined', 'leader-changed']);
    assert.deepEqual(types(leaders), ['snapshot', 'leader-changed']);
    s.closeAll();
    assert.equal(all.ended && leaders.ended, true);
    assert.equal(source.listeners.size, 0);
  });
});
