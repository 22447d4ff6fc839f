/**
 * Bounded work per peer, on real libp2p nodes over 127.0.0.1 (mDNS off, static bootstrap): a
 * peer flooding election frames far above its limit is cut to the limit, disconnected and
 * refused, while the node still answers others; an oversized heartbeat is dropped and counted; a
 * peer flooding heartbeats is disconnected like a frame flooder. Limits: flood-guard.ts.
 */
import '../../daemon/polyfill.js';
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { multiaddr } from '@multiformats/multiaddr';
import * as lp from 'it-length-prefixed';
import { DEFAULT_PEER_LIMITS, directProtocolId, membershipProtocolId } from '../../daemon/p2p/index.js';
import { heartbeatFrame } from '../../daemon/p2p/peer-exchange.js';
import { connected, nodePool, publishUntil, waitFor, type TestNode } from './fixtures/p2p-nodes.js';

const pool = nodePool();
after(() => pool.stopAll());
const node = pool.node;
const rawSender = pool.rawSender;
const rejectsOf = (t: TestNode, from: string, reason: string) => t.rejects.filter((r) => r.from === from && r.reason === reason).length;

describe('per-peer limits on loopback', { timeout: 120_000 }, () => {
  it('cuts a frame flood to the limit, disconnects and refuses the flooder, and still answers another peer', async () => {
    const receiver = await node();
    // The receiver answers pings, as a node answers an ELECTION.
    receiver.node.onMessage((from, message) => {
      const ping = (message as { ping?: unknown }).ping;
      if (ping !== undefined) receiver.node.send(from, { pong: ping });
    });
    const addr = multiaddr(receiver.node.listenAddrs()[0]!);
    const flooder = await rawSender();
    const flooderId = flooder.peerId.toString();
    const protocol = directProtocolId('test', 'bully');
    const stream = await flooder.dialProtocol(addr, protocol);
    // Valid-looking election frames, as fast as the stream takes them: far above 200 a second.
    // Encoded ahead and written in 64 KiB chunks, so the flooder (on this test's event loop)
    // costs next to nothing and the receiver's work is what the test sees.
    const total = 20_000;
    const election = new TextEncoder().encode(JSON.stringify({ type: 'ELECTION', epoch: 7, forced: false }));
    const flood = Buffer.concat(Array.from({ length: total }, () => lp.encode.single(election).subarray()));
    const chunks = Array.from({ length: Math.ceil(flood.byteLength / 65_536) }, (_, i) => flood.subarray(i * 65_536, (i + 1) * 65_536));
    const startedAtMs = performance.now();
    void stream.sink(chunks).catch(() => undefined);

    await waitFor('the flooder is disconnected', () => receiver.node.stats().floodDisconnects === 1);
    const elapsedS = (performance.now() - startedAtMs) / 1000;
    await waitFor('its connection is gone', () => !receiver.node.connectedPeers().includes(flooderId));
    const admitted = receiver.messages.filter((m) => m.from === flooderId).length;
    const { frames, strikes } = DEFAULT_PEER_LIMITS;
    assert.ok(admitted <= frames.burst + frames.ratePerS * elapsedS, `${admitted} frames admitted in ${elapsedS.toFixed(2)} s`);
    assert.ok(rejectsOf(receiver, flooderId, 'rate-limited') >= strikes.burst, 'every dropped frame is counted');
    assert.ok(admitted + rejectsOf(receiver, flooderId, 'rate-limited') < total, 'disconnected before the flood ended');
    assert.equal(receiver.logs.filter((l) => l.level === 'warn' && (l.obj as { err?: Error }).err?.name === 'PeerFloodError').length, 1);

    // Refused for the cool-down: the flooder's side of a new handshake may complete, then the
    // receiver hangs up on it.
    await waitFor('the flooder sees the hang-up', () => flooder.getConnections().length === 0);
    const redial = await flooder.dial(addr).catch((err: unknown) => err as Error);
    if (!(redial instanceof Error)) await waitFor('the receiver refuses the new connection', () => redial.status !== 'open');
    assert.ok(!receiver.node.connectedPeers().includes(flooderId));
    assert.equal(receiver.messages.filter((m) => m.from === flooderId).length, admitted, 'nothing more from it got through');

    const third = await node({ bootstrap: [receiver.node.listenAddrs()[0]!] });
    await waitFor('a third peer connects', () => connected(receiver, third));
    third.node.send(receiver.node.peerId, { ping: 1 });
    await waitFor('the receiver answers it', () => third.messages.some((m) => (m.message as { pong?: unknown }).pong === 1));
    assert.equal(receiver.rejects.filter((r) => r.from === third.node.peerId).length, 0);
    assert.equal(receiver.node.stats().floodDisconnects, 1);
  });

  it('drops a 1 MB gossip message before it is parsed and counts it; the author stays connected and heard', async () => {
    const a = await node();
    const author = await node({ bootstrap: [a.node.listenAddrs()[0]!] });
    await waitFor('connected', () => connected(a, author));
    await publishUntil(author, 'before', 'a first heartbeat', () => a.gossip.some((g) => g.text === 'before'));
    author.node.publish(new Uint8Array(1_000_000).fill(0x7b));
    await waitFor('the 1 MB message is dropped', () => rejectsOf(a, author.node.peerId, 'oversized-gossip') === 1);
    assert.ok(a.gossip.every((g) => g.text.length < DEFAULT_PEER_LIMITS.maxGossipBytes), 'never delivered');
    await publishUntil(author, 'after', 'a normal heartbeat after it', () => a.gossip.some((g) => g.text === 'after'));
    assert.ok(connected(a, author));
    assert.equal(a.node.stats().floodDisconnects, 0);
  });

  it('limits heartbeats per peer: a flood on the membership stream is dropped, counted, and its sender disconnected', async () => {
    const a = await node();
    const flooder = await rawSender();
    const flooderId = flooder.peerId.toString();
    const stream = await flooder.dialProtocol(multiaddr(a.node.listenAddrs()[0]!), membershipProtocolId('test'));
    // Heartbeat frames far above 100 a second, in 64 KiB chunks (an honest node's own queue
    // never lets it send this: only a raw stream can).
    const { gossip, strikes } = DEFAULT_PEER_LIMITS;
    const total = 20_000;
    const flood = Buffer.concat(Array.from({ length: total }, (_, i) => lp.encode.single(heartbeatFrame(new TextEncoder().encode(JSON.stringify(`flood-${i}`)))).subarray()));
    const chunks = Array.from({ length: Math.ceil(flood.byteLength / 65_536) }, (_, i) => flood.subarray(i * 65_536, (i + 1) * 65_536));
    void stream.sink(chunks).catch(() => undefined);
    await waitFor('the sender is disconnected', () => a.node.stats().floodDisconnects === 1, 30_000);
    const admitted = a.gossip.filter((g) => g.from === flooderId).length;
    assert.ok(rejectsOf(a, flooderId, 'rate-limited-gossip') >= strikes.burst, 'every dropped heartbeat is counted');
    assert.ok(admitted <= gossip.burst + gossip.ratePerS * 30, `${admitted} heartbeats admitted`);
    assert.ok(admitted + rejectsOf(a, flooderId, 'rate-limited-gossip') < total, 'disconnected before the flood ended');
  });
});
