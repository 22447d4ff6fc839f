/**
 * The graceful-shutdown hand-off (handoff.ts) driven through BullyNet: a leader hands over before
 * it leaves, within a bound; any other node leaves at once.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { startedCluster, TEST_BULLY_CONFIG } from './testing.js';

describe('bully: graceful shutdown', () => {
  it('"on shutdown a leader hands leadership to the next-ranked live member … then emits shutdown-ready"', () => {
    const net = startedCluster(5);
    const epoch = net.summary('n5')!.term;
    net.shutdown('n5');
    // Pumped to quiet with no time passing: the hand-off needs no timeout.
    assert.equal(net.summary('n4')!.role, 'leader');
    assert.equal(net.summary('n4')!.term, epoch + 1);
    assert.equal(net.effectsOf('n5', 'shutdown-ready').length, 1);
    net.crash('n5');
    net.advance(5000);
    assert.equal(net.agreedLeader(), 'n4');
  });

  it('"hands leadership … before it leaves": seeing the successor\'s claim is not enough, it waits until the successor leads', () => {
    const net = startedCluster(3);
    // The successor's claim reaches everyone, but no acceptance reaches it: it never leads.
    net.drop((m) => m.to === 'n2' && m.message.type === 'ACCEPT');
    net.shutdown('n3');
    assert.notEqual(net.summary('n2')!.role, 'leader');
    assert.equal(net.effectsOf('n3', 'shutdown-ready').length, 0);
    net.advance(TEST_BULLY_CONFIG.coordinatorTimeoutMs + net.tickMs);
    assert.equal(net.effectsOf('n3', 'shutdown-ready').length, 1, 'the bounded wait still ends');
  });

  it('a non-leader emits shutdown-ready at once', () => {
    const net = startedCluster(3);
    net.shutdown('n1');
    assert.equal(net.effectsOf('n1', 'shutdown-ready').length, 1);
  });

  it('a leader whose hand-off is lost emits shutdown-ready after a bounded wait', () => {
    const net = startedCluster(3);
    net.drop((m) => m.message.type === 'TRANSFER');
    net.shutdown('n3');
    assert.equal(net.effectsOf('n3', 'shutdown-ready').length, 0);
    net.advance(TEST_BULLY_CONFIG.coordinatorTimeoutMs + net.tickMs);
    assert.equal(net.effectsOf('n3', 'shutdown-ready').length, 1);
  });
});
