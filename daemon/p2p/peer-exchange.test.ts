import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { generateKeyPair } from '@libp2p/crypto/keys';
import { peerIdFromPrivateKey } from '@libp2p/peer-id';
import { MAX_MEMBERS } from '../../protocols/bounds.js';
import { heartbeatFrame, MAX_ADDR_CHARS, MAX_EXCHANGED_ADDRS, parseMembershipFrame, peersFrame } from './peer-exchange.js';

const A = peerIdFromPrivateKey(await generateKeyPair('Ed25519')).toString();
const B = peerIdFromPrivateKey(await generateKeyPair('Ed25519')).toString();
const addr = (port: number, peer?: string) => `/ip4/10.0.0.1/tcp/${port}${peer ? `/p2p/${peer}` : ''}`;

describe('membership stream frames', () => {
  it('a heartbeat frame wraps the encoded heartbeat as it is and parses back to it', () => {
    const heartbeat = { id: A, seq: 7, meta: { name: 'n1' } };
    const frame = heartbeatFrame(new TextEncoder().encode(JSON.stringify(heartbeat)));
    const decoded: unknown = JSON.parse(new TextDecoder().decode(frame));
    assert.deepEqual(decoded, { hb: heartbeat });
    assert.deepEqual(parseMembershipFrame(decoded), { kind: 'heartbeat', heartbeat });
  });

  it('a peer list names peer ids and where they listen; one built by peersFrame parses back', () => {
    const peers = [{ id: A, addrs: [addr(1), addr(2, A)] }, { id: B, addrs: [] }];
    const frame = JSON.parse(JSON.stringify(peersFrame(peers))) as unknown;
    assert.deepEqual(parseMembershipFrame(frame), { kind: 'peers', peers });
  });

  it('refuses anything else with a reason naming the field: no guessing at a malformed frame', () => {
    const cases: [unknown, RegExp][] = [
      [null, /not an object/],
      [[1], /not an object/],
      [{}, /got nothing/],
      [{ hb: {}, peers: [] }, /expected one of/],
      [{ type: 'ELECTION' }, /unknown frame/],
      [{ peers: 'x' }, /peers: not an array/],
      [{ peers: Array.from({ length: MAX_MEMBERS + 1 }, () => ({ id: A, addrs: [] })) }, new RegExp(`more than ${MAX_MEMBERS}`)],
      [{ peers: [{ id: A }] }, /peers\.0: expected \{id, addrs\}/],
      [{ peers: [{ id: 'not-a-peer', addrs: [] }] }, /peers\.0\.id: not a peer id/],
      [{ peers: [{ id: A, addrs: Array.from({ length: MAX_EXCHANGED_ADDRS + 1 }, (_, i) => addr(i)) }] }, /peers\.0\.addrs: not an array of at most/],
      [{ peers: [{ id: A, addrs: [`/dns4/${'x'.repeat(MAX_ADDR_CHARS)}/tcp/1`] }] }, /peers\.0\.addrs\.0: not a string of at most/],
      [{ peers: [{ id: A, addrs: ['/nonsense/1'] }] }, /peers\.0\.addrs\.0: not a multiaddr/],
      [{ peers: [{ id: A, addrs: [addr(1), addr(2, B)] }] }, /peers\.0\.addrs\.1: names another peer/],
    ];
    for (const [input, reason] of cases) {
      const parsed = parseMembershipFrame(input);
      assert.equal(parsed.kind, 'malformed', JSON.stringify(input).slice(0, 80));
      assert.match((parsed as { reason: string }).reason, reason);
    }
  });

  it('peersFrame keeps a list within the bounds the receiver checks', () => {
    const many = Array.from({ length: MAX_MEMBERS + 5 }, () => ({ id: A, addrs: Array.from({ length: MAX_EXCHANGED_ADDRS + 3 }, (_, i) => addr(i)) }));
    const frame = peersFrame(many);
    assert.equal(frame.peers.length, MAX_MEMBERS);
    assert.ok(frame.peers.every((p) => p.addrs.length === MAX_EXCHANGED_ADDRS));
    assert.equal(parseMembershipFrame(JSON.parse(JSON.stringify(frame))).kind, 'peers');
  });
});
