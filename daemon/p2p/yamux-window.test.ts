import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { defaultConfig } from '@chainsafe/libp2p-yamux/config';
import { StreamState, YamuxStream } from '@chainsafe/libp2p-yamux/stream';
import { installYamuxWindowBatching } from './yamux-window.js';

const WINDOW_UPDATE = 1;
const SYN = 1;

/** A stream whose sent frames are recorded, fed `count` data frames of `size` bytes and read to the end. */
async function readMessages(state: StreamState, count: number, size: number): Promise<{ type: number; flag: number; length: number }[]> {
  const frames: { type: number; flag: number; length: number }[] = [];
  const noop = Object.assign(() => undefined, { enabled: false, trace: () => undefined, error: () => undefined, newScope: () => noop });
  const stream = new YamuxStream({
    id: '1',
    direction: 'inbound',
    state,
    config: defaultConfig,
    getRTT: () => -1,
    log: noop as never,
    sendFrame: (header) => void frames.push({ type: header.type, flag: header.flag, length: header.length }),
  });
  for (let i = 0; i < count; i++) {
    // The stream only queues what it is handed and counts its bytes: a plain array stands in for a Uint8ArrayList.
    await stream.handleData({ type: 0, flag: 0, streamID: 1, length: size, version: 0 } as never, async () => new Uint8Array(size) as never);
  }
  let read = 0;
  for await (const chunk of stream.source) {
    read += chunk.byteLength;
    if (read === count * size) break;
  }
  return frames.filter((f) => f.type === WINDOW_UPDATE);
}

describe('yamux window updates', () => {
  it('installs on this version of @chainsafe/libp2p-yamux', () => {
    assert.equal(installYamuxWindowBatching(), true);
  });

  it('reading small messages sends no window update until half the window is used, then one for all of it', async () => {
    installYamuxWindowBatching();
    const half = defaultConfig.initialStreamWindowSize / 2;
    assert.deepEqual(await readMessages(StreamState.Established, 100, 600), [], '100 heartbeats of 600 bytes: no update');
    const updates = await readMessages(StreamState.Established, Math.ceil(half / 1000) + 1, 1000);
    assert.equal(updates.length, 1, JSON.stringify(updates));
    assert.ok(updates[0]!.length > half, `one update returning ${updates[0]!.length} bytes`);
  });

  it('the first update of a stream the remote opened still carries its flags (ACK), however little was read', async () => {
    installYamuxWindowBatching();
    const updates = await readMessages(StreamState.SYNReceived, 1, 10);
    assert.equal(updates.length, 1);
    assert.notEqual(updates[0]!.flag, 0);
    assert.notEqual(updates[0]!.flag & ~SYN, 0, 'ACK (2), not SYN');
  });
});
