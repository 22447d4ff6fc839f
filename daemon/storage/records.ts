/**
 * What the records of a segment mean, and the snapshot file beside them. Pure. Payloads are
 * JSON objects (readable with a hex dump when something goes wrong):
 *
 *   checkpoint  {"hardState":{key: value, …},"snapshot":marker|null,"lastIndex":n}  first in every segment
 *   hard state  {"key":k,"value":v}           replaces that key's value (the last one per key wins)
 *   entry       {"index":i,"term":t,"data":d}  the next log entry (index = last + 1)
 *   truncate    {"after":n}                    drops every entry above n
 *   snapshot    {"index":i,"term":t,"file":f}  marker: snapshot file f holds the state up to i
 *
 * Snapshot file `<dir>/snap-<serial, 16 digits>.snap`, written whole and atomically before its
 * marker: one header line `conclave-snapshot 1 index=<i> term=<t> bytes=<n> crc32=<8 hex>`, then
 * the snapshot data as `n` bytes of UTF-8 JSON whose crc32 is given.
 */
import { crc32 } from 'node:zlib';
import type { LogEntry, Snapshot } from '../../protocols/types.js';
import { RecordType, type RawRecord, type RecordBody, type RecordTypeCode } from './format.js';

/** A snapshot as the log names it; its data is in `file`. */
export interface SnapshotMarker {
  index: number;
  term: number;
  /** A name in the store's directory (never a path). */
  file: string;
}

export type WalRecord =
  | { type: 'checkpoint'; hardState: Map<string, unknown>; snapshot: SnapshotMarker | null; lastIndex: number }
  | { type: 'hard-state'; key: string; value: unknown }
  | { type: 'entry'; entry: LogEntry }
  | { type: 'truncate'; after: number }
  | { type: 'snapshot'; marker: SnapshotMarker };

const SNAPSHOT_NAME = /^snap-(\d{16})\.snap$/;

export function snapshotFileName(serial: number): string {
  return `snap-${String(serial).padStart(16, '0')}.snap`;
}

/** The serial a snapshot file name carries, null for any other file. */
export function parseSnapshotFileName(name: string): number | null {
  const m = SNAPSHOT_NAME.exec(name);
  return m ? Number(m[1]) : null;
}

/*
 * Encoders take values already rendered as JSON text: the store keeps hard states as text, so a
 * checkpoint repeats exactly the bytes the hard-state record had, and a caller mutating an
 * object after append cannot change what a later checkpoint says.
 */

export function encodeCheckpoint(hardState: ReadonlyMap<string, string>, snapshot: SnapshotMarker | null, lastIndex: number): RecordBody {
  const pairs = [...hardState].map(([k, text]) => `${JSON.stringify(k)}:${text}`).join(',');
  return body(RecordType.checkpoint, `{"hardState":{${pairs}},"snapshot":${JSON.stringify(snapshot)},"lastIndex":${lastIndex}}`);
}

export function encodeHardState(key: string, valueText: string): RecordBody {
  return body(RecordType.hardState, `{"key":${JSON.stringify(key)},"value":${valueText}}`);
}

export function encodeEntry(index: number, term: number, dataText: string): RecordBody {
  return body(RecordType.entry, `{"index":${index},"term":${term},"data":${dataText}}`);
}

export function encodeTruncate(after: number): RecordBody {
  return body(RecordType.truncate, `{"after":${after}}`);
}

export function encodeSnapshotMarker(marker: SnapshotMarker): RecordBody {
  return body(RecordType.snapshot, JSON.stringify({ index: marker.index, term: marker.term, file: marker.file }));
}

function body(type: RecordTypeCode, json: string): RecordBody {
  return { type, payload: Buffer.from(json, 'utf8') };
}

const decoder = new TextDecoder('utf-8', { fatal: true });

/** A record's meaning, or why it has none (which, under a valid checksum, is corruption or a newer writer). */
export function decodeRecord(raw: RawRecord): { ok: true; record: WalRecord } | { ok: false; reason: string } {
  let body: unknown;
  try {
    body = JSON.parse(decoder.decode(raw.payload));
  } catch {
    return { ok: false, reason: 'its payload is not UTF-8 JSON' };
  }
  if (!isObject(body)) return { ok: false, reason: 'its payload is not a JSON object' };
  switch (raw.type) {
    case RecordType.checkpoint: {
      const snapshot = body.snapshot === null ? null : parseMarker(body.snapshot);
      if (!isObject(body.hardState) || snapshot === undefined || !isCount(body.lastIndex)) return shape('checkpoint');
      return { ok: true, record: { type: 'checkpoint', hardState: new Map(Object.entries(body.hardState)), snapshot, lastIndex: body.lastIndex } };
    }
    case RecordType.hardState:
      if (typeof body.key !== 'string' || !('value' in body)) return shape('hard state');
      return { ok: true, record: { type: 'hard-state', key: body.key, value: body.value } };
    case RecordType.entry:
      if (!isCount(body.index) || body.index < 1 || !isCount(body.term) || !('data' in body)) return shape('entry');
      return { ok: true, record: { type: 'entry', entry: { index: body.index, term: body.term, data: body.data } } };
    case RecordType.truncate:
      if (!isCount(body.after)) return shape('truncate');
      return { ok: true, record: { type: 'truncate', after: body.after } };
    case RecordType.snapshot: {
      const marker = parseMarker(body);
      if (marker === undefined) return shape('snapshot marker');
      return { ok: true, record: { type: 'snapshot', marker } };
    }
    default:
      return { ok: false, reason: `record type ${raw.type} is unknown to this build` };
  }
}

function shape(what: string): { ok: false; reason: string } {
  return { ok: false, reason: `it is not a well-formed ${what} record` };
}

function parseMarker(v: unknown): SnapshotMarker | undefined {
  if (!isObject(v) || !isCount(v.index) || !isCount(v.term) || typeof v.file !== 'string') return undefined;
  // Only names this store writes: a marker must never point outside the directory.
  if (parseSnapshotFileName(v.file) === null) return undefined;
  return { index: v.index, term: v.term, file: v.file };
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** A log index or term: a non-negative safe integer. */
export function isCount(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}

export function encodeSnapshotFile(index: number, term: number, dataText: string): string {
  const data = Buffer.from(dataText, 'utf8');
  const crc = crc32(data).toString(16).padStart(8, '0');
  return `conclave-snapshot 1 index=${index} term=${term} bytes=${data.length} crc32=${crc}\n${dataText}`;
}

const SNAPSHOT_HEADER = /^conclave-snapshot 1 index=(\d+) term=(\d+) bytes=(\d+) crc32=([0-9a-f]{8})$/;

/**
 * The snapshot a file holds, checked against the marker that names it; else why not and at
 * which byte.
 */
export function decodeSnapshotFile(bytes: Buffer, marker: SnapshotMarker): { ok: true; snapshot: Snapshot } | { ok: false; reason: string; offset: number } {
  const newline = bytes.indexOf(0x0a);
  const headerText = bytes.subarray(0, newline < 0 ? Math.min(bytes.length, 200) : newline).toString('latin1');
  const m = newline < 0 ? null : SNAPSHOT_HEADER.exec(headerText);
  if (!m) return { ok: false, reason: `its first line is not a snapshot header: ${JSON.stringify(headerText.slice(0, 80))}`, offset: 0 };
  const [index, term, length] = [Number(m[1]), Number(m[2]), Number(m[3])];
  if (index !== marker.index || term !== marker.term) {
    return { ok: false, reason: `it holds index ${index} term ${term}, but the log's marker says index ${marker.index} term ${marker.term}`, offset: 0 };
  }
  const data = bytes.subarray(newline + 1);
  if (data.length !== length) return { ok: false, reason: `its data is ${data.length} bytes, the header says ${length}`, offset: newline + 1 };
  if (crc32(data).toString(16).padStart(8, '0') !== m[4]) return { ok: false, reason: 'its data checksum does not match', offset: newline + 1 };
  try {
    return { ok: true, snapshot: { index, term, data: JSON.parse(decoder.decode(data)) as unknown } };
  } catch {
    return { ok: false, reason: 'its data is not UTF-8 JSON', offset: newline + 1 };
  }
}
