import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decodeFrame, encodeFrame } from './frames.js';

describe('direct frames', () => {
  it('round-trips a JSON message', () => {
    const message = { type: 'ELECTION', term: 3, from: 'x', nested: [1, 'two', null] };
    assert.deepEqual(decodeFrame(encodeFrame(message)!, 1024), { ok: true, message });
  });

  it('drops frames above maxFrameBytes as oversized, at exactly the limit accepts', () => {
    const payload = encodeFrame({ pad: 'x'.repeat(100) })!;
    assert.deepEqual(decodeFrame(payload, payload.byteLength - 1), { ok: false, reason: 'oversized' });
    assert.equal(decodeFrame(payload, payload.byteLength).ok, true);
  });

  it('drops unparseable JSON and invalid UTF-8 as malformed', () => {
    assert.deepEqual(decodeFrame(new TextEncoder().encode('{"a":'), 1024), { ok: false, reason: 'malformed' });
    assert.deepEqual(decodeFrame(Uint8Array.of(0x22, 0xff, 0x22), 1024), { ok: false, reason: 'malformed' });
  });

  it('has no frame for values without a JSON form', () => {
    assert.equal(encodeFrame(undefined), null);
  });
});
