/**
 * The log store on a real directory: what is appended replays, group commit, rotation,
 * snapshots and the deletion of what they supersede, refused batches, and disk failures
 * injected through the StoreFs. Torn tails and corruption are in log-store-recovery.test.ts.
 */
import assert from 'node:assert/strict';
import { constants, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { LogEntry } from '../../protocols/types.js';
import { testDirs } from '../test-dirs.js';
import { parseSegmentName, scanSegment } from './format.js';
import { type LogStore, MAX_COMMIT_BYTES, openLogStore } from './index.js';
import { decodeRecord } from './records.js';
import { testFs } from './test-fs.js';

const dirs = testDirs('log-store');

function entries(from: number, to: number, term = 1): LogEntry[] {
  const out: LogEntry[] = [];
  for (let i = from; i <= to; i++) out.push({ index: i, term, data: `e${i}t${term}` });
  return out;
}

const segments = (dir: string) => readdirSync(dir).filter((n) => parseSegmentName(n) !== null).sort();
const snapshotFiles = (dir: string) => readdirSync(dir).filter((n) => n.endsWith('.snap'));

async function reopened(store: LogStore, segmentBytes?: number): Promise<LogStore> {
  await store.close();
  return openLogStore(store.dir, { segmentBytes });
}

/** The open flags (/proc/self/fdinfo) of every descriptor this process holds on `path`. */
function openFlags(path: string): number[] {
  const flags: number[] = [];
  for (const fd of readdirSync('/proc/self/fd')) {
    let target: string;
    try {
      target = readlinkSync(`/proc/self/fd/${fd}`);
    } catch {
      continue;
    }
    if (target !== path) continue;
    const line = /^flags:\s+([0-7]+)$/m.exec(readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8'));
    if (line) flags.push(parseInt(line[1]!, 8));
  }
  return flags;
}

/** Lets the store's pending file operations run, without any clock. */
async function until(what: string, done: () => boolean): Promise<void> {
  for (let turns = 0; !done(); turns++) {
    assert.ok(turns < 10_000, `gave up waiting for ${what}`);
    await new Promise((r) => setImmediate(r));
  }
}

/** The rejection `promise` ends with (fails the test when it resolves). */
async function rejection(promise: Promise<unknown>): Promise<Error & Record<string, unknown>> {
  try {
    await promise;
  } catch (err) {
    return err as Error & Record<string, unknown>;
  }
  assert.fail('expected a rejection');
}

describe('append and replay', () => {
  it('a new store creates its directory and starts empty', async () => {
    const dir = join(dirs.fresh(), 'data', 'wal');
    const store = await openLogStore(dir);
    assert.deepEqual(store.recovered, { hardState: new Map(), snapshot: null, entries: [], torn: null });
    assert.deepEqual(segments(dir), ['0000000000000001.wal']);
    await store.close();
  });

  it('onFsync reports each fsync as it completes, the ones the stats ring keeps; unsubscribing stops it', async () => {
    const store = await openLogStore(dirs.fresh());
    const seen: number[] = [];
    const stop = store.onFsync((ms) => seen.push(ms));
    await store.append({ hardState: { membership: { incarnation: 1 } } });
    await store.append({ hardState: { membership: { incarnation: 2 } } });
    assert.ok(seen.length >= 2 && seen.every((ms) => ms >= 0), String(seen));
    assert.deepEqual(seen, store.stats.fsyncMs.slice(-seen.length));
    stop();
    const before = seen.length;
    await store.append({ hardState: { membership: { incarnation: 3 } } });
    assert.equal(seen.length, before);
    await store.close();
  });

  it('hard states are kept per machine, the last one per key winning, across a reopen', async () => {
    let store = await openLogStore(dirs.fresh());
    await store.append({ hardState: { election: { epoch: 1, votedFor: null }, membership: { incarnation: 7 } } });
    await store.append({ hardState: { election: { epoch: 2, votedFor: 'b' } } });
    await store.append({ hardState: { membership: { incarnation: 8 } } });
    store = await reopened(store);
    assert.deepEqual(store.recovered.hardState, new Map<string, unknown>([['election', { epoch: 2, votedFor: 'b' }], ['membership', { incarnation: 8 }]]));
    await store.close();
  });

  it('entries replay in order; a truncation drops the suffix before the entries that replace it', async () => {
    let store = await openLogStore(dirs.fresh());
    await store.append({ entries: entries(1, 3) });
    await store.append({ entries: entries(4, 5) });
    await store.append({ truncateAfter: 3, entries: entries(4, 6, 2) });
    store = await reopened(store);
    assert.deepEqual(store.recovered.entries, [...entries(1, 3), ...entries(4, 6, 2)]);
    // The reopened store checks new batches against the replayed log.
    await store.append({ entries: entries(7, 7, 2) });
    assert.equal((await rejection(store.append({ entries: entries(9, 9, 2) }))).name, 'LogContinuityError');
    await store.close();
  });

  it('the parts of one batch apply in order: snapshot, truncation, entries, hard state', async () => {
    let store = await openLogStore(dirs.fresh());
    await store.append({ entries: entries(1, 6) });
    await store.append({ snapshot: { index: 4, term: 1, data: { upTo: 4 } }, truncateAfter: 5, entries: entries(6, 6, 2), hardState: { raft: { term: 2 } } });
    store = await reopened(store);
    assert.deepEqual(store.recovered.snapshot, { index: 4, term: 1, data: { upTo: 4 } });
    assert.deepEqual(store.recovered.entries, [...entries(5, 5), ...entries(6, 6, 2)]);
    assert.deepEqual(store.recovered.hardState.get('raft'), { term: 2 });
    await store.close();
  });

  it('rotates once a segment passes segmentBytes; every segment opens with a checkpoint; replay spans them all', async () => {
    const dir = dirs.fresh();
    let store = await openLogStore(dir, { segmentBytes: 300 });
    for (let i = 1; i <= 30; i++) await store.append({ entries: entries(i, i), hardState: { election: { epoch: i } } });
    const files = segments(dir);
    assert.ok(files.length >= 5, `${files.length} segments`);
    for (const [i, name] of files.entries()) {
      const scan = scanSegment(readFileSync(join(dir, name)), parseSegmentName(name)!, i === files.length - 1);
      const first = decodeRecord(scan.records[0]!);
      assert.equal(first.ok && first.record.type, 'checkpoint', name);
    }
    store = await reopened(store, 300);
    assert.deepEqual(store.recovered.entries, entries(1, 30));
    assert.deepEqual(store.recovered.hardState.get('election'), { epoch: 30 });
    assert.deepEqual(segments(dir), files, 'a reopen appends to the last segment, it does not start one');
    await store.append({ entries: entries(31, 31) });
    store = await reopened(store, 300);
    assert.deepEqual(store.recovered.entries, entries(1, 31));
    await store.close();
  });

  it('a log of hard states only keeps at most two segments however long it runs', async () => {
    const dir = dirs.fresh();
    let store = await openLogStore(dir, { segmentBytes: 200 });
    for (let i = 1; i <= 100; i++) {
      await store.append({ hardState: { membership: { incarnation: i } } });
      assert.ok(segments(dir).length <= 2, `after ${i}: ${segments(dir).join(' ')}`);
    }
    assert.ok(parseSegmentName(segments(dir).at(-1)!)! > 10, 'it did rotate');
    store = await reopened(store, 200);
    assert.deepEqual(store.recovered.hardState.get('membership'), { incarnation: 100 });
    await store.close();
  });

  it('a snapshot drops the entries it covers; once it is durable, the segments and snapshot files it supersedes are deleted', async () => {
    const dir = dirs.fresh();
    const fs = testFs();
    let store = await openLogStore(dir, { segmentBytes: 300, fs });
    await store.append({ hardState: { election: { epoch: 3 } } });
    for (let i = 1; i <= 40; i++) await store.append({ entries: entries(i, i) });
    const before = segments(dir);
    assert.ok(before.length >= 4);

    await store.append({ snapshot: { index: 40, term: 1, data: { upTo: 40 } } });
    // Deletion follows the acknowledgement; an empty batch resolves once everything before it is done.
    await store.append({});
    // The snapshot file's own operations (a rotation's may come between them: it is written beside the group).
    const snapOps = fs.log.filter((l) => / snap-\d+\.snap(\.tmp)?$/.test(l));
    assert.deepEqual(snapOps.slice(0, 5).map((l) => l.split(' ')[0]), ['open', 'write', 'datasync', 'close', 'rename'], `the snapshot file is written and fsynced under a temporary name, then renamed: ${snapOps.join(', ')}`);
    assert.ok(snapOps.every((l, i) => i === 4 || l.endsWith('.tmp')), 'only the rename names the file itself');
    const renamed = fs.log.indexOf(snapOps[4]!);
    const firstUnlink = fs.log.findIndex((l) => l.startsWith('unlink '));
    const markerWrite = fs.log.reduce((last, l, i) => (i < firstUnlink && /^write \d+\.wal$/.test(l) ? i : last), -1);
    const dirSynced = fs.log.findIndex((l, i) => i > renamed && l.startsWith('syncDir '));
    const markerSync = fs.log.findIndex((l, i) => i > markerWrite && /^datasync \d+\.wal$/.test(l));
    assert.ok(renamed < dirSynced && dirSynced < markerWrite && markerWrite < markerSync && markerSync < firstUnlink, `snapshot file renamed, the directory fsynced, then the marker written and fsynced, then deletion: ${fs.log.slice(fs.log.indexOf(snapOps[0]!)).join(', ')}`);
    const opened = fs.log.indexOf('open 0000000000000002.wal');
    assert.deepEqual(fs.log.slice(opened, opened + 4).map((l) => l.split(' ')[0]), ['open', 'write', 'sync', 'syncDir'], 'a new segment is durable, directory entry included, before it takes records');
    const unlinks = fs.log.flatMap((l, i) => (l.startsWith('unlink ') ? [i] : []));
    assert.ok(fs.log.slice(unlinks.at(-1)).some((l) => l.startsWith('syncDir ')), 'the removals are made durable');
    assert.equal(segments(dir).length, 1, `only the segment being written is left: ${segments(dir).join(' ')}`);
    assert.ok(segments(dir)[0]! >= before.at(-1)!);
    assert.equal(store.stats.segments, 1);

    await store.append({ entries: entries(41, 45) });
    await store.append({ snapshot: { index: 43, term: 1, data: { upTo: 43 } } });
    await store.append({});
    assert.equal(snapshotFiles(dir).length, 1, 'the older snapshot file is deleted');

    store = await reopened(store, 300);
    assert.deepEqual(store.recovered.snapshot, { index: 43, term: 1, data: { upTo: 43 } });
    assert.deepEqual(store.recovered.entries, entries(44, 45));
    assert.deepEqual(store.recovered.hardState.get('election'), { epoch: 3 }, 'hard states outlive the segment they were written in');
    await store.close();
  });

  it('a snapshot file is written from the moment its batch is accepted, beside the group on its way', async () => {
    const dir = dirs.fresh();
    const fs = testFs();
    const store = await openLogStore(dir, { fs });
    await store.append({ entries: entries(1, 10) });
    const syncsBefore = fs.count('datasync');
    const release = fs.holdNextDatasync();
    const ahead = store.append({ entries: entries(11, 12) });
    await until('the group ahead to start its fsync', () => fs.count('datasync') === syncsBefore + 1);
    const snapshot = store.append({ snapshot: { index: 12, term: 1, data: { upTo: 12 } } });
    await until('the snapshot file to be in place', () => fs.log.some((l) => /^rename snap-\d+\.snap\.tmp$/.test(l)) && fs.log.at(-1)?.startsWith('syncDir ') === true);
    assert.equal(fs.count('datasync') - syncsBefore, 2, 'the group ahead is still held in its fsync; the other is the snapshot file\'s');
    assert.ok(!fs.log.some((l, i) => i > fs.log.findIndex((x) => x.startsWith('rename ')) && /^write \d+\.wal$/.test(l)), 'the marker waits for the group ahead');
    release();
    await Promise.all([ahead, snapshot]);
    const again = await reopened(store);
    assert.deepEqual(again.recovered.snapshot, { index: 12, term: 1, data: { upTo: 12 } });
    assert.deepEqual(again.recovered.entries, []);
    await again.close();
  });

  it('what a snapshot superseded is removed while the next group is written; that group resolves once the removal is done', async () => {
    const dir = dirs.fresh();
    const fs = testFs();
    const store = await openLogStore(dir, { segmentBytes: 300, fs });
    for (let i = 1; i <= 40; i++) await store.append({ entries: entries(i, i) });
    assert.ok(segments(dir).length >= 4);
    const snapshot = store.append({ snapshot: { index: 40, term: 1, data: { upTo: 40 } } });
    // Once the snapshot file is in place its group writes the marker: an append now is the next group.
    await until('the snapshot file to be renamed into place', () => fs.log.some((l) => /^rename snap-/.test(l)));
    const next = store.append({ entries: entries(41, 41) });
    let removalSyncedAtResolve = false;
    await snapshot;
    await next.then(() => {
      const lastUnlink = fs.log.reduce((last, l, i) => (l.startsWith('unlink ') ? i : last), -1);
      removalSyncedAtResolve = fs.log.some((l, i) => i > lastUnlink && l.startsWith('syncDir '));
    });
    const unlinks = fs.log.flatMap((l, i) => (l.startsWith('unlink ') ? [i] : []));
    const markerSync = fs.log.reduce((last, l, i) => (i < unlinks[0]! && /^datasync \d+\.wal$/.test(l) ? i : last), -1);
    const nextWrite = fs.log.findIndex((l, i) => i > markerSync && /^write \d+\.wal$/.test(l));
    const trail = fs.log.slice(markerSync).join(', ');
    assert.ok(markerSync >= 0 && unlinks.length >= 3, `the marker made durable, then old segments removed: ${trail}`);
    assert.ok(nextWrite > unlinks[0]! && nextWrite < unlinks.at(-1)!, `the next group is written while the removal runs: ${trail}`);
    assert.ok(removalSyncedAtResolve, 'the removal is made durable before the next group resolves');
    assert.equal(segments(dir).length, 1);
    const again = await reopened(store, 300);
    assert.deepEqual(again.recovered.snapshot, { index: 40, term: 1, data: { upTo: 40 } });
    assert.deepEqual(again.recovered.entries, entries(41, 41));
    await again.close();
  });

  it('a snapshot beyond the log (a follower catching up) becomes its end', async () => {
    let store = await openLogStore(dirs.fresh());
    await store.append({ entries: entries(1, 2) });
    await store.append({ snapshot: { index: 10, term: 3, data: 'caught up' }, entries: entries(11, 12, 3) });
    store = await reopened(store);
    assert.equal(store.recovered.snapshot?.index, 10);
    assert.deepEqual(store.recovered.entries, entries(11, 12, 3));
    await store.close();
  });
});

describe('group commit', () => {
  it('100 appends fired without awaiting: one write and one fsync for all of them, resolved in order', async () => {
    const fs = testFs();
    const store = await openLogStore(dirs.fresh(), { fs });
    const writesAtOpen = fs.count('write');
    const resolved: number[] = [];
    await Promise.all(entries(1, 100).map((e) => store.append({ entries: [e] }).then(() => resolved.push(e.index))));
    assert.deepEqual(resolved, entries(1, 100).map((e) => e.index));
    assert.equal(fs.count('datasync'), 1);
    assert.equal(fs.count('write') - writesAtOpen, 1);
    assert.deepEqual({ batches: store.stats.batches, commits: store.stats.commits }, { batches: 100, commits: 1 });
    await store.close();
  });

  it('the daemon\'s file system opens segments with O_DSYNC: a group commit is one write that is its own fsync, and no datasync follows it', async () => {
    const dir = dirs.fresh();
    const fs = testFs({ syncedWrites: true });
    const store = await openLogStore(dir, { fs });
    const [segment] = segments(dir);
    assert.ok(segment);
    const flags = openFlags(join(dir, segment));
    assert.ok(flags.length > 0 && flags.every((f) => (f & constants.O_DSYNC) !== 0), `open with O_DSYNC (fdinfo flags ${flags.map((f) => f.toString(8)).join(', ')})`);
    const writesAtOpen = fs.count('write');
    const fsyncsAtOpen = store.stats.fsyncs;
    await Promise.all(entries(1, 100).map((e) => store.append({ entries: [e] })));
    await store.append({ hardState: { term: 2 } });
    assert.equal(fs.count('write') - writesAtOpen, 2, 'one write per group');
    assert.equal(fs.count('datasync'), 0, 'no fsync beside them');
    assert.equal(store.stats.fsyncs - fsyncsAtOpen, 2, 'each synced write counts as the fsync it is');
    await store.close();
    const again = await openLogStore(dir, { fs });
    assert.deepEqual(again.recovered.entries, entries(1, 100));
    assert.ok(openFlags(join(dir, segment)).every((f) => (f & constants.O_DSYNC) !== 0), 'and so is the segment a restart appends to');
    await again.close();
  });

  it('a synced group commit, which holds the event loop, lets the messages already on their way leave first: those sent with the append, and those sent when the group before resolved', async () => {
    const dir = dirs.fresh();
    const fs = testFs({ syncedWrites: true });
    const store = await openLogStore(dir, { fs });
    // A message sent in the same turn as the append leaves in an immediate (p2p channel.ts).
    let writes = fs.count('write');
    let wroteBeforeSend: boolean | null = null;
    const first = store.append({ entries: entries(1, 1) });
    setImmediate(() => (wroteBeforeSend = fs.count('write') > writes));
    await first;
    assert.equal(wroteBeforeSend, false, 'the message sent with the append left before the write');
    assert.equal(fs.count('write'), writes + 1);
    // Two appends too big for one group (MAX_COMMIT_BYTES): the answer sent once the first group
    // resolves leaves before the second group's write.
    const big = (index: number): LogEntry => ({ index, term: 1, data: 'x'.repeat(MAX_COMMIT_BYTES / 2 + 1024) });
    writes = fs.count('write');
    wroteBeforeSend = null;
    const second = store.append({ entries: [big(2)] }).then(() => {
      const resolvedAt = fs.count('write');
      setImmediate(() => (wroteBeforeSend = fs.count('write') > resolvedAt));
    });
    const third = store.append({ entries: [big(3)] });
    await Promise.all([second, third]);
    assert.equal(fs.count('write'), writes + 2, 'two groups');
    assert.equal(wroteBeforeSend, false, 'the answer to the first group left before the second group\'s write');
    await store.close();
    const again = await openLogStore(dir);
    assert.deepEqual(again.recovered.entries.map((e) => e.index), [1, 2, 3]);
    await again.close();
  });

  it('appends made a few promise turns apart, before the event loop checks for immediates, share one fsync (a hand-off\'s append and TimeoutNow, read in one chunk, are handled so)', async () => {
    const fs = testFs();
    const store = await openLogStore(dirs.fresh(), { fs });
    const first = store.append({ entries: entries(1, 1) });
    // The inbound stream's async decoding takes a few promise turns from one frame to the next.
    for (let i = 0; i < 5; i++) await Promise.resolve();
    const second = store.append({ entries: entries(2, 2) });
    await Promise.all([first, second]);
    assert.equal(fs.count('datasync'), 1);
    assert.equal(store.stats.commits, 1);
    await store.close();
  });

  it('appends made while a write and fsync are in flight wait for them, then go out together in one more', async () => {
    const fs = testFs();
    const store = await openLogStore(dirs.fresh(), { fs });
    const resolved: number[] = [];
    const release = fs.holdNextDatasync();
    const first = store.append({ entries: entries(1, 1) }).then(() => resolved.push(1));
    await until('the first fsync to start', () => fs.count('datasync') === 1);
    const rest = entries(2, 51).map((e) => store.append({ entries: [e] }).then(() => resolved.push(e.index)));
    for (let i = 0; i < 50; i++) await new Promise((r) => setImmediate(r));
    assert.deepEqual(resolved, [], 'nothing resolves before its fsync');
    assert.equal(fs.count('write'), 2, 'the header, then the first batch alone');
    release();
    await Promise.all([first, ...rest]);
    assert.deepEqual(resolved, entries(1, 51).map((e) => e.index));
    assert.equal(fs.count('datasync'), 2);
    assert.equal(store.stats.commits, 2);
    await store.close();
  });

  it('a batch is checked against the batches queued before it, not only what is on disk', async () => {
    const store = await openLogStore(dirs.fresh());
    const ok = [1, 2, 3].map((i) => store.append({ entries: entries(i, i) }));
    const gap = store.append({ entries: entries(5, 5) });
    const err = await rejection(gap);
    assert.equal(err.name, 'LogContinuityError');
    assert.equal(err.kind, 'not-next');
    await Promise.all(ok);
    await store.close();
  });
});

describe('refused batches', () => {
  it('a batch that does not fit the log is LogContinuityError; nothing of it is written and the store carries on', async () => {
    let store = await openLogStore(dirs.fresh());
    await store.append({ entries: entries(1, 5), snapshot: { index: 0, term: 0, data: null } });
    await store.append({ snapshot: { index: 2, term: 1, data: 'two' } });
    const bytes = store.stats.bytes;
    const refused = {
      'not-next': { entries: entries(7, 7) },
      'not-next (rewrites a stored index without truncating)': { entries: entries(5, 5, 2) },
      'not-next (not consecutive within the batch)': { entries: [...entries(6, 6), ...entries(8, 8)] },
      'truncate-beyond-log': { truncateAfter: 6 },
      'truncate-below-snapshot': { truncateAfter: 1 },
      'snapshot-behind': { snapshot: { index: 1, term: 1, data: 'one' } },
    };
    for (const [kind, batch] of Object.entries(refused)) {
      const err = await rejection(store.append({ ...batch, hardState: { election: 'must not be written' } }));
      assert.equal(err.name, 'LogContinuityError', kind);
      assert.equal(err.kind, kind.split(' ')[0], kind);
    }
    assert.equal(store.stats.bytes, bytes);
    await store.append({ entries: entries(6, 6) });
    store = await reopened(store);
    assert.deepEqual(store.recovered.entries, entries(3, 6));
    assert.equal(store.recovered.hardState.has('election'), false);
    await store.close();
  });

  it('a value without a JSON form or an index that is not a count is InvalidBatchError naming the part', async () => {
    const store = await openLogStore(dirs.fresh());
    const cases: [string, Parameters<LogStore['append']>[0]][] = [
      ['entries[0].data', { entries: [{ index: 1, term: 1, data: undefined }] }],
      ['entries[1].data', { entries: [{ index: 1, term: 1, data: 1 }, { index: 2, term: 1, data: 2n }] }],
      ['entries[0].index', { entries: [{ index: 1.5, term: 1, data: 1 }] }],
      ['entries[0].term', { entries: [{ index: 1, term: -1, data: 1 }] }],
      ['hardState.election', { hardState: { election: () => 1 } }],
      ['snapshot.index', { snapshot: { index: Number.NaN, term: 1, data: 1 } }],
      ['truncateAfter', { truncateAfter: -1 }],
    ];
    for (const [part, batch] of cases) {
      const err = await rejection(store.append(batch));
      assert.equal(err.name, 'InvalidBatchError', part);
      assert.equal(err.part, part);
    }
    await store.append({ entries: entries(1, 1) });
    await store.close();
  });

  it('append after close is LogStoreClosedError; closing twice is fine; queued appends finish first', async () => {
    const store = await openLogStore(dirs.fresh());
    const queued = store.append({ entries: entries(1, 1) });
    const closed = store.close();
    assert.equal((await rejection(store.append({ entries: entries(2, 2) }))).name, 'LogStoreClosedError');
    await queued;
    await closed;
    await store.close();
    const again = await openLogStore(store.dir);
    assert.deepEqual(again.recovered.entries, entries(1, 1));
    await again.close();
  });
});

describe('disk failures', () => {
  /** PersistError naming `file` (a name in the store's dir) and the errno code. */
  function assertPersistError(err: Error & Record<string, unknown>, dir: string, file: string, code: string): void {
    assert.equal(err.name, 'PersistError');
    assert.equal(err.path, join(dir, file));
    assert.equal(err.code, code);
    assert.ok(err.message.includes(join(dir, file)) && err.message.includes(code), err.message);
  }

  it('a failed write rejects its group with PersistError naming the segment, and every later append', async () => {
    const dir = dirs.fresh();
    const fs = testFs();
    const store = await openLogStore(dir, { fs });
    await store.append({ entries: entries(1, 1) });
    fs.failNext('write', 'ENOSPC');
    const a = store.append({ entries: entries(2, 2) });
    const b = store.append({ entries: entries(3, 3) });
    assertPersistError(await rejection(a), dir, '0000000000000001.wal', 'ENOSPC');
    assertPersistError(await rejection(b), dir, '0000000000000001.wal', 'ENOSPC');
    assertPersistError(await rejection(store.append({ entries: entries(4, 4) })), dir, '0000000000000001.wal', 'ENOSPC');
    assertPersistError(await rejection(store.append({ hardState: { x: 1 } })), dir, '0000000000000001.wal', 'ENOSPC');
    assert.equal(fs.count('datasync'), 1, 'no fsync after the failure');
    await store.close();
    const again = await openLogStore(dir);
    assert.deepEqual(again.recovered.entries, entries(1, 1));
    await again.close();
  });

  it('a failed synced write (O_DSYNC: the write is the fsync) poisons the store: that group and every later append reject', async () => {
    const dir = dirs.fresh();
    const fs = testFs({ syncedWrites: true });
    const store = await openLogStore(dir, { fs });
    await store.append({ entries: entries(1, 1) });
    fs.failNext('write', 'EIO', (name) => name.endsWith('.wal'));
    assertPersistError(await rejection(store.append({ entries: entries(2, 2) })), dir, '0000000000000001.wal', 'EIO');
    assertPersistError(await rejection(store.append({ entries: entries(3, 3) })), dir, '0000000000000001.wal', 'EIO');
    assert.equal(fs.count('datasync'), 0);
    await store.close();
    const again = await openLogStore(dir);
    assert.deepEqual(again.recovered.entries, entries(1, 1));
    await again.close();
  });

  it('a failed fsync poisons the store: that append and every later one reject, none is retried', async () => {
    const dir = dirs.fresh();
    const fs = testFs();
    const store = await openLogStore(dir, { fs });
    fs.failNext('datasync', 'EIO');
    assertPersistError(await rejection(store.append({ hardState: { election: { epoch: 1 } } })), dir, '0000000000000001.wal', 'EIO');
    const writes = fs.count('write');
    assertPersistError(await rejection(store.append({ hardState: { election: { epoch: 2 } } })), dir, '0000000000000001.wal', 'EIO');
    assert.equal(fs.count('write'), writes, 'nothing written after the failed fsync');
    await store.close();
  });

  it('a failed removal of what a snapshot superseded poisons the store: the group written beside it rejects too, and every later append', async () => {
    const dir = dirs.fresh();
    const fs = testFs();
    const store = await openLogStore(dir, { segmentBytes: 300, fs });
    for (let i = 1; i <= 40; i++) await store.append({ entries: entries(i, i) });
    fs.failNext('unlink', 'EIO', (name) => name === '0000000000000001.wal');
    const snapshot = store.append({ snapshot: { index: 40, term: 1, data: { upTo: 40 } } });
    await until('the snapshot file to be renamed into place', () => fs.log.some((l) => /^rename snap-/.test(l)));
    const next = store.append({ entries: entries(41, 41) });
    await snapshot;
    assertPersistError(await rejection(next), dir, '0000000000000001.wal', 'EIO');
    assertPersistError(await rejection(store.append({ entries: entries(42, 42) })), dir, '0000000000000001.wal', 'EIO');
    await store.close();
  });

  it('a failed snapshot file write rejects naming the snapshot file', async () => {
    const dir = dirs.fresh();
    const fs = testFs();
    const store = await openLogStore(dir, { fs });
    fs.failNext('write', 'ENOSPC', (name) => name.startsWith('snap-'));
    const err = await rejection(store.append({ snapshot: { index: 1, term: 1, data: 'x' } }));
    assertPersistError(err, dir, 'snap-0000000000000001.snap', 'ENOSPC');
    assert.deepEqual(readdirSync(dir).filter((n) => n.startsWith('snap-')), [], 'the temporary file is removed, no snapshot file is left');
    assertPersistError(await rejection(store.append({ entries: entries(2, 2) })), dir, 'snap-0000000000000001.snap', 'ENOSPC');
    await store.close();
  });

  it('a failed segment creation at rotation rejects naming the new segment', async () => {
    const dir = dirs.fresh();
    const fs = testFs();
    const store = await openLogStore(dir, { fs, segmentBytes: 100 });
    await store.append({ entries: entries(1, 5) });
    fs.failNext('open', 'EROFS', (name) => name === '0000000000000002.wal');
    assertPersistError(await rejection(store.append({ entries: entries(6, 6) })), dir, '0000000000000002.wal', 'EROFS');
    await store.close();
    const again = await openLogStore(dir);
    assert.deepEqual(again.recovered.entries, entries(1, 5));
    await again.close();
  });
});
