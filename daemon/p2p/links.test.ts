import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import type { LinkOffer } from './link-frames.js';
import { quietLogger, recordingLink, until } from './link-testing.js';
import { Links, type LinksInit } from './links.js';

const stops: Array<() => void> = [];
afterEach(() => {
  for (const stop of stops.splice(0)) stop();
});

interface Side {
  links: Links;
  connected: boolean;
  offersAsked: number;
  dialFailures: unknown[];
}

function side(selfId: string, fetchOffer: (side: Side) => Promise<{ host: string; offer: LinkOffer } | null>): Side {
  const s = { connected: true, offersAsked: 0, dialFailures: [] } as unknown as Side;
  const init: LinksInit = {
    selfId,
    server: { host: '127.0.0.1', port: 0, offerTtlMs: 10_000, handshakeTimeoutMs: 5_000, maxOffers: 8, maxSockets: 16, nowMs: () => performance.now(), onHandshakeFailure: () => undefined },
    fetchOffer: () => {
      s.offersAsked++;
      return fetchOffer(s);
    },
    makeLink: (peer, socket, onClosed) => recordingLink(peer, socket, { onClosed }).link,
    isConnected: () => s.connected,
    dialTimeoutMs: 5_000,
    retryBackoff: { baseMs: 20, maxMs: 40 },
    random01: () => 0.5,
    schedule: (fn, ms) => {
      const timer = setTimeout(fn, ms);
      return () => clearTimeout(timer);
    },
    onDialFailure: (_peer, err) => void s.dialFailures.push(err),
    logger: quietLogger,
  };
  s.links = new Links(init);
  stops.push(() => s.links.stop());
  return s;
}

/** `a` (the smaller id, which dials) and `b`, whose offers `a` gets as if over libp2p. */
async function pairOfSides(): Promise<{ a: Side; b: Side }> {
  const b = side('b', async () => null);
  await b.links.listen();
  const a = side('a', async () => ({ host: '127.0.0.1', offer: b.links.offer('a') }));
  await a.links.listen();
  return { a, b };
}

describe('links between two peers', () => {
  it('are dialled by the smaller id only, and make one link seen at both ends', async () => {
    const { a, b } = await pairOfSides();
    b.links.connected('a');
    a.links.connected('b');
    await until('the link at both ends', () => a.links.get('b')?.open === true && b.links.get('a')?.open === true);
    assert.equal(b.offersAsked, 0, 'the larger id never asks');
    assert.equal(a.offersAsked, 1);
  });

  it('are asked for again after a backoff when one closes while the peers stay connected', async () => {
    const { a, b } = await pairOfSides();
    a.links.connected('b');
    await until('the link', () => a.links.size === 1 && b.links.size === 1);
    a.links.close('b');
    assert.equal(a.links.get('b'), undefined, 'frames go on the libp2p stream from now on');
    await until('a second link', () => a.links.get('b')?.open === true && b.links.get('a')?.open === true);
    assert.equal(a.offersAsked, 2);
  });

  it('are not asked for again once the peers disconnect', async () => {
    const { a, b } = await pairOfSides();
    a.links.connected('b');
    await until('the link', () => a.links.size === 1 && b.links.size === 1);
    a.connected = false;
    a.links.disconnected('b');
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.equal(a.links.size, 0);
    assert.equal(a.offersAsked, 1);
  });

  it('are not asked of a peer that speaks no link protocol until it reconnects; a failed dial is reported and retried', async () => {
    let answer: 'none' | 'fail' = 'none';
    const a = side('a', async () => {
      if (answer === 'none') return null;
      throw new Error('the peer is unreachable');
    });
    a.links.connected('b');
    await until('the offer asked', () => a.offersAsked === 1);
    a.links.connected('b');
    await new Promise((resolve) => setTimeout(resolve, 60));
    assert.equal(a.offersAsked, 1, 'not asked again while connected');
    a.links.disconnected('b');
    answer = 'fail';
    a.links.connected('b');
    await until('retries after failures', () => a.offersAsked >= 3);
    assert.ok(a.dialFailures.length >= 2);
    assert.equal(a.links.size, 0);
  });
});
