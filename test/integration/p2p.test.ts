/**
 * Real libp2p nodes on 127.0.0.1 (mDNS off, static bootstrap): gossip, ordered direct frames,
 * dropped bad frames, disconnect and redial after a restart, pnet, and cluster isolation.
 */
import '../../daemon/polyfill.js';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { generateKey } from '@libp2p/pnet';
import { multiaddr } from '@multiformats/multiaddr';
import * as lp from 'it-length-prefixed';
import { directProtocolId, readSwarmKey } from '../../daemon/p2p/index.js';
import { connected, nodePool, publishUntil, tcpPort, waitFor, type TestNode } from './fixtures/p2p-nodes.js';

const pool = nodePool();
after(() => pool.stopAll());
const node = pool.node;
const rawSender = pool.rawSender;

describe('p2p node on loopback', { timeout: 120_000 }, () => {
  it('three nodes connect through one bootstrap address and every node hears every other one gossip', async () => {
    const a = await node();
    const b = await node({ bootstrap: [a.node.listenAddrs()[0]!] });
    // Without /p2p/: the address alone is dialled and whoever answers is the bootstrap peer.
    const c = await node({ bootstrap: [`/ip4/127.0.0.1/tcp/${tcpPort(a.node.listenAddrs()[0]!)}`] });
    await waitFor('b and c connected to a', () => connected(a, b) && connected(a, c));
    const nodes = [a, b, c];
    for (const sender of nodes) {
      const others = nodes.filter((n) => n !== sender);
      const text = `from-${sender.node.peerId}`;
      await publishUntil(sender, text, `gossip from ${sender.node.peerId}`, () => others.every((o) => o.gossip.some((g) => g.text === text)));
      for (const o of others) assert.ok(o.gossip.filter((g) => g.text === text).every((g) => g.from === sender.node.peerId), 'from is the sender, as noise authenticated it');
    }
    assert.ok(a.node.stats().gossipBytesSent > 0 && b.node.stats().gossipBytesReceived > 0);
    assert.equal(a.peerEvents.filter((e) => e.peer === b.node.peerId && e.event === 'connected').length, 1, 'connected fires once per peer');
  });

  it('introduces each newcomer once: the member it reached sends the lists, members the list named send none', async () => {
    // Every member that met a newcomer used to send it our list and tell every other member
    // about it: (N−1)² frames per newcomer, the bulk of a wave of joins at 45 daemons.
    const first = await node();
    const nodes: TestNode[] = [first];
    let bound = 0;
    for (let k = 1; k <= 6; k++) {
      const newcomer = await node({ bootstrap: [first.node.listenAddrs()[0]!] });
      nodes.push(newcomer);
      await waitFor(`all ${nodes.length} nodes connected to each other`, () => nodes.every((x) => nodes.every((y) => x === y || connected(x, y))), 20_000);
      // The first node sends the newcomer its list and tells the k−1 others: k lists.
      bound += k;
    }
    const sent = nodes.reduce((sum, n) => sum + n.node.stats().peerListsSent, 0);
    assert.ok(sent <= bound + 3, `${sent} peer lists for 6 newcomers, expected about ${bound}`);
  });

  it('introduces a peer again once it met us again: a list named it, it disconnected, it came back', async () => {
    const a = await node();
    const c = await node({ bootstrap: [a.node.listenAddrs()[0]!] });
    await waitFor('a and c connected', () => connected(a, c));
    // b comes in through a: a sends b its list and tells c about b, so c introduces b to nobody.
    const b = await node({ bootstrap: [a.node.listenAddrs()[0]!] });
    await waitFor('b connected to a and c', () => connected(b, a) && connected(b, c), 20_000);
    const before = c.node.stats().peerListsSent;
    // c loses b and meets it again (a partition healed, say): b may have met members meanwhile.
    c.node.keepConnected([{ id: b.node.peerId, addrs: b.node.listenAddrs(), state: 'alive' }]);
    c.node.disconnect(b.node.peerId);
    await waitFor('c reconnected to b', () => connected(b, c) && c.node.stats().peerListsSent > before, 20_000);
    // Its list to b (naming a) and its word to a about b.
    assert.equal(c.node.stats().peerListsSent - before, 2);
  });

  it('a cluster peer that connects hears our latest heartbeat at once, not at our next one', async () => {
    const a = await node();
    a.node.publish(new TextEncoder().encode(JSON.stringify('a-beat-1')));
    const b = await node({ bootstrap: [a.node.listenAddrs()[0]!] });
    await waitFor('b hears the heartbeat a published before b connected', () => b.gossip.some((g) => g.from === a.node.peerId && g.text === 'a-beat-1'), 5000);
    assert.deepEqual(a.gossip, [], 'b published nothing yet, so a has nothing to hear');
  });

  it('a heartbeat for some members reaches those members only', async () => {
    const a = await node();
    const b = await node({ bootstrap: [a.node.listenAddrs()[0]!] });
    const c = await node({ bootstrap: [a.node.listenAddrs()[0]!] });
    await publishUntil(a, 'warm', 'b and c hear a', () => b.gossip.some((g) => g.text === 'warm') && c.gossip.some((g) => g.text === 'warm'));
    a.node.publish(new TextEncoder().encode(JSON.stringify('for-b')), [b.node.peerId]);
    a.node.publish(new TextEncoder().encode(JSON.stringify('for-all')));
    await waitFor('c hears the heartbeat for everyone', () => c.gossip.some((g) => g.text === 'for-all'), 5000);
    await waitFor('b hears both', () => b.gossip.some((g) => g.text === 'for-b') && b.gossip.some((g) => g.text === 'for-all'), 5000);
    assert.ok(!c.gossip.some((g) => g.text === 'for-b'), 'c never hears the heartbeat for b');
  });

  it('keeps one connection per pair: a second connection from the same peer is closed, the first carries on', async () => {
    const a = await node();
    const raw = await rawSender();
    const target = multiaddr(a.node.listenAddrs()[0]!);
    const first = await raw.dial(target);
    const second = await raw.dial(target, { force: true });
    assert.notEqual(first.id, second.id, 'libp2p opened a second connection');
    await waitFor('one connection left at both ends', () => a.node.stats().connections === 1 && raw.getConnections().length === 1);
    assert.equal(raw.getConnections()[0]!.id, first.id, 'the older one stays');
    assert.deepEqual(a.node.connectedPeers(), [raw.peerId.toString()]);
  });

  it('two nodes that dial each other at once end with one connection between them', async () => {
    const a = await node();
    const b = await node();
    const aAddr = a.node.listenAddrs()[0]!;
    const bAddr = b.node.listenAddrs()[0]!;
    a.node.keepConnected([{ id: b.node.peerId, addrs: [bAddr], state: 'alive' }]);
    b.node.keepConnected([{ id: a.node.peerId, addrs: [aAddr], state: 'alive' }]);
    await waitFor('connected', () => connected(a, b));
    await waitFor('one connection each', () => a.node.stats().connections === 1 && b.node.stats().connections === 1);
    // A frame sent while the peer is closing the other connection can be lost in it (a count of
    // one at each end does not say both ends kept the same one yet): send until one arrives.
    const resend = setInterval(() => a.node.send(b.node.peerId, { over: 'the one left' }), 100);
    try {
      await waitFor('a frame on it', () => b.messages.length > 0);
    } finally {
      clearInterval(resend);
    }
    assert.equal(a.node.stats().connections, 1);
    assert.equal(b.node.stats().connections, 1);
  });

  it('delivers direct messages in the order they were sent, with the sender as from', async () => {
    const a = await node();
    const b = await node({ bootstrap: [a.node.listenAddrs()[0]!] });
    const count = 500;
    // Sent at once, before any stream exists: the first frame opens it, the rest queue behind.
    for (let i = 0; i < count; i++) b.node.send(a.node.peerId, { seq: i, body: 'x'.repeat(i % 50) });
    await waitFor('all frames', () => a.messages.length === count);
    assert.deepEqual(a.messages.map((m) => (m.message as { seq: number }).seq), Array.from({ length: count }, (_, i) => i));
    assert.ok(a.messages.every((m) => m.from === b.node.peerId));
    assert.equal(b.node.stats().framesSent, count);
    assert.equal(a.node.stats().framesReceived, count);
    assert.deepEqual(a.rejects, []);
  });

  it('drops and reports an oversized frame; the next normal frame on the same stream still arrives', async () => {
    const small = await node({ maxFrameBytes: 1024 });
    const big = await node({ maxFrameBytes: 1_000_000, bootstrap: [small.node.listenAddrs()[0]!] });
    big.node.send(small.node.peerId, { seq: 1 });
    big.node.send(small.node.peerId, { seq: 2, pad: 'x'.repeat(4096) });
    big.node.send(small.node.peerId, { seq: 3 });
    await waitFor('frame after the oversized one', () => small.messages.length === 2);
    assert.deepEqual(small.messages.map((m) => m.message), [{ seq: 1 }, { seq: 3 }]);
    assert.deepEqual(small.rejects, [{ from: big.node.peerId, reason: 'oversized' }]);
    assert.equal(small.logs.filter((l) => l.level === 'warn').length, 0, 'reported, not logged: the runtime logs every drop through one limiter');
  });

  it('drops and reports a malformed frame; later frames on the same stream still arrive', async () => {
    const a = await node();
    const raw = await rawSender();
    const stream = await raw.dialProtocol(multiaddr(a.node.listenAddrs()[0]!), directProtocolId('test', 'bully'));
    const frames = ['{"seq":1}', '{"seq":', 'not json', '{"seq":2}'].map((t) => new TextEncoder().encode(t));
    await stream.sink(lp.encode(frames));
    await waitFor('valid frames', () => a.messages.length === 2);
    assert.deepEqual(a.messages.map((m) => m.message), [{ seq: 1 }, { seq: 2 }]);
    assert.deepEqual(a.rejects.map((r) => r.reason), ['malformed', 'malformed']);
    assert.ok(a.rejects.every((r) => r.from === raw.peerId.toString()));
    assert.equal(a.logs.filter((l) => l.level === 'warn').length, 0, 'reported, not logged: the runtime logs every drop through one limiter');
  });

  it('resets a stream whose length prefix exceeds the hard cap, without buffering it; new streams still work', async () => {
    const a = await node({ maxFrameBytes: 1024 });
    const raw = await rawSender();
    const protocol = directProtocolId('test', 'bully');
    const huge = await raw.dialProtocol(multiaddr(a.node.listenAddrs()[0]!), protocol);
    // Announces 1 MiB (far over 16 × 1024) and sends only the prefix and a few bytes.
    const prefix = lp.encode.single(new Uint8Array(1 << 20)).subarray().subarray(0, 8);
    void huge.sink([prefix]).catch(() => undefined);
    await waitFor('oversized reject', () => a.rejects.length === 1);
    assert.deepEqual(a.rejects, [{ from: raw.peerId.toString(), reason: 'oversized' }]);
    const next = await raw.dialProtocol(multiaddr(a.node.listenAddrs()[0]!), protocol);
    await next.sink(lp.encode([new TextEncoder().encode('{"after":true}')]));
    await waitFor('frame on a new stream', () => a.messages.length === 1);
    assert.deepEqual(a.messages[0]!.message, { after: true });
  });

  it('reports disconnected when a peer stops, and redials it after it restarts with the same key and port', async () => {
    const a = await node();
    let b = await node();
    const bAddr = b.node.listenAddrs()[0]!;
    a.node.keepConnected([{ id: b.node.peerId, addrs: [bAddr], state: 'alive' }]);
    await waitFor('a connects to b', () => connected(a, b));
    const bId = b.node.peerId;
    await b.node.stop();
    await b.node.stop(); // safe twice
    await waitFor('disconnected', () => a.peerEvents.some((e) => e.peer === bId && e.event === 'disconnected'));
    assert.deepEqual(a.node.connectedPeers(), []);
    b = await node({ privateKey: b.key, listen: [`/ip4/127.0.0.1/tcp/${tcpPort(bAddr)}`] });
    assert.equal(b.node.peerId, bId);
    await waitFor('a redials b', () => a.peerEvents.filter((e) => e.peer === bId && e.event === 'connected').length === 2);
    assert.deepEqual(a.peerEvents.filter((e) => e.peer === bId).map((e) => e.event), ['connected', 'disconnected', 'connected']);
    // The outbound stream broke with the connection; the next frame opens a new one.
    a.node.send(bId, { hello: 'again' });
    await waitFor('frame after the restart', () => b.messages.length === 1);
  });

  it('keeps strangers out with a swarm key: a node with another key cannot connect, one with the same key can', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'conclave-p2p-psk-'));
    try {
      const keyFile = (name: string) => {
        const bytes = new Uint8Array(95);
        generateKey(bytes);
        writeFileSync(join(dir, name), bytes);
        return readSwarmKey(join(dir, name));
      };
      const psk = await keyFile('ours');
      const otherPsk = await keyFile('theirs');
      const a = await node({ psk });
      const friend = await node({ psk, bootstrap: [a.node.listenAddrs()[0]!] });
      const stranger = await node({ psk: otherPsk, bootstrap: [a.node.listenAddrs()[0]!] });
      const open = await node({ psk: null, bootstrap: [a.node.listenAddrs()[0]!] });
      await waitFor('friend connects', () => connected(a, friend));
      const dialFailures = (t: TestNode) => t.logs.filter((l) => ((l.obj as { failures?: number } | null)?.failures ?? 0) >= 1).length;
      await waitFor('stranger and open node have each failed to dial twice', () => dialFailures(stranger) >= 2 && dialFailures(open) >= 2);
      assert.deepEqual(a.node.connectedPeers(), [friend.node.peerId]);
      assert.deepEqual(stranger.node.connectedPeers(), []);
      assert.deepEqual(open.node.connectedPeers(), []);
      friend.node.send(a.node.peerId, { private: true });
      await waitFor('frame inside the private network', () => a.messages.length === 1);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('keeps clusters apart on a shared connection: no gossip and no direct frames cross', async () => {
    const a = await node({ cluster: 'blue' });
    const mate = await node({ cluster: 'blue', bootstrap: [a.node.listenAddrs()[0]!] });
    const other = await node({ cluster: 'green', bootstrap: [a.node.listenAddrs()[0]!] });
    await waitFor('both connected to a', () => connected(a, mate) && connected(a, other));
    await publishUntil(a, 'blue-1', 'gossip to the same cluster', () => mate.gossip.some((g) => g.text === 'blue-1'));
    for (let i = 0; i < 5; i++) other.node.publish(new TextEncoder().encode(`green-${i}`));
    await publishUntil(a, 'blue-2', 'a later marker', () => mate.gossip.some((g) => g.text === 'blue-2'));
    assert.deepEqual(other.gossip, []);
    assert.ok(a.gossip.every((g) => !g.text.startsWith('green')) && mate.gossip.every((g) => !g.text.startsWith('green')));
    other.node.send(a.node.peerId, { cross: true });
    a.node.send(mate.node.peerId, { same: true });
    await waitFor('same-cluster frame', () => mate.messages.length === 1);
    await waitFor('the cross-cluster stream was refused', () => other.logs.some((l) => l.msg !== undefined && (l.obj as { peer?: string }).peer === a.node.peerId && 'err' in (l.obj as object)));
    assert.deepEqual(a.messages, []);
  });

  it('does not throw from publish or send after stop, and stop is idempotent', async () => {
    const a = await node();
    await a.node.stop();
    a.node.publish(new Uint8Array([1]));
    a.node.send(a.node.peerId, { late: true });
    await a.node.stop();
  });
});
