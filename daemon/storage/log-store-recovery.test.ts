/**
 * Opening a log that a crash or a damaged disk left behind: a torn tail of the last segment is
 * kept beside it, cut off and reported; anything else is DataFileError naming the file and the
 * byte, with every file left as it was (the rule is in format.ts).
 */
import assert from 'node:assert/strict';
import { appendFileSync, existsSync, readdirSync, readFileSync, statSync, truncateSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { LogEntry } from '../../protocols/types.js';
import { testDirs } from '../test-dirs.js';
import { FRAME_BYTES, HEADER_BYTES, type RecordBody, encodeBatch, encodeHeader, parseSegmentName, scanSegment, segmentName } from './format.js';
import { type LogStoreOptions, type TornTail, openLogStore } from './index.js';
import { encodeCheckpoint, encodeEntry } from './records.js';
import { testFs } from './test-fs.js';

const dirs = testDirs('log-recovery');

function entries(from: number, to: number, term = 1): LogEntry[] {
  const out: LogEntry[] = [];
  for (let i = from; i <= to; i++) out.push({ index: i, term, data: `e${i}t${term}` });
  return out;
}

/** Each body framed as a batch of its own. */
const batches = (...bodies: RecordBody[]) => Buffer.concat(bodies.flatMap((b) => encodeBatch([b])));

const segments = (dir: string) => readdirSync(dir).filter((n) => parseSegmentName(n) !== null).sort();

/** A closed store holding entries 1..n, one batch (one record) each. */
async function logOf(n: number, opts: LogStoreOptions = {}): Promise<string> {
  const dir = dirs.fresh();
  const store = await openLogStore(dir, opts);
  for (const e of entries(1, n)) await store.append({ entries: [e] });
  await store.close();
  return dir;
}

/** Offsets of the records in a segment file. */
function recordOffsets(path: string): number[] {
  const name = path.split('/').at(-1)!;
  return scanSegment(readFileSync(path), parseSegmentName(name)!, true).records.map((r) => r.offset);
}

function flipByte(path: string, at: number): void {
  const bytes = readFileSync(path);
  bytes[at] = bytes[at]! ^ 0x20;
  writeFileSync(path, bytes);
}

/** Every file in `dir` with its content, to prove a refused open changed nothing. */
function contents(dir: string): Record<string, string> {
  return Object.fromEntries(readdirSync(dir).sort().map((n) => [n, readFileSync(join(dir, n)).toString('base64')]));
}

async function assertRefused(dir: string, file: string, offset: number | null, reason?: RegExp): Promise<void> {
  const before = contents(dir);
  let error: (Error & Record<string, unknown>) | null = null;
  try {
    const store = await openLogStore(dir);
    await store.close();
  } catch (err) {
    error = err as Error & Record<string, unknown>;
  }
  assert.ok(error, 'the open should have been refused');
  assert.equal(error.name, 'DataFileError', error.message);
  assert.equal(error.exitCode, 2);
  assert.equal(error.path, join(dir, file), error.message);
  assert.equal(error.offset, offset, error.message);
  assert.ok(error.message.includes(join(dir, file)), error.message);
  if (offset !== null) assert.ok(error.message.includes(`at byte ${offset}`), error.message);
  if (reason) assert.match(error.message, reason);
  assert.deepEqual(contents(dir), before, 'nothing was changed, removed or added');
}

describe('a torn tail of the last segment', () => {
  it('a record cut short: kept beside the segment, cut off, reported; appends and replay carry on', async () => {
    const dir = await logOf(5);
    const path = join(dir, segmentName(1));
    const last = recordOffsets(path).at(-1)!;
    const cut = last + FRAME_BYTES + 3;
    const tornBytes = readFileSync(path).subarray(last, cut);
    truncateSync(path, cut);

    const reported: TornTail[] = [];
    let store = await openLogStore(dir, { onTorn: (t) => reported.push(t) });
    const torn = { file: path, offset: last, bytes: cut - last, keptAs: `${path}.torn-${last}` };
    assert.deepEqual(store.recovered.torn, torn);
    assert.deepEqual(reported, [torn]);
    assert.deepEqual(store.recovered.entries, entries(1, 4));
    assert.deepEqual(readFileSync(torn.keptAs), tornBytes);
    assert.equal(statSync(path).size, last);

    await store.append({ entries: entries(5, 6, 2) });
    await store.close();
    store = await openLogStore(dir);
    assert.deepEqual(store.recovered.entries, [...entries(1, 4), ...entries(5, 6, 2)]);
    assert.equal(store.recovered.torn, null);
    await store.close();

    // The same tear again: the first copy is kept, the second goes beside it.
    truncateSync(path, last + 2);
    store = await openLogStore(dir);
    assert.equal(store.recovered.torn?.keptAs, `${path}.torn-${last}.2`);
    assert.deepEqual(readFileSync(torn.keptAs), tornBytes);
    await store.close();
  });

  it('a flipped byte in the final record: the same', async () => {
    const dir = await logOf(5);
    const path = join(dir, segmentName(1));
    const last = recordOffsets(path).at(-1)!;
    const size = statSync(path).size;
    flipByte(path, size - 2);
    const tail = readFileSync(path).subarray(last);
    const store = await openLogStore(dir);
    assert.deepEqual(store.recovered.torn, { file: path, offset: last, bytes: size - last, keptAs: `${path}.torn-${last}` });
    assert.deepEqual(readFileSync(`${path}.torn-${last}`), tail, 'the damaged record exactly as it was');
    assert.deepEqual(store.recovered.entries, entries(1, 4));
    await store.append({ entries: entries(5, 5, 2) });
    await store.close();
    const again = await openLogStore(dir);
    assert.deepEqual(again.recovered.entries, [...entries(1, 4), ...entries(5, 5, 2)]);
    await again.close();
  });

  it('a batch cut between its records counts not at all: a truncation never survives without the entries after it', async () => {
    const dir = await logOf(5);
    const path = join(dir, segmentName(1));
    const batchStart = statSync(path).size;
    let store = await openLogStore(dir);
    await store.append({ truncateAfter: 3, entries: entries(4, 5, 2) });
    await store.close();
    const [truncate, four, five] = recordOffsets(path).slice(-3);
    assert.equal(truncate, batchStart);
    truncateSync(path, five!);
    assert.ok(four! < five!);

    store = await openLogStore(dir);
    assert.deepEqual(store.recovered.entries, entries(1, 5), 'the log as it was before the batch');
    assert.deepEqual(store.recovered.torn, { file: path, offset: batchStart, bytes: five! - batchStart, keptAs: `${path}.torn-${batchStart}` });
    await store.close();
  });

  it('zero bytes after the last record (the file grew before its data landed)', async () => {
    const dir = await logOf(3);
    const path = join(dir, segmentName(1));
    const size = statSync(path).size;
    appendFileSync(path, Buffer.alloc(8192));
    const store = await openLogStore(dir);
    assert.deepEqual(store.recovered.torn, { file: path, offset: size, bytes: 8192, keptAs: `${path}.torn-${size}` });
    assert.deepEqual(store.recovered.entries, entries(1, 3));
    await store.close();
  });

  it('a segment whose creation failed before its checkpoint is moved aside whole; the one before it carries on', async () => {
    const dir = dirs.fresh();
    const fs = testFs();
    let store = await openLogStore(dir, { fs, segmentBytes: 100 });
    await store.append({ entries: entries(1, 5), hardState: { election: 'e' } });
    fs.failNext('write', 'EIO', (name) => name === segmentName(2));
    await assert.rejects(store.append({ entries: entries(6, 6) }), { name: 'PersistError' });
    await store.close();
    const path = join(dir, segmentName(2));
    assert.equal(statSync(path).size, 0, 'created, never written');

    store = await openLogStore(dir, { segmentBytes: 100 });
    assert.deepEqual(store.recovered.torn, { file: path, offset: 0, bytes: 0, keptAs: `${path}.torn-0` });
    assert.ok(existsSync(`${path}.torn-0`));
    assert.deepEqual(store.recovered.entries, entries(1, 5));
    await store.append({ entries: entries(6, 7) });
    await store.close();
    store = await openLogStore(dir);
    assert.deepEqual(store.recovered.entries, entries(1, 7));
    assert.deepEqual(store.recovered.hardState.get('election'), 'e');
    assert.deepEqual(segments(dir), [segmentName(1), segmentName(2)]);
    await store.close();
  });
});

describe('a temporary snapshot file a crash left', () => {
  it('is deleted at open and reported; a file that only looks like one, and real snapshot files, stay', async () => {
    const dir = await logOf(3);
    writeFileSync(join(dir, 'snap-0000000000000007.snap.tmp'), '{"half": ');
    writeFileSync(join(dir, 'notes.tmp'), 'mine');
    const reported: string[][] = [];
    const store = await openLogStore(dir, { onLeftovers: (files) => reported.push(files) });
    await store.close();
    assert.deepEqual(reported, [['snap-0000000000000007.snap.tmp']]);
    assert.equal(existsSync(join(dir, 'snap-0000000000000007.snap.tmp')), false);
    assert.equal(existsSync(join(dir, 'notes.tmp')), true, 'not a snapshot file\'s temporary name: not ours to delete');
    const again: string[][] = [];
    await (await openLogStore(dir, { onLeftovers: (files) => again.push(files) })).close();
    assert.deepEqual(again, [], 'nothing left to report');
  });
});

describe('corruption: DataFileError naming the file and the byte, and nothing touched', () => {
  it('a flipped byte in a record before the last one', async () => {
    const dir = await logOf(5);
    const path = join(dir, segmentName(1));
    const third = recordOffsets(path)[3]!;
    flipByte(path, third + FRAME_BYTES + 4);
    await assertRefused(dir, segmentName(1), third, /checksum/);
  });

  it('a bad segment header', async () => {
    const dir = await logOf(2);
    flipByte(join(dir, segmentName(1)), 3);
    await assertRefused(dir, segmentName(1), 0, /magic/);
  });

  it('a segment other than the last that ends mid-record', async () => {
    const dir = await logOf(20, { segmentBytes: 200 });
    const names = segments(dir);
    assert.ok(names.length >= 3);
    const victim = join(dir, names.at(-2)!);
    const last = recordOffsets(victim).at(-1)!;
    truncateSync(victim, last + 5);
    await assertRefused(dir, names.at(-2)!, last, /cut short|past the end/);
  });

  it('a segment missing between two others', async () => {
    const dir = await logOf(20, { segmentBytes: 200 });
    const names = segments(dir);
    unlinkSync(join(dir, names[1]!));
    await assertRefused(dir, names[2]!, 0, /missing/);
  });

  it('older segments gone while their entries are still needed', async () => {
    const dir = await logOf(20, { segmentBytes: 200 });
    const names = segments(dir);
    unlinkSync(join(dir, names[0]!));
    await assertRefused(dir, names[1]!, HEADER_BYTES, /gone/);
  });

  it('a missing or damaged snapshot file', async () => {
    const dir = dirs.fresh();
    const store = await openLogStore(dir);
    await store.append({ entries: entries(1, 3) });
    await store.append({ snapshot: { index: 2, term: 1, data: { big: 'x'.repeat(100) } } });
    await store.close();
    const snap = readdirSync(dir).find((n) => n.endsWith('.snap'))!;
    const bytes = readFileSync(join(dir, snap));
    flipByte(join(dir, snap), bytes.length - 10);
    await assertRefused(dir, snap, bytes.indexOf(0x0a) + 1, /checksum/);
    unlinkSync(join(dir, snap));
    await assertRefused(dir, snap, null, /missing/);
  });

  it('a gap in entry indexes', async () => {
    const dir = dirs.fresh();
    const header = encodeHeader(1);
    const checkpoint = batches(encodeCheckpoint(new Map(), null, 0));
    const one = batches(encodeEntry(1, 1, '"a"'));
    writeFileSync(join(dir, segmentName(1)), Buffer.concat([header, checkpoint, one, batches(encodeEntry(3, 1, '"c"'), encodeEntry(4, 1, '"d"'))]));
    await assertRefused(dir, segmentName(1), header.length + checkpoint.length + one.length, /does not continue/);
  });

  it('a checkpoint that disagrees with the segments before it', async () => {
    const dir = dirs.fresh();
    writeFileSync(join(dir, segmentName(1)), Buffer.concat([encodeHeader(1), batches(encodeCheckpoint(new Map(), null, 0), encodeEntry(1, 1, '"a"'))]));
    writeFileSync(join(dir, segmentName(2)), Buffer.concat([encodeHeader(2), batches(encodeCheckpoint(new Map([['election', '1']]), null, 1))]));
    await assertRefused(dir, segmentName(2), HEADER_BYTES, /disagrees.*hard states/);
  });

  it('an impossible length in the final record (a writer never produces one, so it is not a torn write)', async () => {
    const dir = await logOf(3);
    const path = join(dir, segmentName(1));
    const last = recordOffsets(path).at(-1)!;
    const bytes = readFileSync(path);
    bytes.writeUInt32LE(0xfffffff0, last);
    writeFileSync(path, bytes);
    await assertRefused(dir, segmentName(1), last, /impossible/);
  });

  it('a lone segment above seq 1 without its checkpoint (its predecessors cannot have been deleted before it was complete)', async () => {
    const dir = dirs.fresh();
    writeFileSync(join(dir, segmentName(4)), encodeHeader(4).subarray(0, 10));
    await assertRefused(dir, segmentName(4), 0, /gone/);
  });
});
