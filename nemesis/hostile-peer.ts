/**
 * A hostile peer for integration tests and the chaos tool's `hostile` fault: a libp2p node of its own (TCP, noise, yamux, the
 * membership and election stream protocols, as daemon/p2p/node.ts builds them) that speaks
 * Conclave's wire formats but obeys none of its rules. It can join a running cluster by
 * dialling a daemon, send forged heartbeats (any meta, any suspects/dead/left lists) so it is
 * an alive member, send any JSON frames on the election protocol, flood them, and take the
 * streams daemons open to it without ever reading them.
 *
 * The node runs in a child process (hostile-peer-process.ts), inside the cluster's network
 * namespace when LocalCluster made one: a daemon in a namespace is unreachable from here. A
 * flood then also runs on its own event loop, not on the test's. close() always ends the child
 * (SIGKILL by PID as a last resort), and a process exit hook does the same if a test dies.
 *
 *   const peer = await HostilePeer.start({ cluster: cluster.name, namespace: cluster.namespace });
 *   await peer.dial(addr);                                  // a daemon's /p2p/ multiaddr
 *   await peer.heartbeats({ meta: { role: 'leader', term: 7 } }, { intervalMs: 400 });
 *   await peer.send(daemonId, [{ type: 'ANSWER', epoch: 9 }]);
 *   await peer.close();
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { protocolMeta, type Heartbeat, type IncarnationRef, type MemberMeta } from '../protocols/membership/types.js';
import type { ProtocolName } from '../protocols/types.js';

export interface HostilePeerInit {
  /** The cluster's name: it scopes the gossip topic and the election protocol id. */
  cluster: string;
  /** The network namespace the cluster runs in (LocalCluster.namespace); null: this one. */
  namespace: string | null;
  /** Election protocol id to speak; default 'bully'. */
  protocol?: ProtocolName;
  /** Take the election streams daemons open to this peer and never read them; default false. */
  stall?: boolean;
  /** The address to listen on, e.g. a node's LAN address inside its namespace; default 127.0.0.1. */
  host?: string;
}

/** What a forged heartbeat says; everything left out is filled in as a plain member would. */
export interface ForgedHeartbeat {
  /** Default: wall-clock seconds at start, as a daemon's first life. */
  incarnation?: number;
  leaving?: boolean;
  /** Merged over name `hostile-<id tail>`, this peer's addrs, bully, priority 0, a follower of no one. */
  meta?: Partial<MemberMeta>;
  suspects?: IncarnationRef[];
  dead?: IncarnationRef[];
  left?: IncarnationRef[];
}

export interface HeartbeatSchedule {
  /** Default 400 ms. */
  intervalMs?: number;
  /** Publish this many, then stop (heartbeats() resolves after the last); default: until replaced or stopped. */
  count?: number;
}

export interface FloodOptions {
  /** Stop after this long. */
  durationMs: number;
  /** Stop after this many frames; default unbounded. */
  maxFrames?: number;
  /** Pace to about this many frames a second; default as fast as the stream takes them. */
  ratePerS?: number;
}

export interface FloodResult {
  /** Frames handed to the stream. */
  sent: number;
  elapsedMs: number;
  /** Frames per second while they were handed to the stream (first block to last); 0 for a single block. */
  ratePerS: number;
  /** `time` or `count` when it ran its course; `error` when the stream or connection failed. */
  ended: 'time' | 'count' | 'error';
  /** The failure's error name, with `ended: 'error'`. */
  error: string | null;
}

export interface HostileStats {
  /** Peers with an open connection to this peer now. */
  connected: string[];
  heartbeatsPublished: number;
  /** Frames daemons sent to this peer, by `type` (only when not stalling). */
  framesReceived: Record<string, number>;
  /** Inbound election streams held unread (when stalling). */
  streamsHeld: number;
}

export interface ConnectionEvent {
  peer: string;
  event: 'open' | 'closed';
  /** Date.now() in the child. */
  atMs: number;
}

/** Requests to the child process, one JSON line each, answered by a HostileReply with the same id. */
export type HostileRequest =
  | { id: number; op: 'dial'; addr: string }
  | { id: number; op: 'heartbeats'; forged: ForgedHeartbeat | null; intervalMs: number; count: number | null }
  | { id: number; op: 'send'; to: string; frames: unknown[] }
  | { id: number; op: 'flood'; to: string; frames: unknown[]; durationMs: number; maxFrames: number | null; ratePerS: number | null }
  | { id: number; op: 'stats' }
  | { id: number; op: 'close' };

/** Lines from the child: `ready` once, replies, and connection events as they happen. */
export type HostileLine =
  | { type: 'ready'; id: string; addrs: string[] }
  | { type: 'reply'; id: number; ok: true; value: unknown }
  | { type: 'reply'; id: number; ok: false; error: string }
  | ({ type: 'connection' } & ConnectionEvent);

/** The child's startup argument. */
export interface HostileChildInit {
  cluster: string;
  protocol: ProtocolName;
  stall: boolean;
  host: string;
}

/** The heartbeat a forged description stands for, as membership's codec expects it (pure). */
export function forgeHeartbeat(self: { cluster: string; id: string; addrs: string[]; bornS: number }, forged: ForgedHeartbeat, seq: number): Heartbeat {
  const meta: MemberMeta = {
    name: `hostile-${self.id.slice(-6)}`,
    addrs: self.addrs,
    ...protocolMeta('bully'),
    priority: 0,
    version: 'hostile',
    role: 'follower',
    term: 0,
    leader: null,
    fencingToken: 0,
    ...forged.meta,
  };
  return {
    v: 1,
    cluster: self.cluster,
    id: self.id,
    incarnation: forged.incarnation ?? self.bornS,
    seq,
    leaving: forged.leaving ?? false,
    meta,
    suspects: forged.suspects ?? [],
    dead: forged.dead ?? [],
    left: forged.left ?? [],
  };
}

const CHILD = new URL('./hostile-peer-process.js', import.meta.url).pathname;
/** Starting the child loads libp2p: a few hundred ms on an idle host, seconds on a loaded one. */
const START_TIMEOUT_MS = 20_000;
/** Bound on any request but a flood (which adds its own duration). */
const REQUEST_TIMEOUT_MS = 15_000;
const CLOSE_TIMEOUT_MS = 3_000;

const livePeers = new Set<HostilePeer>();
process.on('exit', () => {
  for (const peer of livePeers) peer.killSync();
});

export class HostilePeer {
  /** Every connection opened or closed, in order. */
  readonly connectionLog: ConnectionEvent[] = [];
  private readonly pending = new Map<number, { resolve: (value: unknown) => void; reject: (err: Error) => void }>();
  private nextId = 1;
  private exited: Promise<void>;
  private stderr = '';

  private constructor(
    private readonly child: ChildProcess,
    readonly id: string,
    readonly addrs: string[],
  ) {
    this.exited = new Promise((resolve) => child.once('exit', () => resolve()));
  }

  /** Starts the peer's node (listening on `host`, in the namespace when given). */
  static async start(init: HostilePeerInit): Promise<HostilePeer> {
    const arg: HostileChildInit = { cluster: init.cluster, protocol: init.protocol ?? 'bully', stall: init.stall ?? false, host: init.host ?? '127.0.0.1' };
    const node = [process.execPath, CHILD, JSON.stringify(arg)];
    // `ip netns exec` execs the command, so the child's PID is the node's PID.
    const child = init.namespace ? spawn('ip', ['netns', 'exec', init.namespace, ...node], { stdio: ['pipe', 'pipe', 'pipe'] }) : spawn(node[0]!, node.slice(1), { stdio: ['pipe', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr = (stderr + chunk).slice(-4000)));
    const lines = createInterface({ input: child.stdout! });
    let peer: HostilePeer | null = null;
    const ready = new Promise<HostilePeer>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`hostile peer did not start within ${START_TIMEOUT_MS} ms; stderr: ${stderr}`)), START_TIMEOUT_MS);
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        reject(new Error(`hostile peer exited (${code ?? signal}) before it was ready; stderr: ${stderr}`));
      });
      lines.on('line', (text) => {
        let line: HostileLine;
        try {
          line = JSON.parse(text) as HostileLine;
        } catch {
          return; // not ours: a library writing to stdout
        }
        if (line.type === 'ready') {
          clearTimeout(timer);
          peer = new HostilePeer(child, line.id, line.addrs);
          livePeers.add(peer);
          resolve(peer);
        } else {
          peer?.onLine(line);
        }
      });
    });
    try {
      const started = await ready;
      child.on('exit', () => started.onExit(stderr));
      return started;
    } catch (err) {
      if (child.exitCode === null && child.signalCode === null && child.pid) process.kill(child.pid, 'SIGKILL');
      throw err;
    }
  }

  /** The OS process id of the peer's node (for tests that watch it). */
  get pid(): number | undefined {
    return this.child.pid;
  }

  /** Dials `addr` (a daemon's multiaddr with /p2p/); resolves with its peer id once it hears our gossip topic. */
  async dial(addr: string): Promise<string> {
    return (await this.request({ op: 'dial', addr })) as string;
  }

  /**
   * Publishes `forged` on the cluster topic now and every `intervalMs`, replacing any earlier
   * schedule; null stops. With `count`, resolves after the last one; otherwise after the first.
   */
  async heartbeats(forged: ForgedHeartbeat | null, schedule: HeartbeatSchedule = {}): Promise<void> {
    const intervalMs = schedule.intervalMs ?? 400;
    const count = schedule.count ?? null;
    await this.request({ op: 'heartbeats', forged, intervalMs, count }, count === null ? 0 : count * intervalMs);
  }

  /** Sends `frames` (any JSON values) in order on one new election stream to `to`, then closes it. */
  async send(to: string, frames: readonly unknown[]): Promise<void> {
    await this.request({ op: 'send', to, frames: [...frames] });
  }

  /** Sends `frames` round and round on one election stream to `to` until a bound is hit or the stream fails. */
  async flood(to: string, frames: readonly unknown[], opts: FloodOptions): Promise<FloodResult> {
    const request = { op: 'flood' as const, to, frames: [...frames], durationMs: opts.durationMs, maxFrames: opts.maxFrames ?? null, ratePerS: opts.ratePerS ?? null };
    return (await this.request(request, opts.durationMs)) as FloodResult;
  }

  async stats(): Promise<HostileStats> {
    return (await this.request({ op: 'stats' })) as HostileStats;
  }

  /** Whether the last connection event with `peer` was an open one. */
  connectedTo(peer: string): boolean {
    const last = this.connectionLog.filter((e) => e.peer === peer).at(-1);
    return last?.event === 'open';
  }

  /** Stops the node and ends the child; safe to call twice, never throws. */
  async close(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) {
      await this.request({ op: 'close' }, 0, CLOSE_TIMEOUT_MS).catch(() => undefined);
      const timer = setTimeout(() => this.killSync(), CLOSE_TIMEOUT_MS);
      await this.exited;
      clearTimeout(timer);
    }
    livePeers.delete(this);
  }

  /** Last resort (also from the exit hook): SIGKILL by PID. */
  killSync(): void {
    const pid = this.child.pid;
    if (pid && this.child.exitCode === null && this.child.signalCode === null) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  }

  private request(body: DistributiveOmit<HostileRequest, 'id'>, extraMs = 0, timeoutMs = REQUEST_TIMEOUT_MS): Promise<unknown> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return Promise.reject(new Error(`hostile peer has exited; stderr: ${this.stderr}`));
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error(`hostile peer did not answer ${body.op} within ${timeoutMs + extraMs} ms`));
      }, timeoutMs + extraMs);
      this.pending.set(id, {
        resolve: (value) => {
          clearTimeout(timer);
          resolve(value);
        },
        reject: (err) => {
          clearTimeout(timer);
          reject(err);
        },
      });
      this.child.stdin!.write(`${JSON.stringify({ ...body, id })}\n`);
    });
  }

  private onLine(line: HostileLine): void {
    if (line.type === 'connection') {
      this.connectionLog.push({ peer: line.peer, event: line.event, atMs: line.atMs });
    } else if (line.type === 'reply') {
      const waiter = this.pending.get(line.id);
      this.pending.delete(line.id);
      if (line.ok) waiter?.resolve(line.value);
      else waiter?.reject(new Error(line.error));
    }
  }

  private onExit(stderr: string): void {
    this.stderr = stderr;
    livePeers.delete(this);
    for (const waiter of this.pending.values()) waiter.reject(new Error(`hostile peer exited; stderr: ${stderr}`));
    this.pending.clear();
  }
}

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;
