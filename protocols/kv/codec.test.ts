/** The operation codec: a log entry holding anything is refused with a reason, never thrown on; valid operations pass unchanged. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { kvOperationCodec } from './codec.js';
import { compareKeys, utf8ByteLength } from './text.js';
import { kvOperation } from './testing.js';
import { MAX_KEY_BYTES, MAX_TXN_OPS, MAX_VALUE_BYTES } from './types.js';

function refused(input: unknown, reason: RegExp): void {
  const r = kvOperationCodec.parse(input);
  assert.equal(r.ok, false, `accepted ${JSON.stringify(input)?.slice(0, 80)}`);
  assert.match(r.ok ? '' : r.reason, reason);
}

describe('kvOperationCodec', () => {
  it('valid operations survive JSON unchanged', () => {
    fc.assert(
      fc.property(kvOperation, (op) => {
        const wire: unknown = JSON.parse(JSON.stringify(op));
        assert.deepEqual(kvOperationCodec.parse(wire), { ok: true, value: wire });
      }),
      { numRuns: 500 },
    );
  });

  it('refuses hostile entries with the field path', () => {
    refused(null, /^\(root\)/);
    refused({ kind: 'drop-table' }, /^kind/);
    refused({ kind: 'put', key: 'a', value: 'b', extra: 1 }, /unrecognized|extra/i);
    refused({ kind: 'put', key: '', value: 'b' }, /^key/);
    refused({ kind: 'put', key: 'a'.repeat(MAX_KEY_BYTES + 1), value: '' }, /^key/);
    refused({ kind: 'put', key: 'é'.repeat(MAX_KEY_BYTES / 2 + 1), value: '' }, /^key: longer than 1024 UTF-8 bytes/);
    refused({ kind: 'put', key: 'a', value: 'v'.repeat(MAX_VALUE_BYTES + 1) }, /^value/);
    refused({ kind: 'put', key: 'a\udfff', value: '' }, /^key: not well-formed/);
    refused({ kind: 'put', key: 'a', value: '', ifModRevision: -1 }, /^ifModRevision/);
    refused({ kind: 'put', key: 'a', value: '', ifModRevision: 2 ** 60 }, /^ifModRevision/);
    refused({ kind: 'put', key: 'a', value: '', ifModRevision: 1.5 }, /^ifModRevision/);
    refused({ kind: 'put', key: 'a', value: 7 }, /^value/);
    refused({ kind: 'txn', compare: [], success: Array(MAX_TXN_OPS + 1).fill({ kind: 'get', key: 'a' }), failure: [] }, /^success/);
    refused({ kind: 'txn', compare: [{ key: 'a', target: 'value', op: '=', value: 3 }], success: [], failure: [] }, /^compare\.0/);
    refused({ kind: 'txn', compare: [{ key: 'a', target: 'version', op: '<=', value: 3 }], success: [], failure: [] }, /^compare\.0/);
    refused({ kind: 'txn', compare: [], success: [{ kind: 'txn', compare: [], success: [], failure: [] }], failure: [] }, /^success\.0/);
    refused({ kind: 'txn', compare: [], success: [{ kind: 'put', key: 'a', value: '', ifModRevision: 0 }], failure: [] }, /^success\.0/);
    refused({ kind: 'sessionGrant', id: 's', node: 'n', ttlMs: 0 }, /^ttlMs/);
    refused({ kind: 'sessionGrant', id: 's', node: 'n'.repeat(200), ttlMs: 1000 }, /^node/);
    refused({ kind: 'sessionRevoke', id: 's', reason: 'because' }, /^reason/);
  });

  it('any input gives ok or a reason, never a throw', () => {
    const mangled = fc.tuple(kvOperation, fc.string({ maxLength: 12 }), fc.anything()).map(([op, k, v]) => ({ ...op, [k in op ? k : 'key']: v }));
    fc.assert(
      fc.property(fc.oneof(fc.anything(), fc.jsonValue(), mangled), (input) => {
        const r = kvOperationCodec.parse(input);
        if (!r.ok) assert.equal(typeof r.reason, 'string');
      }),
      { numRuns: 2000 },
    );
  });
});

describe('text', () => {
  it('utf8ByteLength agrees with Buffer on well-formed strings and refuses lone surrogates', () => {
    fc.assert(fc.property(fc.string({ unit: 'grapheme' }), (s) => assert.equal(utf8ByteLength(s), Buffer.byteLength(s, 'utf8'))));
    assert.equal(utf8ByteLength('a\ud800'), null);
    assert.equal(utf8ByteLength('\udc00a'), null);
  });

  it('compareKeys orders as UTF-8 bytes do', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme' }), fc.string({ unit: 'grapheme' }), (a, b) => {
        assert.equal(Math.sign(compareKeys(a, b)), Math.sign(Buffer.compare(Buffer.from(a), Buffer.from(b))));
      }),
      { numRuns: 1000 },
    );
  });
});
