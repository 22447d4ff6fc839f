import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { connect as netConnect } from 'node:net';
import { connect } from 'node:tls';
import type { TLSSocket } from 'node:tls';
import { afterEach, describe, it } from 'node:test';
import { encodeFrame, HARD_CAP_FACTOR } from './frames.js';
import type { PeerLinkInit } from './link.js';
import { recordingLink, until, type RecordingLink } from './link-testing.js';
import { encodeLinkFrame } from './link-frames.js';
import { dialLink, LinkServer } from './link-server.js';

const cleanups: Array<() => void> = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0)) cleanup();
});

interface Harness {
  server: LinkServer;
  linked: Array<{ peer: string; socket: TLSSocket }>;
  failures: Error[];
  clock: { nowMs: number };
}

async function startServer(handshakeTimeoutMs = 5_000): Promise<Harness> {
  const h: Harness = { linked: [], failures: [], clock: { nowMs: 1_000 } } as unknown as Harness;
  h.server = new LinkServer({
    host: '127.0.0.1',
    port: 0,
    offerTtlMs: 10_000,
    handshakeTimeoutMs,
    maxOffers: 4,
    maxSockets: 16,
    nowMs: () => h.clock.nowMs,
    onLink: (peer, socket) => void h.linked.push({ peer, socket }),
    onHandshakeFailure: (err) => void h.failures.push(err),
  });
  await h.server.listen();
  cleanups.push(() => {
    h.server.close();
    for (const { socket } of h.linked) socket.destroy();
  });
  return h;
}

function wrap(peer: string, socket: TLSSocket, overrides: Partial<PeerLinkInit> = {}): RecordingLink {
  const r = recordingLink(peer, socket, overrides);
  cleanups.push(() => r.link.close());
  return r;
}

/** A link between the listener's side (`served`, named for the peer the offer went to) and the dialler's. */
async function linkedPair(overrides: { served?: Partial<PeerLinkInit>; dialled?: Partial<PeerLinkInit> } = {}) {
  const h = await startServer();
  const socket = await dialLink('127.0.0.1', h.server.offer('peer-a'), 5_000);
  await until('the listener to take the link', () => h.linked.length === 1);
  return { h, dialled: wrap('peer-b', socket, overrides.dialled), served: wrap(h.linked[0]!.peer, h.linked[0]!.socket, overrides.served) };
}

const payload = (message: unknown) => encodeFrame(message)!;

describe('direct links', () => {
  it('carry frames both ways, with their protocol, between the holder of an offer and the listener that made it', async () => {
    const { h, dialled, served } = await linkedPair();
    assert.equal(h.linked[0]!.peer, 'peer-a', 'the listener names the link after the peer its offer went to');
    dialled.link.send('raft', payload({ type: 'VOTE', term: 3 }));
    dialled.link.send('bully', payload({ type: 'ALIVE', epoch: 2 }));
    served.link.send('raft', payload({ type: 'VOTE_RESPONSE', term: 3 }));
    await until('the frames', () => served.frames.length === 2 && dialled.frames.length === 1);
    assert.deepEqual(served.frames, [
      { protocol: 'raft', message: { type: 'VOTE', term: 3 } },
      { protocol: 'bully', message: { type: 'ALIVE', epoch: 2 } },
    ]);
    assert.deepEqual(dialled.frames, [{ protocol: 'raft', message: { type: 'VOTE_RESPONSE', term: 3 } }]);
    assert.deepEqual(h.failures, []);
  });

  it('leave in one write at the check phase, or at once on flush(), announcing the first frame of each batch', async () => {
    const queued: string[] = [];
    const { dialled, served } = await linkedPair({ dialled: { onQueued: (link) => void queued.push(link.peer) } });
    const writes: number[] = [];
    const socket = (dialled.link as unknown as { init: { socket: { write(chunk: Uint8Array): boolean } } }).init.socket;
    const write = socket.write.bind(socket);
    socket.write = (chunk) => {
      writes.push(chunk.byteLength);
      return write(chunk);
    };
    dialled.link.send('raft', payload({ n: 1 }));
    dialled.link.send('raft', payload({ n: 2 }));
    assert.deepEqual(writes, [], 'nothing written within the turn');
    assert.deepEqual(queued, ['peer-b'], 'the batch announced once, with its first frame');
    dialled.link.flush();
    assert.equal(writes.length, 1, 'flush() writes the batch now, in one write');
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(writes.length, 1, 'the check phase finds nothing left to write');
    dialled.link.send('raft', payload({ n: 3 }));
    assert.deepEqual(queued, ['peer-b', 'peer-b'], 'the next batch is announced again');
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(writes.length, 2, 'unflushed, a batch leaves at the check phase');
    await until('the frames', () => served.frames.length === 3);
    assert.deepEqual(served.frames.map((f) => (f.message as { n: number }).n), [1, 2, 3]);
  });

  it('take an offer for one handshake only; an unknown identity or a wrong key fails the handshake and is counted', async () => {
    const h = await startServer();
    const offer = h.server.offer('peer-a');
    const first = await dialLink('127.0.0.1', offer, 5_000);
    cleanups.push(() => first.destroy());
    await assert.rejects(dialLink('127.0.0.1', offer, 5_000));
    await assert.rejects(dialLink('127.0.0.1', { ...offer, identity: randomBytes(16).toString('hex') }, 5_000));
    const fresh = h.server.offer('peer-a');
    await assert.rejects(dialLink('127.0.0.1', { ...fresh, psk: new Uint8Array(randomBytes(32)) }, 5_000));
    await until('three handshake failures', () => h.failures.length === 3);
    assert.equal(h.linked.length, 1);
  });

  it('refuse an offer past its time, and replace a peer\'s offer with its next one', async () => {
    const h = await startServer();
    const late = h.server.offer('peer-a');
    h.clock.nowMs += 10_001;
    await assert.rejects(dialLink('127.0.0.1', late, 5_000));
    const replaced = h.server.offer('peer-b');
    const current = h.server.offer('peer-b');
    await assert.rejects(dialLink('127.0.0.1', replaced, 5_000));
    const socket = await dialLink('127.0.0.1', current, 5_000);
    cleanups.push(() => socket.destroy());
    await until('the link', () => h.linked.length === 1);
    assert.equal(h.linked[0]!.peer, 'peer-b');
  });

  it('fail a TLS client without the key, a socket that is not TLS, and one that never finishes its handshake, without a link', async () => {
    const h = await startServer(300);
    const keyless = connect({ host: '127.0.0.1', port: h.server.port, rejectUnauthorized: false });
    keyless.on('error', () => undefined);
    cleanups.push(() => keyless.destroy());
    await until('the keyless client to fail', () => h.failures.length === 1);
    const garbage = netConnect(h.server.port, '127.0.0.1', () => garbage.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n'));
    garbage.on('error', () => undefined);
    cleanups.push(() => garbage.destroy());
    await until('the socket that is not TLS to fail', () => h.failures.length === 2);
    const silent = netConnect(h.server.port, '127.0.0.1');
    silent.on('error', () => undefined);
    cleanups.push(() => silent.destroy());
    let silentClosed = false;
    silent.on('close', () => (silentClosed = true));
    await until('the silent socket to time out', () => h.failures.length === 3);
    assert.equal((h.failures[2] as Error & { code?: string }).code, 'ERR_TLS_HANDSHAKE_TIMEOUT');
    await until('the listener to close the silent socket', () => silentClosed);
    assert.equal(h.linked.length, 0);
  });

  it('carry membership frames apart from election frames, under the membership limits', async () => {
    let gossipTokens = 1;
    const { dialled, served } = await linkedPair();
    (served.link as unknown as { init: PeerLinkInit }).init.membership.admit = () => gossipTokens-- > 0;
    dialled.link.send('membership', payload({ hb: { incarnation: 1 } }));
    dialled.link.send('membership', payload({ hb: { incarnation: 2 } }));
    dialled.link.send('membership', payload({ pad: 'z'.repeat(600) }));
    dialled.link.send('raft', payload({ type: 'APPEND' }));
    await until('every frame handled', () => served.frames.length === 1 && served.gossip.length + served.gossipRejects.length === 3);
    assert.deepEqual(served.gossip, [{ hb: { incarnation: 1 } }]);
    assert.deepEqual(served.gossipRejects, ['rate-limited', 'rate-limited']);
    gossipTokens = 1;
    dialled.link.send('membership', payload({ pad: 'z'.repeat(600) }));
    await until('the oversized heartbeat', () => served.gossipRejects.length === 3);
    assert.equal(served.gossipRejects[2], 'oversized', 'over the membership limit of 512 bytes, under the election one');
    assert.deepEqual(served.rejects, []);
  });

  it('drop an oversized or unparseable frame and one of an unknown protocol, and keep the link', async () => {
    const { dialled, served } = await linkedPair();
    const socket = (dialled.link as unknown as { init: { socket: TLSSocket } }).init.socket;
    const unknown = encodeLinkFrame('raft', payload({ n: 1 }));
    unknown[1] = 7;
    socket.write(Buffer.concat([encodeLinkFrame('raft', new Uint8Array(2048)), encodeLinkFrame('raft', new TextEncoder().encode('{"a":')), unknown, encodeLinkFrame('raft', payload({ after: true }))]));
    await until('the frame after them', () => served.frames.length === 1);
    assert.deepEqual(served.rejects, ['oversized', 'malformed', 'malformed']);
    assert.deepEqual(served.frames, [{ protocol: 'raft', message: { after: true } }]);
    assert.equal(served.link.open, true);
  });

  it('close on a length beyond the hard cap, before buffering it', async () => {
    const { dialled, served } = await linkedPair();
    const socket = (dialled.link as unknown as { init: { socket: TLSSocket } }).init.socket;
    socket.write(encodeLinkFrame('raft', new Uint8Array(1024 * HARD_CAP_FACTOR + 1)).subarray(0, 4));
    await until('the link to close', () => served.closed === 1);
    assert.deepEqual(served.rejects, ['oversized']);
  });

  it('drop frames over the peer\'s rate before parsing them', async () => {
    let tokens = 2;
    const { dialled, served } = await linkedPair({ served: { admit: () => tokens-- > 0 } });
    for (let i = 0; i < 5; i++) dialled.link.send('raft', payload({ i }));
    await until('every frame handled', () => served.frames.length + served.rejects.length === 5);
    assert.deepEqual(served.frames.map((f) => f.message), [{ i: 0 }, { i: 1 }]);
    assert.deepEqual(served.rejects, ['rate-limited', 'rate-limited', 'rate-limited']);
  });

  it('handle a burst a turn at a time: at most framesPerTurn frames before the event loop runs', async () => {
    const { dialled, served } = await linkedPair({ served: { framesPerTurn: 10 } });
    const counts: number[] = [];
    for (let i = 0; i < 35; i++) dialled.link.send('raft', payload({ i }));
    await until('the first frame', () => served.frames.length > 0);
    while (served.frames.length < 35) {
      counts.push(served.frames.length);
      await new Promise((resolve) => setImmediate(resolve));
    }
    assert.ok(counts.every((n) => n % 10 === 0 || n === 35), `frames handled per turn: ${counts.join(', ')}`);
  });

  it('drop frames beyond the bytes a peer that does not read holds, then close the link once it has taken nothing for maxBlockedMs', async () => {
    const clock = { nowMs: 0 };
    const h = await startServer();
    const socket = await dialLink('127.0.0.1', h.server.offer('peer-a'), 5_000);
    await until('the listener to take the link', () => h.linked.length === 1);
    h.linked[0]!.socket.pause();
    const writer = wrap('peer-a', socket, { maxQueuedBytes: 256 * 1024, maxBlockedMs: 1_000, nowMs: () => clock.nowMs, maxFrameBytes: 64 * 1024 });
    const big = new Uint8Array(60 * 1024).fill(0x31);
    for (let round = 0; round < 200 && !writer.dropped.some((d) => d.reason === 'queue-full'); round++) {
      writer.link.send('raft', big);
      await new Promise((resolve) => setImmediate(resolve));
    }
    assert.ok(writer.dropped.some((d) => d.reason === 'queue-full'), 'a frame beyond maxQueuedBytes is dropped');
    assert.equal(writer.closed, 0);
    clock.nowMs += 1_000;
    writer.link.send('raft', payload({ late: true }));
    assert.equal(writer.closed, 1, 'closed once it took nothing for maxBlockedMs');
    assert.equal(writer.link.open, false);
  });
});
