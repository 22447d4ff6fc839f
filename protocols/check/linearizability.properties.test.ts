import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import type { Rng } from '../rng.js';
import { createRng } from '../rng.js';
import type { KvOperation, KvOutput, KvState } from './kv-model.js';
import { INITIAL_KV_STATE, kvModel, kvStep } from './kv-model.js';
import type { KvHistoryShape } from './kv-testing.js';
import { linearizableKvHistory, withStaleRead } from './kv-testing.js';
import { checkLinearizability, outcomeUnknown } from './linearizability.js';

const small: KvHistoryShape = { operations: 100, keys: 3, clients: 5, unknownRate: 0.05, spreadMs: 25 };

describe('linearizability checker, histories of a real sequential execution', () => {
  it('a 240-operation history on 4 keys with overlapping intervals passes; one stale read makes it fail', () => {
    const history = linearizableKvHistory(createRng(12), { operations: 240, keys: 4, clients: 8, unknownRate: 0.05, spreadMs: 40 });
    const overlapping = history.filter((a, i) => history.some((b, j) => i !== j && b.callMs < (a.returnMs ?? Infinity) && a.callMs < (b.returnMs ?? Infinity)));
    assert.ok(overlapping.length > 200, `most operations overlap another (${overlapping.length})`);
    assert.equal(checkLinearizability(kvModel, history).ok, true);

    const stale = withStaleRead(history);
    assert.ok(stale, 'the history has a read that can be made stale');
    const result = checkLinearizability(kvModel, stale.history);
    assert.equal(result.ok, false);
    assert.ok(result.ok === false && result.failingOps.includes(stale.mutated), 'the mutated read is among the operations that cannot be placed');
  });

  it('property: every history a correct sequential store produces passes', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 ** 31 - 1 }), (seed) => {
        const result = checkLinearizability(kvModel, linearizableKvHistory(createRng(seed), small));
        assert.equal(result.ok, true, `seed ${seed}: ${JSON.stringify(result)}`);
      }),
      { numRuns: 100 },
    );
  });

  it('property: the same history with one read made stale fails', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 ** 31 - 1 }), (seed) => {
        const stale = withStaleRead(linearizableKvHistory(createRng(seed), small));
        fc.pre(stale !== null);
        const result = checkLinearizability(kvModel, stale.history);
        assert.equal(result.ok, false, `seed ${seed}: ${JSON.stringify(result)}`);
      }),
      { numRuns: 100 },
    );
  });

  it('property: wider overlaps and more unknown outcomes still pass', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 ** 31 - 1 }), (seed) => {
        const history = linearizableKvHistory(createRng(seed), { operations: 60, keys: 2, clients: 6, unknownRate: 0.15, spreadMs: 60 });
        assert.equal(checkLinearizability(kvModel, history).ok, true, `seed ${seed}`);
      }),
      { numRuns: 50 },
    );
  });
});

/** Every order of the operations that respects real time, unknown outcomes optional: the definition, by brute force. */
function linearizableByEnumeration(history: readonly KvOperation[]): boolean {
  const known = (op: KvOperation): boolean => !outcomeUnknown(op);
  const search = (left: readonly KvOperation[], state: KvState): boolean => {
    if (!left.some(known)) return true;
    return left.some((op) => {
      // `op` may go next unless an operation still to place returned before it was called.
      if (left.some((other) => other !== op && known(other) && other.returnMs! < op.callMs)) return false;
      const next = kvStep(state, op.input, known(op) ? op.output : undefined);
      return next.ok && search(left.filter((o) => o !== op), next.state);
    });
  };
  return search(history, INITIAL_KV_STATE);
}

/** One output nudged: a revision off by one, another operation's value, a CAS or delete result flipped. */
function nudged(history: readonly KvOperation[], rng: Rng): KvOperation[] {
  const targets = history.filter((op) => !outcomeUnknown(op));
  if (targets.length === 0) return [...history];
  const target = targets[rng.int(0, targets.length - 1)]!;
  const values = history.flatMap((op) => ('value' in op.input ? [op.input.value] : []));
  const out = { ...(target.output as unknown as Record<string, unknown>) };
  const field = rng.int(0, 2);
  if ('revision' in out && field === 0) out['revision'] = (out['revision'] as number) + (rng.chance(0.5) ? 1 : -1);
  else if ('modRevision' in out && field === 0) out['modRevision'] = (out['modRevision'] as number) + (rng.chance(0.5) ? 1 : -1);
  else if ('value' in out) out['value'] = values.length > 0 && rng.chance(0.8) ? values[rng.int(0, values.length - 1)]! : null;
  else if ('ok' in out) out['ok'] = !out['ok'];
  else if ('deleted' in out) out['deleted'] = out['deleted'] === 1 ? 0 : 1;
  return history.map((op) => (op === target ? { ...op, output: out as unknown as KvOutput } : op));
}

describe('linearizability checker against the definition', () => {
  it('property: on small one-key histories, correct or nudged, the search agrees with brute-force enumeration', () => {
    let failing = 0;
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 ** 31 - 1 }), fc.boolean(), (seed, nudge) => {
        const rng = createRng(seed);
        const base = linearizableKvHistory(rng, { operations: 6, keys: 1, clients: 3, unknownRate: 0.25, spreadMs: 20 });
        const history = nudge ? nudged(base, rng) : base;
        const expected = linearizableByEnumeration(history);
        if (!expected) failing++;
        assert.equal(checkLinearizability(kvModel, history).ok, expected, `seed ${seed}, nudged ${nudge}`);
      }),
      { numRuns: 400 },
    );
    assert.ok(failing > 40, `enough non-linearizable cases were compared (${failing})`);
  });
});
