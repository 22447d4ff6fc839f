/** Frame decoding fuzzed (fast-check): whatever bytes a peer sends give a message or a reason. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { decodeFrame, encodeFrame } from './frames.js';

test('frame decoding: any bytes give a message or a reason, never a throw; frames round-trip', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 300 }), fc.integer({ min: 0, max: 400 }), (bytes, max) => {
      const decoded = decodeFrame(bytes, max);
      if (!decoded.ok) assert.ok(decoded.reason === 'oversized' || decoded.reason === 'malformed');
      else assert.ok(bytes.byteLength <= max);
    }),
    { numRuns: 2000 },
  );
  fc.assert(
    fc.property(fc.jsonValue(), (value) => {
      const bytes = encodeFrame(value)!;
      const decoded = decodeFrame(bytes, bytes.byteLength);
      assert.ok(decoded.ok);
      assert.deepEqual(decoded.message, JSON.parse(JSON.stringify(value)));
    }),
  );
});
