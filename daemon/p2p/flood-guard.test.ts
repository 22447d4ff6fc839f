import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { heartbeatCodec } from '../../protocols/membership/index.js';
import { MAX_GOSSIPED_REFS } from '../../protocols/membership/membership.js';
import { MAX_COUNTER } from '../../protocols/bounds.js';
import { DEFAULT_PEER_LIMITS, FloodGuard, peerLimitsFor, type PeerLimits } from './flood-guard.js';

const limits: PeerLimits = {
  frames: { ratePerS: 100, burst: 10 },
  gossip: { ratePerS: 10, burst: 2 },
  maxGossipBytes: 1000,
  strikes: { ratePerS: 10, burst: 5 },
  cooldownMs: 30_000,
  maxPeers: 8,
};

/** Drops `count` messages from `peer` at `nowMs`; returns how many of the strikes said "disconnect". */
function strikes(guard: FloodGuard, peer: string, nowMs: number, count: number): number {
  let disconnects = 0;
  for (let i = 0; i < count; i++) if (guard.strike(peer, nowMs)) disconnects++;
  return disconnects;
}

describe('flood guard', () => {
  it('admits frames up to the burst, then at the rate; each peer has its own bucket', () => {
    const guard = new FloodGuard(limits);
    let admitted = 0;
    for (let i = 0; i < 50; i++) if (guard.admitFrame('a', 0)) admitted++;
    assert.equal(admitted, 10);
    assert.equal(guard.admitFrame('a', 5), false);
    assert.equal(guard.admitFrame('a', 10), true, '100/s: one more after 10 ms');
    assert.equal(guard.admitFrame('b', 0), true, 'another peer is not affected');
  });

  it('a Raft follower under write load (2,000 frames a second: an answer to every append) is never held up; Bully keeps 200 a second, and a flood overruns both', () => {
    /** Frames from one peer at `perS` for `seconds`, evenly spaced: how many were dropped and whether the peer was cut off. */
    const offer = (protocol: 'bully' | 'raft', perS: number, seconds: number) => {
      const guard = new FloodGuard(peerLimitsFor(protocol));
      let dropped = 0;
      let cutOff = false;
      for (let i = 0; i < perS * seconds; i++) {
        const nowMs = (i * 1000) / perS;
        if (guard.admitFrame('follower', nowMs)) continue;
        dropped++;
        if (guard.strike('follower', nowMs)) cutOff = true;
      }
      return { dropped, cutOff };
    };
    assert.deepEqual(offer('raft', 2_000, 10), { dropped: 0, cutOff: false });
    assert.ok(offer('bully', 2_000, 10).dropped > 0, 'Bully sends a few frames a second: 2,000 is far above it');
    assert.equal(offer('raft', 20_000, 2).cutOff, true, 'a flood still costs the flooder its connection');
    assert.equal(offer('bully', 11_000, 1).cutOff, true);
  });

  it('limits gossip per author, and drops payloads over maxGossipBytes as oversized', () => {
    const guard = new FloodGuard(limits);
    assert.equal(guard.admitGossip('a', 1000, 0), null, 'exactly the cap is accepted');
    assert.equal(guard.admitGossip('a', 1001, 0), 'oversized-gossip');
    assert.equal(guard.admitGossip('a', 10, 0), 'rate-limited-gossip', 'the oversized one took a token too');
    assert.equal(guard.admitGossip('b', 10, 0), null);
    assert.equal(guard.admitFrame('a', 0), true, 'frames and gossip are limited separately');
  });

  it('says "disconnect" once, on the strike that exhausts the allowance, then refuses the peer for the cool-down', () => {
    const guard = new FloodGuard(limits);
    assert.equal(strikes(guard, 'a', 0, 5), 0, 'the burst of strikes is tolerated');
    assert.equal(guard.refusedUntilMs('a', 0), null);
    assert.equal(strikes(guard, 'a', 0, 1000), 1);
    assert.equal(guard.refusedUntilMs('a', 0), 30_000);
    assert.equal(guard.refusedUntilMs('a', 29_999), 30_000);
    assert.equal(guard.admitFrame('a', 1), false, 'frames still in flight from a refused peer are dropped');
    assert.equal(guard.admitGossip('a', 10, 1), 'rate-limited-gossip');
    assert.equal(guard.refusedUntilMs('b', 0), null, 'other peers are not refused');
    assert.equal(guard.refusedUntilMs('a', 30_000), null, 'the cool-down ends');
    assert.equal(guard.admitFrame('a', 30_000), true);
    assert.equal(strikes(guard, 'a', 30_000, 5), 0, 'a fresh allowance after the cool-down');
  });

  it('tolerates drops below the sustained strike rate indefinitely', () => {
    const guard = new FloodGuard(limits);
    // 10 strikes/s allowed: 5 a second for an hour never disconnects.
    for (let s = 0; s < 3600; s++) assert.equal(strikes(guard, 'a', s * 1000, 5), 0);
  });

  it('stays bounded: tracks at most maxPeers, forgetting the earliest', () => {
    const guard = new FloodGuard(limits);
    strikes(guard, 'flooder', 0, 6);
    assert.notEqual(guard.refusedUntilMs('flooder', 1), null);
    for (let i = 0; i < limits.maxPeers; i++) guard.admitFrame(`peer-${i}`, 1);
    assert.equal(guard.refusedUntilMs('flooder', 1), null, 'forgotten once maxPeers newer peers were seen');
  });

  it('with the defaults, cuts the reported flood (11k frames/s) within half a second and never an honest burst', () => {
    const guard = new FloodGuard();
    // An honest sender flushing its whole queue at once after reconnecting: all admitted.
    for (let i = 0; i < DEFAULT_PEER_LIMITS.frames.burst; i++) assert.equal(guard.admitFrame('honest', 0), true);
    let disconnectedAtMs: number | null = null;
    for (let i = 0; i < 11_000 && disconnectedAtMs === null; i++) {
      const nowMs = i / 11;
      if (!guard.admitFrame('flooder', nowMs) && guard.strike('flooder', nowMs)) disconnectedAtMs = nowMs;
    }
    assert.ok(disconnectedAtMs !== null && disconnectedAtMs < 500, `disconnected at ${disconnectedAtMs} ms`);
  });

  it('the default gossip cap holds the largest heartbeat a member can send, with half as much again to spare', () => {
    // Ids are authenticated libp2p peer ids (52-53 characters); every list at the codec's cap,
    // counters at their maximum, 16 IPv6 addresses, the longest name, version and cluster.
    const id = (i: number) => `16Uiu2HAm${String(i).padStart(6, '0')}`.padEnd(53, 'x');
    const refs = (from: number) => Array.from({ length: MAX_GOSSIPED_REFS }, (_, i) => ({ id: id(from + i), incarnation: MAX_COUNTER }));
    const heartbeat = {
      v: 1,
      cluster: 'c'.repeat(63),
      id: id(0),
      incarnation: MAX_COUNTER,
      seq: MAX_COUNTER,
      leaving: false,
      meta: {
        name: 'n'.repeat(253),
        addrs: Array.from({ length: 16 }, (_, i) => `/ip6/fe80:aaaa:bbbb:cccc:dddd:eeee:ffff:${String(i).padStart(4, '0')}/tcp/65535/p2p/${id(0)}`),
        protocol: 'bully',
        priority: Number.MIN_SAFE_INTEGER,
        version: 'v'.repeat(64),
        role: 'candidate',
        term: MAX_COUNTER,
        leader: id(1),
        fencingToken: MAX_COUNTER,
      },
      suspects: refs(0),
      dead: refs(MAX_GOSSIPED_REFS),
      left: refs(2 * MAX_GOSSIPED_REFS),
    };
    assert.equal(heartbeatCodec.parse(heartbeat).ok, true, 'a valid heartbeat');
    const bytes = new TextEncoder().encode(JSON.stringify(heartbeat)).byteLength;
    assert.ok(bytes * 1.5 <= DEFAULT_PEER_LIMITS.maxGossipBytes, `largest heartbeat ${bytes} bytes, cap ${DEFAULT_PEER_LIMITS.maxGossipBytes}`);
  });
});
