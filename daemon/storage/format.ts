/**
 * The bytes of a log segment, and the one rule that tells a torn tail from corruption. Pure:
 * nothing here touches the disk (log-store.ts reads and writes, replay.ts interprets records).
 *
 * Segment `<dir>/<seq, 16 decimal digits>.wal`, all integers little-endian:
 *
 *   header   magic "CNCLWAL\n" (8) | format version u32 | segment seq u64 | crc32 of the previous 20 bytes u32
 *   record   length u32 | crc32 u32 | type u8 | payload (`length` bytes, UTF-8 JSON)
 *
 * The record crc32 covers the type byte and the payload. The type byte's low 7 bits are the
 * record kind (records.ts), its high bit marks the last record of a batch: a batch (one append)
 * counts all or nothing, so a crash never leaves a truncation without the entries that follow
 * it. Every segment's first record is a checkpoint of the whole log state, a batch of its own,
 * written with the header, so a segment depends on the ones before it only for their entries.
 *
 * Torn or corrupt. A crash in the middle of an append leaves a prefix of what was written, or a
 * prefix followed by zero bytes (file systems that extend the size before the data land). So a
 * bad record is a torn tail, safe to cut because it was never acknowledged, only when all of:
 * - it is in the last segment (older segments were complete and fsynced before the next one
 *   was created);
 * - it runs past the end of the file, or it is the final record and its checksum fails, or
 *   every byte from it to the end of the file is zero.
 * The tear then starts at the first record of the unfinished batch it belongs to; a last segment
 * that ends cleanly but inside a batch (a write cut at a record boundary) is torn there too.
 * Anything else (a bad checksum with more records after it, a length no writer produces, a bad
 * header, an older segment ending mid-record or mid-batch) is corruption, reported, never cut.
 * Known limit: the rule cannot tell a torn write from bit rot in the final record, which it
 * cuts as torn (the bytes are kept beside the segment and reported, never dropped silently);
 * and a crash that persisted the end of one unacknowledged write but not an earlier part of it
 * reads as corruption, so the daemon refuses to start rather than guess.
 */
import { crc32 } from 'node:zlib';

export const SEGMENT_MAGIC = Buffer.from('CNCLWAL\n', 'latin1');
/** Bumped on any change a reader of the previous version would misread. */
export const FORMAT_VERSION = 1;
export const HEADER_BYTES = 24;
/** length u32 + crc32 u32 + type u8. */
export const FRAME_BYTES = 9;
/** In the type byte: this record is the last of its batch. */
export const BATCH_END = 0x80;
/**
 * No record is larger: a length beyond it is corruption, not a big record. Snapshots live in
 * their own files, so only an entry or a hard state could come near it.
 */
export const MAX_PAYLOAD_BYTES = 64 * 1024 * 1024;

export const RecordType = {
  checkpoint: 1,
  hardState: 2,
  entry: 3,
  truncate: 4,
  snapshot: 5,
} as const;
export type RecordTypeCode = (typeof RecordType)[keyof typeof RecordType];

const SEGMENT_NAME = /^(\d{16})\.wal$/;

export function segmentName(seq: number): string {
  return `${String(seq).padStart(16, '0')}.wal`;
}

/** The sequence number a segment file name carries, null for any other file. */
export function parseSegmentName(name: string): number | null {
  const m = SEGMENT_NAME.exec(name);
  return m ? Number(m[1]) : null;
}

export function encodeHeader(seq: number): Buffer {
  const b = Buffer.alloc(HEADER_BYTES);
  SEGMENT_MAGIC.copy(b, 0);
  b.writeUInt32LE(FORMAT_VERSION, 8);
  b.writeBigUInt64LE(BigInt(seq), 12);
  b.writeUInt32LE(crc32(b.subarray(0, 20)), 20);
  return b;
}

/** A record before framing: its kind and its UTF-8 JSON payload. */
export interface RecordBody {
  type: RecordTypeCode;
  payload: Buffer;
}

/** One framed record. */
export function encodeRecord(type: RecordTypeCode, payload: Buffer, endsBatch: boolean): Buffer {
  const b = Buffer.allocUnsafe(FRAME_BYTES + payload.length);
  b.writeUInt32LE(payload.length, 0);
  b.writeUInt8(endsBatch ? type | BATCH_END : type, 8);
  payload.copy(b, FRAME_BYTES);
  b.writeUInt32LE(crc32(b.subarray(8)), 4);
  return b;
}

/** The framed records of one batch, its last one marked. */
export function encodeBatch(bodies: readonly RecordBody[]): Buffer[] {
  return bodies.map((r, i) => encodeRecord(r.type, r.payload, i === bodies.length - 1));
}

export interface RawRecord {
  /** Byte offset of the record's frame in the segment. */
  offset: number;
  /** The record kind (the type byte without BATCH_END). */
  type: number;
  endsBatch: boolean;
  payload: Buffer;
}

export type ScanEnd =
  | { kind: 'clean' }
  /** Bytes from `offset` to the end are an unacknowledged, partly written append. */
  | { kind: 'torn'; offset: number; reason: string }
  | { kind: 'corrupt'; offset: number; reason: string };

export interface SegmentScan {
  /** The records of the complete batches before `end`, in order. */
  records: RawRecord[];
  end: ScanEnd;
}

/**
 * Checks the header and splits a segment into records. `last`: whether this is the newest
 * segment, the only one that may end torn (see the rule at the top of this file).
 */
export function scanSegment(bytes: Buffer, seq: number, last: boolean): SegmentScan {
  const scan = scanRecords(bytes, seq, last);
  const { records, end } = scan;
  let complete = records.length;
  while (complete > 0 && !records[complete - 1]!.endsBatch) complete--;
  if (complete === records.length || end.kind === 'corrupt') return scan;
  const unfinished = records[complete]!.offset;
  const reason = `the batch starting here is unfinished (${records.length - complete} of its records are whole)`;
  return {
    records: records.slice(0, complete),
    end: last ? { kind: 'torn', offset: unfinished, reason } : { kind: 'corrupt', offset: unfinished, reason },
  };
}

/** The frames of a segment, whole batches or not. */
function scanRecords(bytes: Buffer, seq: number, last: boolean): SegmentScan {
  const records: RawRecord[] = [];
  const bad = (offset: number, reason: string, tornIf: boolean): SegmentScan => ({
    records,
    end: last && (tornIf || allZero(bytes, offset)) ? { kind: 'torn', offset, reason } : { kind: 'corrupt', offset, reason },
  });

  if (bytes.length < HEADER_BYTES) return bad(0, `the ${HEADER_BYTES}-byte header is cut short at ${bytes.length} bytes`, true);
  if (!bytes.subarray(0, 8).equals(SEGMENT_MAGIC)) return bad(0, 'the header does not start with the segment magic', false);
  if (bytes.readUInt32LE(20) !== crc32(bytes.subarray(0, 20))) return bad(0, 'the header checksum does not match', false);
  const version = bytes.readUInt32LE(8);
  if (version !== FORMAT_VERSION) {
    return { records, end: { kind: 'corrupt', offset: 8, reason: `format version ${version} is not the version ${FORMAT_VERSION} this build reads` } };
  }
  const headerSeq = bytes.readBigUInt64LE(12);
  if (headerSeq !== BigInt(seq)) {
    return { records, end: { kind: 'corrupt', offset: 12, reason: `the header says segment ${headerSeq}, the file name says ${seq}` } };
  }

  let offset = HEADER_BYTES;
  while (offset < bytes.length) {
    const rest = bytes.length - offset;
    if (rest < FRAME_BYTES) return bad(offset, `a record frame is cut short at ${rest} of ${FRAME_BYTES} bytes`, true);
    const length = bytes.readUInt32LE(offset);
    if (length === 0 || length > MAX_PAYLOAD_BYTES) return bad(offset, `record length ${length} is impossible (1..${MAX_PAYLOAD_BYTES})`, false);
    const end = offset + FRAME_BYTES + length;
    if (end > bytes.length) return bad(offset, `the record runs ${end - bytes.length} bytes past the end of the file`, true);
    const crc = bytes.readUInt32LE(offset + 4);
    if (crc !== crc32(bytes.subarray(offset + 8, end))) return bad(offset, 'the record checksum does not match', end === bytes.length);
    const type = bytes[offset + 8]!;
    records.push({ offset, type: type & ~BATCH_END, endsBatch: (type & BATCH_END) !== 0, payload: bytes.subarray(offset + FRAME_BYTES, end) });
    offset = end;
  }
  return { records, end: { kind: 'clean' } };
}

function allZero(bytes: Buffer, from: number): boolean {
  for (let i = from; i < bytes.length; i++) if (bytes[i] !== 0) return false;
  return true;
}
