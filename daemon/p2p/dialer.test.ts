import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { HandshakeTimeoutError } from './dial-failure.js';
import { DISCOVERY_RETRIES } from './constants.js';
import { Dialer, type DialRequest } from './dialer.js';
import { REJECT_LOG_WINDOW_MS } from './reject-log.js';
import type { P2PLogger } from './types.js';

interface LogLine {
  level: keyof P2PLogger;
  obj: unknown;
  msg: string | undefined;
}

function recording(lines: LogLine[]): P2PLogger {
  const at = (level: keyof P2PLogger) => (obj: unknown, msg?: string) => void lines.push({ level, obj, msg });
  return { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

/** Shaped like libp2p's: see dial-failure.ts. */
const refused = () => Object.assign(new Error('connection error 127.0.0.1:1: connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' });
const wrongKey = () => Object.assign(new Error('unexpected end of input'), { name: 'EncryptionFailedError' });

/** A fake network: which peers are connected, which dials succeed, and every dial made. */
function harness(options: { failFirst?: number; error?: () => unknown; discoveryDeferMs?: number; reconnectTimeoutMs?: number; backoff?: { baseMs: number; maxMs: number } } = {}) {
  const connected = new Set<string>();
  const dials: DialRequest[] = [];
  const logs: LogLine[] = [];
  let failuresLeft = options.failFirst ?? 0;
  let handshakeFailures = 0;
  let clockMs = 0;
  const refusedUntil = new Map<string, number>();
  let refusalChecks = 0;
  const dialer = new Dialer({
    selfId: 'self',
    dial: async (request) => {
      dials.push(request);
      if (failuresLeft > 0) {
        failuresLeft--;
        throw (options.error ?? refused)();
      }
      const peer = request.peer ?? 'learned';
      connected.add(peer);
      dialer.peerConnected(peer);
      return peer;
    },
    isConnected: (peer) => connected.has(peer),
    nowMs: () => clockMs,
    random01: () => 0.5,
    backoff: options.backoff ?? { baseMs: 1, maxMs: 4 },
    memberBackoff: { baseMs: 1, maxMs: 2 },
    reconnectTimeoutMs: options.reconnectTimeoutMs ?? 0,
    logger: recording(logs),
    onHandshakeFailure: () => void handshakeFailures++,
    refusedUntilMs: (peer) => {
      refusalChecks++;
      return refusedUntil.get(peer) ?? null;
    },
    discoveryDeferMs: options.discoveryDeferMs ?? 20,
  });
  const disconnect = (peer: string) => {
    connected.delete(peer);
    dialer.peerDisconnected(peer);
  };
  return {
    dialer,
    dials,
    connected,
    disconnect,
    logs,
    warnings: () => logs.filter((l) => l.level === 'warn'),
    handshakeFailures: () => handshakeFailures,
    failNext: (count: number) => (failuresLeft = count),
    advance: (ms: number) => (clockMs += ms),
    refuse: (peer: string, untilMs: number) => refusedUntil.set(peer, untilMs),
    refusalChecks: () => refusalChecks,
  };
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
    h.dialer.setMembers([{ id: 'a', addrs: ['/ip4/127.0.0.1/tcp/1'], state: 'alive' }, { id: 'self', addrs: [], state: 'alive' }]);
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

  it('keeps redialling a member forgotten while dead until reconnectTimeoutMs after its death, then lets it go', async () => {
    const h = harness({ reconnectTimeoutMs: 1000 });
    const addrs = ['/ip4/10.0.0.2/tcp/7401'];
    h.dialer.setMembers([{ id: 'a', addrs, state: 'alive' }]);
    await until(() => h.connected.has('a'));
    // A partition: the connection goes, membership declares it dead, then forgets it.
    h.failNext(1_000_000);
    h.disconnect('a');
    h.dialer.setMembers([{ id: 'a', addrs, state: 'dead' }]);
    h.advance(600);
    h.dialer.setMembers([]);
    assert.deepEqual(h.dialer.rememberedMembers(), ['a']);
    const before = h.dials.length;
    await until(() => h.dials.length >= before + 3);
    assert.ok(h.dials.slice(before).every((d) => d.peer === 'a' && d.addrs[0] === addrs[0]), 'redialled at its last addresses');
    // The partition heals: the next redial connects, and membership learns it again.
    h.failNext(0);
    await until(() => h.connected.has('a'));
    h.dialer.setMembers([{ id: 'a', addrs, state: 'alive' }]);
    assert.deepEqual(h.dialer.rememberedMembers(), []);
    // Dead and forgotten again, this time past its reconnectTimeoutMs: let go at the next attempt.
    h.failNext(1_000_000);
    h.disconnect('a');
    h.dialer.setMembers([{ id: 'a', addrs, state: 'dead' }]);
    h.advance(999);
    h.dialer.setMembers([]);
    assert.deepEqual(h.dialer.rememberedMembers(), ['a']);
    h.advance(1);
    await until(() => h.dialer.rememberedMembers().length === 0);
    const after = h.dials.length;
    await settle();
    assert.equal(h.dials.length, after, 'no more dials');
    assert.ok(h.logs.some((l) => l.level === 'info' && /stopped redialling a member dead for discovery.reconnectTimeoutMs/.test(l.msg ?? '')));
    h.dialer.stop();
  });

  it('lets a member go at once when it left (not dead) or when reconnectTimeoutMs is 0', async () => {
    for (const { state, reconnectTimeoutMs } of [
      { state: 'alive' as const, reconnectTimeoutMs: 60_000 },
      { state: 'dead' as const, reconnectTimeoutMs: 0 },
    ]) {
      const h = harness({ reconnectTimeoutMs });
      h.dialer.setMembers([{ id: 'a', addrs: ['/ip4/10.0.0.2/tcp/7401'], state }]);
      await until(() => h.connected.has('a'));
      h.dialer.setMembers([]);
      h.disconnect('a');
      await settle();
      assert.equal(h.dials.length, 1, `${state}, reconnectTimeoutMs ${reconnectTimeoutMs}`);
      assert.deepEqual(h.dialer.rememberedMembers(), []);
      h.dialer.stop();
    }
  });

  it('redials members, dead ones too, on the member backoff, which stays short; bootstrap addresses back off further', async () => {
    const dials: DialRequest[] = [];
    const dialer = new Dialer({
      selfId: 'self',
      dial: async (request) => {
        dials.push(request);
        throw refused();
      },
      isConnected: () => false,
      nowMs: () => 0,
      random01: () => 1,
      backoff: { baseMs: 1, maxMs: 1000 },
      memberBackoff: { baseMs: 1, maxMs: 4 },
      reconnectTimeoutMs: 0,
      logger: recording([]),
    });
    dialer.setMembers([{ id: 'a', addrs: ['/ip4/10.0.0.2/tcp/7401'], state: 'dead' }]);
    dialer.addBootstrap([{ addr: '/ip4/10.0.0.3/tcp/7401/p2p/b', peer: 'b' }]);
    await new Promise((resolve) => setTimeout(resolve, 300));
    dialer.stop();
    const count = (peer: string) => dials.filter((d) => d.peer === peer).length;
    // Bootstrap: 1, 2, 4, … 256 ms apart, about 9 dials in 300 ms; the member every 4 ms at most.
    assert.ok(count('b') <= 12, `bootstrap dials: ${count('b')}`);
    assert.ok(count('a') >= 30, `member dials: ${count('a')}`);
  });

  it('dials a discovered peer, and after a failure dials it again by itself once the backoff ends; a report meanwhile dials nothing', async () => {
    // A backoff of 150 ms: with the usual 1-4 ms the retry could come before the first poll saw one dial (CI, once).
    const h = harness({ failFirst: 1, error: wrongKey, backoff: { baseMs: 100, maxMs: 200 } });
    h.dialer.discovered('a', ['/ip4/127.0.0.1/tcp/1']);
    await until(() => h.dials.length === 1);
    // Reported again during the backoff (on the injected clock, which stands still): no dial.
    h.dialer.discovered('a', ['/ip4/127.0.0.1/tcp/1']);
    assert.equal(h.dials.length, 1, 'still in backoff');
    // No new report: the retry timer dials it (mDNS may not ask again for 30 s).
    await until(() => h.connected.has('a'));
    assert.deepEqual(h.dials.map((d) => d.addrs), [['/ip4/127.0.0.1/tcp/1'], ['/ip4/127.0.0.1/tcp/1']]);
    h.dialer.discovered('a', []);
    await settle();
    assert.equal(h.dials.length, 2, 'a connected peer is not dialled again');
  });

  it(`retries a discovered peer at most ${DISCOVERY_RETRIES} times on its own; a new report starts it again`, async () => {
    const h = harness({ failFirst: 100, error: wrongKey });
    h.dialer.discovered('a', ['/ip4/127.0.0.1/tcp/1']);
    await until(() => h.dials.length === DISCOVERY_RETRIES + 1);
    await settle();
    assert.equal(h.dials.length, DISCOVERY_RETRIES + 1, 'the first dial and its retries, then nothing');
    h.advance(1000);
    h.dialer.discovered('a', ['/ip4/127.0.0.1/tcp/1']);
    await until(() => h.dials.length === DISCOVERY_RETRIES + 2);
    await settle();
    assert.equal(h.dials.length, DISCOVERY_RETRIES + 2, 'one dial for the new report: the retries are spent');
    h.dialer.stop();
  });

  it('does not retry a discovered peer that is unreachable: a false peer list costs one dial per peer', async () => {
    const h = harness({ failFirst: 100 });
    h.dialer.discovered('a', ['/ip4/127.0.0.1/tcp/1']);
    await until(() => h.dials.length === 1);
    await settle();
    await settle();
    assert.equal(h.dials.length, 1, 'refused: no retry');
    h.dialer.stop();
  });

  it('stops retrying a discovered peer once it connects (it dialled us) or the dialer stops', async () => {
    const h = harness({ failFirst: 100, discoveryDeferMs: 10, error: wrongKey });
    h.dialer.discovered('x', []);
    h.dialer.discovered('y', []);
    await until(() => h.dials.length === 2);
    h.connected.add('x');
    h.dialer.peerConnected('x');
    h.dialer.stop();
    await settle();
    assert.deepEqual(h.dials.map((d) => d.peer), ['x', 'y']);
  });

  it('of two peers that discover each other, the smaller id dials at once, the larger only if still unconnected after discoveryDeferMs', async () => {
    const h = harness({ discoveryDeferMs: 150 });
    // 'self' is larger than 'a' and 'b', smaller than 'z'.
    h.dialer.discovered('z', []);
    h.dialer.discovered('a', []);
    h.dialer.discovered('b', []);
    await until(() => h.connected.has('z'));
    assert.deepEqual(h.dials.map((d) => d.peer), ['z'], 'only the larger id is dialled at once');
    // 'a' dials us meanwhile: no dial of ours follows.
    h.connected.add('a');
    h.dialer.peerConnected('a');
    h.dialer.discovered('b', []);
    await until(() => h.connected.has('b'));
    await settle();
    assert.deepEqual(h.dials.map((d) => d.peer), ['z', 'b'], 'the unconnected smaller id is dialled once, after the wait; the connected one never');
    h.dialer.stop();
  });

  it('warns about a failed handshake once a minute per peer, naming the address and the swarm key, and counts every one', async () => {
    const h = harness({ failFirst: 3, error: wrongKey });
    h.dialer.addBootstrap([{ addr: '/ip4/127.0.0.1/tcp/1/p2p/a', peer: 'a' }]);
    await until(() => h.connected.has('a'));
    assert.equal(h.handshakeFailures(), 3);
    assert.equal(h.warnings().length, 1, 'the repeats inside the window stay at debug');
    assert.match(h.warnings()[0]!.msg!, /^cannot complete the handshake with \/ip4\/127\.0\.0\.1\/tcp\/1 \(peer a\): .*EncryptionFailedError.*security\.pskFile/);
    assert.equal(h.logs.filter((l) => l.level === 'debug' && l.msg === 'dial failed').length, 2);

    h.failNext(1);
    h.disconnect('a');
    await until(() => h.connected.has('a'));
    assert.equal(h.warnings().length, 1, 'still inside the minute');
    h.advance(REJECT_LOG_WINDOW_MS);
    h.failNext(1);
    h.disconnect('a');
    await until(() => h.connected.has('a'));
    assert.equal(h.warnings().length, 2, 'warned again once the minute has passed');
    assert.equal(h.handshakeFailures(), 5);
    h.dialer.stop();
  });

  it('warns once for a peer that fails through both its bootstrap address and discovery, naming the address either way', async () => {
    const h = harness({ failFirst: 2, error: wrongKey });
    h.dialer.addBootstrap([{ addr: '/ip4/127.0.0.1/tcp/1/p2p/a', peer: 'a' }]);
    // Reported with no address, as libp2p's peer:discovery does for a peer it learnt by dialling.
    h.dialer.discovered('a', []);
    await until(() => h.connected.has('a'));
    assert.equal(h.handshakeFailures(), 2);
    assert.equal(h.warnings().length, 1);
    assert.match(h.warnings()[0]!.msg!, /^cannot complete the handshake with \/ip4\/127\.0\.0\.1\/tcp\/1 \(peer a\)/);
    h.dialer.stop();
  });

  it('keeps refused and timed-out dials at debug: peers come and go', async () => {
    const errors = [refused(), new DOMException('The operation was aborted due to timeout', 'TimeoutError')];
    const h = harness({ failFirst: 2, error: () => errors.shift() });
    h.dialer.addBootstrap([{ addr: '/ip4/127.0.0.1/tcp/1/p2p/a', peer: 'a' }]);
    await until(() => h.connected.has('a'));
    assert.deepEqual(h.warnings(), []);
    assert.equal(h.handshakeFailures(), 0);
    assert.equal(h.logs.filter((l) => l.level === 'debug' && l.msg === 'dial failed').length, 2);
    h.dialer.stop();
  });

  it('does not warn about dials that fail because the node is stopping', async () => {
    const logs: LogLine[] = [];
    let failDial: (err: unknown) => void = () => undefined;
    let handshakeFailures = 0;
    const dialer = new Dialer({
      selfId: 'self',
      dial: () => new Promise((_, reject) => (failDial = reject)),
      isConnected: () => false,
      nowMs: () => 0,
      random01: () => 0.5,
      reconnectTimeoutMs: 0,
      logger: recording(logs),
      onHandshakeFailure: () => void handshakeFailures++,
    });
    // A larger id than 'self': dialled at once.
    dialer.discovered('z', []);
    dialer.stop();
    // libp2p aborts a dial in flight on stop and reports it as a timeout.
    failDial(new HandshakeTimeoutError(new DOMException('The operation was aborted due to timeout', 'TimeoutError')));
    await settle();
    assert.deepEqual(logs.map((l) => l.level), ['debug']);
    assert.equal(handshakeFailures, 0);
  });

  it('dials no peer in its flood cool-down, member or discovered, and dials it when the cool-down ends without counting failures', async () => {
    const h = harness();
    h.refuse('a', 3);
    h.dialer.setMembers([{ id: 'a', addrs: ['/ip4/127.0.0.1/tcp/1'], state: 'alive' }]);
    h.dialer.discovered('a', []);
    // The clock stands still, so the member target keeps finding 'a' refused and waiting again.
    await until(() => h.refusalChecks() >= 4);
    assert.equal(h.dials.length, 0);
    h.advance(3);
    await until(() => h.connected.has('a'));
    assert.equal(h.dials.length, 1);
    assert.equal(h.logs.filter((l) => l.msg === 'dial failed').length, 0, 'waiting out a cool-down is not a failure');
    h.dialer.stop();
  });

  it('keeps at most maxDialsInFlight dials in flight, starts the waiting ones in order as dials end, and skips one whose peer connected meanwhile', async () => {
    const connected = new Set<string>();
    const pending = new Map<string, { resolve: (peer: string) => void; reject: (err: unknown) => void }>();
    const started: string[] = [];
    const dialer = new Dialer({
      selfId: 'a',
      dial: (request) =>
        new Promise<string>((resolve, reject) => {
          started.push(request.peer!);
          pending.set(request.peer!, { resolve, reject });
        }),
      isConnected: (peer) => connected.has(peer),
      nowMs: () => 0,
      random01: () => 0.5,
      reconnectTimeoutMs: 0,
      logger: recording([]),
      maxDialsInFlight: 2,
    });
    // Every peer is larger than 'a': all are dialled at once on discovery, but two at a time.
    for (const peer of ['p1', 'p2', 'p3', 'p4', 'p5']) dialer.discovered(peer, []);
    await settle();
    assert.deepEqual(started, ['p1', 'p2']);
    // p3 dials us while it waits: its turn passes to p4 without a dial.
    connected.add('p3');
    dialer.peerConnected('p3');
    pending.get('p1')!.resolve('p1');
    await until(() => started.length === 3);
    await settle();
    assert.deepEqual(started, ['p1', 'p2', 'p4'], 'p3 is connected: skipped, and p4 takes the slot');
    // A failed dial frees its slot too.
    pending.get('p2')!.reject(refused());
    await until(() => started.length === 4);
    assert.deepEqual(started, ['p1', 'p2', 'p4', 'p5']);
    await settle();
    assert.equal(started.length, 4, 'two in flight: p4 and p5');
    dialer.stop();
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
