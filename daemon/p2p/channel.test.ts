import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Stream } from '@libp2p/interface';
import { decode } from 'it-length-prefixed';
import type { Uint8ArrayList } from 'uint8arraylist';
import { PeerChannel } from './channel.js';
import type { OutboundDropReason, P2PLogger } from './types.js';

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
  return { stream: stream as unknown as Stream, chunks, frames, fail: () => breakSink(new Error('reset')) };
}

/** A peer that never reads: the sink takes nothing; abort() breaks it like a reset and is recorded. */
function stuckStream() {
  const aborts: Error[] = [];
  let breakSink: (err: Error) => void = () => undefined;
  const broken = new Promise<never>((_, reject) => (breakSink = reject));
  broken.catch(() => undefined);
  const stream = {
    source: (async function* () {})(),
    sink: async () => broken,
    close: async () => undefined,
    abort: (err: Error) => {
      aborts.push(err);
      breakSink(err);
    },
  };
  return { stream: stream as unknown as Stream, aborts };
}

interface ChannelOptions {
  maxQueuedFrames?: number;
  maxQueuedBytes?: number;
  maxBlockedMs?: number;
  nowMs?: () => number;
  /** Whether the peer is connected (default: yes, so a failed open is tried again by the next frame). */
  isConnected?: () => boolean;
}

function channel(openStream: () => Promise<Stream>, options: ChannelOptions = {}) {
  /** The backoff's retries, run by the test (`fire`) instead of a clock. */
  const timers: { fn: () => void; ms: number; cancelled: boolean }[] = [];
  const counts = { queueFull: 0, stale: 0, streamLost: 0, resets: 0, sent: 0 };
  const byReason: Record<OutboundDropReason, keyof typeof counts> = { 'queue-full': 'queueFull', stale: 'stale', 'stream-lost': 'streamLost' };
  const ch = new PeerChannel({
    peer: 'p',
    maxQueuedFrames: options.maxQueuedFrames ?? 100,
    maxQueuedBytes: options.maxQueuedBytes ?? 1 << 20,
    maxQueuedMs: 1000,
    maxBlockedMs: options.maxBlockedMs ?? 10_000,
    nowMs: options.nowMs ?? (() => 0),
    openStream,
    isConnected: options.isConnected ?? (() => true),
    openBackoff: { baseMs: 100, maxMs: 400 },
    // The top of each interval: the n-th failure in a row waits just under min(400, 100 · 2^(n-1)) ms.
    random01: () => 0.99,
    schedule: (fn, ms) => {
      const timer = { fn, ms, cancelled: false };
      timers.push(timer);
      return () => (timer.cancelled = true);
    },
    onDropped: (n, reason) => (counts[byReason[reason]] += n),
    onStreamReset: () => counts.resets++,
    onFramesSent: (n) => (counts.sent += n),
    logger: quiet,
  });
  /** The retries scheduled and not cancelled, oldest first. */
  const pending = () => timers.filter((t) => !t.cancelled);
  /** Runs the oldest pending retry (its delay passed). */
  const fire = () => {
    const timer = pending()[0];
    assert.ok(timer, 'a retry is scheduled');
    timers.splice(timers.indexOf(timer), 1);
    timer.fn();
  };
  return { ch, counts, pending, fire };
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

  it('a batch reaches the stream as one chunk, each frame behind its length prefix (one muxer frame, one socket write)', async () => {
    const s = fakeStream();
    const { ch, counts } = channel(async () => s.stream);
    const long = 'x'.repeat(300);
    ch.send(frame('a'));
    ch.send(frame(long));
    await until(() => s.frames().length === 2);
    assert.equal(s.chunks.length, 1);
    // 300 characters plus quotes need a two-byte varint: 0xae 0x02 is 302.
    const chunk = s.chunks[0]!;
    assert.deepEqual([...chunk.subarray(0, 4)], [3, ...frame('a')]);
    assert.deepEqual([...chunk.subarray(4, 6)], [0xae, 0x02]);
    assert.deepEqual([...chunk.subarray(6)], [...frame(long)]);
    assert.equal(counts.sent, 2, 'the frames of a chunk are counted as sent');
  });

  it('splits a large batch into chunks of at most 64 KiB of whole frames, in order', async () => {
    const s = fakeStream();
    const { ch, counts } = channel(async () => s.stream);
    const payload = (i: number) => frame({ i, pad: 'x'.repeat(10_000) });
    for (let i = 0; i < 20; i++) ch.send(payload(i));
    await until(() => s.frames().length === 20);
    assert.deepEqual(s.frames().map((f) => (f as { i: number }).i), [...Array(20).keys()]);
    // 6 frames of ~10 KiB fit 64 KiB: 20 frames make 4 chunks, none over the bound.
    assert.equal(s.chunks.length, 4);
    for (const chunk of s.chunks) assert.ok(chunk.byteLength <= 64 * 1024, `a chunk of ${chunk.byteLength} bytes`);
    assert.equal(counts.sent, 20);
  });

  it('restart drops the stream at once (its connection is closing): the next frame goes out on a new one', async () => {
    const streams = [fakeStream(), fakeStream()];
    const aborted: number[] = [];
    let opens = 0;
    const { ch } = channel(async () => {
      const i = opens++;
      return { ...streams[i]!.stream, abort: () => void aborted.push(i) } as unknown as Stream;
    });
    ch.send(frame('first'));
    await until(() => streams[0]!.frames().length === 1);
    ch.restart();
    assert.deepEqual(aborted, [0]);
    assert.equal(ch.currentStream, null);
    ch.send(frame('second'));
    await until(() => streams[1]!.frames().length === 1);
    assert.deepEqual(streams[1]!.frames(), ['second']);
    assert.equal(opens, 2);
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

  it('after an open failed with no connection (a peer that is down), frames do not dial again: a retry does once the backoff ends, or a connection coming up does', async () => {
    let opens = 0;
    let reachable = false;
    const fake = fakeStream();
    const { ch, pending, fire } = channel(
      async () => {
        opens++;
        if (!reachable) throw new Error('connect ECONNREFUSED');
        return fake.stream;
      },
      { isConnected: () => false, maxQueuedFrames: 1000 },
    );
    const settle = () => new Promise((resolve) => setTimeout(resolve, 5));
    ch.send(frame(0));
    await until(() => opens === 1 && pending().length === 1);
    assert.ok(pending()[0]!.ms > 90 && pending()[0]!.ms < 100, `first backoff ${pending()[0]!.ms} ms`);
    // A heartbeat interval's frames while it backs off: no dial.
    for (let i = 1; i < 10; i++) ch.send(frame(i));
    await settle();
    assert.equal(opens, 1);
    // The backoff ends: the retry dials with no frame sent, and the next failure waits twice as long.
    fire();
    await until(() => opens === 2 && pending().length === 1);
    assert.ok(pending()[0]!.ms > 190 && pending()[0]!.ms < 200, `second backoff ${pending()[0]!.ms} ms`);
    ch.send(frame(10));
    await settle();
    assert.equal(opens, 2);
    // The peer is back and a connection came up (the dialer's redial): the queued frames go at once, the retry is off.
    reachable = true;
    ch.resume();
    await until(() => fake.frames().length === 11);
    assert.equal(opens, 3);
    assert.equal(pending().length, 0);
  });

  it('a peer that stays down holds only frames younger than maxQueuedMs: older ones go as stale, none as queue-full', async () => {
    let clockMs = 0;
    const { ch, counts } = channel(
      async () => {
        throw new Error('connect ECONNREFUSED');
      },
      { nowMs: () => clockMs, isConnected: () => false, maxQueuedFrames: 100 },
    );
    // Ten frames a second for 30 s (a leader's heartbeats to a stopped voter): 300 frames, 100 queued at most.
    for (clockMs = 0; clockMs < 30_000; clockMs += 100) ch.send(frame(clockMs));
    await new Promise((resolve) => setTimeout(resolve, 5));
    assert.equal(counts.queueFull, 0);
    // maxQueuedMs is 1000: the frames of the last second wait, the rest went as stale.
    assert.equal(counts.stale, 300 - 11);
  });

  it('after an open failed with a connection up, the next frame tries again at once (no backoff)', async () => {
    let opens = 0;
    const fake = fakeStream();
    const { ch, pending } = channel(async () => {
      if (opens++ === 0) throw new Error('the connection is being replaced');
      return fake.stream;
    });
    ch.send(frame('a'));
    await until(() => opens === 1);
    await new Promise((resolve) => setTimeout(resolve, 5));
    assert.equal(pending().length, 0);
    ch.send(frame('b'));
    await until(() => fake.frames().length === 2);
    assert.equal(opens, 2);
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
    assert.equal(counts.stale, 1);
  });

  it('bounds queued bytes as well as frames: the oldest frames go first, each counted', async () => {
    let opened: (s: Stream) => void = () => undefined;
    const { ch, counts } = channel(() => new Promise((resolve) => (opened = resolve)), { maxQueuedBytes: 350 });
    const pad = (i: number) => frame({ i, pad: 'x'.repeat(90) }); // 106 bytes each
    for (let i = 0; i < 5; i++) ch.send(pad(i));
    assert.equal(counts.queueFull, 2);
    const fake = fakeStream();
    opened(fake.stream);
    await until(() => fake.frames().length === 3);
    assert.deepEqual(fake.frames().map((f) => (f as { i: number }).i), [2, 3, 4]);
  });

  it('gives a stream that takes nothing no second batch: later frames wait in the bounded queue', async () => {
    const stuck = stuckStream();
    let opens = 0;
    const { ch, counts } = channel(async () => (opens++, stuck.stream), { maxQueuedFrames: 3 });
    ch.send(frame('first'));
    await until(() => opens === 1);
    await new Promise((resolve) => setTimeout(resolve, 5));
    for (let i = 0; i < 10; i++) {
      ch.send(frame(i));
      await new Promise((resolve) => setTimeout(resolve, 1));
    }
    assert.equal(counts.queueFull, 7);
    assert.equal(counts.sent, 0);
  });

  it('holds at most maxQueuedBytes for a peer that never reads, however much is sent', async () => {
    const stuck = stuckStream();
    const { ch, counts } = channel(async () => stuck.stream, { maxQueuedBytes: 10_000, maxQueuedFrames: 1_000_000 });
    const payload = frame({ pad: 'x'.repeat(90) }); // 100 bytes
    ch.send(payload);
    await until(() => counts.sent === 0 && stuck.aborts.length === 0);
    await new Promise((resolve) => setTimeout(resolve, 5));
    for (let i = 0; i < 9_999; i++) ch.send(payload);
    await new Promise((resolve) => setTimeout(resolve, 5));
    for (let i = 0; i < 10_000; i++) ch.send(payload);
    // 20 000 frames of 100 bytes sent; in the stream's hands or waiting: at most 10 000 bytes.
    assert.equal(counts.sent, 0);
    assert.ok(20_000 - counts.queueFull <= 100, `${20_000 - counts.queueFull} frames held`);
    assert.equal(stuck.aborts.length, 0, 'not reset before maxBlockedMs');
  });

  it('resets a stream that took nothing for maxBlockedMs, drops what it held, and opens a new one', async () => {
    let clockMs = 0;
    const stuck = stuckStream();
    const fresh = fakeStream();
    const streams = [stuck.stream, fresh.stream];
    let opens = 0;
    const { ch, counts } = channel(async () => streams[opens++]!, { maxBlockedMs: 10_000, nowMs: () => clockMs });
    for (let i = 0; i < 3; i++) ch.send(frame(i));
    await until(() => opens === 1);
    await new Promise((resolve) => setTimeout(resolve, 5));
    clockMs = 9_999;
    ch.send(frame('still waiting'));
    await new Promise((resolve) => setTimeout(resolve, 5));
    assert.equal(stuck.aborts.length, 0);
    clockMs = 10_000;
    ch.send(frame('after'));
    assert.deepEqual(stuck.aborts.map((e) => e.name), ['StuckStreamError']);
    assert.equal(counts.resets, 1);
    assert.equal(counts.streamLost, 3, 'the first batch never left');
    await until(() => fresh.frames().length === 2);
    assert.deepEqual(fresh.frames(), ['still waiting', 'after']);
    assert.equal(opens, 2);
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
