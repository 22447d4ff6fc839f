import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Stream } from '@libp2p/interface';
import { encode } from 'it-length-prefixed';
import { readInboundStream, type InboundInit } from './inbound.js';
import type { FrameRejectReason, P2PLogger } from './types.js';

const quiet: P2PLogger = { debug() {}, info() {}, warn() {}, error() {} };
const text = (t: string) => new TextEncoder().encode(t);

/** An inbound stream whose source yields all `frames` in one chunk, as one socket read would. */
function streamOf(frames: Uint8Array[]): Stream {
  const chunk = Buffer.concat(frames.map((frame) => encode.single(frame).subarray()));
  return {
    source: (async function* () {
      yield chunk;
    })(),
    close: async () => undefined,
    abort: () => undefined,
  } as unknown as Stream;
}

function reader(overrides: Partial<InboundInit> = {}) {
  const got = { frames: [] as unknown[], rejects: [] as FrameRejectReason[] };
  const init: InboundInit = {
    from: 'peer',
    maxFrameBytes: 1024,
    framesPerTurn: 64,
    admit: () => true,
    onFrame: (_from, message) => void got.frames.push(message),
    onReject: (_from, reason) => void got.rejects.push(reason),
    logger: quiet,
    ...overrides,
  };
  return { init, got };
}

describe('inbound stream reader', () => {
  it('drops frames the rate limit refuses before parsing them: garbage over the limit is rate-limited, not malformed', async () => {
    let tokens = 2;
    const { init, got } = reader({ admit: () => tokens-- > 0 });
    await readInboundStream(streamOf([text('{"n":1}'), text('{"n":2}'), text('not json'), text('{"n":'), text('{"n":3}')]), init);
    assert.deepEqual(got.frames, [{ n: 1 }, { n: 2 }]);
    assert.deepEqual(got.rejects, ['rate-limited', 'rate-limited', 'rate-limited']);
  });

  it('asks the limit once per frame, admitted or not', async () => {
    let asked = 0;
    const { init } = reader({ admit: () => (asked++, asked % 2 === 0) });
    await readInboundStream(streamOf(Array.from({ length: 10 }, (_, i) => text(String(i)))), init);
    assert.equal(asked, 10);
  });

  it('yields to the event loop between turns: a chunk of thousands of frames does not hold it up', async () => {
    const total = 2000;
    const { init, got } = reader({ framesPerTurn: 64 });
    let handledWhenOtherWorkRan: number | null = null;
    setImmediate(() => (handledWhenOtherWorkRan = got.frames.length));
    await readInboundStream(streamOf(Array.from({ length: total }, (_, i) => text(String(i)))), init);
    assert.equal(got.frames.length, total);
    assert.ok(handledWhenOtherWorkRan !== null && handledWhenOtherWorkRan <= 64, `other work ran after ${handledWhenOtherWorkRan} frames`);
  });
});
