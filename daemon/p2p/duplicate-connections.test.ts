import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { duplicateConnections, type PeerConnection } from './duplicate-connections.js';

const conn = (name: string, direction: PeerConnection['direction'], openedAtMs: number) => ({ name, direction, openedAtMs });
const flip = (c: ReturnType<typeof conn>) => ({ ...c, direction: c.direction === 'inbound' ? ('outbound' as const) : ('inbound' as const) });
const names = (cs: { name: string }[]) => cs.map((c) => c.name).sort();

describe('one connection per pair of peers', () => {
  it('a single connection is never closed', () => {
    assert.deepEqual(duplicateConnections('a', 'b', [conn('x', 'inbound', 1)]), []);
    assert.deepEqual(duplicateConnections('a', 'b', []), []);
  });

  it('of two crossing dials, both ends close the one the larger id opened, whichever opened first', () => {
    // a < b. a dialled "ab" (outbound at a), b dialled "ba" (inbound at a); "ba" opened first.
    const atA = [conn('ba', 'inbound', 1), conn('ab', 'outbound', 2)];
    const atB = atA.map(flip);
    assert.deepEqual(names(duplicateConnections('a', 'b', atA)), ['ba']);
    assert.deepEqual(names(duplicateConnections('b', 'a', atB)), ['ba']);
  });

  it('among several opened by the smaller id the oldest stays, and every other goes', () => {
    const atA = [conn('ab2', 'outbound', 5), conn('ab1', 'outbound', 3), conn('ba', 'inbound', 1)];
    assert.deepEqual(names(duplicateConnections('a', 'b', atA)), ['ab2', 'ba']);
    assert.deepEqual(names(duplicateConnections('b', 'a', atA.map(flip))), ['ab2', 'ba']);
  });

  it('when the smaller id opened none, the oldest stays at both ends', () => {
    const atA = [conn('ba2', 'inbound', 4), conn('ba1', 'inbound', 2)];
    assert.deepEqual(names(duplicateConnections('a', 'b', atA)), ['ba2']);
    assert.deepEqual(names(duplicateConnections('b', 'a', atA.map(flip))), ['ba2']);
  });
});
