/**
 * Two libp2p nodes in this process on 127.0.0.1: the direct-message round trip on the
 * long-lived per-peer stream (target p50 ~0.4 ms) and gossip publish→receive latency.
 * Options: --round-trips N, --gossips N, --warmup N.
 */
import '../daemon/polyfill.js';
import { generateKeyPair } from '@libp2p/crypto/keys';
import { performance } from 'node:perf_hooks';
import { DEFAULT_PEER_LIMITS, type PeerLimits } from '../daemon/p2p/flood-guard.js';
import { createP2PNode, type P2PNode } from '../daemon/p2p/index.js';
import { parseNumberOptions, percentile } from './stats.js';

const quiet = { debug() {}, info() {}, warn() {}, error() {} };
const UNLIMITED = { ratePerS: 1e9, burst: 1e9 };
const BENCH_LIMITS: PeerLimits = { ...DEFAULT_PEER_LIMITS, frames: UNLIMITED, gossip: UNLIMITED, strikes: UNLIMITED };

export async function run(args: string[]): Promise<void> {
  const opts = parseNumberOptions(args, { roundTrips: 5000, gossips: 1000, warmup: 500 });
  const start = async (bootstrap: string[]) =>
    createP2PNode({
      privateKey: await generateKeyPair('Ed25519'),
      cluster: 'bench',
      protocol: 'raft',
      listen: ['/ip4/127.0.0.1/tcp/0'],
      bootstrap,
      reconnectTimeoutMs: 0,
      mdns: { enabled: false, intervalMs: 1000, idleIntervalMs: 30_000 },
      psk: null,
      maxFrameBytes: 65_536,
      logger: quiet,
      // One message at a time as fast as they go is far above an honest peer's rate: the flood
      // guard would drop them and the bench would wait for ever. Lift its rates, keep the rest.
      peerLimits: BENCH_LIMITS,
    });
  const a = await start([]);
  const b = await start([a.listenAddrs()[0]!]);
  try {
    await until(() => a.connectedPeers().includes(b.peerId));
    console.log(`p2p bench: 2 nodes in one process on 127.0.0.1 (node ${process.version})`);
    await roundTrips(a, b, opts.warmup, opts.roundTrips);
    await gossipLatency(a, b, opts.warmup, opts.gossips);
  } finally {
    await Promise.all([a.stop(), b.stop()]);
  }
}

/** Ping-pong of a small election-sized frame, one at a time, on the long-lived streams. */
async function roundTrips(a: P2PNode, b: P2PNode, warmup: number, count: number): Promise<void> {
  b.onMessage((from, message) => b.send(from, message));
  let resolvePong: (() => void) | null = null;
  a.onMessage(() => resolvePong?.());
  const samplesMs: number[] = [];
  for (let i = 0; i < warmup + count; i++) {
    const t0 = performance.now();
    await new Promise<void>((resolve) => {
      resolvePong = resolve;
      a.send(b.peerId, { type: 'AppendEntries', term: 7, seq: i, entries: [] });
    });
    if (i >= warmup) samplesMs.push(performance.now() - t0);
  }
  print('direct message round trip (send → echo → receive)', samplesMs, 0.4);
}

/** One publish at a time; the receiver is the same process, so one clock times both ends. */
async function gossipLatency(a: P2PNode, b: P2PNode, warmup: number, count: number): Promise<void> {
  let resolveGossip: (() => void) | null = null;
  b.onGossip(() => resolveGossip?.());
  // Subscriptions reach the publisher shortly after connecting; until then publishes reach no one.
  // Payloads are JSON, as heartbeats are: the node decodes every gossip message before delivery.
  const encode = (seq: number) => new TextEncoder().encode(JSON.stringify({ seq, pad: 'x'.repeat(280) })); // about a heartbeat's size
  await until(() => a.stats().gossipBytesSent > 0, () => a.publish(encode(-1)));
  const samplesMs: number[] = [];
  for (let i = 0; i < warmup + count; i++) {
    const t0 = performance.now();
    const payload = encode(i);
    await new Promise<void>((resolve) => {
      resolveGossip = resolve;
      a.publish(payload);
    });
    if (i >= warmup) samplesMs.push(performance.now() - t0);
  }
  print('gossip publish → receive (300-byte JSON payload)', samplesMs);
}

function print(label: string, samplesMs: number[], targetP50Ms?: number): void {
  const f = (v: number) => `${v.toFixed(3)} ms`;
  const p50 = percentile(samplesMs, 50);
  const target = targetP50Ms === undefined ? '' : ` (target ~${targetP50Ms} ms)`;
  console.log(`${label}: n=${samplesMs.length}`);
  console.log(`  p50 ${f(p50)}${target}  p90 ${f(percentile(samplesMs, 90))}  p99 ${f(percentile(samplesMs, 99))}  max ${f(Math.max(...samplesMs))}`);
}

async function until(check: () => boolean, each?: () => void): Promise<void> {
  for (let i = 0; i < 500 && !check(); i++) {
    each?.();
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  if (!check()) throw new Error('p2p bench: nodes did not connect within 10 s');
}
