/** The watch history: events in revision order with no gaps, bounded, and 'compacted' below what is held. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { createKvStore } from './store.js';
import { applier, kvOperation, SMALL_LIMITS } from './testing.js';
import { DEFAULT_KV_LIMITS, type KvEvent } from './types.js';

describe('eventsSince', () => {
  it('returns a key\'s or a prefix\'s events from a revision on, in order, with prevKv', () => {
    const store = createKvStore();
    const apply = applier(store);
    apply({ kind: 'put', key: 'a', value: '1' });
    apply({ kind: 'put', key: 'b/1', value: '1' });
    apply({ kind: 'put', key: 'a', value: '2' });
    apply({ kind: 'delete', key: 'a' });
    const a = store.eventsSince(2, { key: 'a' });
    assert.ok(a.ok);
    assert.deepEqual(a.events.map((e) => [e.type, e.revision, e.kv.value, e.prevKv?.value]), [['put', 3, '2', '1'], ['delete', 4, '', '2']]);
    assert.equal(a.revision, 4);
    const b = store.eventsSince(1, { prefix: 'b/' });
    assert.deepEqual(b.ok && b.events.map((e) => e.kv.key), ['b/1']);
    assert.deepEqual(store.eventsSince(5, { prefix: '' }), { ok: true, events: [], revision: 4 });
    assert.equal(store.eventsSince(0, { prefix: '' }).ok, false);
  });

  it('answers compacted below the oldest revision held, naming it', () => {
    const store = createKvStore({ ...DEFAULT_KV_LIMITS, historyRevisions: 3 });
    const apply = applier(store);
    for (let i = 0; i < 10; i++) apply({ kind: 'put', key: 'k', value: String(i) });
    const old = store.eventsSince(7, { key: 'k' });
    assert.deepEqual(old.ok ? null : [old.code, 'oldestRevision' in old && old.oldestRevision], ['compacted', 8]);
    assert.match(!old.ok ? old.message : '', /oldest revision held is 8/);
    const held = store.eventsSince(8, { key: 'k' });
    assert.deepEqual(held.ok && held.events.map((e) => e.revision), [8, 9, 10]);
  });

  it('drops whole revisions to stay within historyEvents, so what remains has no gaps', () => {
    const store = createKvStore({ ...DEFAULT_KV_LIMITS, historyEvents: 3 });
    const apply = applier(store);
    apply({ kind: 'put', key: 'a', value: '' });
    apply({ kind: 'txn', compare: [], success: [{ kind: 'put', key: 'b', value: '' }, { kind: 'put', key: 'c', value: '' }], failure: [] });
    apply({ kind: 'txn', compare: [], success: [{ kind: 'put', key: 'd', value: '' }, { kind: 'put', key: 'e', value: '' }], failure: [] });
    assert.equal(store.oldestRevision(), 3);
    const r = store.eventsSince(3, { prefix: '' });
    assert.deepEqual(r.ok && r.events.map((e) => e.kv.key), ['d', 'e']);
    assert.equal(store.eventsSince(2, { prefix: '' }).ok, false);
  });

  it('property: from the oldest revision held, the history equals the events apply returned, in order, revisions without gaps', () => {
    fc.assert(
      fc.property(fc.array(kvOperation, { maxLength: 60 }), (ops) => {
        const store = createKvStore(SMALL_LIMITS);
        const apply = applier(store);
        const returned: KvEvent[] = [];
        for (const op of ops) {
          const r = apply(op);
          if (r.ok) returned.push(...r.events);
        }
        const oldest = store.oldestRevision();
        const held = store.eventsSince(oldest, { prefix: '' });
        assert.ok(held.ok);
        assert.deepEqual(held.events, returned.filter((e) => e.revision >= oldest));
        const revisions = [...new Set(held.events.map((e) => e.revision))];
        assert.deepEqual(revisions, revisions.map((_, i) => oldest + i));
        if (revisions.length > 0) assert.equal(revisions.at(-1), store.revision());
        if (oldest > 1) assert.equal(store.eventsSince(oldest - 1, { prefix: '' }).ok, false);
      }),
      { numRuns: 300 },
    );
  });
});
