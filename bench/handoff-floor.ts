/**
 * The floor of the Raft SIGTERM hand-off on this host: the chain of messages and writes the
 * daemons' hand-off is made of (protocols/raft/leader.ts handOver), run by five bare processes
 * that do nothing else, over two transports:
 *   - `bare`: Node's own TCP, one JSON object a line: what any Node program pays at least;
 *   - `p2p`: Conclave's p2p layer on its libp2p streams only (libp2p TCP, Noise, yamux, one
 *     long-lived stream per peer), what the daemons send on when no direct link is up;
 *   - `link`: the same layer with its direct links (daemon/p2p/link.ts: a TLS socket per peer),
 *     the transport the daemons send on.
 * The daemons' own-record figure minus the `link` one is what the daemon adds above its transport
 * (decoding and validation, the host core, the log store's turns, events and logs); `link` minus
 * `bare` is what the transport adds above Node.
 *
 * Per trial: process 0, the stopping leader, sends process 1 (its successor) TIMEOUT_NOW and
 * processes 2–4 TRANSFER_VOTE. Each of the four writes a 150-byte record to its own file opened
 * O_DSYNC, as the log store's segments are, and each voter then sends its grant to process 1.
 * Process 1, once its own record is written and two grants are in, sends an append to the four
 * others. Processes 2–4 stamp the moment the append arrives (they name the new leader) on the
 * host's monotonic clock, which every process shares. A trial lasts from process 0's send to the
 * last of the three stamps: the same span as the daemons' "own records" figure (failover.ts). The
 * processes run on bin/conclave's Node binary and flags, `GAP_MS` apart, and the
 * first `WARMUP_TRIALS` (streams opening, code compiled for the first time) are not counted.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { mkdtempSync, openSync, rmSync, writeSync, closeSync, constants } from 'node:fs';
import { createServer, connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { launcherFlags, launcherRuntime, sleep } from '../test/support/local-cluster.js';

export type FloorTransport = 'bare' | 'p2p' | 'link';

const SIZE = 5;
const SUCCESSOR = 1;
const VOTERS = [2, 3, 4];
const GRANTS_NEEDED = 2;
const GAP_MS = 500;
/** Process 0 sends the others a heartbeat this often, trials or not, and each answers: the daemons' idle traffic (raft heartbeatIntervalMs at the lan preset). */
const HEARTBEAT_MS = 100;
const WARMUP_TRIALS = 3;
const RECORD = Buffer.alloc(150, 0x2a);
/** argv[2] of a forked process of this module. */
const CHILD = '--handoff-floor-child';
/** How long the five may take to start and connect, and a trial to end. */
const SETUP_TIMEOUT_MS = 30_000;
const TRIAL_TIMEOUT_MS = 5_000;

type Frame = { t: 'TIMEOUT_NOW' | 'TRANSFER_VOTE' | 'GRANT' | 'APPEND' | 'HEARTBEAT' | 'HEARTBEAT_RESPONSE'; trial: number };
type ToChild = { type: 'peers'; peers: PeerAddress[] } | { type: 'go'; trial: number } | { type: 'stop' };
type FromChild = { type: 'listening'; address: PeerAddress } | { type: 'ready' } | { type: 'sent'; trial: number; atMs: number } | { type: 'named'; trial: number; atMs: number };
interface PeerAddress {
  index: number;
  /** bare: the TCP port on 127.0.0.1; p2p: the multiaddr. */
  addr: string;
  /** p2p: the peer id. */
  id: string;
}

/** ms on the monotonic clock every process on this host shares. */
const monotonicMs = () => Number(process.hrtime.bigint()) / 1e6;

/** Runs `trials` counted hand-offs of the chain over `transport`; ms per trial. */
export async function handOffFloor(transport: FloorTransport, trials: number): Promise<number[]> {
  const dir = mkdtempSync(join(tmpdir(), 'conclave-floor-'));
  const self = fileURLToPath(import.meta.url);
  const children: ChildProcess[] = [];
  try {
    for (let i = 0; i < SIZE; i++) children.push(fork(self, [CHILD, transport, String(i), dir], { execPath: launcherRuntime(), execArgv: launcherFlags(), stdio: ['ignore', 'inherit', 'inherit', 'ipc'] }));
    const inbox = new Inbox(children);
    const addresses = await Promise.all(children.map((_, i) => inbox.next(i, 'listening', SETUP_TIMEOUT_MS)));
    for (const child of children) send(child, { type: 'peers', peers: addresses.map((m) => m.address) });
    await Promise.all(children.map((_, i) => inbox.next(i, 'ready', SETUP_TIMEOUT_MS)));
    const times: number[] = [];
    for (let trial = 0; trial < WARMUP_TRIALS + trials; trial++) {
      await sleep(GAP_MS);
      send(children[0]!, { type: 'go', trial });
      const sent = await inbox.next(0, 'sent', TRIAL_TIMEOUT_MS);
      const named = await Promise.all(VOTERS.map((i) => inbox.next(i, 'named', TRIAL_TIMEOUT_MS)));
      if (sent.trial !== trial || named.some((m) => m.trial !== trial)) throw new Error(`hand-off floor (${transport}): trial ${trial} got the stamps of another trial`);
      if (trial >= WARMUP_TRIALS) times.push(Math.max(...named.map((m) => m.atMs)) - sent.atMs);
    }
    return times;
  } finally {
    for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
}

function send(child: ChildProcess, message: ToChild): void {
  child.send(message);
}

/** Each child's IPC messages in order, taken one at a time by type. */
class Inbox {
  private readonly queues: FromChild[][];
  private readonly waiters: Array<(() => void) | null>;
  private readonly exited: Array<string | null>;

  constructor(children: ChildProcess[]) {
    this.queues = children.map(() => []);
    this.waiters = children.map(() => null);
    this.exited = children.map(() => null);
    children.forEach((child, i) => {
      child.on('message', (m: FromChild) => {
        this.queues[i]!.push(m);
        this.waiters[i]?.();
      });
      child.on('exit', (code, signal) => {
        this.exited[i] = `exited (${signal ?? code})`;
        this.waiters[i]?.();
      });
    });
  }

  async next<T extends FromChild['type']>(i: number, type: T, timeoutMs: number): Promise<Extract<FromChild, { type: T }>> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const queue = this.queues[i]!;
      const at = queue.findIndex((m) => m.type === type);
      if (at >= 0) return queue.splice(at, 1)[0] as Extract<FromChild, { type: T }>;
      if (this.exited[i]) throw new Error(`hand-off floor: process ${i} ${this.exited[i]} before sending '${type}'`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`hand-off floor: process ${i} sent no '${type}' within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters[i] = () => {
          clearTimeout(timer);
          this.waiters[i] = null;
          resolve();
        };
      });
    }
  }
}

// ---- one of the five processes ----

/** How a process sends to and hears from the other four. */
interface Transport {
  address(): PeerAddress;
  connect(peers: PeerAddress[]): Promise<void>;
  send(to: number, frame: Frame): void;
  onFrame(handler: (from: number, frame: Frame) => void): void;
}

async function child(transport: FloorTransport, index: number, dir: string): Promise<void> {
  const net = transport === 'bare' ? await bareTransport(index) : await p2pTransport(index, transport === 'link');
  const fd = openSync(join(dir, `record-${index}`), constants.O_WRONLY | constants.O_CREAT | constants.O_DSYNC, 0o600);
  let position = 0;
  const write = () => {
    writeSync(fd, RECORD, 0, RECORD.length, position);
    position += RECORD.length;
  };
  const report = (m: FromChild) => process.send!(m);
  // The successor's trial: its own record written, and the grants counted.
  let current = -1;
  let written = false;
  let grants = 0;
  const enter = (trial: number) => {
    if (trial === current) return;
    current = trial;
    written = false;
    grants = 0;
  };
  const maybeLead = (trial: number) => {
    if (!written || grants !== GRANTS_NEEDED) return;
    for (let to = 0; to < SIZE; to++) if (to !== index) net.send(to, { t: 'APPEND', trial });
  };
  net.onFrame((_from, frame) => {
    switch (frame.t) {
      case 'TIMEOUT_NOW':
        enter(frame.trial);
        write();
        written = true;
        maybeLead(frame.trial);
        return;
      case 'TRANSFER_VOTE':
        write();
        net.send(SUCCESSOR, { t: 'GRANT', trial: frame.trial });
        return;
      case 'GRANT':
        enter(frame.trial);
        grants++;
        maybeLead(frame.trial);
        return;
      case 'APPEND':
        if (index !== 0) report({ type: 'named', trial: frame.trial, atMs: monotonicMs() });
        write();
        return;
      case 'HEARTBEAT':
        net.send(0, { t: 'HEARTBEAT_RESPONSE', trial: frame.trial });
        return;
      case 'HEARTBEAT_RESPONSE':
        return;
    }
  });
  process.on('message', (m: ToChild) => {
    if (m.type === 'peers') {
      net.connect(m.peers.filter((p) => p.index !== index)).then(
        () => {
          // Process 0 leads: a heartbeat round every HEARTBEAT_MS, as the daemons' leader sends.
          if (index === 0) setInterval(() => {
            for (let to = 1; to < SIZE; to++) net.send(to, { t: 'HEARTBEAT', trial: -1 });
          }, HEARTBEAT_MS);
          report({ type: 'ready' });
        },
        (err: unknown) => {
          process.stderr.write(`hand-off floor: process ${index} could not connect: ${String(err)}\n`);
          process.exit(1);
        },
      );
    } else if (m.type === 'go') {
      report({ type: 'sent', trial: m.trial, atMs: monotonicMs() });
      net.send(SUCCESSOR, { t: 'TIMEOUT_NOW', trial: m.trial });
      for (const to of VOTERS) net.send(to, { t: 'TRANSFER_VOTE', trial: m.trial });
    } else {
      closeSync(fd);
      process.exit(0);
    }
  });
  process.on('disconnect', () => process.exit(0));
  report({ type: 'listening', address: net.address() });
}

/** Node's TCP on 127.0.0.1: a full mesh (each process dials those with a lower index), a JSON object a line. */
async function bareTransport(index: number): Promise<Transport> {
  const sockets = new Map<number, Socket>();
  let handler: (from: number, frame: Frame) => void = () => {};
  const attach = (peer: number, socket: Socket, rest: string) => {
    socket.setNoDelay(true);
    sockets.set(peer, socket);
    let buffered = rest;
    const take = () => {
      for (let nl = buffered.indexOf('\n'); nl >= 0; nl = buffered.indexOf('\n')) {
        const line = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        handler(peer, JSON.parse(line) as Frame);
      }
    };
    socket.on('data', (chunk: Buffer) => {
      buffered += chunk.toString('utf8');
      take();
    });
    take();
  };
  let accepted = 0;
  let allAccepted: () => void = () => {};
  const accepting = new Promise<void>((resolve) => (allAccepted = resolve));
  const server = createServer((socket) => {
    // The dialler's first line is its index.
    let hello = '';
    const onHello = (chunk: Buffer) => {
      hello += chunk.toString('utf8');
      const nl = hello.indexOf('\n');
      if (nl < 0) return;
      socket.off('data', onHello);
      attach(Number(hello.slice(0, nl)), socket, hello.slice(nl + 1));
      if (++accepted === SIZE - 1 - index) allAccepted();
    };
    socket.on('data', onHello);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  if (index === SIZE - 1) allAccepted();
  const port = (server.address() as { port: number }).port;
  return {
    address: () => ({ index, addr: String(port), id: '' }),
    connect: async (peers) => {
      await Promise.all(
        peers
          .filter((p) => p.index < index)
          .map(
            (p) =>
              new Promise<void>((resolve, reject) => {
                const socket = connect(Number(p.addr), '127.0.0.1', () => {
                  socket.write(`${index}\n`);
                  attach(p.index, socket, '');
                  resolve();
                });
                socket.once('error', reject);
              }),
          ),
      );
      await accepting;
    },
    send: (to, frame) => void sockets.get(to)!.write(`${JSON.stringify(frame)}\n`),
    onFrame: (h) => void (handler = h),
  };
}

/** Conclave's p2p layer on 127.0.0.1, mDNS off: each process keeps the other four connected. */
async function p2pTransport(index: number, withLinks: boolean): Promise<Transport> {
  await import('../daemon/polyfill.js');
  const { generateKeyPair } = await import('@libp2p/crypto/keys');
  const { createP2PNode, DEFAULT_PEER_LIMITS } = await import('../daemon/p2p/index.js');
  const quiet = { debug() {}, info() {}, warn() {}, error() {} };
  const node = await createP2PNode({
    privateKey: await generateKeyPair('Ed25519'),
    cluster: 'handoff-floor',
    protocol: 'raft',
    listen: ['/ip4/127.0.0.1/tcp/0'],
    bootstrap: [],
    reconnectTimeoutMs: 0,
    mdns: { enabled: false, intervalMs: 1000, idleIntervalMs: 30_000 },
    psk: null,
    maxFrameBytes: 65_536,
    linkPort: withLinks ? 0 : null,
    logger: quiet,
    peerLimits: DEFAULT_PEER_LIMITS,
  });
  const ids = new Map<number, string>();
  const indexOf = new Map<string, number>();
  return {
    address: () => ({ index, addr: node.listenAddrs()[0]!, id: node.peerId }),
    connect: async (peers) => {
      for (const p of peers) {
        ids.set(p.index, p.id);
        indexOf.set(p.id, p.index);
      }
      node.keepConnected(peers.map((p) => ({ id: p.id, addrs: [p.addr], state: 'alive' as const })));
      const deadline = Date.now() + SETUP_TIMEOUT_MS;
      while (node.connectedPeers().length < peers.length || (withLinks && node.stats().links < peers.length)) {
        if (Date.now() > deadline) throw new Error(`connected to ${node.connectedPeers().length} of ${peers.length} peers, ${node.stats().links} linked`);
        await sleep(20);
      }
    },
    send: (to, frame) => node.send(ids.get(to)!, frame, 'raft'),
    onFrame: (h) => node.onMessage((from, message) => h(indexOf.get(from) ?? -1, message as Frame)),
  };
}

if (process.argv[2] === CHILD) {
  const [transport, index, dir] = process.argv.slice(3);
  await child(transport as FloorTransport, Number(index), dir!);
}
