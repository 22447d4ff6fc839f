import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LiveRing, ProbeRound, compareIds } from './ring.js';

test('LiveRing keeps live ids in code-unit order; observers are the next ones after a member, wrapping, or null while everyone watches everyone', () => {
  const ring = new LiveRing('c');
  for (const id of ['e', 'a', 'd', 'b']) ring.set(id, true);
  ring.set('a', true);
  assert.equal(ring.size, 5, 'a member set live twice counts once');
  assert.deepEqual(ring.observersOf('d', 2), ['e', 'a']);
  assert.deepEqual(ring.observersOf('a', 3), ['b', 'c', 'd']);
  assert.equal(ring.observersOf('a', 4), null, 'four others and four observers each: everyone watches everyone');
  ring.set('b', false);
  ring.set('z', false);
  assert.equal(ring.size, 4);
  assert.deepEqual(ring.observersOf('a', 2), ['c', 'd']);
  assert.equal(compareIds('B', 'a'), -1, 'code units, not locale: upper case first');
});

test('ProbeRound names every eligible member once per round, in an order that changes from round to round and is the same for the same seed', () => {
  const ids = Array.from({ length: 12 }, (_, i) => `peer-${String(i).padStart(2, '0')}`);
  const rounds = (seed: string, n: number, eligible: (id: string) => boolean = () => true) => {
    const probes = new ProbeRound(seed);
    return Array.from({ length: n }, () => Array.from({ length: ids.filter(eligible).length }, () => probes.next(() => ids, eligible)!));
  };
  const [first, second] = rounds('self', 2);
  assert.deepEqual([...first!].sort(), ids);
  assert.deepEqual([...second!].sort(), ids);
  assert.notDeepEqual(first, second, 'reshuffled each round');
  assert.deepEqual(rounds('self', 2), [first, second], 'deterministic for a seed');
  assert.notDeepEqual(rounds('other', 1)[0], first, 'another node probes in another order');
  const odd = (id: string) => Number(id.slice(-2)) % 2 === 1;
  assert.ok(rounds('self', 3, odd).every((round) => round.every(odd) && new Set(round).size === 6), 'only eligible members, each once');
  assert.equal(new ProbeRound('self').next(() => ids, () => false), null, 'none eligible: null, not a loop');
});
