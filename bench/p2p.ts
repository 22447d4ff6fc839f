/**
 * Two libp2p nodes in this process on 127.0.0.1: the direct-message round trip on the
 * long-lived per-peer stream (target p50 ~0.4 ms) and gossip publish→receive latency.
 * Beside the round trip, in the same run, the same job without libp2p: one TCP connection, each
 * JSON frame behind a length prefix and sealed with Node's own ChaCha20-Poly1305 (what Noise's
 * transport messages use), as the floor a message costs in this runtime. The CPU per round trip
 * (both ends, this process) and its ratio to the floor say what the transport stack costs.
 * Options: --round-trips N, --gossips N, --warmup N.
 */
import '../daemon/polyfill.js';
import { generateKeyPair } from '@libp2p/crypto/keys';
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { createServer, connect, type AddressInfo, type Socket } from 'node:net';
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
    const stackCpuUs = await roundTrips(a, b, opts.warmup, opts.roundTrips);
    const floorCpuUs = await rawRoundTrips(opts.warmup, opts.roundTrips);
    console.log(`  CPU per round trip, libp2p stack / raw TCP with ChaCha20-Poly1305: ${(stackCpuUs / floorCpuUs).toFixed(2)}×`);
    await gossipLatency(a, b, opts.warmup, opts.gossips);
  } finally {
    await Promise.all([a.stop(), b.stop()]);
  }
}

/** The frame both round trips carry: an election-sized message. */
const pingOf = (seq: number) => ({ type: 'AppendEntries', term: 7, seq, entries: [] });

/**
 * `warmup + count` pings, one at a time. `start` wires the transport: it calls `pong` when an echo
 * is back and returns how to send ping i. The latency of each counted ping, and their CPU.
 */
async function pingPong(warmup: number, count: number, start: (pong: () => void) => (i: number) => void): Promise<{ samplesMs: number[]; cpu: NodeJS.CpuUsage }> {
  let resolvePong: (() => void) | null = null;
  const send = start(() => resolvePong?.());
  const samplesMs: number[] = [];
  let cpu = process.cpuUsage();
  for (let i = 0; i < warmup + count; i++) {
    if (i === warmup) cpu = process.cpuUsage();
    const t0 = performance.now();
    await new Promise<void>((resolve) => {
      resolvePong = resolve;
      send(i);
    });
    if (i >= warmup) samplesMs.push(performance.now() - t0);
  }
  return { samplesMs, cpu: process.cpuUsage(cpu) };
}

/** Ping-pong of a small election-sized frame, one at a time, on the long-lived streams; µs of CPU per round trip. */
async function roundTrips(a: P2PNode, b: P2PNode, warmup: number, count: number): Promise<number> {
  b.onMessage((from, message) => b.send(from, message));
  const { samplesMs, cpu } = await pingPong(warmup, count, (pong) => {
    a.onMessage(pong);
    return (i) => a.send(b.peerId, pingOf(i));
  });
  return print('direct message round trip (send → echo → receive)', samplesMs, 0.4, cpu);
}

/**
 * The same ping-pong without libp2p: one TCP connection on 127.0.0.1 (no Nagle), each frame JSON
 * behind a 2-byte length and sealed with ChaCha20-Poly1305 (node:crypto, a 12-byte counter
 * nonce and a 16-byte tag, as Noise's transport messages), opened and parsed at the other end.
 * µs of CPU per round trip.
 */
async function rawRoundTrips(warmup: number, count: number): Promise<number> {
  const key = randomBytes(32);
  const nonce = (n: number) => {
    const iv = Buffer.alloc(12);
    iv.writeUInt32LE(n, 4);
    return iv;
  };
  // One sealing counter per direction, as each Noise session keeps one per direction.
  const sealer = () => {
    let n = 0;
    return (message: unknown): Buffer => {
      const cipher = createCipheriv('chacha20-poly1305', key, nonce(n++), { authTagLength: 16 });
      const sealed = Buffer.concat([cipher.update(JSON.stringify(message), 'utf8'), cipher.final(), cipher.getAuthTag()]);
      const header = Buffer.alloc(2);
      header.writeUInt16BE(sealed.length);
      return Buffer.concat([header, sealed]);
    };
  };
  const reader = (socket: Socket, onMessage: (message: unknown) => void) => {
    let n = 0;
    let buffered: Buffer = Buffer.alloc(0);
    socket.on('data', (data: Buffer) => {
      buffered = buffered.length > 0 ? Buffer.concat([buffered, data]) : data;
      while (buffered.length >= 2 && buffered.length >= 2 + buffered.readUInt16BE(0)) {
        const sealed = buffered.subarray(2, 2 + buffered.readUInt16BE(0));
        buffered = buffered.subarray(2 + sealed.length);
        const decipher = createDecipheriv('chacha20-poly1305', key, nonce(n++), { authTagLength: 16 });
        decipher.setAuthTag(sealed.subarray(sealed.length - 16));
        onMessage(JSON.parse(Buffer.concat([decipher.update(sealed.subarray(0, sealed.length - 16)), decipher.final()]).toString('utf8')));
      }
    });
  };
  const server = createServer((socket) => {
    socket.setNoDelay(true);
    const seal = sealer();
    reader(socket, (message) => socket.write(seal(message)));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const client = connect((server.address() as AddressInfo).port, '127.0.0.1');
  client.setNoDelay(true);
  await new Promise<void>((resolve) => client.once('connect', resolve));
  try {
    const seal = sealer();
    const { samplesMs, cpu } = await pingPong(warmup, count, (pong) => {
      reader(client, pong);
      return (i) => client.write(seal(pingOf(i)));
    });
    return print('the same without libp2p: raw TCP, ChaCha20-Poly1305 (node:crypto)', samplesMs, undefined, cpu);
  } finally {
    client.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
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

/** Prints the latency figures, and with `cpu` (process.cpuUsage over the samples) the CPU per sample; returns that in µs (NaN without). */
function print(label: string, samplesMs: number[], targetP50Ms?: number, cpu?: NodeJS.CpuUsage): number {
  const f = (v: number) => `${v.toFixed(3)} ms`;
  const p50 = percentile(samplesMs, 50);
  const target = targetP50Ms === undefined ? '' : ` (target ~${targetP50Ms} ms)`;
  const cpuUs = cpu ? (cpu.user + cpu.system) / samplesMs.length : Number.NaN;
  console.log(`${label}: n=${samplesMs.length}`);
  console.log(`  p50 ${f(p50)}${target}  p90 ${f(percentile(samplesMs, 90))}  p99 ${f(percentile(samplesMs, 99))}  max ${f(Math.max(...samplesMs))}${cpu ? `  CPU ${cpuUs.toFixed(0)} µs each (both ends)` : ''}`);
  return cpuUs;
}

async function until(check: () => boolean, each?: () => void): Promise<void> {
  for (let i = 0; i < 500 && !check(); i++) {
    each?.();
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  if (!check()) throw new Error('p2p bench: nodes did not connect within 10 s');
}
