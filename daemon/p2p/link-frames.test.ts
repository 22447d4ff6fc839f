import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { encodeFrame, HARD_CAP_FACTOR } from './frames.js';
import { encodeLinkFrame, encodeLinkOffer, LinkFrameReader, parseLinkOffer, type LinkRead } from './link-frames.js';

const payloadOf = (message: unknown) => encodeFrame(message)!;
const text = (read: LinkRead) => (read.kind === 'frame' ? new TextDecoder().decode(read.payload) : read.kind);

describe('link frames', () => {
  it('carries the protocol and the payload, each frame whole, however the bytes are cut', () => {
    const frames = [encodeLinkFrame('raft', payloadOf({ type: 'VOTE', term: 7 })), encodeLinkFrame('bully', payloadOf({ pad: 'x'.repeat(300) })), encodeLinkFrame('membership', payloadOf({ hb: {} }))];
    const bytes = Buffer.concat(frames);
    for (let cut = 1; cut < bytes.byteLength; cut++) {
      const reader = new LinkFrameReader(1024);
      reader.push(bytes.subarray(0, cut));
      const reads: LinkRead[] = [];
      for (let r = reader.next(); r.kind === 'frame'; r = reader.next()) reads.push(r);
      reader.push(bytes.subarray(cut));
      for (let r = reader.next(); r.kind === 'frame'; r = reader.next()) reads.push(r);
      assert.deepEqual(
        reads.map((r) => (r.kind === 'frame' ? r.protocol : null)),
        ['raft', 'bully', 'membership'],
        `cut at ${cut}`,
      );
      assert.equal(text(reads[0]!), '{"type":"VOTE","term":7}');
      assert.equal(reader.pendingBytes, 0);
    }
  });

  it('uses a multi-byte length for frames of 128 bytes and more', () => {
    const payload = payloadOf({ pad: 'y'.repeat(20_000) });
    const frame = encodeLinkFrame('raft', payload);
    assert.equal(frame.byteLength, payload.byteLength + 1 + 3);
    const reader = new LinkFrameReader(65_536);
    reader.push(frame);
    const read = reader.next();
    assert.equal(read.kind, 'frame');
    assert.deepEqual(read.kind === 'frame' && read.payload, payload);
  });

  it('hands out a frame over maxFrameBytes (the caller drops it as oversized) but closes on one over the hard cap, unbuffered', () => {
    const reader = new LinkFrameReader(100);
    reader.push(encodeLinkFrame('raft', new Uint8Array(150)));
    assert.equal(reader.next().kind, 'frame');
    const capped = new LinkFrameReader(100);
    // Only the length prefix of a frame of 100 × HARD_CAP_FACTOR + 2 bytes has arrived.
    capped.push(encodeLinkFrame('raft', new Uint8Array(100 * HARD_CAP_FACTOR + 1)).subarray(0, 3));
    assert.deepEqual(capped.next(), { kind: 'fatal', reason: 'oversized' });
  });

  it('calls a zero length or a length prefix that never ends malformed', () => {
    const zero = new LinkFrameReader(100);
    zero.push(Uint8Array.of(0));
    assert.deepEqual(zero.next(), { kind: 'fatal', reason: 'malformed' });
    const endless = new LinkFrameReader(100);
    endless.push(Uint8Array.of(0x80, 0x80, 0x80, 0x80, 0x01));
    assert.deepEqual(endless.next(), { kind: 'fatal', reason: 'malformed' });
  });

  it('names no protocol for a protocol byte it does not know', () => {
    const frame = encodeLinkFrame('raft', payloadOf({}));
    frame[1] = 9;
    const reader = new LinkFrameReader(100);
    reader.push(frame);
    const read = reader.next();
    assert.equal(read.kind === 'frame' && read.protocol, null);
  });
});

describe('link offers', () => {
  const offer = { port: 41_234, identity: 'ab'.repeat(16), psk: new Uint8Array(32).fill(7) };

  it('round-trips', () => {
    assert.deepEqual(parseLinkOffer(encodeLinkOffer(offer)), offer);
  });

  it('refuses anything else: another shape, a bad port, identity or key length, not JSON', () => {
    const bad = (value: unknown) => parseLinkOffer(new TextEncoder().encode(JSON.stringify(value)));
    const good = JSON.parse(new TextDecoder().decode(encodeLinkOffer(offer))) as Record<string, unknown>;
    assert.equal(bad({ ...good, port: 0 }), null);
    assert.equal(bad({ ...good, port: 70_000 }), null);
    assert.equal(bad({ ...good, port: '41234' }), null);
    assert.equal(bad({ ...good, identity: 'AB'.repeat(16) }), null);
    assert.equal(bad({ ...good, identity: 'ab' }), null);
    assert.equal(bad({ ...good, psk: Buffer.alloc(16).toString('base64') }), null);
    assert.equal(bad({ ...good, psk: 42 }), null);
    assert.equal(bad([good]), null);
    assert.equal(parseLinkOffer(new TextEncoder().encode('{"port":')), null);
  });
});
