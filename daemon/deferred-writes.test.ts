import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { NodeBatch } from '../protocols/host/core.js';
import { DeferredWrites } from './deferred-writes.js';

/** A disk that records the order writes reach it and finishes each when told. */
function harness(maxHoldMs = 50) {
  const started: number[] = [];
  const finishers: (() => void)[] = [];
  const timers: { fire: () => void; ms: number; cleared: boolean }[] = [];
  const writes = new DeferredWrites(
    (batch) => {
      started.push((batch.election!.hardState as { n: number }).n);
      return new Promise<void>((resolve) => finishers.push(resolve));
    },
    maxHoldMs,
    {
      set: (fire, ms) => {
        const t = { fire, ms, cleared: false };
        timers.push(t);
        return t;
      },
      clear: (t) => void ((t as { cleared: boolean }).cleared = true),
    },
  );
  const batch = (n: number): NodeBatch => ({ election: { hardState: { n } } });
  const done: number[] = [];
  const submit = (n: number, deferrable: boolean) => void writes.submit(batch(n), deferrable).then(() => done.push(n));
  const finishAll = async () => {
    for (const f of finishers.splice(0)) f();
    await new Promise((resolve) => setImmediate(resolve));
  };
  return { writes, started, timers, submit, done, finishAll };
}

describe('deferred writes', () => {
  it('a write that is not deferrable goes to the disk at once, with no timer', () => {
    const h = harness();
    h.submit(1, false);
    assert.deepEqual(h.started, [1]);
    assert.equal(h.timers.length, 0);
  });

  it('a deferrable write waits, and so does every deferrable one after it; the hold ends after maxHoldMs, in order', async () => {
    const h = harness(50);
    h.submit(1, true);
    h.submit(2, true);
    assert.deepEqual(h.started, [], 'held');
    assert.deepEqual(h.timers.map((t) => t.ms), [50], 'one timer, for the hold');
    h.timers[0]!.fire();
    assert.deepEqual(h.started, [1, 2], 'both handed over at once, in order');
    await h.finishAll();
    assert.deepEqual(h.done, [1, 2]);
    h.submit(3, false);
    assert.deepEqual(h.started, [1, 2, 3], 'the hold is over: the next write goes at once');
    assert.equal(h.timers.length, 1);
  });

  it('the first write that is not deferrable ends the hold at once: every held write goes ahead of it, in order, and the timer is cleared', async () => {
    const h = harness();
    h.submit(1, true);
    h.submit(2, false);
    assert.deepEqual(h.started, [1, 2]);
    assert.equal(h.timers[0]!.cleared, true);
    h.submit(3, false);
    assert.deepEqual(h.started, [1, 2, 3], 'after the hold, writes go straight to the disk');
    await h.finishAll();
    assert.deepEqual(h.done.sort(), [1, 2, 3], 'each resolves once durable (the held ones a microtask later: the runtime acknowledges in id order)');
  });

  it('release() hands the held writes over now (a stopping node, before it closes its log)', () => {
    const h = harness();
    h.submit(1, true);
    h.writes.release();
    assert.deepEqual(h.started, [1]);
    assert.equal(h.timers[0]!.cleared, true);
    h.writes.release();
    assert.deepEqual(h.started, [1], 'safe to call again');
  });

  it('a failed write fails its own promise, and the writes behind it still go to the disk', async () => {
    const started: number[] = [];
    const writes = new DeferredWrites(
      (batch) => {
        const n = (batch.election!.hardState as { n: number }).n;
        started.push(n);
        return n === 1 ? Promise.reject(new Error('ENOSPC')) : Promise.resolve();
      },
      50,
      { set: () => 0, clear: () => undefined },
    );
    const first = writes.submit({ election: { hardState: { n: 1 } } }, true);
    const second = writes.submit({ election: { hardState: { n: 2 } } }, false);
    await assert.rejects(first, /ENOSPC/);
    await second;
    assert.deepEqual(started, [1, 2]);
  });
});
