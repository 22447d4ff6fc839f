/**
 * The chaos tool's `hostile` fault: the hostile-peer kit (hostile-peer.ts) turned on a running
 * cluster for the fault's duration, beside one node (in its network namespace, on its address):
 *
 * - a member-stranger joins by dialling every daemon and gossips heartbeats that claim it leads
 *   the next term with a huge fencing token, and accuse one real node (`accused`) of being
 *   suspect and dead at a huge incarnation;
 * - it sends every daemon the election protocol's forgeries (hostile-frames.ts) twice a second;
 * - it floods one daemon (`flooded`) at ten times the per-peer frame budget of Bully for up to 3 s;
 * - a peer of another cluster (another name, so another gossip topic and protocol id) dials every
 *   daemon and gossips too.
 *
 * What the cluster must show is left to the checker: no node names the stranger, no term is
 * shared, no token goes back, nobody is declared dead, and leadership survives. The outcome
 * returned here says what the attack got through (for the progress line and the history), so a
 * quiet run is never an attack that went nowhere.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { ApiClient } from '../daemon/api/client.js';
import type { ProtocolName } from '../protocols/types.js';
import { protocolMeta } from '../protocols/membership/types.js';
import { bullyForgeries, HUGE_VALID, raftForgeries } from './hostile-frames.js';
import { HostilePeer, type FloodResult } from './hostile-peer.js';
import type { Fault } from './schedule.js';

/** How often the stranger sends each daemon its forgeries. */
const FORGERY_INTERVAL_MS = 500;
/** Ten times Bully's per-peer frame budget (daemon/p2p/flood-guard.ts), a fifth of Raft's. */
const FLOOD_RATE_PER_S = 2_000;
const FLOOD_MAX_MS = 3_000;

export interface HostileOutcome {
  /** Daemons the member-stranger reached, of those it dialled. */
  connected: number;
  dialled: number;
  heartbeats: number;
  /** Forged election frames handed to streams (not counting the flood). */
  forgeries: number;
  flood: FloodResult | null;
  /** Daemons the peer of another cluster got a membership stream to: 0 unless a defence failed. */
  otherClusterConnected: number;
  /** Connections a daemon closed on the member-stranger during the fault. */
  hungUpOn: number;
  /** Why the attack could not run, when it could not (all counts are then 0). */
  error?: string;
}

/** The outcome of an attack that could not start. */
export function hostileFailure(err: unknown): HostileOutcome {
  return { connected: 0, dialled: 0, heartbeats: 0, forgeries: 0, flood: null, otherClusterConnected: 0, hungUpOn: 0, error: err instanceof Error ? err.message : String(err) };
}

export interface HostileFaultInit {
  fault: Fault;
  /** The cluster's name (its gossip topic and protocol ids are derived from it). */
  cluster: string;
  protocol: ProtocolName;
  /** Node i's API client at index i - 1. */
  clients: readonly ApiClient[];
  /** The network namespace of the node the peers run beside, or null on a loopback cluster. */
  namespace: string | null;
  signal: AbortSignal;
}

interface Target {
  id: string;
  addr: string;
}

export async function runHostileFault(init: HostileFaultInit): Promise<HostileOutcome> {
  const { fault } = init;
  const targets = await Promise.all(init.clients.map(selfTarget));
  const host = /^\/ip4\/([\d.]+)\//.exec(targets[fault.nodes[0]! - 1]!.addr)?.[1] ?? '127.0.0.1';
  const startedMs = Date.now();
  const peers: HostilePeer[] = [];
  try {
    const [stranger, other] = await Promise.all([
      HostilePeer.start({ cluster: init.cluster, namespace: init.namespace, protocol: init.protocol, host }),
      HostilePeer.start({ cluster: `${init.cluster}-other`, namespace: init.namespace, protocol: init.protocol, host }),
    ]);
    peers.push(stranger, other);
    const dials = await Promise.allSettled(targets.map((t) => stranger.dial(t.addr)));
    const reached = targets.filter((_, i) => dials[i]!.status === 'fulfilled');
    const status = await firstAnswer(init.clients);
    const term = status?.term ?? 0;
    const leader = status?.leader?.id ?? targets[0]!.id;
    const accused = targets[(fault.accused ?? 1) - 1]!;
    await stranger.heartbeats(
      {
        meta: { ...protocolMeta(init.protocol), role: 'leader', term: term + 1, leader: stranger.id, fencingToken: HUGE_VALID },
        suspects: [{ id: accused.id, incarnation: HUGE_VALID }],
        dead: [{ id: accused.id, incarnation: HUGE_VALID }],
      },
      { intervalMs: 400 },
    );
    // The other cluster's peer: its dials are expected to fail (it never hears this cluster's
    // membership protocol), after up to the kit's identify timeout; it runs beside the rest.
    let otherConnected = 0;
    for (const t of targets) other.dial(t.addr).then(() => otherConnected++, () => undefined);
    void other.heartbeats({ meta: { ...protocolMeta(init.protocol), role: 'leader', term: term + 1, fencingToken: HUGE_VALID } }, { intervalMs: 400 }).catch(() => undefined);
    const flooded = targets[(fault.flooded ?? 1) - 1]!;
    const floodMs = Math.min(FLOOD_MAX_MS, fault.durationMs);
    const frames = (to: string) => (init.protocol === 'raft' ? raftForgeries(term, stranger.id, to) : bullyForgeries(term, leader, stranger.id));
    const flood = reached.includes(flooded)
      ? stranger.flood(flooded.id, frames(flooded.id), { durationMs: floodMs, ratePerS: FLOOD_RATE_PER_S }).catch(() => null)
      : Promise.resolve(null);
    let forgeries = 0;
    const untilMs = startedMs + fault.durationMs;
    while (Date.now() < untilMs && !init.signal.aborted) {
      await Promise.all(
        reached.map((t) => {
          const forged = frames(t.id);
          return stranger.send(t.id, forged).then(() => (forgeries += forged.length), () => undefined);
        }),
      );
      await sleep(Math.min(FORGERY_INTERVAL_MS, Math.max(0, untilMs - Date.now())));
    }
    const floodResult = await flood;
    await stranger.heartbeats(null).catch(() => undefined);
    const stats = await stranger.stats().catch(() => null);
    return {
      connected: reached.length,
      dialled: targets.length,
      heartbeats: stats?.heartbeatsPublished ?? 0,
      forgeries,
      flood: floodResult,
      otherClusterConnected: otherConnected,
      hungUpOn: stranger.connectionLog.filter((e) => e.event === 'closed').length,
    };
  } finally {
    await Promise.allSettled(peers.map((p) => p.close()));
  }
}

/** A node's id and its own /p2p/ address. */
async function selfTarget(client: ApiClient, i: number): Promise<Target> {
  const self = (await client.members()).members.find((m) => m.self);
  const addr = self?.addrs.find((a) => a.includes('/p2p/'));
  if (!self || !addr) throw new Error(`n${i + 1} lists no address of its own`);
  return { id: self.id, addr };
}

async function firstAnswer(clients: readonly ApiClient[]) {
  for (const client of clients) {
    const status = await client.status().catch(() => null);
    if (status) return status;
  }
  return null;
}

/** One line for the progress log. */
export function describeHostileOutcome(o: HostileOutcome): string {
  if (o.error !== undefined) return `the attack could not run: ${o.error}`;
  const flood = o.flood ? `flood ${o.flood.sent} frames (${o.flood.ended === 'error' ? 'cut off by the daemon' : `ran its ${o.flood.ended}`})` : 'no flood';
  return `stranger reached ${o.connected}/${o.dialled} daemons, ${o.heartbeats} forged heartbeats, ${o.forgeries} forged frames, ${flood}, hung up on ${o.hungUpOn} time(s); other cluster reached ${o.otherClusterConnected}`;
}
