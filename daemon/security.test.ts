import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DEFAULT_CONFIG } from './config/defaults.js';
import { openSwarmWarning, securityStatus } from './security.js';

const open = { cluster: { name: 'prod', bootstrapExpect: 3 }, security: { pskFile: null }, discovery: DEFAULT_CONFIG.discovery };
const keyed = { ...open, security: { pskFile: '/etc/conclave/swarm.key' } };

describe('swarm security', () => {
  it('securityStatus reports a pre-shared key exactly when security.pskFile is set', () => {
    assert.deepEqual(securityStatus(open), { psk: false });
    assert.deepEqual(securityStatus(keyed), { psk: true });
  });

  it('an open swarm gets a warning naming the cluster, that mDNS announces it, and the fix', () => {
    const warning = openSwarmWarning(open);
    assert.ok(warning !== null);
    assert.match(warning, /no pre-shared key \(security\.pskFile\)/);
    assert.match(warning, /"prod" \(mDNS announces it on the LAN\)/);
    assert.match(warning, /run `conclave init`/);
    const withoutMdns = openSwarmWarning({ ...open, discovery: { ...open.discovery, mdns: { ...open.discovery.mdns, enabled: false } } });
    assert.doesNotMatch(withoutMdns ?? '', /mDNS/);
  });

  it('a swarm with a key gets no warning', () => {
    assert.equal(openSwarmWarning(keyed), null);
  });
});
