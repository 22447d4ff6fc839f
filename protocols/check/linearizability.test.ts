import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { KvInput, KvOperation, KvOutput } from './kv-model.js';
import { kvModel } from './kv-model.js';
import { checkLinearizability, InvalidHistoryError } from './linearizability.js';

/** One operation: `[callMs, returnMs]` (returnMs null: outcome unknown), input, output. */
function op(id: number, [callMs, returnMs]: [number, number | null], input: KvInput, output?: KvOutput): KvOperation {
  return { id, client: `c${id}`, callMs, returnMs, input, ...(output ? { output } : {}) };
}
const put = (id: number, at: [number, number | null], key: string, value: string, revision?: number): KvOperation =>
  op(id, at, { kind: 'put', key, value }, revision === undefined ? undefined : { revision });
const get = (id: number, at: [number, number | null], key: string, value: string | null, modRevision: number): KvOperation =>
  op(id, at, { kind: 'get', key }, { value, modRevision });
const cas = (id: number, at: [number, number | null], key: string, ifModRevision: number, value: string, result?: { ok: boolean; revision: number }): KvOperation =>
  op(id, at, { kind: 'cas', key, ifModRevision, value }, result);
const del = (id: number, at: [number, number | null], key: string, deleted: 0 | 1, revision: number): KvOperation =>
  op(id, at, { kind: 'delete', key }, { deleted, revision });

const check = (history: KvOperation[]) => checkLinearizability(kvModel, history);

describe('linearizability checker, key-value histories', () => {
  it('an empty history and a sequential one are linearizable', () => {
    assert.deepEqual(check([]), { ok: true, partitions: 0, steps: 0 });
    const result = check([put(1, [0, 10], 'x', 'a', 1), get(2, [20, 30], 'x', 'a', 1), put(3, [40, 50], 'x', 'b', 2), get(4, [60, 70], 'x', 'b', 2)]);
    assert.equal(result.ok, true);
  });

  it('a stale read after a completed write is not linearizable, and the report names it', () => {
    const result = check([put(1, [0, 10], 'x', 'a', 1), put(2, [20, 30], 'x', 'b', 2), get(3, [40, 50], 'x', 'a', 1)]);
    assert.equal(result.ok, false);
    if (result.ok !== false) return;
    assert.equal(result.partition, 'x');
    assert.deepEqual(result.longestLinearizablePrefix, [1, 2]);
    assert.deepEqual(result.failingOps, [3]);
    assert.match(result.reason, /#3 get "x" -> "a" at modRevision 1/);
    assert.match(result.reason, /state is "b" at modRevision 2/);
  });

  it('a read concurrent with a write may see the old value or the new one', () => {
    const before = [put(1, [0, 10], 'x', 'a', 1), put(2, [20, 40], 'x', 'b', 2)];
    assert.equal(check([...before, get(3, [25, 35], 'x', 'a', 1)]).ok, true);
    assert.equal(check([...before, get(3, [25, 35], 'x', 'b', 2)]).ok, true);
    assert.equal(check([...before, get(3, [15, 35], 'x', null, 0)]).ok, false, 'absent: the first put had completed');
  });

  it('intervals that only touch count as concurrent', () => {
    assert.equal(check([put(1, [0, 10], 'x', 'a', 1), get(2, [10, 20], 'x', null, 0)]).ok, true);
  });

  it('a read of a value never written is not linearizable', () => {
    assert.equal(check([put(1, [0, 10], 'x', 'a', 1), get(2, [20, 30], 'x', 'z', 1)]).ok, false);
    assert.equal(check([put(1, [0, 10], 'x', 'a', 1), get(2, [20, 30], 'x', 'a', 7)]).ok, false, 'right value, wrong revision');
  });

  it('two reads that see the new value, then the old one, while the write is in flight are not linearizable', () => {
    const result = check([put(1, [0, 10], 'x', 'a', 1), put(2, [20, 100], 'x', 'b', 2), get(3, [30, 40], 'x', 'b', 2), get(4, [50, 60], 'x', 'a', 1)]);
    assert.equal(result.ok, false);
    assert.equal(check([put(1, [0, 10], 'x', 'a', 1), put(2, [20, 100], 'x', 'b', 2), get(3, [30, 40], 'x', 'a', 1), get(4, [50, 60], 'x', 'b', 2)]).ok, true);
  });

  it('a lost CAS (two CAS from the same modRevision both succeed) is not linearizable; one winner is', () => {
    const start = put(1, [0, 10], 'x', 'a', 1);
    assert.equal(check([start, cas(2, [20, 40], 'x', 1, 'b', { ok: true, revision: 2 }), cas(3, [20, 40], 'x', 1, 'c', { ok: true, revision: 3 })]).ok, false);
    assert.equal(check([start, cas(2, [20, 40], 'x', 1, 'b', { ok: true, revision: 2 }), cas(3, [20, 40], 'x', 1, 'c', { ok: false, revision: 2 })]).ok, true);
    assert.equal(check([start, cas(2, [20, 40], 'x', 0, 'b', { ok: false, revision: 1 })]).ok, true, 'create-only fails on a present key');
    assert.equal(check([start, cas(2, [20, 40], 'x', 1, 'b', { ok: false, revision: 1 })]).ok, false, 'a matching CAS cannot fail');
  });

  it('deletes: a read after a completed delete sees the key absent; revisions never go back', () => {
    const start = [put(1, [0, 10], 'x', 'a', 1), del(2, [20, 30], 'x', 1, 2)];
    assert.equal(check([...start, get(3, [40, 50], 'x', null, 0)]).ok, true);
    assert.equal(check([...start, get(3, [40, 50], 'x', 'a', 1)]).ok, false);
    assert.equal(check([...start, del(3, [40, 50], 'x', 0, 2), put(4, [60, 70], 'x', 'b', 3)]).ok, true);
    assert.equal(check([put(1, [0, 10], 'x', 'a', 5), put(2, [20, 30], 'x', 'b', 3)]).ok, false, 'a later write at a lower revision');
  });

  it('an unknown-outcome write whose value is later read is linearizable, at whatever revision it got', () => {
    const start = [put(1, [0, 10], 'x', 'a', 1), put(2, [20, null], 'x', 'b')];
    assert.equal(check([...start, get(3, [50, 60], 'x', 'b', 2)]).ok, true);
    assert.equal(check([...start, get(3, [50, 60], 'x', 'b', 9), put(4, [70, 80], 'x', 'c', 10)]).ok, true);
    assert.equal(check([...start, get(3, [50, 60], 'x', 'b', 9), put(4, [70, 80], 'x', 'c', 9)]).ok, false, 'the read pinned its revision');
    assert.equal(check([...start, get(3, [50, 60], 'x', 'b', 1)]).ok, false, 'not at or below the write before it');
    assert.equal(check([...start, get(3, [50, 60], 'x', 'b', 2), get(4, [70, 80], 'x', 'a', 1)]).ok, false, 'and once seen it stays');
    assert.equal(check([put(1, [0, 10], 'x', 'a', 1), { ...put(2, [20, 30], 'x', 'b'), returnMs: Infinity }, get(3, [50, 60], 'x', 'b', 4)]).ok, true, 'Infinity means unknown too');
  });

  it('an unknown-outcome write never observed is linearizable, also when later writes took the revisions', () => {
    const result = check([put(1, [0, 10], 'x', 'a', 1), put(2, [20, null], 'x', 'b'), get(3, [50, 60], 'x', 'a', 1), put(4, [70, 80], 'x', 'c', 2), get(5, [90, 95], 'x', 'c', 2)]);
    assert.equal(result.ok, true);
  });

  it('an unknown-outcome write cannot take effect before its call', () => {
    assert.equal(check([put(1, [0, 10], 'x', 'a', 1), get(2, [20, 30], 'x', 'b', 2), put(3, [40, null], 'x', 'b')]).ok, false);
  });

  it('an unknown-outcome CAS either won (and the other lost) or never happened', () => {
    const start = [put(1, [0, 10], 'x', 'a', 1), cas(2, [20, null], 'x', 1, 'b')];
    assert.equal(check([...start, cas(3, [30, 40], 'x', 1, 'c', { ok: true, revision: 3 }), get(4, [50, 60], 'x', 'c', 3)]).ok, true);
    assert.equal(check([...start, get(3, [30, 40], 'x', 'b', 2), cas(4, [50, 60], 'x', 2, 'c', { ok: true, revision: 3 })]).ok, true);
    assert.equal(check([...start, get(3, [30, 40], 'x', 'b', 2), cas(4, [50, 60], 'x', 1, 'c', { ok: true, revision: 3 })]).ok, false);
  });

  it('keys are checked independently; the failing key is named', () => {
    const result = check([put(1, [0, 10], 'x', 'a', 1), put(2, [0, 10], 'y', 'a', 2), get(3, [20, 30], 'x', 'a', 1), get(4, [20, 30], 'y', null, 0)]);
    assert.equal(result.ok, false);
    assert.equal(result.ok === false && result.partition, 'y');
    assert.equal(check([put(1, [0, 10], 'x', 'a', 1), put(2, [0, 10], 'y', 'a', 2)]).ok, true);
  });

  it('a search that runs out of budget answers unknown instead of going on', () => {
    const history = [put(1, [0, 10], 'x', 'a', 1), put(2, [20, 30], 'x', 'b', 2), get(3, [40, 50], 'x', 'b', 2)];
    assert.deepEqual(checkLinearizability(kvModel, history, { maxSteps: 2 }), { ok: 'unknown', partition: 'x', reason: 'search budget exhausted', steps: 2 });
    assert.equal(checkLinearizability(kvModel, history, { maxSteps: 3 }).ok, true, 'three steps: three operations placed first try');
  });

  it('refuses an unreadable history', () => {
    assert.throws(() => check([put(1, [0, 10], 'x', 'a', 1), put(1, [20, 30], 'x', 'b', 2)]), { name: 'InvalidHistoryError' });
    assert.throws(() => check([put(1, [10, 0], 'x', 'a', 1)]), (e: unknown) => e instanceof InvalidHistoryError && e.operation === 1);
  });
});
