/**
 * A Runtime with a real Bully machine, but no sockets and no timers, for tests of the host's
 * persist path: membership is a fixed list, the network records what was sent, the disk is
 * either a scripted one (writes can be held or fail) or a real log store, the clock moves only
 * when told. Time moves with `advance`, which steps the core the way a tick would (through
 * runtime.leadership(), as every API answer does) and lets finished writes be acknowledged.
 */
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { bullyMessageCodec, createBully, type BullyPersisted } from '../protocols/bully/index.js';
import { DEFAULT_BULLY_CONFIG, type BullyConfig } from '../protocols/bully/config.js';
import type { Membership } from '../protocols/membership/index.js';
import { protocolMeta, type Member, type MembershipEffect, type MembershipEvent } from '../protocols/membership/types.js';
import { createRng } from '../protocols/rng.js';
import type { NodeId } from '../protocols/types.js';
import type { LogRecord } from '../shared/log-record.js';
import type { ApiEvent, ControlSource } from './api/types.js';
import { loadConfig } from './config/load.js';
import { createControlSource } from './control.js';
import { bindMetrics } from './observe.js';
import { logTimestamp } from './log.js';
import type { P2PNode } from './p2p/index.js';
import type { NodeBatch } from '../protocols/host/core.js';
import { Runtime, type ElectionHost, type NodeDisk } from './runtime.js';
import { PersistError } from './errors.js';

export const SELF_ID = 'node-self';
export const PEER_ID = 'node-peer';

export interface RuntimeHarnessInit {
  /** The election state the machine starts from (as a restart reads it from disk). */
  persisted: BullyPersisted | null;
  /** Where writes go; default: a scripted disk (`h.disk`). */
  disk?: NodeDisk;
  /** Other members besides this node, all alive and below it in rank; none: a one-node cluster. */
  peers?: NodeId[];
  bully?: Partial<BullyConfig>;
  /** `cluster.bootstrapExpect`; default: every member listed (this node and `peers`). */
  bootstrapExpect?: number;
}

export interface RuntimeHarness {
  runtime: Runtime;
  /** The control API's answers (what /v1/status and /v1/leader serve). */
  control: ControlSource;
  /** Prometheus text as /metrics serves it. */
  scrape(): Promise<string>;
  sent: { to: NodeId; message: { type: string; epoch?: number } }[];
  /** Peers whose connections the runtime asked the network to close, in order. */
  disconnected: NodeId[];
  events: ApiEvent[];
  /** Sends (`send:TYPE`), link flushes (`flush`) and published events (`event:TYPE`), in the order they happened. */
  trail: string[];
  logs: LogRecord[];
  disk: HarnessDisk;
  /** The write failure the runtime stopped on (the daemon exits 1 then); null while none. */
  fatal(): PersistError | null;
  /** The reasons the control source asked the daemon to stop with (POST /v1/leave). */
  stops: string[];
  nowMs(): number;
  /** Moves the clock in steps of `stepMs`, stepping the runtime and settling finished writes after each. */
  advance(ms: number, stepMs?: number): Promise<void>;
  /** Moves the clock without stepping the runtime: a timer that has not fired yet. */
  skip(ms: number): void;
  /** Fires the runtime's timers not cleared whose delay (ms, when set) `which` picks (none fires by itself); returns how many fired. */
  fireTimers(which: (delayMs: number) => boolean): number;
  /** Membership reports `event` at the next step, as if its failure detector had reached it. */
  membershipReports(event: MembershipEvent): void;
}

export interface HarnessDisk extends NodeDisk {
  /** Every batch the core asked to write, in order. */
  readonly batches: NodeBatch[];
  /** The election state of the last write that completed: what a restart would read. */
  durable: BullyPersisted | null;
  /** While true, writes wait (an fsync that has not returned); `release` lets them finish in order. */
  hold: boolean;
  /** While set, writes fail with this cause, as the log store reports it (PersistError naming the file). */
  failWith: NodeJS.ErrnoException | null;
  release(): Promise<void>;
}

/** The file a scripted disk's failures name. */
export const SCRIPTED_DISK_PATH = '/scripted/wal/0000000000000001.wal';

const START_MS = 10_000;

/** A timer the runtime set: kept until it is cleared or fireTimers fires it. */
interface HarnessTimer {
  fire: () => void;
  delayMs: number;
}

export function createRuntimeHarness(init: RuntimeHarnessInit): RuntimeHarness {
  let nowMs = START_MS;
  const peers = init.peers ?? [];
  const bootstrapExpect = init.bootstrapExpect ?? peers.length + 1;
  const persisted = init.persisted;
  const machine = createBully({
    selfId: SELF_ID,
    config: { ...DEFAULT_BULLY_CONFIG, settleMs: 500, ...init.bully },
    bootstrapExpect,
    rng: createRng(7),
    persisted,
    nowMs,
  });
  const summary = machine.summary(nowMs);
  const members: Member[] = [SELF_ID, ...peers].map((id, i) => ({
    id,
    name: id,
    addrs: [],
    ...protocolMeta('bully'),
    priority: id === SELF_ID ? 10 : 0,
    version: 'test',
    ...(id === SELF_ID ? summary : { role: 'follower', term: 0, leader: null, fencingToken: 0 }),
    state: 'alive',
    incarnation: 1,
    lastHeardMs: nowMs,
    stateSinceMs: nowMs - 60_000 - i,
    self: id === SELF_ID,
    suspectReason: null,
  }));
  const membership = fixedMembership(members);
  const sent: RuntimeHarness['sent'] = [];
  const trail: string[] = [];
  const disconnected: NodeId[] = [];
  const p2p = recordingNetwork(sent, disconnected, trail);
  const logs: LogRecord[] = [];
  const log = pino({ level: 'debug', timestamp: logTimestamp }, new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString('utf8').split('\n')) if (line) logs.push(JSON.parse(line) as LogRecord);
      done();
    },
  }));
  let fatal: PersistError | null = null;
  const timers = new Set<HarnessTimer>();
  const disk = scriptedDisk(persisted);
  const realDisk = init.disk ? awaitedDisk(init.disk) : null;
  const runtime = new Runtime({
    selfId: SELF_ID,
    membership,
    election: { machine, messageCodec: bullyMessageCodec } as ElectionHost<unknown, unknown>,
    disk: realDisk ?? disk,
    p2p,
    log,
    nowMs: () => nowMs,
    bootstrapExpect,
    revisionBase: 1,
    onFatal: (err) => (fatal = err),
    // Time moves only through advance(): the runtime's timers are kept, never fired by themselves (fireTimers).
    timers: {
      set: (fire, delayMs) => {
        const timer = { fire, delayMs };
        timers.add(timer);
        return timer;
      },
      clear: (handle) => timers.delete(handle as HarnessTimer),
    },
  });
  const events: ApiEvent[] = [];
  runtime.subscribe((event) => {
    events.push(event);
    trail.push(`event:${event.type}`);
  });
  const metrics = bindMetrics(runtime, p2p);
  const config = loadConfig({ env: {}, flags: { name: SELF_ID, dataDir: '/nonexistent', protocol: 'bully' } });
  const stops: string[] = [];
  // Reloads are tested on their own (reload.test.ts): here the config never changes.
  const control = createControlSource({ runtime, config, metrics: metrics.scrape, stop: (reason) => stops.push(reason), reload: () => ({ applied: [], needsRestart: [], unchanged: true }) });
  return {
    runtime,
    control,
    scrape: async () => (await metrics.scrape()).body,
    sent,
    disconnected,
    events,
    trail,
    logs,
    disk,
    fatal: () => fatal,
    stops,
    nowMs: () => nowMs,
    async advance(ms, stepMs = 25) {
      for (const end = nowMs + ms; nowMs < end; ) {
        nowMs = Math.min(end, nowMs + stepMs);
        runtime.leadership();
        await settle();
        // A real disk's writes finish in no virtual time, however long the machine takes.
        if (realDisk) await realDisk.drained();
      }
    },
    skip(ms) {
      nowMs += ms;
    },
    fireTimers(which) {
      const due = [...timers].filter((t) => which(t.delayMs));
      for (const t of due) {
        timers.delete(t);
        t.fire();
      }
      return due.length;
    },
    membershipReports: (event) => membership.report(event),
  };
}

/** Lets resolved writes reach the runtime (their acknowledgements run as promise callbacks). */
export function settle(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/**
 * A real disk whose writes the harness can wait for: virtual time must not run past a write
 * that a loaded machine's thread pool has not finished yet.
 */
function awaitedDisk(inner: NodeDisk): NodeDisk & { drained(): Promise<void> } {
  const inFlight = new Set<Promise<void>>();
  return {
    write(batch) {
      const written = inner.write(batch);
      const tracked = written.then(() => undefined, () => undefined);
      inFlight.add(tracked);
      void tracked.then(() => inFlight.delete(tracked));
      return written;
    },
    async drained() {
      // An acknowledgement can start the next write; wait until none is left.
      while (inFlight.size > 0) {
        await Promise.all(inFlight);
        await settle();
      }
    },
  };
}

/** A disk in memory whose writes can be held or made to fail. */
function scriptedDisk(initial: BullyPersisted | null): HarnessDisk {
  const waiting: (() => void)[] = [];
  const disk: HarnessDisk = {
    batches: [],
    durable: initial,
    hold: false,
    failWith: null,
    write(batch) {
      disk.batches.push(batch);
      const run = () => {
        if (disk.failWith) throw new PersistError(SCRIPTED_DISK_PATH, disk.failWith, 'not appended');
        const state = batch.election?.hardState;
        if (state !== undefined) disk.durable = state as BullyPersisted;
      };
      if (!disk.hold) return Promise.resolve().then(run);
      return new Promise<void>((resolve, reject) =>
        waiting.push(() => {
          try {
            run();
            resolve();
          } catch (err) {
            reject(err);
          }
        }),
      );
    },
    async release() {
      disk.hold = false;
      for (const finish of waiting.splice(0)) finish();
      await settle();
    },
  };
  return disk;
}

/** A membership that lists `members` and announces them once, so the election sees them. */
function fixedMembership(members: Member[]): Membership & { report(event: MembershipEvent): void } {
  let pending: MembershipEffect[] = members.map((member) => ({ type: 'event', event: { type: 'member-joined', member } }));
  return {
    report: (event: MembershipEvent) => {
      // The listed member takes the state the event reports, as a real membership's would.
      const state = event.type === 'member-dead' ? 'dead' : event.type === 'member-suspect' ? 'suspect' : event.type === 'member-alive' ? 'alive' : null;
      const member = 'id' in event ? members.find((m) => m.id === event.id) : undefined;
      if (state && member) member.state = state;
      pending.push({ type: 'event', event });
    },
    step: () => undefined,
    drain: () => {
      const out = pending;
      pending = [];
      return out;
    },
    members: () => members.map((m) => ({ ...m })),
    member: (id) => members.find((m) => m.id === id),
    self: () => members[0]!,
    health: () => 1,
    deadline: () => Infinity,
  } as Membership & { report(event: MembershipEvent): void };
}

function recordingNetwork(sent: RuntimeHarness['sent'], disconnected: NodeId[], trail: string[]): P2PNode {
  return {
    peerId: SELF_ID,
    listenAddrs: () => [],
    publish: () => undefined,
    onGossip: () => undefined,
    send: (to: NodeId, message: unknown) => {
      sent.push({ to, message: message as { type: string; epoch?: number } });
      trail.push(`send:${(message as { type: string }).type}`);
    },
    flush: () => void trail.push('flush'),
    onMessage: () => undefined,
    onReject: () => undefined,
    onPeer: () => undefined,
    keepConnected: () => undefined,
    disconnect: (peer: NodeId) => void disconnected.push(peer),
    connectedPeers: () => [],
    stats: () => ({ gossipBytesSent: 0, gossipBytesReceived: 0, framesSent: 0, framesReceived: 0, handshakeFailures: 0, floodDisconnects: 0, outboundFramesDropped: 0, outboundStreamResets: 0, peerListsSent: 0, connections: 0, links: 0, linkFramesSent: 0, linkHandshakeFailures: 0 }),
    stop: async () => undefined,
  } as unknown as P2PNode;
}

/** An errno-style error, as node:fs throws them. */
export function errnoError(code: string, message: string): NodeJS.ErrnoException {
  return Object.assign(new Error(`${code}: ${message}`), { code });
}
