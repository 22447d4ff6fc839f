import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Network } from './network.js';

const ids = ['n01', 'n02', 'n03', 'n04'];
const network = (nodeIds = ids, seed = 5) => new Network({ ids: nodeIds, seed, baseDelayMaxMs: 5, jitterMaxMs: 20, maxInFlightPerPath: 8 });

describe('Network', () => {
  it('drops across partition groups and not within them', () => {
    const net = network();
    net.partition([['n01', 'n02'], ['n03', 'n04']]);
    assert.equal(net.send('n01', 'n03').dropped, 'blocked');
    assert.equal(net.send('n04', 'n02').dropped, 'blocked');
    assert.equal(net.send('n01', 'n02').dropped, null);
    net.heal();
    assert.equal(net.send('n01', 'n03').dropped, null);
  });

  it('cuts one direction only', () => {
    const net = network();
    net.cut('n01', 'n02');
    assert.equal(net.send('n01', 'n02').dropped, 'blocked');
    assert.equal(net.send('n02', 'n01').dropped, null);
    assert.ok(net.disturbed);
    net.uncut('n01', 'n02');
    assert.equal(net.send('n01', 'n02').dropped, null);
    assert.ok(!net.disturbed);
  });

  it('bounds what one path holds in flight', () => {
    const net = network();
    for (let i = 0; i < 8; i++) assert.equal(net.send('n01', 'n02').dropped, null);
    assert.equal(net.send('n01', 'n02').dropped, 'queue-full');
    net.arrived('n01', 'n02');
    assert.equal(net.send('n01', 'n02').dropped, null);
  });

  it('loses and duplicates at about the configured rates', () => {
    const net = new Network({ ids, seed: 9, baseDelayMaxMs: 5, jitterMaxMs: 20, maxInFlightPerPath: 1_000_000 });
    net.lossProbability = 0.2;
    net.duplicateProbability = 0.1;
    let lost = 0;
    let copies = 0;
    for (let i = 0; i < 10_000; i++) {
      const outcome = net.send('n01', 'n02');
      if (outcome.dropped === 'loss') lost++;
      copies += outcome.delaysMs.length;
    }
    assert.ok(lost > 1800 && lost < 2200, `lost ${lost}`);
    assert.ok(copies > 8000 * 1.08 && copies < 8000 * 1.12, `copies ${copies}`);
  });

  it('gives a path the same delays whatever other nodes exist (adding a node shifts nothing)', () => {
    const small = network(['n01', 'n02']);
    const large = network(ids);
    large.send('n03', 'n04');
    const delays = (net: Network) => Array.from({ length: 20 }, () => net.send('n01', 'n02').delaysMs[0]);
    assert.deepEqual(delays(small), delays(large));
  });

  it('keeps every delay within base + jitter bounds', () => {
    const net = network();
    for (let i = 0; i < 500; i++) {
      const [delay] = net.send('n02', 'n03').delaysMs;
      net.arrived('n02', 'n03');
      assert.ok(delay !== undefined && delay >= 1 && delay <= net.maxDelayMs);
    }
  });
});
