import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ElectionSummary } from '../protocols/types.js';
import { DurableState, PERSIST_RETRY_MS } from './durable.js';
import { PersistError } from './errors.js';
import type { StateStore } from './store.js';

/** An in-memory store; `failing` makes every save throw as writeFileDurably would. */
function memoryStore(): StateStore<number> & { disk: number | null; writes: number[]; failing: boolean } {
  const store = {
    path: '/data/state.json',
    disk: null as number | null,
    writes: [] as number[],
    failing: false,
    load: () => store.disk,
    save(state: number) {
      if (store.failing) throw new PersistError(store.path, Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' }), 'left as it was');
      store.disk = state;
      store.writes.push(state);
    },
  };
  return store;
}

const FOLLOWER_AT_7: ElectionSummary = { role: 'follower', term: 7, leader: 'b', fencingToken: 7 };
const LEADER_AT_8: ElectionSummary = { role: 'leader', term: 8, leader: 'a', fencingToken: 8 };

describe('DurableState', () => {
  it('writes the newest state of a batch once (each is the whole state); nothing to write is clean', () => {
    const store = memoryStore();
    const durable = new DurableState(store, FOLLOWER_AT_7);
    assert.equal(durable.save([], 0), 'clean');
    assert.equal(durable.save([1, 2, 3], 0), 'saved');
    assert.deepEqual(store.writes, [3]);
    assert.equal(durable.durable, true);
    assert.equal(durable.error, null);
  });

  it('a failed write is retried every PERSIST_RETRY_MS, and at once when the machine has newer state', () => {
    const store = memoryStore();
    const durable = new DurableState(store, FOLLOWER_AT_7);
    store.failing = true;
    assert.equal(durable.save([1], 0), 'failed');
    assert.equal(durable.durable, false);
    assert.equal(durable.error?.name, 'PersistError');
    assert.equal(durable.error?.path, '/data/state.json');
    assert.equal(durable.save([], PERSIST_RETRY_MS - 1), 'waiting');
    assert.equal(durable.save([], PERSIST_RETRY_MS), 'failed-again');
    assert.equal(durable.save([2], PERSIST_RETRY_MS + 1), 'failed-again', 'newer state is tried without waiting');
    store.failing = false;
    assert.equal(durable.save([], PERSIST_RETRY_MS + 2), 'waiting');
    assert.equal(durable.save([], 2 * PERSIST_RETRY_MS + 1), 'recovered');
    assert.deepEqual(store.writes, [2], 'the newest state reached the disk');
    assert.equal(durable.durable, true);
    assert.equal(durable.error, null);
    assert.equal(durable.save([], 10 * PERSIST_RETRY_MS), 'clean');
  });

  it('a store that throws something else is still reported as PersistError naming its file', () => {
    const store: StateStore<number> = {
      path: '/data/odd.json',
      load: () => null,
      save: () => {
        throw new Error('boom');
      },
    };
    const durable = new DurableState(store, FOLLOWER_AT_7);
    assert.equal(durable.save([1], 0), 'failed');
    assert.equal(durable.error?.name, 'PersistError');
    assert.ok(durable.error?.message.includes('/data/odd.json') && durable.error.message.includes('boom'), durable.error?.message);
  });

  it('reports the machine while all is on disk; while a write fails, a follower without leader at the last durable term and token', () => {
    const store = memoryStore();
    const durable = new DurableState(store, FOLLOWER_AT_7);
    assert.deepEqual(durable.report(FOLLOWER_AT_7), FOLLOWER_AT_7);
    store.failing = true;
    durable.save([8], 0);
    assert.deepEqual(durable.report(LEADER_AT_8), { role: 'follower', term: 7, leader: null, fencingToken: 7 });
    store.failing = false;
    durable.save([], PERSIST_RETRY_MS);
    assert.deepEqual(durable.report(LEADER_AT_8), LEADER_AT_8);
    store.failing = true;
    durable.save([9], 2 * PERSIST_RETRY_MS);
    assert.deepEqual(durable.report({ ...LEADER_AT_8, term: 9, fencingToken: 9 }), { role: 'follower', term: 8, leader: null, fencingToken: 8 }, 'never below what was reported before');
  });
});
