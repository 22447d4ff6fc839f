/**
 * The graceful-shutdown hand-off (handoff.ts) driven through BullyNet: a leader hands over before
 * it leaves, within a bound; any other node leaves at once.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { BullyMessage } from './messages.js';
import { startedCluster, TEST_BULLY_CONFIG, type SentMessage } from './testing.js';

const claimsOf = (sent: readonly SentMessage[], from: string) =>
  sent.filter((s) => s.from === from && s.message.type === 'COORDINATOR' && s.message.kind !== 'renew');
const renewalsOf = (sent: readonly SentMessage[], from: string) =>
  sent.filter((s) => s.from === from && s.message.type === 'COORDINATOR' && s.message.kind === 'renew');

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

  it('a leader hands off past a higher-ranked member that accepted none of its last two renewals (frozen; membership still shows it alive)', () => {
    const net = startedCluster(5);
    const epoch = net.summary('n5')!.term;
    net.drop((m) => m.to === 'n4' || m.from === 'n4');
    net.advance(3 * Math.floor(TEST_BULLY_CONFIG.leaseMs / 4));
    const before = net.sent.length;
    net.shutdown('n5');
    assert.deepEqual(net.sent.slice(before).filter((s) => s.message.type === 'TRANSFER').map((s) => s.to), ['n3']);
    assert.equal(net.summary('n3')!.role, 'leader');
    assert.equal(net.summary('n3')!.term, epoch + 1);
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

  it("the fast hand-off: the successor's claim leaves beside its own write, the members accept it meanwhile, and it leads only once that write is durable", () => {
    const net = startedCluster(5);
    const epoch = net.summary('n5')!.term;
    net.holdDisk('n4');
    const before = net.sent.length;
    net.shutdown('n5');
    const sent = net.sent.slice(before);
    const claims = claimsOf(sent, 'n4');
    assert.deepEqual(claims.map((s) => s.to).sort(), ['n1', 'n2', 'n3', 'n5'], 'the claim reached every member while its write was not durable');
    assert.ok(claims.every((s) => (s.message as Extract<BullyMessage, { type: 'COORDINATOR' }>).epoch === epoch + 1));
    assert.ok(sent.filter((s) => s.to === 'n4' && s.message.type === 'ACCEPT').length >= 2, 'a majority accepted it meanwhile');
    assert.notEqual(net.summary('n4')!.role, 'leader', 'no reign before the epoch is on its disk');
    assert.equal(renewalsOf(sent, 'n4').length, 0, 'nothing names it before the epoch is on its disk');
    assert.equal(net.effectsOf('n5', 'shutdown-ready').length, 0);
    net.releaseDisk('n4');
    assert.equal(net.summary('n4')!.role, 'leader');
    assert.equal(net.summary('n4')!.term, epoch + 1);
    for (const id of ['n1', 'n2', 'n3']) assert.equal(net.summary(id)!.leader, 'n4', `${id} names the successor with no time passing`);
    assert.equal(net.effectsOf('n5', 'shutdown-ready').length, 1);
  });

  it('a successor that crashes before its claim is durable never led, and the cluster elects again above its epoch', () => {
    const net = startedCluster(5);
    const epoch = net.summary('n5')!.term;
    net.holdDisk('n4');
    net.shutdown('n5');
    assert.equal(net.leaders().length, 0);
    net.crash('n4');
    net.crash('n5');
    assert.equal(net.leaders().length, 0);
    net.advance(3 * TEST_BULLY_CONFIG.leaseMs + 5000);
    const leader = net.agreedLeader();
    assert.ok(leader !== null && leader !== 'n4' && leader !== 'n5');
    assert.ok(net.summary(leader)!.term > epoch + 1, 'the new reign is above the epoch the crashed successor claimed');
  });

  it("the hand-off sends the others' RELEASE before the successor's TRANSFER, so they are released before its claim can reach them", () => {
    const net = startedCluster(5);
    const before = net.sent.length;
    net.shutdown('n5');
    const fromLeader = net.sent.slice(before).filter((s) => s.from === 'n5');
    const transferAt = fromLeader.findIndex((s) => s.message.type === 'TRANSFER');
    assert.equal(fromLeader[transferAt]!.to, 'n4');
    const releasedFirst = fromLeader.slice(0, transferAt).filter((s) => s.message.type === 'RELEASE').map((s) => s.to).sort();
    assert.deepEqual(releasedFirst, ['n1', 'n2', 'n3']);
    assert.ok(fromLeader.slice(transferAt).some((s) => s.to === 'n4' && s.message.type === 'RELEASE'), 'the successor is released too');
  });

  it("a stopping leader grants its successor's claim nothing: the successor leads on the members that stay, so the leave cannot take its majority away", () => {
    const net = startedCluster(5);
    const epoch = net.summary('n5')!.term;
    // Two of the three members that stay answer the claim late.
    net.drop((m) => m.to === 'n4' && m.message.type === 'ACCEPT' && (m.from === 'n2' || m.from === 'n3'));
    const before = net.sent.length;
    net.shutdown('n5');
    assert.equal(net.sent.slice(before).filter((s) => s.from === 'n5' && s.message.type === 'ACCEPT').length, 0, 'the leaving node accepts no claim');
    // Its own grant and n1's, with the leaving node's, would be three of five: not a majority that lasts.
    assert.notEqual(net.summary('n4')!.role, 'leader');
    net.crashedShowAs = 'left';
    net.crash('n5');
    net.recover();
    let ledAtMs: number | null = null;
    for (let t = 0; t < 3 * TEST_BULLY_CONFIG.leaseMs; t += net.tickMs) {
      net.advance(net.tickMs);
      const s = net.summary('n4')!;
      if (s.role === 'leader') ledAtMs ??= t;
      else assert.equal(ledAtMs, null, `n4 stopped leading at ${t} ms, after leading from ${ledAtMs} ms`);
    }
    assert.notEqual(ledAtMs, null, 'the successor leads once the members that stay accept it');
    assert.equal(net.summary('n4')!.term, epoch + 1);
    for (const id of ['n1', 'n2', 'n3']) assert.equal(net.summary(id)!.leader, 'n4');
  });

  it('an ordinary claim still waits for its write before it leaves', () => {
    const net = startedCluster(3);
    net.holdDisk('n2');
    net.crash('n3');
    net.advance(3 * TEST_BULLY_CONFIG.leaseMs);
    assert.ok(claimsOf(net.heldSendsOf('n2'), 'n2').length > 0, 'held behind the write');
    assert.equal(claimsOf(net.sent, 'n2').length, 0, 'none left');
  });
});

