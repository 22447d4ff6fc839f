/**
 * Leadership commands (commands.ts) driven through BullyNet: transfer, resign and elect, asked of
 * the leader or relayed by a follower, and their errors. Each test cites the sentence of issue 3
 * it checks where there is one.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BullyNet, specs, startedCluster, TEST_BULLY_CONFIG, TEST_SETTLED_MS as settled } from './testing.js';

describe('bully: commands', () => {
  it('transfer to a named member: "leadership transferred to n3 at epoch E"', () => {
    const net = startedCluster(5);
    const epoch = net.summary('n5')!.term;
    const result = net.run('n5', { kind: 'transfer', to: 'n3' });
    assert.deepEqual(result, { ok: true, detail: `leadership transferred to n3 at epoch ${epoch + 1}` });
    assert.equal(net.agreedLeader(), 'n3');
    net.advance(10_000);
    assert.equal(net.agreedLeader(), 'n3', 'the transfer sticks (no pre-emption back)');
  });

  it('a transfer reaches its target even where the old leader\'s step-down (gossip) overtakes its RELEASE', () => {
    const net = startedCluster(3);
    assert.equal(net.run('n3', { kind: 'transfer', to: 'n2' }).ok, true);
    // n3, a follower now, out-ranks the target: it must not claim over a hand-off it merely heard of.
    net.drop((m) => m.to === 'n3' && m.message.type === 'RELEASE');
    const result = net.run('n2', { kind: 'transfer', to: 'n1' });
    assert.equal(result.ok, true, JSON.stringify(result));
    assert.equal(net.agreedLeader(), 'n1');
  });

  it('transfer with to = null picks the next-ranked live member', () => {
    const net = startedCluster(5);
    assert.equal(net.run('n5', { kind: 'transfer', to: null }).ok, true);
    assert.equal(net.agreedLeader(), 'n4');
  });

  it('transfer asked of a follower is relayed to the leader and answered once the target leads', () => {
    const net = startedCluster(5);
    const epoch = net.summary('n5')!.term;
    const result = net.run('n1', { kind: 'transfer', to: 'n3' });
    assert.deepEqual(result, { ok: true, detail: `n3 leads at epoch ${epoch + 1}` });
    assert.equal(net.agreedLeader(), 'n3');
    assert.ok(net.sent.some((m) => m.from === 'n1' && m.to === 'n5' && m.message.type === 'TRANSFER_REQUEST'));
  });

  it('a follower may ask for leadership for itself, or with no target for the leader\'s successor', () => {
    const net = startedCluster(5);
    assert.equal(net.run('n2', { kind: 'transfer', to: 'n2' }).ok, true);
    assert.equal(net.agreedLeader(), 'n2');
    assert.equal(net.run('n1', { kind: 'transfer', to: null }).ok, true);
    assert.equal(net.agreedLeader(), 'n5', 'the highest-ranked live member other than the leader');
  });

  it('a relayed transfer the leader never acts on fails with transfer-timeout; leadership stays', () => {
    const net = startedCluster(5);
    net.drop((m) => m.message.type === 'TRANSFER_REQUEST');
    const result = net.run('n1', { kind: 'transfer', to: 'n3' });
    assert.equal(result.ok === false && result.code, 'transfer-timeout');
    assert.equal(net.agreedLeader(), 'n5');
  });

  it('a follower that knows no live leader cannot relay a transfer: not-leader', () => {
    const net = startedCluster(3);
    net.isolate('n1');
    const result = net.run('n1', { kind: 'transfer', to: 'n2' });
    assert.equal(result.ok === false && result.code, 'not-leader');
  });

  it('transfer errors: unknown-node, no-candidate (dead target, other protocol, nobody left)', () => {
    const net = new BullyNet([...specs(3), { id: 'r1', protocol: 'raft' }]);
    net.start();
    net.advance(settled);
    net.crash('n1');
    const code = (r: ReturnType<BullyNet['run']>) => (r.ok ? 'ok' : r.code);
    assert.equal(code(net.run('n2', { kind: 'transfer', to: 'r1' })), 'no-candidate', 'checked at the follower too');
    assert.equal(code(net.run('n3', { kind: 'transfer', to: 'nope' })), 'unknown-node');
    assert.equal(code(net.run('n3', { kind: 'transfer', to: 'n1' })), 'no-candidate');
    assert.equal(code(net.run('n3', { kind: 'transfer', to: 'r1' })), 'no-candidate');
    net.crash('n2');
    assert.equal(code(net.run('n3', { kind: 'transfer', to: null })), 'no-candidate');
  });

  it('resign: steps down, another leads, and the resigned node is not re-elected for resignHoldMs', () => {
    const net = startedCluster(5);
    const result = net.run('n5', { kind: 'resign' });
    assert.equal(result.ok, true);
    net.advance(1000);
    assert.equal(net.agreedLeader(), 'n4');
    net.crash('n4');
    net.advance(3000);
    assert.equal(net.agreedLeader(), 'n3', 'n5 does not stand while on hold');
    net.advance(TEST_BULLY_CONFIG.resignHoldMs);
    assert.equal(net.agreedLeader(), 'n3', 'and it does not pre-empt after the hold either');
    net.crash('n3');
    net.advance(3000);
    assert.equal(net.agreedLeader(), 'n5', 'after the hold it stands again');
  });

  it('resign asked of a follower is relayed to the leader, and answered once another node leads', () => {
    const net = startedCluster(3);
    const result = net.run('n1', { kind: 'resign' });
    assert.equal(result.ok, true, JSON.stringify(result));
    assert.match(result.ok ? result.detail : '', /n3 resigned; n2 leads at epoch \d+/);
    assert.equal(net.agreedLeader(), 'n2');
  });

  it('resign on a node that knows no leader fails with not-leader', () => {
    const net = startedCluster(3);
    net.isolate('n1');
    net.advance(TEST_BULLY_CONFIG.leaseMs + 500);
    const result = net.run('n1', { kind: 'resign' });
    assert.equal(result.ok === false && result.code, 'not-leader');
  });

  it('elect: starts an election now; the highest live node takes over even from a working leader', () => {
    const net = startedCluster(5);
    net.crash('n5');
    net.advance(3000);
    net.start('n5');
    net.advance(3000);
    assert.equal(net.agreedLeader(), 'n4');
    const result = net.run('n5', { kind: 'elect' });
    assert.equal(result.ok, true);
    assert.match(result.ok ? result.detail : '', /n5 leads at epoch/);
    assert.equal(net.agreedLeader(), 'n5');
  });

  it('elect on a lower node makes the highest live node take over', () => {
    const net = startedCluster(5);
    net.crash('n5');
    net.advance(3000);
    net.start('n5');
    net.advance(3000);
    const result = net.run('n1', { kind: 'elect' });
    assert.equal(result.ok, true);
    assert.equal(net.agreedLeader(), 'n5');
  });

  it('elect on the highest-ranked leader reports it already leads, with no new epoch', () => {
    const net = startedCluster(3);
    const epoch = net.summary('n3')!.term;
    const result = net.run('n3', { kind: 'elect' });
    assert.equal(result.ok, true);
    assert.equal(net.summary('n3')!.term, epoch);
  });
});
