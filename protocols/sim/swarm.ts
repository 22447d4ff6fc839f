/**
 * Many seeds, one after another: what `npm run sim -- --seeds N` runs (sim/cli.ts prints it) and
 * what the swarm tests run in CI, so a seed fails the same way in both and says how to replay
 * itself. Pure: no clock, no output; the caller times and prints.
 */
import { runSeed, summaryLine, type RunOptions } from './run.js';
import type { SimResult } from './types.js';

/** One seed's outcome: a finished run (with or without a violation), or a simulator crash. */
export type SeedOutcome = { seed: number; result: SimResult; crash: null } | { seed: number; result: null; crash: Error };

export interface SwarmOptions {
  seeds: readonly number[];
  /** A name from SIM_PROTOCOLS (the replay command names it); default `none`. */
  protocol?: string;
  onTrace?: RunOptions['onTrace'];
  /** Called after each seed, in order. */
  onSeed?: (outcome: SeedOutcome, index: number) => void;
}

export interface SwarmReport {
  seeds: number;
  /** Seeds with a violation or a crash, in the order run. */
  failed: SeedOutcome[];
  /** Virtual time simulated by the seeds that finished. */
  virtualMs: number;
}

export function runSwarm({ seeds, protocol = 'none', onTrace, onSeed }: SwarmOptions): SwarmReport {
  const failed: SeedOutcome[] = [];
  let virtualMs = 0;
  seeds.forEach((seed, index) => {
    let outcome: SeedOutcome;
    try {
      outcome = { seed, result: runSeed(seed, { protocol, onTrace }), crash: null };
    } catch (err) {
      // A crash is a finding like a violation: report it with its seed and go on.
      outcome = { seed, result: null, crash: err instanceof Error ? err : new Error(String(err)) };
    }
    if (outcome.result) virtualMs += outcome.result.stats.virtualMs;
    if (seedFailed(outcome)) failed.push(outcome);
    onSeed?.(outcome, index);
  });
  return { seeds: seeds.length, failed, virtualMs };
}

/** A violation or a crash. */
export function seedFailed(outcome: SeedOutcome): boolean {
  return outcome.crash !== null || outcome.result.violation !== null;
}

/** The command that replays one seed with every trace line. */
export function replayCommand(seed: number, protocol: string): string {
  return `npm run sim -- --seed ${seed}${protocol === 'none' ? '' : ` --protocol ${protocol}`} --verbose`;
}

/**
 * What one seed prints: its summary line, then the failure report if it failed (a crash prints
 * only the report). One function, so a seed run in a worker prints what it prints in-process.
 */
export function seedReport(outcome: SeedOutcome, protocol: string): string {
  if (outcome.crash) return failureReport(outcome, protocol);
  const line = `${summaryLine(outcome.result)}\n`;
  return outcome.result.violation ? `${line}\n${failureReport(outcome, protocol)}\n` : line;
}

/** What a failed seed prints: the invariant or the crash, what led to it, and the replay command. */
export function failureReport(outcome: SeedOutcome, protocol: string): string {
  if (outcome.crash) {
    return `seed ${outcome.seed}: CRASHED ${outcome.crash.name}: ${outcome.crash.message}\n  replay: ${replayCommand(outcome.seed, protocol)}\n`;
  }
  const v = outcome.result.violation;
  if (!v) return '';
  return (
    `VIOLATION of ${v.invariant} at ${v.nowMs} ms (seed ${v.seed}, protocol ${outcome.result.protocol})\n  ${v.message}\n` +
    `  faults and events before it:\n${v.notable.map((l) => `    ${l}`).join('\n')}\n` +
    `  last steps:\n${v.trace.map((l) => `    ${l}`).join('\n')}\n` +
    `  replay: ${replayCommand(v.seed, outcome.result.protocol)}\n`
  );
}
