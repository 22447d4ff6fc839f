import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type RecordBody, RecordType } from './format.js';
import {
  decodeRecord,
  decodeSnapshotFile,
  encodeCheckpoint,
  encodeEntry,
  encodeHardState,
  encodeSnapshotFile,
  encodeSnapshotMarker,
  encodeTruncate,
  snapshotFileName,
} from './records.js';

function decode(body: RecordBody) {
  return decodeRecord({ offset: 0, type: body.type, endsBatch: true, payload: body.payload });
}

const file = snapshotFileName(3);

describe('record payloads', () => {
  it('each kind decodes to what was encoded', () => {
    assert.deepEqual(decode(encodeHardState('election', '{"epoch":4}')), { ok: true, record: { type: 'hard-state', key: 'election', value: { epoch: 4 } } });
    assert.deepEqual(decode(encodeEntry(7, 2, '["put","k"]')), { ok: true, record: { type: 'entry', entry: { index: 7, term: 2, data: ['put', 'k'] } } });
    assert.deepEqual(decode(encodeTruncate(5)), { ok: true, record: { type: 'truncate', after: 5 } });
    assert.deepEqual(decode(encodeSnapshotMarker({ index: 9, term: 2, file })), { ok: true, record: { type: 'snapshot', marker: { index: 9, term: 2, file } } });
    assert.deepEqual(decode(encodeCheckpoint(new Map([['membership', '12'], ['election', 'null']]), { index: 9, term: 2, file }, 11)), {
      ok: true,
      record: { type: 'checkpoint', hardState: new Map<string, unknown>([['membership', 12], ['election', null]]), snapshot: { index: 9, term: 2, file }, lastIndex: 11 },
    });
  });

  it('a checksummed record that makes no sense is refused with a reason, never guessed at', () => {
    const raw = (type: number, json: string) => decode({ type: type as 1, payload: Buffer.from(json) });
    assert.equal(raw(RecordType.entry, '{"index":0,"term":1,"data":1}').ok, false, 'entry index 0');
    assert.equal(raw(RecordType.entry, '{"index":1.5,"term":1,"data":1}').ok, false);
    assert.equal(raw(RecordType.entry, '{"index":1,"term":1}').ok, false, 'no data');
    assert.equal(raw(RecordType.truncate, '{"after":-1}').ok, false);
    assert.equal(raw(RecordType.hardState, '{"value":1}').ok, false);
    assert.equal(raw(RecordType.entry, 'not json').ok, false);
    assert.equal(raw(RecordType.entry, '[1]').ok, false);
    assert.equal(raw(99, '{}').ok, false, 'unknown type');
  });

  it('a snapshot marker may only name a snapshot file of this directory', () => {
    for (const bad of ['../../etc/passwd', '/tmp/x.snap', 'snap-1.snap', `sub/${file}`]) {
      const r = decode({ type: RecordType.snapshot, payload: Buffer.from(JSON.stringify({ index: 1, term: 1, file: bad })) });
      assert.equal(r.ok, false, bad);
    }
  });
});

describe('snapshot files', () => {
  const marker = { index: 40, term: 3, file };
  const bytes = Buffer.from(encodeSnapshotFile(40, 3, '{"members":["a","b"],"note":"ü"}'));

  it('read back the data they were written with, when the marker agrees', () => {
    assert.deepEqual(decodeSnapshotFile(bytes, marker), { ok: true, snapshot: { index: 40, term: 3, data: { members: ['a', 'b'], note: 'ü' } } });
  });

  it('refuse a flipped data byte, a cut file, a foreign header, or another index than the marker says', () => {
    const flipped = Buffer.from(bytes);
    flipped[flipped.length - 3] ^= 1;
    const dataAt = bytes.indexOf(0x0a) + 1;
    assert.deepEqual(decodeSnapshotFile(flipped, marker), { ok: false, reason: 'its data checksum does not match', offset: dataAt });
    assert.equal(decodeSnapshotFile(bytes.subarray(0, bytes.length - 1), marker).ok, false);
    assert.equal(decodeSnapshotFile(Buffer.from('{"members":[]}'), marker).ok, false);
    assert.equal(decodeSnapshotFile(bytes, { ...marker, index: 41 }).ok, false);
  });
});
