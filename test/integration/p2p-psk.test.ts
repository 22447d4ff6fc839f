/**
 * Real libp2p nodes on 127.0.0.1 (mDNS off, static bootstrap) with pre-shared keys: a node whose
 * key differs from its peer's, or that has a key its peer lacks, warns that it cannot complete the
 * handshake, names the cause, and never connects; nodes with the same key connect without a word.
 */
import '../../daemon/polyfill.js';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { generateKey } from '@libp2p/pnet';
import { pino } from 'pino';
import { readSwarmKey } from '../../daemon/p2p/index.js';
import { startTestNode, tcpPort, waitFor, type TestNode } from './fixtures/p2p-nodes.js';

const started: TestNode[] = [];
after(async () => {
  await Promise.allSettled(started.map((n) => n.node.stop()));
});

/** A node logging through a real pino logger into memory, as the daemon's p2p child logger would. */
async function node(overrides: Parameters<typeof startTestNode>[0] = {}): Promise<TestNode & { records: Array<Record<string, unknown>> }> {
  const records: Array<Record<string, unknown>> = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString('utf8').split('\n')) if (line) records.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  const t = await startTestNode({ logger: pino({ level: 'debug' }, stream), ...overrides });
  started.push(t);
  return Object.assign(t, { records });
}

const PINO_WARN = 40;
const handshakeWarnings = (t: { records: Array<Record<string, unknown>> }) =>
  t.records.filter((r) => r.level === PINO_WARN && String(r.msg).startsWith('cannot complete the handshake'));

describe('p2p node with a pre-shared key', { timeout: 30_000 }, () => {
  let dir = '';
  let ours: Uint8Array;
  let theirs: Uint8Array;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'conclave-p2p-psk-'));
    const keyFile = (name: string) => {
      const bytes = new Uint8Array(95);
      generateKey(bytes);
      writeFileSync(join(dir, name), bytes);
      return readSwarmKey(join(dir, name));
    };
    ours = await keyFile('ours');
    theirs = await keyFile('theirs');
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('warns, once, that it cannot complete the handshake when the keys differ or only one side has one, and never connects', async () => {
    const keyed = await node({ psk: ours });
    const keyedAddr = keyed.node.listenAddrs()[0]!;
    const open = await node({ psk: null });
    const openAddr = open.node.listenAddrs()[0]!;
    // Every mismatch, dialled both ways where it differs: a timeout there becomes a handshake
    // failure only through the dial's progress events, so each direction is its own case.
    const cases = {
      'a different key': await node({ psk: theirs, bootstrap: [keyedAddr] }),
      'no key, dialling a node with one': await node({ psk: null, bootstrap: [keyedAddr] }),
      'a key, dialling a node without one': await node({ psk: ours, bootstrap: [openAddr] }),
    };
    for (const [what, t] of Object.entries(cases)) await waitFor(`handshake warning from the node with ${what}`, () => handshakeWarnings(t).length > 0, 12_000);

    const expect = [
      [cases['a different key'], keyed, keyedAddr],
      [cases['no key, dialling a node with one'], keyed, keyedAddr],
      [cases['a key, dialling a node without one'], open, openAddr],
    ] as const;
    for (const [dialler, target, addr] of expect) {
      const [warning, ...more] = handshakeWarnings(dialler);
      assert.deepEqual(more, [], 'once a minute per peer, however often it redials');
      const msg = String(warning!.msg);
      assert.ok(msg.includes(`/ip4/127.0.0.1/tcp/${tcpPort(addr)} (peer ${target.node.peerId})`), msg);
      assert.match(msg, /security\.pskFile/);
      assert.match(msg, /\((EncryptionFailedError|UnexpectedEOFError|HandshakeTimeoutError): /, 'names what libp2p raised');
      assert.equal(warning!.peer, target.node.peerId);
      assert.ok(dialler.node.stats().handshakeFailures >= 1);
      assert.deepEqual(dialler.node.connectedPeers(), []);
    }
    assert.deepEqual(keyed.node.connectedPeers(), []);
    assert.deepEqual(open.node.connectedPeers(), []);
  });

  it('connects two nodes with the same key, with no handshake warning', async () => {
    const a = await node({ psk: ours });
    const b = await node({ psk: ours, bootstrap: [a.node.listenAddrs()[0]!] });
    await waitFor('b connects to a', () => a.node.connectedPeers().includes(b.node.peerId) && b.node.connectedPeers().includes(a.node.peerId), 10_000);
    assert.deepEqual(handshakeWarnings(a), []);
    assert.deepEqual(handshakeWarnings(b), []);
    assert.equal(b.node.stats().handshakeFailures, 0);
    assert.equal(a.node.stats().handshakeFailures, 0);
  });
});
