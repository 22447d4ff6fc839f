/**
 * A worker thread of `npm run sim -- --jobs N` (sim/cli.ts starts it): runs the seeds it is handed,
 * one at a time, through the same runSwarm as a single-process run, and answers each with what
 * the seed prints. The command line keeps the order and the totals.
 */
import { isMainThread, parentPort, workerData } from 'node:worker_threads';
import { runSwarm, seedFailed, seedReport, type SeedOutcome } from '../protocols/sim/swarm.js';

/** What the worker is started with. */
export interface SimWorkerData {
  protocol: string;
}

/** One seed to run; `index` is its place in the run, echoed in the answer. */
export interface SeedJob {
  index: number;
  seed: number;
}

/** One seed's outcome, as the command line prints and counts it. */
export interface SeedDone {
  index: number;
  seed: number;
  /** Exactly what the seed prints after its progress prefix (seedReport). */
  text: string;
  failed: boolean;
  /** Virtual time the seed simulated (none for a crash). */
  virtualMs: number;
}

/** A seed's outcome as the command line prints and counts it (as runSwarm counts it). */
export function seedDone(index: number, outcome: SeedOutcome, protocol: string): SeedDone {
  return {
    index,
    seed: outcome.seed,
    text: seedReport(outcome, protocol),
    failed: seedFailed(outcome),
    virtualMs: outcome.result?.stats.virtualMs ?? 0,
  };
}

// Imported by the command line for the types and seedDone; serves only as a worker.
const port = isMainThread ? null : parentPort;
if (port) {
  const { protocol } = workerData as SimWorkerData;
  port.on('message', ({ index, seed }: SeedJob) => {
    runSwarm({ seeds: [seed], protocol, onSeed: (outcome) => port.postMessage(seedDone(index, outcome, protocol)) });
  });
}
