/** The store's write rules, each checked against etcd v3's model (revisions, CAS, txns, limits, sessions). */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createKvStore, KvStore } from './store.js';
import { applier, ok, SMALL_LIMITS, stateOf } from './testing.js';
import { DEFAULT_KV_LIMITS, type KvResult } from './types.js';

function fresh(limits = DEFAULT_KV_LIMITS) {
  const store = createKvStore(limits);
  return { store, apply: applier(store) };
}

function code(result: KvResult): string {
  assert.equal(result.ok, false, 'expected a refusal');
  return result.ok ? '' : result.code;
}

describe('revisions and versions (etcd: one revision per write that changes something)', () => {
  it('a put creates at version 1, each put bumps version and modRevision, createRevision stays', () => {
    const { store, apply } = fresh();
    assert.equal(ok(apply({ kind: 'put', key: 'a', value: '1' })).revision, 1);
    apply({ kind: 'put', key: 'b', value: '1' });
    const third = ok(apply({ kind: 'put', key: 'a', value: '2' }));
    assert.equal(third.revision, 3);
    assert.deepEqual(third.kind === 'put' && third.prevKv, { key: 'a', value: '1', createRevision: 1, modRevision: 1, version: 1, session: null });
    assert.deepEqual(store.get('a'), { key: 'a', value: '2', createRevision: 1, modRevision: 3, version: 2, session: null });
    assert.equal(store.revision(), 3);
  });

  it('a delete of a missing key takes no revision; a deleted key re-created starts at version 1 with a new createRevision', () => {
    const { store, apply } = fresh();
    apply({ kind: 'put', key: 'a', value: '1' });
    apply({ kind: 'put', key: 'a', value: '2' });
    const missing = ok(apply({ kind: 'delete', key: 'zz' }));
    assert.deepEqual([missing.revision, missing.events, store.revision()], [2, [], 2]);
    assert.equal(ok(apply({ kind: 'delete', key: 'a' })).revision, 3);
    assert.equal(store.get('a'), null);
    ok(apply({ kind: 'put', key: 'a', value: '3' }));
    assert.deepEqual(store.get('a'), { key: 'a', value: '3', createRevision: 4, modRevision: 4, version: 1, session: null });
  });

  it('a prefix delete removes every key under it at one revision, in key order', () => {
    const { store, apply } = fresh();
    for (const key of ['d/2', 'd/1', 'e', 'd']) apply({ kind: 'put', key, value: 'x' });
    const r = ok(apply({ kind: 'deletePrefix', prefix: 'd/' }));
    assert.equal(r.kind === 'deletePrefix' && r.deleted, 2);
    assert.deepEqual(r.events.map((e) => [e.type, e.kv.key, e.revision]), [['delete', 'd/1', 5], ['delete', 'd/2', 5]]);
    assert.deepEqual(store.range('').kvs.map((kv) => kv.key), ['d', 'e']);
  });

  it('applying an index at or below the last applied throws (an entry applied twice)', () => {
    const store = new KvStore();
    store.apply({ kind: 'put', key: 'a', value: '1' }, 5);
    assert.throws(() => store.apply({ kind: 'put', key: 'a', value: '1' }, 5), RangeError);
    assert.equal(store.revision(), 1);
  });
});

describe('compare-and-set', () => {
  it('ifModRevision 0 creates only if absent', () => {
    const { store, apply } = fresh();
    ok(apply({ kind: 'put', key: 'lock', value: 'me', ifModRevision: 0 }));
    const again = apply({ kind: 'put', key: 'lock', value: 'you', ifModRevision: 0 });
    assert.equal(code(again), 'compare-failed');
    assert.deepEqual(!again.ok && again.code === 'compare-failed' && again.current, { createRevision: 1, modRevision: 1, version: 1 });
    assert.equal(store.get('lock')?.value, 'me');
    assert.equal(store.revision(), 1);
  });

  it('a mismatched modRevision changes nothing and reports the current revisions; the matching one writes', () => {
    const { store, apply } = fresh();
    apply({ kind: 'put', key: 'k', value: '1' });
    apply({ kind: 'put', key: 'k', value: '2' });
    const before = stateOf(store);
    assert.equal(code(apply({ kind: 'put', key: 'k', value: '3', ifModRevision: 1 })), 'compare-failed');
    assert.equal(code(apply({ kind: 'delete', key: 'k', ifModRevision: 1 })), 'compare-failed');
    assert.equal(code(apply({ kind: 'put', key: 'absent', value: '3', ifModRevision: 2 })), 'compare-failed');
    assert.deepEqual(stateOf(store), before);
    ok(apply({ kind: 'put', key: 'k', value: '3', ifModRevision: 2 }));
    assert.equal(store.get('k')?.version, 3);
  });
});

describe('txn', () => {
  it('compares see the state before the txn; the success branch applies at one revision with one event per write', () => {
    const { store, apply } = fresh();
    apply({ kind: 'put', key: 'a', value: '1' });
    apply({ kind: 'put', key: 'b', value: '1' });
    const r = ok(
      apply({
        kind: 'txn',
        compare: [
          { key: 'a', target: 'value', op: '=', value: '1' },
          { key: 'missing', target: 'version', op: '=', value: 0 },
        ],
        success: [
          { kind: 'put', key: 'a', value: '2' },
          { kind: 'get', key: 'a' },
          { kind: 'delete', key: 'b' },
          { kind: 'put', key: 'c', value: '1' },
        ],
        failure: [{ kind: 'put', key: 'failed', value: '1' }],
      }),
    );
    assert.ok(r.kind === 'txn' && r.succeeded);
    assert.equal(r.revision, 3);
    assert.deepEqual(r.events.map((e) => [e.type, e.kv.key, e.revision]), [['put', 'a', 3], ['delete', 'b', 3], ['put', 'c', 3]]);
    assert.equal(r.kind === 'txn' && r.responses[1]!.kind === 'get' && r.responses[1].kv?.value, '2', 'a get sees the branch\'s earlier put');
    assert.deepEqual(store.range('').kvs.map((kv) => [kv.key, kv.modRevision]), [['a', 3], ['c', 3]]);
  });

  it('a failed compare runs the failure branch; a value compare on an absent key is false', () => {
    const { store, apply } = fresh();
    const r = ok(apply({ kind: 'txn', compare: [{ key: 'x', target: 'value', op: '!=', value: 'y' }], success: [{ kind: 'put', key: 's', value: '1' }], failure: [{ kind: 'put', key: 'f', value: '1' }] }));
    assert.ok(r.kind === 'txn' && !r.succeeded);
    assert.deepEqual(store.range('').kvs.map((kv) => kv.key), ['f']);
  });

  it('a txn of reads only takes no revision', () => {
    const { store, apply } = fresh();
    apply({ kind: 'put', key: 'a', value: '1' });
    const r = ok(apply({ kind: 'txn', compare: [], success: [{ kind: 'get', key: 'a' }, { kind: 'delete', key: 'nope' }], failure: [] }));
    assert.deepEqual([r.revision, r.events.length, store.revision()], [1, 0, 1]);
  });

  it('is atomic: a branch that breaks a limit halfway, or writes one key twice, or names a missing session, changes nothing', () => {
    const { store, apply } = fresh({ ...DEFAULT_KV_LIMITS, maxKeys: 2 });
    apply({ kind: 'put', key: 'a', value: '1' });
    const before = stateOf(store);
    const put = (key: string) => ({ kind: 'put' as const, key, value: 'v' });
    assert.equal(code(apply({ kind: 'txn', compare: [], success: [put('b'), put('c')], failure: [] })), 'too-many-keys');
    assert.equal(code(apply({ kind: 'txn', compare: [], success: [put('b'), { kind: 'delete', key: 'b' }], failure: [] })), 'duplicate-key');
    assert.equal(code(apply({ kind: 'txn', compare: [], success: [{ kind: 'deletePrefix', prefix: 'a' }, put('ab')], failure: [] })), 'duplicate-key');
    assert.equal(code(apply({ kind: 'txn', compare: [], success: [put('b'), { ...put('c'), session: 'gone' }], failure: [] })), 'session-not-found');
    // The unchosen branch is validated too: a txn is refused whole or not at all.
    assert.equal(code(apply({ kind: 'txn', compare: [], success: [put('b')], failure: [{ kind: 'put', key: '', value: '' }] })), 'empty-key');
    assert.deepEqual(stateOf(store), before);
    assert.deepEqual(store.eventsSince(2, { prefix: '' }), { ok: true, events: [], revision: 1 });
  });

  it('is bounded in compares and operations', () => {
    const { apply } = fresh({ ...DEFAULT_KV_LIMITS, maxTxnCompares: 1, maxTxnOps: 1 });
    const c = { key: 'a', target: 'version' as const, op: '=' as const, value: 0 };
    assert.equal(code(apply({ kind: 'txn', compare: [c, c], success: [], failure: [] })), 'txn-too-large');
    assert.equal(code(apply({ kind: 'txn', compare: [], success: [], failure: [{ kind: 'get', key: 'a' }, { kind: 'get', key: 'b' }] })), 'txn-too-large');
  });
});

describe('limits: the error names the limit and the size, and nothing is applied', () => {
  const cases: [string, (apply: ReturnType<typeof applier>) => KvResult, string, RegExp][] = [
    ['empty key', (a) => a({ kind: 'put', key: '', value: 'v' }), 'empty-key', /empty/],
    ['key bytes (UTF-8, not chars)', (a) => a({ kind: 'put', key: 'ééééé', value: 'v' }), 'key-too-large', /10 bytes, above maxKeyBytes 8/],
    ['value bytes', (a) => a({ kind: 'put', key: 'k', value: '1234567' }), 'value-too-large', /7 bytes, above maxValueBytes 6/],
    ['lone surrogate', (a) => a({ kind: 'put', key: 'k\ud800', value: 'v' }), 'not-utf8', /surrogate/],
    ['key count', (a) => a({ kind: 'put', key: 'e', value: 'v' }), 'too-many-keys', /5 keys, above maxKeys 4/],
    ['total bytes', (a) => a({ kind: 'put', key: 'a', value: '123456' }), 'store-full', /25 bytes, above maxTotalBytes 24/],
  ];
  for (const [name, write, expected, message] of cases) {
    it(name, () => {
      const { store, apply } = fresh(SMALL_LIMITS);
      for (const key of ['a', 'b', 'c', 'd']) ok(apply({ kind: 'put', key, value: 'vvvvv' }));
      const before = stateOf(store);
      const result = write(apply);
      assert.equal(code(result), expected);
      assert.match(!result.ok ? result.message : '', message);
      assert.deepEqual(stateOf(store), before);
    });
  }

  it('limits outside the absolute bounds are refused at construction', () => {
    assert.throws(() => createKvStore({ ...DEFAULT_KV_LIMITS, maxKeyBytes: 5000 }), /maxKeyBytes/);
    assert.throws(() => createKvStore({ ...DEFAULT_KV_LIMITS, minSessionTtlMs: 10, maxSessionTtlMs: 5 }), /maxSessionTtlMs/);
  });
});

describe('reads', () => {
  it('range is sorted by UTF-8 bytes, limited with `more`, and reports the revision read at', () => {
    const { store, apply } = fresh();
    for (const key of ['p/\u{1F600}', 'p/\uFF21', 'p/b', 'p/a', 'q']) apply({ kind: 'put', key, value: '' });
    const all = store.range('p/');
    assert.deepEqual(all.kvs.map((kv) => kv.key), ['p/a', 'p/b', 'p/\uFF21', 'p/\u{1F600}']);
    assert.deepEqual([all.more, all.revision], [false, 5]);
    const cut = store.range('p/', 2);
    assert.deepEqual([cut.kvs.length, cut.more], [2, true]);
    assert.deepEqual(store.read('q'), { kv: store.get('q'), revision: 5 });
  });

  it('returned key-values cannot be changed by the caller', () => {
    const { store, apply } = fresh();
    apply({ kind: 'put', key: 'a', value: '1' });
    assert.throws(() => {
      (store.get('a') as { value: string }).value = 'changed';
    }, TypeError);
  });
});

describe('sessions', () => {
  it('revoke deletes every attached key at one revision, with an event for each, and ends the session', () => {
    const { store, apply } = fresh();
    ok(apply({ kind: 'sessionGrant', id: 's', node: 'n1', ttlMs: 5000 }));
    for (const key of ['lock/b', 'lock/a', 'free']) apply({ kind: 'put', key, value: 'x', session: key === 'free' ? undefined : 's' });
    assert.deepEqual(store.keysOfSession('s'), ['lock/a', 'lock/b']);
    const r = ok(apply({ kind: 'sessionRevoke', id: 's', reason: 'node-dead' }));
    assert.equal(r.revision, 4);
    assert.deepEqual(r.events.map((e) => [e.type, e.kv.key, e.revision, e.prevKv?.session]), [['delete', 'lock/a', 4, 's'], ['delete', 'lock/b', 4, 's']]);
    assert.deepEqual(store.range('').kvs.map((kv) => kv.key), ['free']);
    assert.equal(store.session('s'), null);
    assert.equal(code(apply({ kind: 'sessionKeepAlive', id: 's' })), 'session-not-found');
    assert.equal(code(apply({ kind: 'put', key: 'k', value: 'v', session: 's' })), 'session-not-found');
  });

  it('a put without a session detaches the key; a key deleted leaves its session', () => {
    const { store, apply } = fresh();
    apply({ kind: 'sessionGrant', id: 's', node: 'n1', ttlMs: 5000 });
    apply({ kind: 'put', key: 'a', value: '1', session: 's' });
    apply({ kind: 'put', key: 'b', value: '1', session: 's' });
    apply({ kind: 'put', key: 'a', value: '2' });
    apply({ kind: 'delete', key: 'b' });
    assert.deepEqual(store.keysOfSession('s'), []);
    const r = ok(apply({ kind: 'sessionRevoke', id: 's', reason: 'revoked' }));
    assert.deepEqual([r.events.length, store.get('a')?.value], [0, '2']);
  });

  it('grant refuses a duplicate id, a ttl out of range and more sessions than the limit; keep-alive returns the ttl and moves keptAliveIndex', () => {
    const { store, apply } = fresh(SMALL_LIMITS);
    ok(apply({ kind: 'sessionGrant', id: 's1', node: 'n1', ttlMs: 100 }));
    assert.equal(code(apply({ kind: 'sessionGrant', id: 's1', node: 'n2', ttlMs: 100 })), 'session-exists');
    assert.equal(code(apply({ kind: 'sessionGrant', id: 's2', node: 'n1', ttlMs: 5 })), 'ttl-out-of-range');
    ok(apply({ kind: 'sessionGrant', id: 's2', node: 'n2', ttlMs: 200 }));
    assert.equal(code(apply({ kind: 'sessionGrant', id: 's3', node: 'n1', ttlMs: 100 })), 'too-many-sessions');
    assert.deepEqual(store.session('s1'), { id: 's1', node: 'n1', ttlMs: 100, grantedIndex: 1, keptAliveIndex: 1 });
    const kept = ok(apply({ kind: 'sessionKeepAlive', id: 's1' }));
    assert.equal(kept.kind === 'sessionKeepAlive' && kept.ttlMs, 100);
    assert.equal(store.session('s1')?.keptAliveIndex, 6);
    assert.equal(store.revision(), 0, 'grants and keep-alives take no revision');
    assert.deepEqual(store.sessionsOfNode('n1'), ['s1']);
    assert.deepEqual(store.sessions().map((s) => s.id), ['s1', 's2']);
  });

  it('a revoke decided on an old keep-alive loses to a keep-alive committed before it', () => {
    const { store, apply } = fresh();
    apply({ kind: 'sessionGrant', id: 's', node: 'n1', ttlMs: 5000 });
    apply({ kind: 'put', key: 'a', value: '1', session: 's' });
    apply({ kind: 'sessionKeepAlive', id: 's' });
    const late = apply({ kind: 'sessionRevoke', id: 's', reason: 'expired', ifKeptAliveIndex: 1 });
    assert.equal(code(late), 'compare-failed');
    assert.deepEqual(!late.ok && late.code === 'compare-failed' && late.current, { keptAliveIndex: 3 });
    assert.notEqual(store.get('a'), null);
    ok(apply({ kind: 'sessionRevoke', id: 's', reason: 'expired', ifKeptAliveIndex: 3 }));
    assert.equal(store.get('a'), null);
    assert.equal(code(apply({ kind: 'sessionRevoke', id: 's', reason: 'revoked' })), 'session-not-found');
  });
});
