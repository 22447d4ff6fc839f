/**
 * The hand-off floor (handoff-floor.ts) runs the Raft SIGTERM hand-off's chain in five bare
 * processes: over each transport every counted trial completes, in a time measured from the
 * leader's send to the last follower's receipt of the new leader's append, and nothing is left.
 */
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { describe, it } from 'node:test';
import { handOffFloor } from './handoff-floor.js';

const floorDirs = () => readdirSync(tmpdir()).filter((f) => f.startsWith('conclave-floor-'));

describe('handOffFloor', () => {
  for (const transport of ['bare', 'p2p', 'link'] as const) {
    it(`over ${transport}: one time per counted trial, each after the send and within a trial's bound; its files removed`, async () => {
      const before = new Set(floorDirs());
      const times = await handOffFloor(transport, 2);
      assert.equal(times.length, 2);
      for (const ms of times) assert.ok(Number.isFinite(ms) && ms > 0 && ms < 5000, `trial time ${ms} ms`);
      assert.deepEqual(floorDirs().filter((d) => !before.has(d)), []);
    });
  }
});
