import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SimQueueOverflowError } from './errors.js';
import { EventQueue } from './queue.js';

describe('EventQueue', () => {
  it('pops by time, and events at the same time in insertion order', () => {
    const queue = new EventQueue<string>(100);
    queue.push(30, 'c');
    queue.push(10, 'a1');
    queue.push(20, 'b');
    queue.push(10, 'a2');
    queue.push(10, 'a3');
    const order: string[] = [];
    for (let e = queue.pop(); e; e = queue.pop()) order.push(e.item);
    assert.deepEqual(order, ['a1', 'a2', 'a3', 'b', 'c']);
  });

  it('keeps insertion order among many equal times (a heap is not stable by itself)', () => {
    const queue = new EventQueue<number>(10_000);
    for (let i = 0; i < 1000; i++) queue.push(i % 7, i);
    let last = { atMs: -1, item: -1 };
    for (let e = queue.pop(); e; e = queue.pop()) {
      assert.ok(e.atMs > last.atMs || (e.atMs === last.atMs && e.item > last.item));
      last = e;
    }
  });

  it('refuses to grow past its bound', () => {
    const queue = new EventQueue<number>(2);
    queue.push(1, 1);
    queue.push(2, 2);
    assert.throws(() => queue.push(3, 3), { name: 'SimQueueOverflowError' });
    assert.ok(new SimQueueOverflowError(2) instanceof Error);
  });
});
