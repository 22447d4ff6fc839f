/**
 * The membership machine alone at cluster sizes no machine here can run as daemons (Serf's
 * convergence simulator is the model): N machines on a virtual clock and a network with a one-way
 * latency drawn per message, each host ticking at its machine's deadline() as the daemon does.
 * It measures what grows with N: how long until every node sees every node, the messages and bytes
 * a node sends and receives per second once the cluster is quiet, and how long a silent failure
 * (no connection closes: a power cut, a partition) takes to be declared dead at the first node and
 * at every node. Pure and seeded: one seed, one run.
 */
import { createMembership, type Membership } from '../membership/membership.js';
import { protocolMeta, type Heartbeat, type MembershipTimings } from '../membership/types.js';
import { createRng, type Rng } from '../rng.js';
import type { NodeId } from '../types.js';
import { EventQueue } from './queue.js';

export interface ScaleSimOptions {
  nodes: number;
  seed: number;
  timings: MembershipTimings;
  /** Observers per member (membership.ts); Infinity: everyone watches everyone (the old design). */
  observersPerMember?: number;
  /** One-way latency, uniform in this range (ms). */
  latencyMs: readonly [number, number];
  /** Nodes start at uniform times in [0, startSpreadMs). */
  startSpreadMs: number;
  /** The quiet window over which load is counted, after every node has seen every node. */
  loadWindowMs: number;
  /** Silent failures, one after another, each given failureWindowMs to be declared dead everywhere. */
  failures: number;
  failureWindowMs: number;
}

export interface FailureResult {
  /** From the failure to the first node that declares it dead. */
  firstDeadMs: number;
  /** To the last live node that declares it dead; Infinity when one had not within failureWindowMs. */
  allDeadMs: number;
  /** Each live node's time to declare it dead (those that did). */
  perNodeMs: number[];
}

export interface ScaleSimResult {
  nodes: number;
  /** From the last node's start until every node sees every node alive; Infinity if never. */
  convergedMs: number;
  /** Per node over the quiet window: heartbeats sent and received per second (mean, max), bytes sent per second (mean). */
  sentPerSec: { mean: number; max: number };
  receivedPerSec: { mean: number; max: number };
  bytesSentPerSec: number;
  failures: FailureResult[];
  /** Suspicions and death verdicts about members that had not failed, over the whole run. */
  falseSuspicions: number;
  falseDeaths: number;
  virtualMs: number;
}

type Item = { kind: 'start'; node: SimMember } | { kind: 'tick'; node: SimMember; generation: number } | { kind: 'deliver'; to: SimMember; from: NodeId; heartbeat: Heartbeat };

interface SimMember {
  id: NodeId;
  machine: Membership | null;
  up: boolean;
  /** The deadline the pending tick was scheduled for, and that tick's generation (older ones are stale). */
  armedMs: number;
  generation: number;
  sent: number;
  received: number;
  bytesSent: number;
}

const MAX_QUEUED = 50_000_000;

export function runScaleSim(opts: ScaleSimOptions): ScaleSimResult {
  const rng = createRng(opts.seed);
  const queue = new EventQueue<Item>(MAX_QUEUED);
  const width = String(opts.nodes).length;
  const members: SimMember[] = Array.from({ length: opts.nodes }, (_, i) => ({
    id: `n${String(i).padStart(width, '0')}`,
    machine: null,
    up: false,
    armedMs: Number.POSITIVE_INFINITY,
    generation: 0,
    sent: 0,
    received: 0,
    bytesSent: 0,
  }));
  const byId = new Map(members.map((m) => [m.id, m]));
  const failed = new Set<NodeId>();
  const deadAt = new Map<NodeId, Map<NodeId, number>>();
  let nowMs = 0;
  let falseSuspicions = 0;
  let falseDeaths = 0;
  let convergedMs = Number.POSITIVE_INFINITY;

  let lastStartMs = 0;
  for (const member of members) {
    const atMs = rng.next() * opts.startSpreadMs;
    lastStartMs = Math.max(lastStartMs, atMs);
    queue.push(atMs, { kind: 'start', node: member });
  }

  const latency = (r: Rng): number => opts.latencyMs[0] + r.next() * (opts.latencyMs[1] - opts.latencyMs[0]);

  const carryOut = (node: SimMember): void => {
    const machine = node.machine!;
    for (const effect of machine.drain()) {
      if (effect.type === 'publish') {
        const bytes = JSON.stringify(effect.heartbeat).length;
        const targets = effect.to === null ? members : effect.to.map((id) => byId.get(id)!);
        for (const to of targets) {
          if (to === node) continue;
          node.sent++;
          node.bytesSent += bytes;
          queue.push(nowMs + latency(rng), { kind: 'deliver', to, from: node.id, heartbeat: effect.heartbeat });
        }
      } else if (effect.type === 'event') {
        const e = effect.event;
        if (e.type === 'member-suspect' && !failed.has(e.id)) falseSuspicions++;
        if (e.type === 'member-dead') {
          if (!failed.has(e.id)) falseDeaths++;
          else if (!deadAt.get(e.id)!.has(node.id)) deadAt.get(e.id)!.set(node.id, nowMs);
        }
      }
    }
    const dueMs = machine.deadline();
    if (dueMs !== node.armedMs) {
      node.armedMs = dueMs;
      node.generation++;
      if (Number.isFinite(dueMs)) queue.push(Math.max(nowMs, dueMs), { kind: 'tick', node, generation: node.generation });
    }
  };

  /** Every node is up and sees every node alive. */
  const converged = (): boolean =>
    members.every((m) => m.up && m.machine!.membersView!().filter((x) => x.state === 'alive').length === opts.nodes);

  const runUntil = (endMs: number): void => {
    for (let next = queue.peekTimeMs(); next !== null && next <= endMs; next = queue.peekTimeMs()) {
      const { atMs, item } = queue.pop()!;
      nowMs = atMs;
      switch (item.kind) {
        case 'start': {
          const node = item.node;
          node.up = true;
          node.machine = createMembership({
            cluster: 'scale',
            selfId: node.id,
            selfMeta: { name: node.id, addrs: [`/ip4/10.0.0.1/tcp/7401/p2p/${node.id}`], ...protocolMeta('raft'), priority: 0, version: '0.1.0', role: 'follower', term: 0, leader: null, fencingToken: 0 },
            initialIncarnation: 1,
            timings: opts.timings,
            nowMs,
            ...(opts.observersPerMember !== undefined ? { observersPerMember: opts.observersPerMember } : {}),
          });
          carryOut(node);
          break;
        }
        case 'tick':
          if (!item.node.up || item.generation !== item.node.generation) break;
          item.node.armedMs = Number.POSITIVE_INFINITY;
          item.node.machine!.step({ type: 'tick', nowMs, localLagMs: 0 });
          carryOut(item.node);
          break;
        case 'deliver':
          if (!item.to.up) break;
          item.to.received++;
          item.to.machine!.step({ type: 'heartbeat', nowMs, from: item.from, heartbeat: item.heartbeat });
          carryOut(item.to);
          break;
      }
    }
    nowMs = endMs;
  };

  // Start-up: everyone sees everyone (or give up after a minute).
  runUntil(lastStartMs);
  for (let t = lastStartMs; t < lastStartMs + 60_000 && !Number.isFinite(convergedMs); t += 1) {
    if (converged()) convergedMs = nowMs - lastStartMs;
    else runUntil(t + 1);
  }

  // The quiet window: counters from zero.
  for (const m of members) {
    m.sent = 0;
    m.received = 0;
    m.bytesSent = 0;
  }
  const windowStartMs = nowMs;
  runUntil(windowStartMs + opts.loadWindowMs);
  const seconds = opts.loadWindowMs / 1000;
  const sent = members.map((m) => m.sent / seconds);
  const received = members.map((m) => m.received / seconds);
  const result: ScaleSimResult = {
    nodes: opts.nodes,
    convergedMs,
    sentPerSec: { mean: mean(sent), max: Math.max(...sent) },
    receivedPerSec: { mean: mean(received), max: Math.max(...received) },
    bytesSentPerSec: mean(members.map((m) => m.bytesSent / seconds)),
    failures: [],
    falseSuspicions: 0,
    falseDeaths: 0,
    virtualMs: 0,
  };

  // Silent failures, one at a time, never the same node twice.
  const order = members.map((m) => m.id);
  for (let i = 0; i < opts.failures && i < opts.nodes - 2; i++) {
    const pick = rng.int(i, order.length - 1);
    [order[i], order[pick]] = [order[pick]!, order[i]!];
    const victim = byId.get(order[i]!)!;
    failed.add(victim.id);
    deadAt.set(victim.id, new Map());
    victim.up = false;
    const failedAtMs = nowMs;
    runUntil(failedAtMs + opts.failureWindowMs);
    const times = [...deadAt.get(victim.id)!.values()].map((t) => t - failedAtMs);
    const live = members.filter((m) => m.up).length;
    result.failures.push({
      firstDeadMs: times.length > 0 ? Math.min(...times) : Number.POSITIVE_INFINITY,
      allDeadMs: times.length >= live ? Math.max(...times) : Number.POSITIVE_INFINITY,
      perNodeMs: times,
    });
  }
  result.falseSuspicions = falseSuspicions;
  result.falseDeaths = falseDeaths;
  result.virtualMs = nowMs;
  return result;
}

function mean(values: readonly number[]): number {
  return values.length === 0 ? 0 : values.reduce((a, b) => a + b, 0) / values.length;
}
