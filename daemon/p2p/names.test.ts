import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { directProtocolId, mdnsServiceTag, membershipProtocolId } from './names.js';

describe('p2p names', () => {
  it('scopes the mDNS tag and both stream protocol ids by cluster, so clusters never meet; the membership stream is shared by both election protocols', () => {
    assert.equal(mdnsServiceTag('prod'), '_conclave-prod._udp.local');
    assert.notEqual(mdnsServiceTag('prod'), mdnsServiceTag('staging'));
    assert.equal(membershipProtocolId('prod'), '/conclave/prod/membership/1.0.0');
    assert.notEqual(membershipProtocolId('prod'), membershipProtocolId('staging'));
    assert.equal(directProtocolId('prod', 'raft'), '/conclave/prod/raft/1.0.0');
    assert.notEqual(directProtocolId('prod', 'raft'), directProtocolId('prod', 'bully'));
  });

  it('keeps the service label within the 63-byte DNS limit by hashing long or dotted names', () => {
    for (const cluster of ['a'.repeat(63), 'eu.west_1', 'x'.repeat(54)]) {
      const tag = mdnsServiceTag(cluster);
      const label = tag.slice(0, -'._udp.local'.length);
      assert.ok(label.length <= 63, tag);
      assert.match(label, /^_conclave-[a-z0-9-]+$/, tag);
    }
    assert.notEqual(mdnsServiceTag('a'.repeat(63)), mdnsServiceTag('a'.repeat(62) + 'b'));
    assert.equal(mdnsServiceTag('x'.repeat(53)), `_conclave-${'x'.repeat(53)}._udp.local`);
  });
});
