/**
 * Segment framing and the torn-versus-corrupt rule (format.ts header comment), on bytes alone.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { FRAME_BYTES, HEADER_BYTES, RecordType, encodeBatch, encodeHeader, encodeRecord, parseSegmentName, scanSegment, segmentName } from './format.js';

const payload = (text: string) => Buffer.from(text, 'utf8');

/** A segment with `n` small records; the offsets of its records. */
function segment(seq: number, n: number): { bytes: Buffer; offsets: number[] } {
  const parts = [encodeHeader(seq)];
  const offsets: number[] = [];
  let at = HEADER_BYTES;
  for (let i = 0; i < n; i++) {
    const r = encodeRecord(RecordType.entry, payload(`{"index":${i + 1},"term":1,"data":"record ${i}"}`), true);
    offsets.push(at);
    at += r.length;
    parts.push(r);
  }
  return { bytes: Buffer.concat(parts), offsets };
}

function flip(bytes: Buffer, at: number): Buffer {
  const copy = Buffer.from(bytes);
  copy[at] = copy[at]! ^ 0x40;
  return copy;
}

describe('segment names', () => {
  it('are 16 zero-padded digits and parse back; other files are not segments', () => {
    assert.equal(segmentName(42), '0000000000000042.wal');
    assert.equal(parseSegmentName(segmentName(42)), 42);
    for (const other of ['42.wal', '0000000000000042.wal.torn-24', 'snap-0000000000000001.snap', '000000000000004x.wal']) {
      assert.equal(parseSegmentName(other), null, other);
    }
  });
});

describe('scanSegment', () => {
  it('returns every record of an intact segment, with its offset, type and payload', () => {
    const { bytes, offsets } = segment(7, 3);
    const scan = scanSegment(bytes, 7, false);
    assert.deepEqual(scan.end, { kind: 'clean' });
    assert.deepEqual(scan.records.map((r) => r.offset), offsets);
    assert.deepEqual(scan.records.map((r) => r.type), [RecordType.entry, RecordType.entry, RecordType.entry]);
    assert.equal(scan.records[2]!.payload.toString(), '{"index":3,"term":1,"data":"record 2"}');
  });

  it('a header that is not ours, of another version, of another segment, or with a bad checksum is corruption at its byte', () => {
    const { bytes } = segment(7, 1);
    assert.deepEqual(scanSegment(flip(bytes, 0), 7, true).end, { kind: 'corrupt', offset: 0, reason: 'the header does not start with the segment magic' });
    assert.equal(scanSegment(flip(bytes, 13), 7, true).end.kind, 'corrupt', 'a flipped seq bit fails the header checksum');
    const v2 = Buffer.from(bytes);
    v2.writeUInt32LE(2, 8);
    v2.writeUInt32LE(encodeHeader(7).readUInt32LE(20), 20);
    assert.equal(scanSegment(v2, 7, true).end.kind, 'corrupt');
    const otherSeq = scanSegment(bytes, 8, true).end;
    assert.equal(otherSeq.kind === 'corrupt' && otherSeq.offset, 12);
  });

  describe('in the last segment, a damaged final record is a torn tail', () => {
    const { bytes, offsets } = segment(1, 4);
    const last = offsets[3]!;

    it('cut anywhere inside the final record (frame or payload)', () => {
      for (let cut = last + 1; cut < bytes.length; cut++) {
        const scan = scanSegment(bytes.subarray(0, cut), 1, true);
        assert.equal(scan.end.kind, 'torn', `cut at ${cut}`);
        assert.equal(scan.end.kind === 'torn' && scan.end.offset, last);
        assert.equal(scan.records.length, 3);
      }
    });

    it('whole but with a bad checksum, anywhere in its type or payload', () => {
      for (let at = last + 4; at < bytes.length; at++) {
        const end = scanSegment(flip(bytes, at), 1, true).end;
        assert.deepEqual(end.kind === 'torn' && end.offset, last, `flipped byte ${at}`);
      }
    });

    it('followed only by zero bytes (a file extended before its data landed)', () => {
      const zeros = Buffer.concat([bytes.subarray(0, last), Buffer.alloc(4096)]);
      assert.deepEqual(scanSegment(zeros, 1, true).end, { kind: 'torn', offset: last, reason: 'record length 0 is impossible (1..67108864)' });
    });

    it('a header cut short, or all zeros (the crash hit the segment creation)', () => {
      assert.equal(scanSegment(bytes.subarray(0, 10), 1, true).end.kind, 'torn');
      assert.equal(scanSegment(Buffer.alloc(0), 1, true).end.kind, 'torn');
      assert.equal(scanSegment(Buffer.alloc(HEADER_BYTES + 100), 1, true).end.kind, 'torn');
    });
  });

  describe('anything else is corruption, reported at its offset', () => {
    const { bytes, offsets } = segment(1, 4);

    it('a bad checksum in any record before the final one, even in the last segment', () => {
      for (const [i, at] of offsets.slice(0, 3).entries()) {
        assert.deepEqual(scanSegment(flip(bytes, at + FRAME_BYTES + 2), 1, true).end, { kind: 'corrupt', offset: at, reason: 'the record checksum does not match' }, `record ${i}`);
      }
    });

    it('a length no writer produces, even in the final record', () => {
      const huge = Buffer.from(bytes);
      huge.writeUInt32LE(0xffffffff, offsets[3]!);
      assert.equal(scanSegment(huge, 1, true).end.kind, 'corrupt');
    });

    it('a segment other than the last that ends mid-record or with a bad final record', () => {
      assert.deepEqual(scanSegment(bytes.subarray(0, bytes.length - 3), 1, false).end.kind, 'corrupt');
      assert.deepEqual(scanSegment(flip(bytes, bytes.length - 1), 1, false).end.kind, 'corrupt');
      assert.deepEqual(scanSegment(bytes.subarray(0, 10), 1, false).end.kind, 'corrupt');
    });
  });

  describe('a batch counts whole or not at all', () => {
    /** A segment with one single-record batch, then one batch of three records. */
    const header = encodeHeader(1);
    const single = encodeBatch([{ type: RecordType.entry, payload: payload('{"index":1,"term":1,"data":1}') }]);
    const triple = encodeBatch([2, 3, 4].map((i) => ({ type: RecordType.entry, payload: payload(`{"index":${i},"term":1,"data":${i}}`) })));
    const batchAt = HEADER_BYTES + single[0]!.length;
    const whole = Buffer.concat([header, ...single, ...triple]);

    it('only the last record of a batch carries the mark', () => {
      assert.deepEqual(scanSegment(whole, 1, true).records.map((r) => r.endsBatch), [true, false, false, true]);
    });

    it('a last segment cut at a record boundary inside a batch is torn from the batch start', () => {
      const cut = batchAt + triple[0]!.length + triple[1]!.length;
      const scan = scanSegment(whole.subarray(0, cut), 1, true);
      assert.equal(scan.records.length, 1);
      assert.equal(scan.end.kind === 'torn' && scan.end.offset, batchAt);
    });

    it('a tear inside a later record of a batch also moves back to the batch start', () => {
      const scan = scanSegment(whole.subarray(0, whole.length - 2), 1, true);
      assert.equal(scan.end.kind === 'torn' && scan.end.offset, batchAt);
    });

    it('an older segment that ends inside a batch is corrupt there', () => {
      const end = scanSegment(whole.subarray(0, batchAt + triple[0]!.length), 1, false).end;
      assert.equal(end.kind === 'corrupt' && end.offset, batchAt);
    });
  });

  it('never throws, and a clean or torn result covers exactly the bytes of its records, for any bytes', () => {
    const { bytes } = segment(1, 3);
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), fc.nat(bytes.length), fc.boolean(), (noise, keep, last) => {
        const input = Buffer.concat([bytes.subarray(0, keep), noise]);
        const scan = scanSegment(input, 1, last);
        const covered = scan.records.reduce((n, r) => n + FRAME_BYTES + r.payload.length, HEADER_BYTES);
        if (scan.end.kind === 'clean') assert.equal(covered, input.length);
        if (scan.end.kind === 'torn') {
          assert.ok(last, 'only the last segment is ever torn');
          assert.ok(scan.end.offset === covered || (scan.end.offset === 0 && scan.records.length === 0), `torn at ${scan.end.offset}`);
        }
      }),
    );
  });
});
