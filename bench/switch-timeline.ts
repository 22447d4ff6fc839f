/**
 * What a protocol switch looked like from the sampled answers of every node (bench/switch.ts):
 * pure reads of the rounds test/support/leadership-sampler.ts records, so the figures follow
 * from the samples alone and the bench only drives the cluster.
 */
import { leadersAtOnce } from '../protocols/election-safety.js';
import type { ProtocolName } from '../protocols/types.js';
import type { SampledStatus } from '../test/support/leadership-sampler.js';

/** One sampling round: every answer it got, and when it started. */
export interface Round {
  round: number;
  atMs: number;
  answers: SampledStatus[];
}

/** A stretch of rounds in which no node answered `leader`. */
export interface Leaderless {
  fromMs: number;
  ms: number;
}

/** The rounds that started in [fromMs, toMs), in order. */
export function roundsBetween(samples: readonly SampledStatus[], fromMs: number, toMs: number): Round[] {
  const byRound = new Map<number, Round>();
  for (const s of samples) {
    if (s.atMs < fromMs || s.atMs >= toMs) continue;
    const round = byRound.get(s.round) ?? { round: s.round, atMs: s.atMs, answers: [] };
    round.answers.push(s);
    byRound.set(s.round, round);
  }
  return [...byRound.values()].sort((a, b) => a.round - b.round);
}

/**
 * The leaderless stretches among `rounds`: from the start of the first round in which no node
 * answered `leader` to the start of the next round in which one did, or `endMs` if none did. The
 * true gap is this within one round either way.
 */
export function leaderlessStretches(rounds: readonly Round[], endMs: number): Leaderless[] {
  const stretches: Leaderless[] = [];
  let fromMs: number | null = null;
  for (const r of rounds) {
    const led = leadersAtOnce(r.answers).length > 0;
    if (!led && fromMs === null) fromMs = r.atMs;
    if (led && fromMs !== null) {
      stretches.push({ fromMs, ms: r.atMs - fromMs });
      fromMs = null;
    }
  }
  if (fromMs !== null) stretches.push({ fromMs, ms: endMs - fromMs });
  return stretches;
}

/** The longest of `stretches`, or a zero one at `atMs` when there is none. */
export function longest(stretches: readonly Leaderless[], atMs: number): Leaderless {
  return stretches.reduce((a, b) => (b.ms > a.ms ? b : a), { fromMs: atMs, ms: 0 });
}

/** The first round in which all `size` nodes answer, run `protocol` and name one and the same leader. */
export function firstConverged(rounds: readonly Round[], size: number, protocol: ProtocolName): { atMs: number; leader: string } | null {
  for (const r of rounds) {
    const leader = r.answers[0]?.leader;
    if (r.answers.length === size && leader && r.answers.every((s) => s.protocol === protocol && s.leader === leader)) return { atMs: r.atMs, leader };
  }
  return null;
}

/**
 * From the last round in which a node running `from` answered `leader` to the first in which a
 * node running `to` did: the hand-over between the two protocols' reigns (one round when the
 * leader carries its reign straight over). Null when either side has no such round.
 */
export function handOverMs(rounds: readonly Round[], from: ProtocolName, to: ProtocolName): number | null {
  const ledUnder = (r: Round, p: ProtocolName) => leadersAtOnce(r.answers).some((s) => s.protocol === p);
  const first = rounds.findIndex((r) => ledUnder(r, to));
  if (first < 0) return null;
  const last = rounds.slice(0, first).reverse().find((r) => ledUnder(r, from));
  return last ? rounds[first]!.atMs - last.atMs : null;
}

/** The first round in which more than half of `size` nodes run `protocol`: when the cluster switched (a fresh node's first answers can name its config's protocol). */
export function firstMajorityOn(rounds: readonly Round[], size: number, protocol: ProtocolName): Round | null {
  return rounds.find((r) => 2 * r.answers.filter((s) => s.protocol === protocol).length > size) ?? null;
}

/** Time between consecutive round starts: the resolution of every figure read from the rounds. */
export function roundPeriods(rounds: readonly Round[]): number[] {
  return rounds.slice(1).map((r, i) => r.atMs - rounds[i]!.atMs);
}
