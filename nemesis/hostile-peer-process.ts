/**
 * The hostile peer's node, in its own process (see hostile-peer.ts): `node hostile-peer-process.js
 * <HostileChildInit JSON>`. Prints `ready`, then one JSON line per reply and connection event;
 * reads one HostileRequest per line on stdin and exits when stdin ends (its parent is gone).
 * Transports, encryption, muxer and both stream protocols are the daemon's (daemon/p2p/node.ts,
 * names.ts, peer-exchange.ts); everything it sends is whatever the test asked for.
 */
import '../daemon/polyfill.js';
import { noise } from '@chainsafe/libp2p-noise';
import { yamux } from '@chainsafe/libp2p-yamux';
import { identify } from '@libp2p/identify';
import type { PeerId, Stream } from '@libp2p/interface';
import { peerIdFromString } from '@libp2p/peer-id';
import { tcp } from '@libp2p/tcp';
import { multiaddr } from '@multiformats/multiaddr';
import * as lp from 'it-length-prefixed';
import { pushable, type Pushable } from 'it-pushable';
import { createLibp2p } from 'libp2p';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { MAX_DIRECT_STREAMS, OPEN_STREAM_TIMEOUT_MS } from '../daemon/p2p/constants.js';
import { directProtocolId, membershipProtocolId } from '../daemon/p2p/names.js';
import { heartbeatFrame } from '../daemon/p2p/peer-exchange.js';
import { forgeHeartbeat, type ForgedHeartbeat, type HostileChildInit, type HostileLine, type HostileRequest, type HostileStats } from './hostile-peer.js';

/** A daemon that does not speak this cluster's membership protocol within this long is not a Conclave daemon of this cluster. */
const IDENTIFY_TIMEOUT_MS = 10_000;
/** Frames per write in a flood: one stream write per block keeps 10k+ frames a second cheap. */
const FLOOD_BLOCK_FRAMES = 64;

const init = JSON.parse(process.argv[2] ?? '{}') as HostileChildInit;
const membershipProtocol = membershipProtocolId(init.cluster);
const protocolId = directProtocolId(init.cluster, init.protocol);
const encoder = new TextEncoder();
const print = (line: HostileLine) => process.stdout.write(`${JSON.stringify(line)}\n`);

const libp2p = await createLibp2p({
  addresses: { listen: [`/ip4/${init.host}/tcp/0`] },
  transports: [tcp()],
  connectionEncrypters: [noise()],
  streamMuxers: [yamux()],
  // Never close a connection on our own (libp2p aborts one whose ping times out): a connection
  // that closes was closed by the daemon, which is what floods are checked for.
  connectionMonitor: { enabled: false },
  services: {
    identify: identify(),
  },
});

const selfId = libp2p.peerId.toString();
const bornS = Math.floor(Date.now() / 1000);
const stats: Omit<HostileStats, 'connected'> = { heartbeatsPublished: 0, framesReceived: {}, streamsHeld: 0 };
/** Streams taken and never read: referenced so they stay open. */
const held: Stream[] = [];

libp2p.addEventListener('peer:connect', (evt) => print({ type: 'connection', peer: evt.detail.toString(), event: 'open', atMs: Date.now() }));
libp2p.addEventListener('peer:disconnect', (evt) => print({ type: 'connection', peer: evt.detail.toString(), event: 'closed', atMs: Date.now() }));

await libp2p.handle(
  protocolId,
  ({ stream }) => {
    if (init.stall) {
      held.push(stream);
      stats.streamsHeld = held.length;
      return;
    }
    void readFrames(stream);
  },
  { maxInboundStreams: MAX_DIRECT_STREAMS, maxOutboundStreams: MAX_DIRECT_STREAMS },
);
// Speaking the membership protocol makes daemons count this peer as one of the cluster: they
// send it their heartbeats (read and counted like election frames) and take its own.
await libp2p.handle(membershipProtocol, ({ stream }) => void readFrames(stream), { maxInboundStreams: MAX_DIRECT_STREAMS, maxOutboundStreams: MAX_DIRECT_STREAMS });
await libp2p.start();
const addrs = libp2p.getMultiaddrs().map(String);

async function readFrames(stream: Stream): Promise<void> {
  try {
    for await (const chunk of lp.decode(stream.source)) {
      let type = 'unparsable';
      try {
        const message = JSON.parse(new TextDecoder().decode(chunk.subarray())) as { type?: unknown } | null;
        type = typeof message?.type === 'string' ? message.type : 'untyped';
      } catch {
        // counted as unparsable
      }
      stats.framesReceived[type] = (stats.framesReceived[type] ?? 0) + 1;
    }
  } catch {
    // a reset stream is the daemon's business
  }
}

async function dial(addr: string): Promise<string> {
  const connection = await libp2p.dial(multiaddr(addr), { signal: AbortSignal.timeout(OPEN_STREAM_TIMEOUT_MS) });
  const peer = connection.remotePeer;
  const deadline = Date.now() + IDENTIFY_TIMEOUT_MS;
  while (!(await speaksMembership(peer))) {
    if (Date.now() > deadline) throw new Error(`${peer.toString()} did not identify as speaking ${membershipProtocol} within ${IDENTIFY_TIMEOUT_MS} ms`);
    await sleep(20);
  }
  dialled.add(peer.toString());
  return peer.toString();
}

async function speaksMembership(peer: PeerId): Promise<boolean> {
  try {
    return (await libp2p.peerStore.get(peer)).protocols.includes(membershipProtocol);
  } catch {
    return false;
  }
}

/** Daemons dialled: heartbeats go to each on its membership stream, as a daemon sends its own. */
const dialled = new Set<string>();
const beatQueues = new Map<string, Pushable<Uint8Array>>();

/** One long-lived membership stream per daemon, written frame by frame. */
function beatTo(to: string, frame: Uint8Array): void {
  let queue = beatQueues.get(to);
  if (!queue) {
    const frames = pushable<Uint8Array>();
    queue = frames;
    beatQueues.set(to, frames);
    libp2p
      .dialProtocol(peerIdFromString(to), membershipProtocol, { signal: AbortSignal.timeout(OPEN_STREAM_TIMEOUT_MS), maxOutboundStreams: MAX_DIRECT_STREAMS })
      .then((stream) => stream.sink(lp.encode(frames)))
      .catch(() => beatQueues.delete(to));
  }
  queue.push(frame);
}

let heartbeatTimer: NodeJS.Timeout | null = null;
/** Settles the running schedule's request when it is replaced or stopped early. */
let endSchedule: () => void = () => undefined;
let seq = 0;

/** Replaces the heartbeat schedule; resolves after the first beat, or the last of `count`. */
async function heartbeats(forged: ForgedHeartbeat | null, intervalMs: number, count: number | null): Promise<void> {
  if (heartbeatTimer) clearInterval(heartbeatTimer);
  heartbeatTimer = null;
  endSchedule();
  if (forged === null) return;
  let left = count ?? Infinity;
  const beat = () => {
    const heartbeat = forgeHeartbeat({ cluster: init.cluster, id: selfId, addrs, bornS }, forged, ++seq);
    const frame = heartbeatFrame(encoder.encode(JSON.stringify(heartbeat)));
    for (const to of dialled) beatTo(to, frame);
    stats.heartbeatsPublished++;
    left--;
  };
  beat();
  if (left <= 0) return;
  await new Promise<void>((resolve) => {
    endSchedule = resolve;
    heartbeatTimer = setInterval(() => {
      beat();
      if (left <= 0) {
        clearInterval(heartbeatTimer!);
        heartbeatTimer = null;
        resolve();
      }
    }, intervalMs);
    if (count === null) resolve();
  });
}

function openStream(to: string): Promise<Stream> {
  return libp2p.dialProtocol(peerIdFromString(to), protocolId, { signal: AbortSignal.timeout(OPEN_STREAM_TIMEOUT_MS), maxOutboundStreams: MAX_DIRECT_STREAMS });
}

function encodeFrame(frame: unknown): Uint8Array {
  return encoder.encode(JSON.stringify(frame));
}

async function send(to: string, frames: unknown[]): Promise<void> {
  const stream = await openStream(to);
  await stream.sink(lp.encode(frames.map(encodeFrame)));
  await stream.close().catch(() => undefined);
}

async function flood(request: Extract<HostileRequest, { op: 'flood' }>): Promise<unknown> {
  const { to, frames, durationMs } = request;
  const maxFrames = request.maxFrames ?? Infinity;
  // One block cycles through every template; a flood writes whole blocks.
  const encoded = frames.map((f) => lp.encode.single(encodeFrame(f)).subarray());
  const blockFrames = Math.max(FLOOD_BLOCK_FRAMES, encoded.length);
  const block = Buffer.concat(Array.from({ length: blockFrames }, (_, i) => encoded[i % encoded.length]!));
  const stream = await openStream(to);
  const startedMs = performance.now();
  let sent = 0;
  let lastBlockMs = startedMs;
  let ended: 'time' | 'count' | 'error' = 'time';
  let error: string | null = null;
  async function* blocks(): AsyncGenerator<Uint8Array> {
    for (;;) {
      const elapsedMs = performance.now() - startedMs;
      if (elapsedMs >= durationMs) return;
      if (sent + blockFrames > maxFrames) {
        ended = 'count';
        return;
      }
      if (request.ratePerS !== null) {
        const dueMs = (sent / request.ratePerS) * 1000;
        if (dueMs > elapsedMs) await sleep(Math.min(dueMs - elapsedMs, durationMs - elapsedMs));
      }
      sent += blockFrames;
      lastBlockMs = performance.now();
      yield block;
    }
  }
  try {
    await stream.sink(blocks());
    await stream.close().catch(() => undefined);
  } catch (err) {
    ended = 'error';
    error = (err as Error | null)?.name ?? 'Error';
  }
  // The pace while frames were handed over: from the first block to the last, so the time a reset
  // takes to surface after the last block (the leader cut us off) does not dilute it.
  const handingMs = lastBlockMs - startedMs;
  const ratePerS = sent > blockFrames && handingMs > 0 ? Math.round(((sent - blockFrames) * 1000) / handingMs) : 0;
  return { sent, elapsedMs: Math.round(performance.now() - startedMs), ratePerS, ended, error };
}

async function handle(request: HostileRequest): Promise<unknown> {
  switch (request.op) {
    case 'dial':
      return await dial(request.addr);
    case 'heartbeats':
      return await heartbeats(request.forged, request.intervalMs, request.count);
    case 'send':
      return await send(request.to, request.frames);
    case 'flood':
      return await flood(request);
    case 'stats':
      return { ...stats, framesReceived: { ...stats.framesReceived }, connected: libp2p.getPeers().map(String) } satisfies HostileStats;
    case 'close':
      return null;
  }
}

let closing = false;
async function shutdown(): Promise<never> {
  if (!closing) {
    closing = true;
    if (heartbeatTimer) clearInterval(heartbeatTimer);
    await Promise.race([libp2p.stop(), sleep(1000)]).catch(() => undefined);
  }
  process.exit(0);
}

createInterface({ input: process.stdin })
  .on('line', (text) => {
    const request = JSON.parse(text) as HostileRequest;
    handle(request).then(
      (value) => {
        print({ type: 'reply', id: request.id, ok: true, value: value ?? null });
        if (request.op === 'close') void shutdown();
      },
      (err: unknown) => print({ type: 'reply', id: request.id, ok: false, error: `${(err as Error).name}: ${(err as Error).message}` }),
    );
  })
  .on('close', () => void shutdown());

print({ type: 'ready', id: selfId, addrs });
