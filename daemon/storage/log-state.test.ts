import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { EMPTY_POSITION, type LogPosition, step, supersededSegments } from './log-state.js';

const marker = (index: number) => ({ index, term: 1, file: 'snap-0000000000000001.snap' });
const at = (lastIndex: number, snapshotIndex?: number): LogPosition => ({ snapshot: snapshotIndex === undefined ? null : marker(snapshotIndex), lastIndex });

describe('log position steps', () => {
  it('an empty log takes entry 1, then each next index', () => {
    const one = step(EMPTY_POSITION, { kind: 'entry', index: 1 });
    assert.deepEqual(one, { ok: true, position: at(1) });
    assert.deepEqual(step(at(1), { kind: 'entry', index: 2 }), { ok: true, position: at(2) });
  });

  it('an entry that skips ahead or rewrites a stored index does not fit', () => {
    for (const index of [0, 1, 5, 7]) {
      const r = step(at(5), { kind: 'entry', index });
      assert.equal(r.ok === false && r.kind, 'not-next', `entry ${index} after 5`);
    }
  });

  it('a truncation cuts the log back, never into the snapshot nor beyond the last index', () => {
    assert.deepEqual(step(at(9, 3), { kind: 'truncate', after: 3 }), { ok: true, position: at(3, 3) });
    assert.deepEqual(step(at(9, 3), { kind: 'truncate', after: 9 }), { ok: true, position: at(9, 3) });
    const into = step(at(9, 3), { kind: 'truncate', after: 2 });
    assert.equal(into.ok === false && into.kind, 'truncate-below-snapshot');
    const beyond = step(at(9, 3), { kind: 'truncate', after: 10 });
    assert.equal(beyond.ok === false && beyond.kind, 'truncate-beyond-log');
  });

  it('a snapshot inside the log keeps its end; one beyond it becomes the end; an older one does not fit', () => {
    assert.deepEqual(step(at(9, 3), { kind: 'snapshot', marker: marker(5) }), { ok: true, position: at(9, 5) });
    assert.deepEqual(step(at(9, 3), { kind: 'snapshot', marker: marker(20) }), { ok: true, position: at(20, 20) });
    assert.deepEqual(step(at(9, 3), { kind: 'snapshot', marker: marker(3) }), { ok: true, position: at(9, 3) });
    const behind = step(at(9, 3), { kind: 'snapshot', marker: marker(2) });
    assert.equal(behind.ok === false && behind.kind, 'snapshot-behind');
  });
});

describe('superseded segments', () => {
  const spans = [
    { seq: 1, baseIndex: 0 },
    { seq: 2, baseIndex: 40 },
    { seq: 3, baseIndex: 80 },
    { seq: 4, baseIndex: 120 },
  ];
  const seqs = (snapshotIndex: number) => supersededSegments(spans, snapshotIndex).map((s) => s.seq);

  it('are the segments before the newest one whose older entries the snapshot covers', () => {
    assert.deepEqual(seqs(0), []);
    assert.deepEqual(seqs(39), []);
    assert.deepEqual(seqs(40), [1]);
    assert.deepEqual(seqs(119), [1, 2]);
    assert.deepEqual(seqs(500), [1, 2, 3]);
  });

  it('never include the segment being written, even with nothing to keep', () => {
    assert.deepEqual(supersededSegments([{ seq: 9, baseIndex: 0 }], 0), []);
  });

  it('hard-state-only logs (no entries) keep just the newest segment', () => {
    assert.deepEqual(supersededSegments([{ seq: 1, baseIndex: 0 }, { seq: 2, baseIndex: 0 }, { seq: 3, baseIndex: 0 }], 0).map((s) => s.seq), [1, 2]);
  });

  it('a truncation that lowered a later base lets that segment start replay', () => {
    assert.deepEqual(supersededSegments([{ seq: 1, baseIndex: 0 }, { seq: 2, baseIndex: 50 }, { seq: 3, baseIndex: 10 }], 10).map((s) => s.seq), [1, 2]);
  });
});
