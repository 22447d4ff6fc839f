/**
 * A Runtime with a real Bully machine and a real state store, but no sockets and no timers, for
 * tests of the host's persist path: membership is a fixed list, the network records what was
 * sent, the clock moves only when told. Time moves with `advance`, which steps the machine the
 * way a tick would (through runtime.leadership(), as every API answer does).
 */
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { bullyMessageCodec, createBully, type BullyPersisted } from '../protocols/bully/index.js';
import { DEFAULT_BULLY_CONFIG, type BullyConfig } from '../protocols/bully/config.js';
import type { Membership } from '../protocols/membership/index.js';
import type { Member, MembershipEffect } from '../protocols/membership/types.js';
import { createRng } from '../protocols/rng.js';
import type { NodeId } from '../protocols/types.js';
import type { LogRecord } from '../shared/log-record.js';
import type { ApiEvent, ControlSource } from './api/types.js';
import { loadConfig } from './config/load.js';
import { createControlSource } from './control.js';
import { bindMetrics } from './observe.js';
import type { P2PNode } from './p2p/index.js';
import { Runtime, type ElectionHost } from './runtime.js';
import { PersistError } from './errors.js';
import type { StateStore } from './store.js';

export const SELF_ID = 'node-self';
export const PEER_ID = 'node-peer';

export interface RuntimeHarnessInit {
  store: StateStore<BullyPersisted>;
  /** Other members besides this node, all alive and below it in rank; none: a one-node cluster. */
  peers?: NodeId[];
  bully?: Partial<BullyConfig>;
}

export interface RuntimeHarness {
  runtime: Runtime;
  /** The control API's answers (what /v1/status and /v1/leader serve). */
  control: ControlSource;
  /** Prometheus text as /metrics serves it. */
  scrape(): Promise<string>;
  sent: { to: NodeId; message: { type: string; epoch?: number } }[];
  events: ApiEvent[];
  logs: LogRecord[];
  nowMs(): number;
  /** Moves the clock in steps of `stepMs`, stepping the runtime after each. */
  advance(ms: number, stepMs?: number): void;
}

const START_MS = 10_000;

export function createRuntimeHarness(init: RuntimeHarnessInit): RuntimeHarness {
  let nowMs = START_MS;
  const peers = init.peers ?? [];
  const bootstrapExpect = peers.length + 1;
  const persisted = init.store.load();
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
    protocol: 'bully',
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
  const p2p = recordingNetwork(sent);
  const logs: LogRecord[] = [];
  const log = pino({ level: 'debug' }, new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString('utf8').split('\n')) if (line) logs.push(JSON.parse(line) as LogRecord);
      done();
    },
  }));
  const runtime = new Runtime({
    selfId: SELF_ID,
    membership,
    election: { machine, messageCodec: bullyMessageCodec, store: init.store } as ElectionHost<unknown, unknown>,
    p2p,
    log,
    nowMs: () => nowMs,
    bootstrapExpect,
    revisionBase: 1,
  });
  const events: ApiEvent[] = [];
  runtime.subscribe((event) => events.push(event));
  const metrics = bindMetrics(runtime, p2p);
  const config = loadConfig({ env: {}, flags: { name: SELF_ID, dataDir: '/nonexistent', protocol: 'bully' } });
  const control = createControlSource({ runtime, config, metrics: metrics.scrape });
  return {
    runtime,
    control,
    scrape: async () => (await metrics.scrape()).body,
    sent,
    events,
    logs,
    nowMs: () => nowMs,
    advance(ms, stepMs = 25) {
      for (const end = nowMs + ms; nowMs < end; ) {
        nowMs = Math.min(end, nowMs + stepMs);
        runtime.leadership();
      }
    },
  };
}

/** A membership that lists `members` and announces them once, so the election sees them. */
function fixedMembership(members: Member[]): Membership {
  let pending: MembershipEffect[] = members.map((member) => ({ type: 'event', event: { type: 'member-joined', member } }));
  return {
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
  } as Membership;
}

function recordingNetwork(sent: RuntimeHarness['sent']): P2PNode {
  return {
    peerId: SELF_ID,
    listenAddrs: () => [],
    publish: () => undefined,
    onGossip: () => undefined,
    send: (to: NodeId, message: unknown) => void sent.push({ to, message: message as { type: string; epoch?: number } }),
    onMessage: () => undefined,
    onReject: () => undefined,
    onPeer: () => undefined,
    keepConnected: () => undefined,
    connectedPeers: () => [],
    stats: () => ({ gossipBytesSent: 0, gossipBytesReceived: 0, framesSent: 0, framesReceived: 0, handshakeFailures: 0 }),
    stop: async () => undefined,
  } as unknown as P2PNode;
}

export interface BreakableStore<P> extends StateStore<P> {
  /** While set, every save fails with this cause, as writeFileDurably reports it (PersistError naming the file). */
  failWith: NodeJS.ErrnoException | null;
}

/** `real`, whose saves can be made to fail without touching the disk. */
export function breakableStore<P>(real: StateStore<P>): BreakableStore<P> {
  const store: BreakableStore<P> = {
    path: real.path,
    failWith: null,
    load: () => real.load(),
    save(state) {
      if (store.failWith) throw new PersistError(real.path, store.failWith, 'left as it was');
      real.save(state);
    },
  };
  return store;
}

/** An errno-style error, as node:fs throws them. */
export function errnoError(code: string, message: string): NodeJS.ErrnoException {
  return Object.assign(new Error(`${code}: ${message}`), { code });
}
