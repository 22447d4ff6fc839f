/**
 * The deterministic simulator (DESIGN.md sections 1 and 7): the pure machines on a virtual
 * clock and a seeded network, with faults and invariants checked after every step.
 *
 * @example
 * const result = runSeed(42);
 * if (result.violation) console.log(result.violation.invariant, summaryLine(result));
 */
export { runSeed, createSimulation, summaryLine } from './run.js';
export type { RunOptions } from './run.js';
export { runSwarm, failureReport, replayCommand } from './swarm.js';
export type { SeedOutcome, SwarmOptions, SwarmReport } from './swarm.js';
export { Simulation } from './sim.js';
export type { SimulationInit } from './sim.js';
export { SIM_PROTOCOLS, simProtocol } from './protocols.js';
export type { SimProtocol } from './protocols.js';
export { scenarioFromSeed, quietScenario, describeScenario, SIM_TICK_MS } from './scenario.js';
export { boundsFor } from './bounds.js';
export { MEMBERSHIP_INVARIANTS } from './invariants.js';
export { SimQueueOverflowError, UnknownSimProtocolError, UnknownSimNodeError } from './errors.js';
export type * from './types.js';
export { oneLeaderPerTerm, fencingTokensGrow, agreedLeaderAfterHeal } from './election-invariants.js';
