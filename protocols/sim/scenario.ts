import { majorityOf } from '../bully/quorum.js';
import { MAX_CLOCK_DRIFT } from '../lease.js';
import { MEMBERSHIP_PRESETS } from '../membership/presets.js';
import { createRng, type Rng } from '../rng.js';
import { deriveSeed } from './seeds.js';
import type { ColdStart, PresetName, Scenario } from './types.js';

/** Streams derived from the run's seed, one per concern (see seeds.ts). */
export const STREAM = { scenario: 1, network: 2, faults: 3, nodes: 4, elections: 5, clocks: 6, disk: 7, kvClients: 8, campaigns: 9, switches: 10 } as const;

/**
 * Timer granularity the bounds allow for: nodes tick at their machines' deadlines (no periodic
 * tick), but a real timer fires late by scheduling jitter of up to this much.
 */
export const SIM_TICK_MS = 50;

/** A plausible wall clock for incarnations (the daemon uses wall-clock seconds). */
const WALL_CLOCK_BASE_SEC = 1_700_000_000;
/** Nodes that start together boot within this window, as a launcher starting them one by one would. */
const TOGETHER_SPREAD_MS = 300;
/** `staggered`: nodes boot at random within this window. */
const STAGGER_SPREAD_MS = 4000;
/** `late`: the late nodes boot this long after the others. */
const LATE_MIN_MS = 3000;
const LATE_MAX_MS = 8000;

/**
 * Swarm testing (VOPR): the seed picks the cluster, the network and which faults are in play,
 * so different seeds explore different regions instead of one average mix.
 */
export function scenarioFromSeed(seed: number): Scenario {
  const rng = createRng(deriveSeed(seed, STREAM.scenario));
  const clusterSize = rng.int(3, 7);
  const preset: PresetName = rng.chance(0.5) ? 'local' : 'lan';
  const timings = { ...MEMBERSHIP_PRESETS[preset] };
  const coldStart: ColdStart = pickColdStart(rng);
  const bootstrapExpect = pickBootstrapExpect(rng, clusterSize, coldStart);
  const startAtMs = startTimes(rng, clusterSize, coldStart);
  const isolatedIndex = coldStart === 'isolated' ? rng.int(0, clusterSize - 1) : null;
  const clockRates = Array.from({ length: clusterSize }, () => 1 + (2 * rng.next() - 1) * MAX_CLOCK_DRIFT);
  // Equal priorities half the time, so rank ties fall back to ids as they often do in practice.
  const equalPriorities = rng.chance(0.5);
  const priorities = Array.from({ length: clusterSize }, () => (equalPriorities ? 0 : rng.int(0, 3)));
  const lossy = rng.chance(0.6);
  const faults = {
    crash: rng.chance(0.6),
    pause: rng.chance(0.4),
    stall: rng.chance(0.4),
    partition: rng.chance(0.5),
    cut: rng.chance(0.3),
    stop: rng.chance(0.3),
    meanGapMs: rng.int(500, 3000),
    restartProbability: rng.next(),
    reviveProbability: rng.chance(0.2) ? 0 : rng.next(),
    resign: rng.chance(0.3),
  };
  return {
    seed,
    clusterSize,
    bootstrapExpect,
    coldStart,
    startAtMs,
    isolatedIndex,
    clockRates,
    preset,
    timings,
    tickMs: SIM_TICK_MS,
    priorities,
    baseDelayMaxMs: preset === 'local' ? rng.int(1, 3) : rng.int(2, 15),
    jitterMaxMs: preset === 'local' ? rng.int(0, 10) : rng.int(0, 40),
    lossProbability: lossy ? rng.int(1, 30) / 100 : 0,
    duplicateProbability: rng.chance(0.4) ? rng.int(1, 10) / 100 : 0,
    faults,
    safetyMs: rng.int(6, 20) * 1000,
    wallClockStartSec: WALL_CLOCK_BASE_SEC + rng.int(0, 1_000_000),
    disk: diskFromSeed(seed),
  };
}

/** Drawn from a stream of its own, so adding the disk left every other draw of a seed as it was. */
function diskFromSeed(seed: number): Scenario['disk'] {
  const rng = createRng(deriveSeed(seed, STREAM.disk, 0));
  const fsyncMaxMs = rng.int(1, 20);
  return {
    fsyncMinMs: rng.int(0, fsyncMaxMs),
    fsyncMaxMs,
    stallProbability: rng.chance(0.3) ? rng.int(1, 10) / 100 : 0,
    stallMaxMs: rng.int(100, 1500),
  };
}

function pickColdStart(rng: Rng): ColdStart {
  const r = rng.next();
  return r < 0.5 ? 'together' : r < 0.75 ? 'staggered' : r < 0.9 ? 'late' : 'isolated';
}

/**
 * bootstrapExpect whose majority is more than half the cluster (README: the guarantee holds for
 * those values): the whole cluster, or one less when the size is odd, and always one less when a
 * node is isolated or late, so the rest can bootstrap without it (when the size allows).
 */
function pickBootstrapExpect(rng: Rng, size: number, coldStart: ColdStart): number {
  const oneLessKeepsMajority = 2 * majorityOf(size - 1) > size;
  if (!oneLessKeepsMajority) return size;
  if (coldStart === 'isolated' || coldStart === 'late') return size - 1;
  return rng.chance(0.5) ? size : size - 1;
}

function startTimes(rng: Rng, size: number, coldStart: ColdStart): number[] {
  const together = () => rng.int(0, TOGETHER_SPREAD_MS);
  switch (coldStart) {
    case 'together':
    case 'isolated':
      return Array.from({ length: size }, together);
    case 'staggered':
      return Array.from({ length: size }, () => rng.int(0, STAGGER_SPREAD_MS));
    case 'late': {
      const times = Array.from({ length: size }, together);
      const lateCount = size >= 5 && rng.chance(0.5) ? 2 : 1;
      for (let i = 0; i < lateCount; i++) times[rng.int(0, size - 1)] = rng.int(LATE_MIN_MS, LATE_MAX_MS);
      return times;
    }
  }
}

/** One line for logs and the CLI: what this seed exercises. */
export function describeScenario(s: Scenario): string {
  const kinds = (['crash', 'stop', 'pause', 'stall', 'partition', 'cut'] as const).filter((k) => s.faults[k]);
  const net = [
    s.lossProbability > 0 ? `loss ${Math.round(s.lossProbability * 100)}%` : null,
    s.duplicateProbability > 0 ? `dup ${Math.round(s.duplicateProbability * 100)}%` : null,
  ].filter((x) => x !== null);
  return `size ${s.clusterSize} (expect ${s.bootstrapExpect}, start ${s.coldStart}), ${s.preset}, faults [${[...kinds, ...net].join(' ') || 'none'}]`;
}

/** A fault-free scenario for scripted tests: faults come only from the test's own verbs. */
export function quietScenario(seed: number, overrides: Partial<Scenario> = {}): Scenario {
  const preset = overrides.preset ?? 'local';
  const clusterSize = overrides.clusterSize ?? 3;
  return {
    seed,
    clusterSize,
    bootstrapExpect: clusterSize,
    coldStart: 'together',
    startAtMs: Array.from({ length: clusterSize }, () => 0),
    isolatedIndex: null,
    clockRates: Array.from({ length: clusterSize }, () => 1),
    preset,
    timings: { ...MEMBERSHIP_PRESETS[preset] },
    tickMs: SIM_TICK_MS,
    priorities: Array.from({ length: clusterSize }, () => 0),
    baseDelayMaxMs: 2,
    jitterMaxMs: 5,
    lossProbability: 0,
    duplicateProbability: 0,
    faults: { crash: false, pause: false, stall: false, partition: false, cut: false, stop: false, resign: false, meanGapMs: 1000, restartProbability: 0, reviveProbability: 0 },
    safetyMs: 10_000,
    wallClockStartSec: WALL_CLOCK_BASE_SEC,
    disk: { fsyncMinMs: 0, fsyncMaxMs: 0, stallProbability: 0, stallMaxMs: 0 },
    ...overrides,
  };
}
