import { MEMBERSHIP_PRESETS } from '../membership/presets.js';
import { createRng } from '../rng.js';
import { deriveSeed } from './seeds.js';
import type { PresetName, Scenario } from './types.js';

/** Streams derived from the run's seed, one per concern (see seeds.ts). */
export const STREAM = { scenario: 1, network: 2, faults: 3, nodes: 4, elections: 5 } as const;

/** The daemon's runtime ticks every 25 ms; 50 keeps runs fast and is still finer than any timeout. */
export const SIM_TICK_MS = 50;

/** A plausible wall clock for incarnations (the daemon uses wall-clock seconds). */
const WALL_CLOCK_BASE_SEC = 1_700_000_000;

/**
 * Swarm testing (VOPR): the seed picks the cluster, the network and which faults are in play,
 * so different seeds explore different regions instead of one average mix.
 */
export function scenarioFromSeed(seed: number): Scenario {
  const rng = createRng(deriveSeed(seed, STREAM.scenario));
  const clusterSize = rng.int(3, 7);
  const preset: PresetName = rng.chance(0.5) ? 'local' : 'lan';
  const timings = { ...MEMBERSHIP_PRESETS[preset] };
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
  };
  return {
    seed,
    clusterSize,
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
  };
}

/** One line for logs and the CLI: what this seed exercises. */
export function describeScenario(s: Scenario): string {
  const kinds = (['crash', 'stop', 'pause', 'stall', 'partition', 'cut'] as const).filter((k) => s.faults[k]);
  const net = [
    s.lossProbability > 0 ? `loss ${Math.round(s.lossProbability * 100)}%` : null,
    s.duplicateProbability > 0 ? `dup ${Math.round(s.duplicateProbability * 100)}%` : null,
  ].filter((x) => x !== null);
  return `size ${s.clusterSize}, ${s.preset}, faults [${[...kinds, ...net].join(' ') || 'none'}]`;
}

/** A fault-free scenario for scripted tests: faults come only from the test's own verbs. */
export function quietScenario(seed: number, overrides: Partial<Scenario> = {}): Scenario {
  const preset = overrides.preset ?? 'local';
  const clusterSize = overrides.clusterSize ?? 3;
  return {
    seed,
    clusterSize,
    preset,
    timings: { ...MEMBERSHIP_PRESETS[preset] },
    tickMs: SIM_TICK_MS,
    priorities: Array.from({ length: clusterSize }, () => 0),
    baseDelayMaxMs: 2,
    jitterMaxMs: 5,
    lossProbability: 0,
    duplicateProbability: 0,
    faults: { crash: false, pause: false, stall: false, partition: false, cut: false, stop: false, meanGapMs: 1000, restartProbability: 0, reviveProbability: 0 },
    safetyMs: 10_000,
    wallClockStartSec: WALL_CLOCK_BASE_SEC,
    ...overrides,
  };
}
