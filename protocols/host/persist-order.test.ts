import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { PersistOrder } from './persist-order.js';

describe('persist order', () => {
  it("an output waits only for its own machine's writes, `both` for every write so far, and leaves once that write is acknowledged", () => {
    const order = new PersistOrder<string>();
    assert.equal(order.hold('election', 'early'), false, 'no write yet: leaves at once');
    const m = order.write('membership');
    const e = order.write('election');
    assert.equal(order.hold('membership', 'heartbeat'), true);
    assert.equal(order.hold('election', 'vote'), true);
    assert.equal(order.hold('both', 'stopped'), true);
    assert.deepEqual(order.acknowledge(m).ready, ['heartbeat'], 'the vote waits for the election write, not the membership one');
    assert.deepEqual(order.acknowledge(e).ready, ['vote', 'stopped'], 'in the order held');
    assert.equal(order.hold('both', 'late'), false);
  });

  it('acknowledgements come in write order; anything else is a bug in the host, not something to paper over', () => {
    const order = new PersistOrder<string>();
    order.write('election');
    const second = order.write('election');
    assert.throws(() => order.acknowledge(second), /persist 2 acknowledged out of order \(expected 1\)/);
  });

  it("the election is told how many of its own writes are durable; a write made on its behalf (the era record) holds its outputs but is not counted", () => {
    const order = new PersistOrder<string>();
    const a = order.write('election');
    const era = order.write('election', false);
    const b = order.write('election');
    const c = order.write('membership');
    assert.equal(order.acknowledge(a).electionDurable, 1);
    assert.equal(order.hold('election', 'after-era'), true, 'held behind the era record and the next write');
    assert.deepEqual(order.acknowledge(era), { ready: [], electionDurable: 0 });
    assert.deepEqual(order.acknowledge(b), { ready: ['after-era'], electionDurable: 2 });
    assert.equal(order.acknowledge(c).electionDurable, 0, 'a membership write tells the election nothing');
  });

  it("a machine replaced by another learns nothing more of its writes, and its held outputs the new one refuses never leave", () => {
    const order = new PersistOrder<string>();
    const w = order.write('election');
    order.hold('election', 'summary');
    order.hold('election', 'event');
    order.replaceElection((output) => output !== 'summary');
    assert.deepEqual(order.acknowledge(w), { ready: ['event'], electionDurable: 0 });
    const next = order.write('election');
    assert.equal(order.acknowledge(next).electionDurable, 1, "the new machine counts its own writes from one");
  });
});
