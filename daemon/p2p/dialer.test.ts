import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Dialer, type DialRequest } from './dialer.js';
import type { P2PLogger } from './types.js';

const quiet: P2PLogger = { debug() {}, info() {}, warn() {}, error() {} };

/** A fake network: which peers are connected, which dials succeed, and every dial made. */
function harness(options: { failFirst?: number } = {}) {
  const connected = new Set<string>();
  const dials: DialRequest[] = [];
  let failuresLeft = options.failFirst ?? 0;
  let clockMs = 0;
  const dialer = new Dialer({
    selfId: 'self',
    dial: async (request) => {
      dials.push(request);
      if (failuresLeft > 0) {
        failuresLeft--;
        throw new Error('refused');
      }
      const peer = request.peer ?? 'learned';
      connected.add(peer);
      dialer.peerConnected(peer);
      return peer;
    },
    isConnected: (peer) => connected.has(peer),
    nowMs: () => clockMs,
    random01: () => 0.5,
    backoff: { baseMs: 1, maxMs: 4 },
    logger: quiet,
  });
  const disconnect = (peer: string) => {
    connected.delete(peer);
    dialer.peerDisconnected(peer);
  };
  return { dialer, dials, connected, disconnect, advance: (ms: number) => (clockMs += ms) };
}

async function until(check: () => boolean): Promise<void> {
  for (let i = 0; i < 500 && !check(); i++) await new Promise((resolve) => setTimeout(resolve, 2));
  assert.ok(check(), 'condition not reached');
}

const settle = () => new Promise((resolve) => setTimeout(resolve, 40));

describe('dialer', () => {
  it('dials bootstrap addresses at start and retries failures until one connects, then stops', async () => {
    const h = harness({ failFirst: 3 });
    h.dialer.addBootstrap([{ addr: '/ip4/127.0.0.1/tcp/1/p2p/a', peer: 'a' }]);
    await until(() => h.connected.has('a'));
    assert.equal(h.dials.length, 4);
    await settle();
    assert.equal(h.dials.length, 4, 'no dials while connected');
    h.dialer.stop();
  });

  it('redials a bootstrap address without /p2p/ once the peer it reached disconnects', async () => {
    const h = harness();
    h.dialer.addBootstrap([{ addr: '/ip4/127.0.0.1/tcp/1', peer: null }]);
    await until(() => h.connected.has('learned'));
    h.disconnect('learned');
    await until(() => h.dials.length === 2 && h.connected.has('learned'));
    h.dialer.stop();
  });

  it('keeps members connected, redials after a disconnect, and forgets members removed from the set', async () => {
    const h = harness();
    h.dialer.setMembers([{ id: 'a', addrs: ['/ip4/127.0.0.1/tcp/1'] }, { id: 'self', addrs: [] }]);
    await until(() => h.connected.has('a'));
    assert.deepEqual(h.dials, [{ peer: 'a', addrs: ['/ip4/127.0.0.1/tcp/1'] }], 'self is never dialled');
    h.disconnect('a');
    await until(() => h.dials.length === 2);
    h.dialer.setMembers([]);
    h.disconnect('a');
    await settle();
    assert.equal(h.dials.length, 2, 'a removed member is not redialled');
    h.dialer.stop();
  });

  it('dials a discovered peer, and after a failure waits out the backoff before dialling it again', async () => {
    const h = harness({ failFirst: 1 });
    h.dialer.discovered('a', ['/ip4/127.0.0.1/tcp/1']);
    await until(() => h.dials.length === 1);
    await settle();
    h.dialer.discovered('a', ['/ip4/127.0.0.1/tcp/1']);
    await settle();
    assert.equal(h.dials.length, 1, 'still in backoff on the injected clock');
    h.advance(10);
    h.dialer.discovered('a', ['/ip4/127.0.0.1/tcp/1']);
    await until(() => h.connected.has('a'));
    h.dialer.discovered('a', []);
    await settle();
    assert.equal(h.dials.length, 2, 'a connected peer is not dialled again');
  });

  it('dials nothing after stop', async () => {
    const h = harness({ failFirst: 100 });
    h.dialer.addBootstrap([{ addr: '/ip4/127.0.0.1/tcp/1/p2p/a', peer: 'a' }]);
    await until(() => h.dials.length >= 2);
    h.dialer.stop();
    const count = h.dials.length;
    await settle();
    assert.ok(h.dials.length <= count + 1, 'at most the dial already in flight');
  });
});
