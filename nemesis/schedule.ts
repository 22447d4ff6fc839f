/**
 * The nemesis's plan: a seeded schedule of faults, one at a time, with quiet periods between
 * them, then a quiet tail in which the cluster must settle (Jepsen's nemesis; TigerBeetle's VOPR:
 * a safety phase with faults, then a liveness phase). Pure: the same seed, size, duration and
 * kinds give the same schedule, so a run that found something is replayed with `--seed`.
 */
import { createRng, type Rng } from '../protocols/rng.js';

export const FAULT_KINDS = ['kill', 'pause', 'restart', 'partition', 'bridge', 'one-way', 'loss', 'stall', 'hostile'] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

/** What each kind does to the cluster (`scripts/cluster.sh` verbs), for help texts and reports. */
export const FAULT_DESCRIPTIONS: Readonly<Record<FaultKind, string>> = {
  kill: 'kill -9 one node, start it again when the fault ends',
  pause: 'SIGSTOP one node, SIGCONT when the fault ends',
  restart: 'stop one node gracefully (SIGTERM) and start it again',
  partition: 'cut the LAN into a majority and a minority, heal when the fault ends',
  bridge: 'cut the LAN in two sides that one node (the bridge) still reaches both of, heal when the fault ends',
  'one-way': "drop what one node sends to some others while theirs still reach it, heal when the fault ends",
  loss: "drop 10–40 % of one node's packets at random",
  stall: "SIGSTOP one node for 100–800 ms: an event-loop stall seen from outside",
  hostile: 'hostile peers beside one node: a member-stranger forging leadership, suspicions and election frames, a flood, and a peer of another cluster',
};

export interface Fault {
  kind: FaultKind;
  /** From the start of the run. */
  atMs: number;
  /** How long until it is undone (0 for a restart, which undoes itself). */
  durationMs: number;
  /**
   * The nodes it hits (1-based): the node, a partition's minority side, a bridge's bridge node, the
   * node a one-way cut mutes, or the node whose namespace hostile peers run in.
   */
  nodes: number[];
  /**
   * A partition's groups, the minority first; a bridge's two sides (the bridge node is in neither);
   * a one-way cut's muted node, then the nodes its packets no longer reach.
   */
  groups?: number[][];
  /** A loss fault's drop rate. */
  percent?: number;
  /** A hostile fault's victims: the node it floods and the node its gossip accuses of being dead. */
  flooded?: number;
  accused?: number;
}

export interface ScheduleOptions {
  seed: number;
  nodes: number;
  durationMs: number;
  kinds: readonly FaultKind[];
  /** Quiet time between one fault's end and the next one's start. */
  quietMs?: { min: number; max: number };
  /** No fault starts in the last `tailMs`: the cluster must settle then. */
  tailMs?: number;
}

/**
 * Quiet periods long enough for a Bully or Raft cluster to elect and settle between faults, and
 * at least the checker's heal bound (check.ts), so every one of them is judged.
 */
export const DEFAULT_QUIET_MS = { min: 5_000, max: 10_000 } as const;
export const DEFAULT_TAIL_MS = 15_000;

/** Duration ranges per kind, in ms. */
const DURATION_MS: Readonly<Record<FaultKind, { min: number; max: number }>> = {
  kill: { min: 2_000, max: 8_000 },
  pause: { min: 1_000, max: 6_000 },
  restart: { min: 0, max: 0 },
  partition: { min: 3_000, max: 15_000 },
  bridge: { min: 3_000, max: 15_000 },
  'one-way': { min: 3_000, max: 15_000 },
  loss: { min: 3_000, max: 10_000 },
  stall: { min: 100, max: 800 },
  hostile: { min: 3_000, max: 10_000 },
};

/** The faults of one run, in time order; none overlaps another, none starts in the tail. */
export function planFaults(opts: ScheduleOptions): Fault[] {
  if (opts.kinds.length === 0) return [];
  if (opts.nodes < 1) throw new RangeError('a schedule needs at least one node');
  const rng = createRng(opts.seed);
  const quiet = opts.quietMs ?? DEFAULT_QUIET_MS;
  const lastStartMs = opts.durationMs - (opts.tailMs ?? DEFAULT_TAIL_MS);
  const faults: Fault[] = [];
  let atMs = rng.int(quiet.min, quiet.max);
  while (atMs <= lastStartMs) {
    const kind = opts.kinds[rng.int(0, opts.kinds.length - 1)]!;
    // Fewer than three nodes have no majority side to cut off and no bridge between two sides, and
    // one node has no one to be cut off from: pause one instead.
    const cuts = kind === 'partition' || kind === 'bridge' ? 3 : kind === 'one-way' ? 2 : 1;
    const fault = planOne(opts.nodes < cuts ? 'pause' : kind, atMs, opts.nodes, rng);
    // A fault still going at the tail's start is shortened to end there.
    fault.durationMs = Math.min(fault.durationMs, Math.max(0, lastStartMs - atMs));
    faults.push(fault);
    atMs += fault.durationMs + rng.int(quiet.min, quiet.max);
  }
  return faults;
}

function planOne(kind: FaultKind, atMs: number, nodes: number, rng: Rng): Fault {
  const range = DURATION_MS[kind];
  const durationMs = rng.int(range.min, range.max);
  if (kind === 'partition') {
    const order = shuffled(nodes, rng);
    const minority = rng.int(1, Math.max(1, Math.floor((nodes - 1) / 2)));
    const groups = [order.slice(0, minority).sort((a, b) => a - b), order.slice(minority).sort((a, b) => a - b)];
    return { kind, atMs, durationMs, nodes: groups[0]!, groups };
  }
  if (kind === 'bridge') {
    const [bridge, ...rest] = shuffled(nodes, rng);
    const cut = rng.int(1, rest.length - 1);
    const groups = [rest.slice(0, cut).sort((a, b) => a - b), rest.slice(cut).sort((a, b) => a - b)];
    return { kind, atMs, durationMs, nodes: [bridge!], groups };
  }
  if (kind === 'one-way') {
    const [muted, ...others] = shuffled(nodes, rng);
    const targets = others.slice(0, rng.int(1, others.length)).sort((a, b) => a - b);
    return { kind, atMs, durationMs, nodes: [muted!], groups: [[muted!], targets] };
  }
  const node = rng.int(1, nodes);
  if (kind === 'hostile') return { kind, atMs, durationMs, nodes: [node], flooded: rng.int(1, nodes), accused: rng.int(1, nodes) };
  if (kind === 'loss') return { kind, atMs, durationMs, nodes: [node], percent: rng.int(10, 40) };
  return { kind, atMs, durationMs, nodes: [node] };
}

/** 1..n in a random order (Fisher–Yates). */
function shuffled(n: number, rng: Rng): number[] {
  const order = Array.from({ length: n }, (_, i) => i + 1);
  for (let i = n - 1; i > 0; i--) {
    const j = rng.int(0, i);
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  return order;
}

/** A partition's or bridge's sides by node name: `{n1,n2} | {n3,n4,n5}`. */
export function formatSides(groups: readonly (readonly number[])[]): string {
  return groups.map((g) => `{${g.map((n) => `n${n}`).join(',')}}`).join(' | ');
}

/** `kill,pause` → the kinds, or a message naming the unknown one and the known ones. */
export function parseFaultKinds(text: string): { kinds: FaultKind[] } | { error: string } {
  const kinds: FaultKind[] = [];
  for (const word of text.split(',').map((w) => w.trim()).filter(Boolean)) {
    if (!(FAULT_KINDS as readonly string[]).includes(word)) return { error: `unknown fault kind '${word}'; known: ${FAULT_KINDS.join(', ')}` };
    if (!kinds.includes(word as FaultKind)) kinds.push(word as FaultKind);
  }
  if (kinds.length === 0) return { error: `no fault kinds given; known: ${FAULT_KINDS.join(', ')}` };
  return { kinds };
}

/** `90s`, `10m`, `1h`, `1500ms` or a bare number of seconds → ms; null when it does not parse. */
export function parseDurationMs(text: string): number | null {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(text.trim());
  if (!m) return null;
  const unit = m[2] ?? 's';
  const factor = unit === 'ms' ? 1 : unit === 's' ? 1_000 : unit === 'm' ? 60_000 : 3_600_000;
  return Math.round(Number(m[1]) * factor);
}
