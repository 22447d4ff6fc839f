import { createMembership, heartbeatCodec } from '../membership/index.js';
import { createRng } from '../rng.js';
import { planSafetyFaults } from './faults.js';
import { planSwitches } from './switching.js';
import { MEMBERSHIP_INVARIANTS } from './invariants.js';
import { simProtocol, type SimProtocol } from './protocols.js';
import { describeScenario, scenarioFromSeed, STREAM } from './scenario.js';
import { deriveSeed } from './seeds.js';
import { ElectionWorkload } from './election-workload.js';
import { KvWorkload } from './kv-workload.js';
import { Simulation } from './sim.js';
import type { InvariantFactory, MembershipFactory, Scenario, SimResult } from './types.js';

export interface RunOptions {
  /** A name from SIM_PROTOCOLS, or an entry; default `none`. */
  protocol?: string | SimProtocol;
  /** Replaces createMembership (tests wrap it to break it on purpose). */
  membershipFactory?: MembershipFactory;
  /** Checked in addition to the membership and protocol invariants. */
  extraInvariants?: readonly InvariantFactory[];
  /** Replaces the scenario the seed would pick (targeted tests). */
  scenario?: Scenario;
  /** Schedules hostile input (sim.inject) for the safety phase, after the faults are planned. */
  adversary?: (sim: Simulation) => void;
  traceKeep?: number;
  onTrace?: (line: string) => void;
}

/** Clients start using the store this long into a run (most nodes are up by then). */
const KV_CLIENTS_FROM_MS = 500;
/** After the convergence bound, the run goes on this long to see that the view stays converged. */
const STABLE_MS = 2000;
/** Stalls end on their own; the liveness phase waits at most this long for the last one. */
const MAX_HEAL_WAIT_MS = 30_000;

/** A simulation wired as runSeed wires it, with no faults scheduled (scripted tests drive it). */
export function createSimulation(scenario: Scenario, options: Omit<RunOptions, 'scenario'> = {}): Simulation {
  const protocol = resolveProtocol(options.protocol);
  return new Simulation({
    scenario,
    protocol,
    membershipFactory: options.membershipFactory ?? createMembership,
    // The daemon validates every heartbeat it receives; so does the simulator.
    heartbeatCodec,
    invariants: [...MEMBERSHIP_INVARIANTS, ...protocol.invariants, ...protocol.agreement, ...(options.extraInvariants ?? [])],
    traceKeep: options.traceKeep,
    onTrace: options.onTrace,
  });
}

/** One whole run: boot, safety phase with faults, liveness phase that heals and must converge. */
export function runSeed(seed: number, options: RunOptions = {}): SimResult {
  const protocol = resolveProtocol(options.protocol);
  const scenario = options.scenario ?? protocol.scenarioFor?.(scenarioFromSeed(seed)) ?? scenarioFromSeed(seed);
  const sim = createSimulation(scenario, { ...options, protocol });
  const faultRng = createRng(deriveSeed(seed, STREAM.faults));
  const reviveRng = faultRng.fork();
  sim.setNetwork(scenario.lossProbability, scenario.duplicateProbability);
  if (scenario.isolatedIndex !== null) {
    // It hears nobody and nobody hears it until the liveness phase clears every cut.
    const isolated = sim.nodes[scenario.isolatedIndex]!.id;
    for (const other of sim.nodes) {
      if (other.id === isolated) continue;
      sim.cut(isolated, other.id);
      sim.cut(other.id, isolated);
    }
  }
  sim.nodes.forEach((node, i) => sim.at(scenario.startAtMs[i] ?? 0, `start ${node.id}`, () => sim.start(node.id)));
  planSafetyFaults(sim, faultRng);
  if (protocol.machines) planSwitches(sim, createRng(deriveSeed(seed, STREAM.switches)));
  const clients = protocol.kvClients ? new KvWorkload(sim, createRng(deriveSeed(seed, STREAM.kvClients))) : null;
  clients?.plan(KV_CLIENTS_FROM_MS, scenario.safetyMs + MAX_HEAL_WAIT_MS);
  const campaigns = protocol.kvClients ? new ElectionWorkload(sim, createRng(deriveSeed(seed, STREAM.campaigns))) : null;
  campaigns?.plan(KV_CLIENTS_FROM_MS, scenario.safetyMs + MAX_HEAL_WAIT_MS);
  options.adversary?.(sim);
  sim.at(scenario.safetyMs, 'liveness', () => sim.beginLiveness(() => reviveRng.chance(scenario.faults.reviveProbability)));

  sim.runUntil(scenario.safetyMs);
  while (!sim.violation && sim.healedAtMs === null && sim.nowMs < scenario.safetyMs + MAX_HEAL_WAIT_MS) {
    sim.runUntil(sim.nowMs + scenario.tickMs);
  }
  if (!sim.violation && sim.healedAtMs !== null) {
    sim.runUntil(sim.healedAtMs + sim.bounds.convergeMs + STABLE_MS + protocol.livenessExtraMs(scenario, sim.bounds));
  }
  // The history is judged whole, once the run is over (a linearization may need every operation).
  const violation = sim.violation ?? clients?.check() ?? campaigns?.check() ?? null;
  const kvStats = clients ? { kvOperations: clients.history.length, kvVerdict: clients.verdict } : {};
  const campaignStats = campaigns ? { campaigns: campaigns.campaigns, electedInElections: campaigns.elected.length } : {};
  return { scenario, protocol: protocol.name, stats: { ...sim.result(), ...kvStats, ...campaignStats }, violation };
}

function resolveProtocol(protocol: string | SimProtocol | undefined): SimProtocol {
  return typeof protocol === 'object' ? protocol : simProtocol(protocol ?? 'none');
}

/** `seed 42: size 5, lan, faults [crash partition loss 12%], 27.3 s virtual, 18211 msgs, converged 412 ms: ok` */
export function summaryLine(result: SimResult): string {
  const { stats } = result;
  const converged = stats.convergedAfterHealMs === null ? 'never converged' : `converged ${stats.convergedAfterHealMs} ms`;
  const switched = stats.protocolSwitches ? `, switches ${stats.protocolSwitches.agreed} agreed + ${stats.protocolSwitches.adopted} adopted` : '';
  const verdict = result.violation ? `VIOLATION ${result.violation.invariant}` : 'ok';
  return (
    `seed ${result.scenario.seed}: ${describeScenario(result.scenario)}, ${(stats.virtualMs / 1000).toFixed(1)} s virtual, ` +
    `${stats.messagesSent} msgs (${stats.messagesDropped} dropped)${switched}, ${converged}: ${verdict}`
  );
}
