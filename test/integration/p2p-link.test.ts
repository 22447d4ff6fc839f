/**
 * Direct links on real nodes over 127.0.0.1 (daemon/p2p/link.ts): two nodes that both listen
 * for links carry their election frames on one; a node without links still gets every frame on
 * the libp2p stream; a link lost with its connection comes back with the next one; and a
 * stranger that got an offer meets the same per-peer limits on a link as on a stream.
 */
import '../../daemon/polyfill.js';
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { multiaddr } from '@multiformats/multiaddr';
import * as lp from 'it-length-prefixed';
import { DEFAULT_PEER_LIMITS } from '../../daemon/p2p/index.js';
import { encodeFrame } from '../../daemon/p2p/frames.js';
import { encodeLinkFrame, parseLinkOffer } from '../../daemon/p2p/link-frames.js';
import { dialLink } from '../../daemon/p2p/link-server.js';
import { linkProtocolId } from '../../daemon/p2p/names.js';
import { connected, nodePool, publishUntil, waitFor, type TestNode } from './fixtures/p2p-nodes.js';

const pool = nodePool();
after(() => pool.stopAll());
const { node, rawSender } = pool;

/** A pair connected through `a`'s address; the smaller peer id dials the link. */
async function pair(a: TestNode, bOverrides: Parameters<typeof node>[0] = {}): Promise<TestNode> {
  const b = await node({ bootstrap: [a.node.listenAddrs()[0]!], ...bOverrides });
  await waitFor('the two to connect', () => connected(a, b));
  return b;
}

const heard = (t: TestNode, from: TestNode, key: string, value: unknown) => t.messages.some((m) => m.from === from.node.peerId && (m.message as Record<string, unknown>)[key] === value);

describe('direct links on loopback', { timeout: 120_000 }, () => {
  it('carry election frames between two nodes that both listen for links', async () => {
    const a = await node({ linkPort: 0 });
    const b = await pair(a, { linkPort: 0 });
    assert.ok(a.node.linkPort! > 0 && b.node.linkPort! > 0, 'each listener bound a port');
    await waitFor('a link at both ends', () => a.node.stats().links === 1 && b.node.stats().links === 1);
    a.node.send(b.node.peerId, { ping: 1 });
    b.node.send(a.node.peerId, { pong: 1 });
    await waitFor('both frames', () => heard(b, a, 'ping', 1) && heard(a, b, 'pong', 1));
    assert.equal(a.node.stats().linkFramesSent, 1);
    assert.equal(b.node.stats().linkFramesSent, 1);
    // Heartbeats too, once each knows the other speaks the membership protocol (identify).
    await publishUntil(a, 'beat', 'the heartbeat', () => b.gossip.some((g) => g.from === a.node.peerId && g.text === 'beat'));
    assert.ok(a.node.stats().linkFramesSent >= 2, 'the heartbeat went on the link');
    assert.equal(a.node.stats().linkHandshakeFailures + b.node.stats().linkHandshakeFailures, 0);
  });

  it('leave every frame on the libp2p stream when one end has no links', async () => {
    const a = await node({ linkPort: 0 });
    const b = await pair(a, { linkPort: null });
    b.node.send(a.node.peerId, { ping: 2 });
    a.node.send(b.node.peerId, { pong: 2 });
    await waitFor('both frames', () => heard(a, b, 'ping', 2) && heard(b, a, 'pong', 2));
    assert.equal(a.node.stats().links + b.node.stats().links, 0);
    assert.equal(a.node.stats().linkFramesSent + b.node.stats().linkFramesSent, 0);
    assert.equal(b.node.linkPort, null);
    assert.equal(a.logs.filter((l) => l.level === 'warn').length, 0, 'a peer without links is not a failure');
  });

  it('lose the link with the connection, carry frames on the stream meanwhile, and link again when the peers reconnect', async () => {
    const a = await node({ linkPort: 0 });
    const b = await pair(a, { linkPort: 0 });
    a.node.keepConnected([{ id: b.node.peerId, addrs: b.node.listenAddrs(), state: 'alive' }]);
    b.node.keepConnected([{ id: a.node.peerId, addrs: a.node.listenAddrs(), state: 'alive' }]);
    await waitFor('the link', () => a.node.stats().links === 1 && b.node.stats().links === 1);
    a.node.disconnect(b.node.peerId);
    assert.equal(a.node.stats().links, 0, 'the link closes with the connections');
    a.node.send(b.node.peerId, { ping: 3 });
    await waitFor('the frame sent while no link was up', () => heard(b, a, 'ping', 3));
    await waitFor('a link again', () => connected(a, b) && a.node.stats().links === 1 && b.node.stats().links === 1);
    const before = a.node.stats().linkFramesSent;
    a.node.send(b.node.peerId, { ping: 4 });
    await waitFor('a frame on the new link', () => heard(b, a, 'ping', 4));
    assert.equal(a.node.stats().linkFramesSent, before + 1);
  });

  it('hold a stranger that got an offer to the per-peer limits: its flood on the link is cut, and it is disconnected', async () => {
    const receiver = await node({ linkPort: 0 });
    const stranger = await rawSender();
    const strangerId = stranger.peerId.toString();
    const stream = await stranger.dialProtocol(multiaddr(receiver.node.listenAddrs()[0]!), linkProtocolId('test'));
    let offer = null;
    for await (const frame of lp.decode(stream.source)) {
      offer = parseLinkOffer(frame.subarray());
      break;
    }
    assert.ok(offer, 'an offer to a peer of this (open) cluster');
    const socket = await dialLink('127.0.0.1', offer, 5_000);
    socket.on('error', () => undefined);
    const total = 20_000;
    const frame = encodeLinkFrame('bully', encodeFrame({ type: 'ELECTION', epoch: 7, forced: false })!);
    socket.write(Buffer.concat(Array.from({ length: total }, () => frame)));
    await waitFor('the stranger is disconnected', () => receiver.node.stats().floodDisconnects === 1);
    await waitFor('its link is closed', () => socket.destroyed || socket.readableEnded);
    const admitted = receiver.messages.filter((m) => m.from === strangerId).length;
    const limited = receiver.rejects.filter((r) => r.from === strangerId && r.reason === 'rate-limited').length;
    assert.ok(admitted >= 1 && admitted <= DEFAULT_PEER_LIMITS.frames.burst + DEFAULT_PEER_LIMITS.frames.ratePerS * 10, `${admitted} frames admitted`);
    assert.ok(limited >= DEFAULT_PEER_LIMITS.strikes.burst, 'every dropped frame is counted');
    assert.ok(admitted + limited < total, 'cut off before the flood ended');
    await waitFor('its libp2p connection is gone', () => !receiver.node.connectedPeers().includes(strangerId));
  });
});
