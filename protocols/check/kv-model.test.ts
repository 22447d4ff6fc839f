import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { KvState } from './kv-model.js';
import { INITIAL_KV_STATE, kvHash, kvStep, partitionByKey } from './kv-model.js';

const at = (value: string | null, modRevision: number | null, lastWriteMin: number): KvState => ({ value, modRevision, lastWriteMin });

describe('key-value model (etcd v3 semantics, one key)', () => {
  it('a put sets the value at its revision, which must exceed the last write', () => {
    assert.deepEqual(kvStep(INITIAL_KV_STATE, { kind: 'put', key: 'x', value: 'a' }, { revision: 3 }), { ok: true, state: at('a', 3, 3) });
    assert.equal(kvStep(at('a', 3, 3), { kind: 'put', key: 'x', value: 'b' }, { revision: 3 }).ok, false);
  });

  it('an unknown-outcome put leaves the revision unknown but at least one above the last write', () => {
    const after = kvStep(at('a', 3, 3), { kind: 'put', key: 'x', value: 'b' }, undefined);
    assert.deepEqual(after, { ok: true, state: at('b', null, 4) });
    assert.equal(kvStep(after.state, { kind: 'get', key: 'x' }, { value: 'b', modRevision: 3 }).ok, false);
    assert.deepEqual(kvStep(after.state, { kind: 'get', key: 'x' }, { value: 'b', modRevision: 6 }), { ok: true, state: at('b', 6, 6) }, 'a read pins it');
    assert.equal(kvStep(after.state, { kind: 'put', key: 'x', value: 'c' }, { revision: 4 }).ok, false, 'the unknown write took 4 at least');
    assert.equal(kvStep(after.state, { kind: 'put', key: 'x', value: 'c' }, { revision: 5 }).ok, true);
  });

  it('cas matches the current modRevision (0: absent); a failed one changes nothing', () => {
    const cas = (ifModRevision: number) => ({ kind: 'cas' as const, key: 'x', ifModRevision, value: 'b' });
    assert.deepEqual(kvStep(at('a', 3, 3), cas(3), { ok: true, revision: 4 }), { ok: true, state: at('b', 4, 4) });
    assert.equal(kvStep(at('a', 3, 3), cas(2), { ok: true, revision: 4 }).ok, false);
    assert.deepEqual(kvStep(at('a', 3, 3), cas(2), { ok: false, revision: 5 }), { ok: true, state: at('a', 3, 3) });
    assert.equal(kvStep(at(null, 0, 3), cas(0), { ok: true, revision: 4 }).ok, true);
    assert.equal(kvStep(at('a', null, 4), cas(5), { ok: true, revision: 6 }).ok, true, 'may match an unknown revision');
    assert.equal(kvStep(at('a', null, 4), cas(3), { ok: true, revision: 6 }).ok, false, 'not one below its least');
  });

  it('delete: removes a present key at a new revision; deleting nothing needs an absent key', () => {
    assert.deepEqual(kvStep(at('a', 3, 3), { kind: 'delete', key: 'x' }, { deleted: 1, revision: 4 }), { ok: true, state: at(null, 0, 4) });
    assert.equal(kvStep(at('a', 3, 3), { kind: 'delete', key: 'x' }, { deleted: 0, revision: 4 }).ok, false);
    assert.equal(kvStep(at(null, 0, 4), { kind: 'delete', key: 'x' }, { deleted: 0, revision: 4 }).ok, true);
  });

  it('equal states hash equal; histories split by key in order of first appearance', () => {
    assert.equal(kvHash(at('a', 3, 3)), kvHash({ value: 'a', modRevision: 3, lastWriteMin: 3 }));
    assert.notEqual(kvHash(at('a', 3, 3)), kvHash(at('a', null, 3)));
    const ops = ['y', 'x', 'y'].map((key, id) => ({ id, client: 'c', callMs: 0, returnMs: 1, input: { kind: 'get' as const, key } }));
    assert.deepEqual(partitionByKey(ops).map((p) => [p.key, p.operations.map((o) => o.id)]), [['y', [0, 2]], ['x', [1]]]);
  });
});
