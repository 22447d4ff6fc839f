import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Stream } from '@libp2p/interface';
import { decode } from 'it-length-prefixed';
import type { Uint8ArrayList } from 'uint8arraylist';
import { PeerChannel } from './channel.js';
import type { P2PLogger } from './types.js';

const quiet: P2PLogger = { debug() {}, info() {}, warn() {}, error() {} };

/** A stream that records the frames its sink takes; `fail()` breaks it like a reset would. */
function fakeStream() {
  const chunks: Uint8Array[] = [];
  let breakSink: (err: Error) => void = () => undefined;
  const broken = new Promise<never>((_, reject) => (breakSink = reject));
  broken.catch(() => undefined);
  const stream = {
    source: (async function* () {})(),
    sink: async (source: AsyncIterable<Uint8Array | Uint8ArrayList>) => {
      const iterator = source[Symbol.asyncIterator]();
      for (;;) {
        const next = await Promise.race([iterator.next(), broken]);
        if (next.done) return;
        chunks.push(next.value.subarray());
      }
    },
    close: async () => undefined,
    abort: () => undefined,
  };
  const frames = () => [...decode(chunks)].map((f) => JSON.parse(new TextDecoder().decode(f.subarray())) as unknown);
  return { stream: stream as unknown as Stream, frames, fail: () => breakSink(new Error('reset')) };
}

function channel(openStream: () => Promise<Stream>, options: { maxQueuedFrames?: number; nowMs?: () => number } = {}) {
  const counts = { queueFull: 0, sent: 0 };
  const ch = new PeerChannel({
    peer: 'p',
    maxQueuedFrames: options.maxQueuedFrames ?? 100,
    maxQueuedMs: 1000,
    nowMs: options.nowMs ?? (() => 0),
    openStream,
    onQueueFull: () => counts.queueFull++,
    onFramesSent: (n) => (counts.sent += n),
    logger: quiet,
  });
  return { ch, counts };
}

const frame = (value: unknown) => new TextEncoder().encode(JSON.stringify(value));

async function until(check: () => boolean): Promise<void> {
  for (let i = 0; i < 500 && !check(); i++) await new Promise((resolve) => setTimeout(resolve, 2));
  assert.ok(check(), 'condition not reached');
}

describe('peer channel', () => {
  it('warm opens the stream before any frame; the first frame then uses it without another open', async () => {
    const s = fakeStream();
    let opens = 0;
    const { ch } = channel(async () => {
      opens++;
      return s.stream;
    });
    ch.warm();
    ch.warm();
    await until(() => opens === 1);
    ch.send(frame('first'));
    await until(() => s.frames().length === 1);
    assert.equal(opens, 1);
    assert.deepEqual(s.frames(), ['first']);
  });

  it('a warm-up that fails is harmless: the next frame opens the stream', async () => {
    const s = fakeStream();
    let opens = 0;
    const { ch } = channel(async () => {
      if (++opens === 1) throw new Error('protocol not supported yet');
      return s.stream;
    });
    ch.warm();
    await until(() => opens === 1);
    await new Promise((resolve) => setTimeout(resolve, 5));
    ch.send(frame('x'));
    await until(() => s.frames().length === 1);
    assert.equal(opens, 2);
  });

  it('bounds the queue while the stream opens: the oldest frames are dropped and reported', async () => {
    let opened: (s: Stream) => void = () => undefined;
    const { ch, counts } = channel(() => new Promise((resolve) => (opened = resolve)), { maxQueuedFrames: 3 });
    for (let i = 0; i < 5; i++) ch.send(frame(i));
    assert.equal(counts.queueFull, 2);
    const fake = fakeStream();
    opened(fake.stream);
    await until(() => fake.frames().length === 3);
    assert.deepEqual(fake.frames(), [2, 3, 4]);
    assert.equal(counts.sent, 3);
  });

  it('opens one stream lazily and keeps using it, in order', async () => {
    const fake = fakeStream();
    let opens = 0;
    const { ch } = channel(async () => {
      opens++;
      return fake.stream;
    });
    for (let i = 0; i < 10; i++) ch.send(frame(i));
    await until(() => fake.frames().length === 10);
    ch.send(frame(10));
    await until(() => fake.frames().length === 11);
    assert.deepEqual(fake.frames(), Array.from({ length: 11 }, (_, i) => i));
    assert.equal(opens, 1);
  });

  it('opens a new stream after the old one breaks', async () => {
    const streams = [fakeStream(), fakeStream()];
    let opens = 0;
    const { ch } = channel(async () => streams[opens++]!.stream);
    ch.send(frame('a'));
    await until(() => streams[0]!.frames().length === 1);
    streams[0]!.fail();
    await new Promise((resolve) => setTimeout(resolve, 5));
    ch.send(frame('b'));
    await until(() => streams[1]!.frames().length === 1);
    assert.deepEqual(streams[1]!.frames(), ['b']);
    assert.equal(opens, 2);
  });

  it('keeps frames across a failed open and sends them when the peer connects', async () => {
    const fake = fakeStream();
    let attempts = 0;
    const { ch } = channel(async () => {
      if (attempts++ === 0) throw new Error('no addresses yet');
      return fake.stream;
    });
    ch.send(frame('early'));
    await until(() => attempts === 1);
    ch.resume();
    await until(() => fake.frames().length === 1);
    assert.deepEqual(fake.frames(), ['early']);
  });

  it('drops frames that waited longer than maxQueuedMs for a stream', async () => {
    let clockMs = 0;
    let opened: (s: Stream) => void = () => undefined;
    const { ch, counts } = channel(() => new Promise((resolve) => (opened = resolve)), { nowMs: () => clockMs });
    ch.send(frame('stale'));
    clockMs = 1001;
    ch.send(frame('fresh'));
    const fake = fakeStream();
    opened(fake.stream);
    await until(() => fake.frames().length === 1);
    assert.deepEqual(fake.frames(), ['fresh']);
    assert.equal(counts.sent, 1);
  });

  it('sends nothing after close', async () => {
    const fake = fakeStream();
    const { ch, counts } = channel(async () => fake.stream);
    ch.close();
    ch.send(frame('x'));
    await new Promise((resolve) => setTimeout(resolve, 5));
    assert.equal(counts.sent, 0);
  });
});
