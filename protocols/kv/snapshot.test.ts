/**
 * Snapshots and determinism: a store restored from another's snapshot is the same store (every
 * later operation gives the same result on both), and a snapshot that operations could not have
 * produced is refused with the field path.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { createKvStore, restoreKvStore } from './store.js';
import { applier, kvOperation, ok, SMALL_LIMITS, stateOf } from './testing.js';
import { DEFAULT_KV_LIMITS, type KvSnapshotData } from './types.js';

function sample(): KvSnapshotData {
  const store = createKvStore();
  const apply = applier(store);
  apply({ kind: 'sessionGrant', id: 's', node: 'n1', ttlMs: 5000 });
  apply({ kind: 'put', key: 'b', value: '1', session: 's' });
  apply({ kind: 'put', key: 'a', value: '1' });
  apply({ kind: 'put', key: 'a', value: '2' });
  return JSON.parse(JSON.stringify(store.snapshot())) as KvSnapshotData;
}

describe('snapshot', () => {
  it('is plain sorted JSON with format version 1; history does not survive a restore', () => {
    const data = sample();
    assert.deepEqual(data, {
      v: 1,
      revision: 3,
      appliedIndex: 4,
      keys: [
        { key: 'a', value: '2', createRevision: 2, modRevision: 3, version: 2, session: null },
        { key: 'b', value: '1', createRevision: 1, modRevision: 1, version: 1, session: 's' },
      ],
      sessions: [{ id: 's', node: 'n1', ttlMs: 5000, grantedIndex: 1, keptAliveIndex: 1 }],
    });
    const restored = restoreKvStore(data);
    assert.ok(restored.ok);
    assert.deepEqual(restored.store.snapshot(), data);
    assert.deepEqual(restored.store.keysOfSession('s'), ['b']);
    const old = restored.store.eventsSince(3, { prefix: '' });
    assert.deepEqual(old.ok ? null : old.code, 'compacted');
    assert.equal(restored.store.oldestRevision(), 4);
    ok(applier(restored.store)({ kind: 'put', key: 'c', value: '' }));
    assert.deepEqual(restored.store.eventsSince(4, { prefix: '' }).ok, true);
  });

  it('property: a store restored mid-way from a snapshot gives identical results and state to the original for every later operation', () => {
    fc.assert(
      fc.property(fc.array(kvOperation, { maxLength: 40 }), fc.array(kvOperation, { maxLength: 40 }), (before, after) => {
        const original = createKvStore(SMALL_LIMITS);
        const applyOriginal = applier(original);
        for (const op of before) applyOriginal(op);
        const restored = restoreKvStore(JSON.parse(JSON.stringify(original.snapshot())), SMALL_LIMITS);
        assert.ok(restored.ok, restored.ok ? '' : restored.reason);
        const applyRestored = applier(restored.store);
        for (const op of after) assert.deepEqual(applyRestored(op), applyOriginal(op), JSON.stringify(op));
        assert.equal(JSON.stringify(restored.store.snapshot()), JSON.stringify(original.snapshot()));
        assert.deepEqual(restored.store.range(''), original.range(''));
      }),
      { numRuns: 300 },
    );
  });

  it('property: revision only grows, by one per effective write, and a refused operation leaves the state unchanged', () => {
    fc.assert(
      fc.property(fc.array(kvOperation, { maxLength: 80 }), (ops) => {
        const store = createKvStore(SMALL_LIMITS);
        const apply = applier(store);
        let effective = 0;
        for (const op of ops) {
          const before = stateOf(store);
          const r = apply(op);
          if (!r.ok) {
            assert.deepEqual(stateOf(store), before, `${r.code} changed the state`);
            continue;
          }
          if (r.events.length > 0) {
            effective++;
            assert.equal(r.revision, before.revision + 1);
            assert.ok(r.events.every((e) => e.revision === r.revision));
          } else assert.equal(r.revision, before.revision);
          assert.equal(store.revision(), effective);
          // Every snapshot the store makes is one its own loader accepts.
          assert.ok(restoreKvStore(store.snapshot(), SMALL_LIMITS).ok);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('the same operations give byte-identical snapshots whatever order keys were first inserted in', () => {
    const one = createKvStore();
    const two = createKvStore();
    applier(one)({ kind: 'txn', compare: [], success: [{ kind: 'put', key: 'x', value: '' }, { kind: 'put', key: 'a', value: '' }], failure: [] });
    applier(two)({ kind: 'txn', compare: [], success: [{ kind: 'put', key: 'a', value: '' }, { kind: 'put', key: 'x', value: '' }], failure: [] });
    assert.deepEqual(one.snapshot().keys.map((kv) => kv.key), ['a', 'x']);
    assert.equal(JSON.stringify(one.snapshot()), JSON.stringify(two.snapshot()));
  });
});

describe('restoreKvStore refuses malformed or inconsistent data, naming the field', () => {
  const cases: [string, (d: KvSnapshotData) => unknown, RegExp][] = [
    ['not an object', () => 'nope', /^\(root\)/],
    ['another format version', (d) => ({ ...d, v: 2 }), /^v:/],
    ['an unknown field', (d) => ({ ...d, extra: 1 }), /extra|unrecognized/i],
    ['a key attached to a missing session', (d) => ({ ...d, sessions: [] }), /^keys\.1\.session: session "s" does not exist/],
    ['modRevision above the revision', (d) => ({ ...d, revision: 2 }), /^keys\.0\.modRevision/],
    ['createRevision above modRevision', (d) => ({ ...d, keys: [{ ...d.keys[0]!, createRevision: 3, modRevision: 2 }, d.keys[1]] }), /^keys\.0\.createRevision/],
    ['more versions than revisions', (d) => ({ ...d, keys: [{ ...d.keys[0]!, version: 5 }, d.keys[1]] }), /^keys\.0\.version/],
    ['duplicate keys', (d) => ({ ...d, keys: [d.keys[0], d.keys[0]] }), /^keys\.1\.key: keys must be sorted, each once/],
    ['unsorted keys', (d) => ({ ...d, keys: [d.keys[1], d.keys[0]] }), /^keys\.1\.key/],
    ['an empty key', (d) => ({ ...d, keys: [{ ...d.keys[0]!, key: '' }, d.keys[1]] }), /^keys\.0\.key/],
    ['a negative revision', (d) => ({ ...d, revision: -1 }), /^revision/],
    ['a revision above the counter bound', (d) => ({ ...d, revision: 2 ** 53 }), /^revision/],
    ['keptAliveIndex above appliedIndex', (d) => ({ ...d, sessions: [{ ...d.sessions[0]!, keptAliveIndex: 99 }] }), /^sessions\.0\.keptAliveIndex/],
    ['a lone surrogate in a value', (d) => ({ ...d, keys: [{ ...d.keys[0]!, value: '\udc00' }, d.keys[1]] }), /^keys\.0\.value/],
  ];
  for (const [name, mangle, reason] of cases) {
    it(name, () => {
      const r = restoreKvStore(mangle(sample()));
      assert.equal(r.ok, false);
      assert.match(r.ok ? '' : r.reason, reason);
    });
  }

  it('limits exceeded: key count, key size, total bytes, session ttl', () => {
    const tight = (l: Partial<typeof DEFAULT_KV_LIMITS>, reason: RegExp) => {
      const r = restoreKvStore(sample(), { ...DEFAULT_KV_LIMITS, ...l });
      assert.match(r.ok ? 'accepted' : r.reason, reason);
    };
    tight({ maxKeys: 1 }, /^keys:/);
    tight({ maxValueBytes: 0 }, /^keys\.0\.value/);
    tight({ maxTotalBytes: 3 }, /^keys: 4 bytes, above maxTotalBytes 3/);
    tight({ maxSessionTtlMs: 4000 }, /^sessions\.0\.ttlMs/);
  });
});
