/**
 * Election protocols the simulator can host, by the name `--protocol` takes. Adding one means
 * adding an entry to SIM_PROTOCOLS: its machine factory, its codecs, and the invariants that
 * judge it (election-invariants.ts has protocol-neutral ones), e.g.
 *
 *   bully: { name: 'bully', protocol: 'bully', electionFor: (s) => (ctx) => createBully({ selfId: ctx.id, ... }),
 *            messageCodec: bullyMessageCodec, persistedCodec: bullyPersistedCodec,
 *            invariants: [fencingTokensGrow, agreedLeaderAfterHeal(...)], livenessExtraMs: ... }
 */
import { bullyMessageCodec, bullyPersistedCodec, createBully, type BullyConfig, type BullyPersisted } from '../bully/index.js';
import { bullyCarryOver, raftCarryOver, type CarryOver } from '../carry-over.js';
import type { Codec, Election } from '../election.js';
import { createRaft, DIALECT_FIELDS, isHandoverRecord, RAFT_WIRE, raftMessageCodec, raftPersistedCodec, storedLeaderRecord, type RaftConfig, type RaftEntry, type RaftHardState } from '../raft/index.js';
import { PROTOCOL_NAMES, type LogEntry, type ProtocolName, type Snapshot } from '../types.js';
import { agreedLeaderWithLiveMajority, bullyAgreementBoundMs, bullyAgreementExtraMs, bullyEpochWithinToken, bullyLeaderEpochDurable, SIM_BULLY_CONFIG, stableLeaderWhenQuiet } from './bully-invariants.js';
import { fencingTokensGrow, namedLeaderHoldsLease, oneLeaderPerTerm, reignTokensGrow, singleLeaderAtEveryInstant } from './election-invariants.js';
import { agreementUnderRunningProtocol, SWITCH_SAFETY_EXTRA_MS } from './switching.js';
import { UnknownSimProtocolError } from './errors.js';
import {
  raftAgreedLeaderWithLiveVoters,
  raftAgreementBoundMs,
  raftAgreementExtraMs,
  raftCommittedPrefixAgrees,
  raftElectionSafety,
  raftLeaderAppendOnly,
  raftLogMatching,
  raftOneUncommittedConfig,
  raftTermsNeverDecrease,
  raftLeaderTermDurable,
  raftVotersFloor,
  SIM_RAFT_CONFIG,
  SIM_SNAPSHOT_CHUNK_BYTES,
} from './raft-invariants.js';
import type { ElectionFactory, InvariantFactory, Scenario, SimBounds } from './types.js';

export interface SimProtocol {
  readonly name: string;
  /** One line for the CLI's usage text. */
  readonly summary: string;
  /** What nodes gossip as their protocol. */
  readonly protocol: ProtocolName;
  /** Null: nodes run membership only and report role `observer`. */
  electionFor(scenario: Scenario): ElectionFactory | null;
  /** Validates messages on delivery and persisted state on restart, as the daemon does. */
  readonly messageCodec?: Codec<unknown>;
  readonly persistedCodec?: Codec<unknown>;
  /** Checked in addition to the membership invariants. */
  readonly invariants: readonly InvariantFactory[];
  /** What it promises once faults heal (a leader agreed within a bound): checked too, but in a switching cluster only while every live node runs this protocol. */
  readonly agreement: readonly InvariantFactory[];
  /** Virtual time the liveness phase needs beyond membership convergence (e.g. to elect). */
  livenessExtraMs(scenario: Scenario, bounds: SimBounds): number;
  /** Its machines keep the key-value store: clients use it throughout a run, and the history must be linearizable (kv-workload.ts). */
  readonly kvClients?: boolean;
  /**
   * What this protocol's stored state obliges another protocol that starts on the node
   * (../carry-over.ts): read at a start with another protocol, as daemon/protocols.ts does.
   */
  carryOverOf?(persisted: unknown, log: { snapshot: Snapshot | null; entries: readonly LogEntry[] }): CarryOver;
  /**
   * A cluster that switches protocols (host/switch.ts): the machines it may run, by protocol.
   * Each node runs its era's machine, asks for its config's protocol, and switches live; the
   * entries' own `electionFor` and codecs build and check each machine.
   */
  readonly machines?: Readonly<Record<ProtocolName, SimProtocol>>;
  /**
   * The Raft dialect (../raft/messages.ts RAFT_WIRE) a node gossips in a life (the first start is
   * life 1); absent: this build's. A node of an older dialect reads messages with `olderDialectCodec`.
   */
  raftWireOf?(scenario: Scenario, nodeIndex: number, life: number): number;
  /** How a build of an older dialect reads Raft messages: it refuses the fields later dialects added (and anything its codec refused). */
  olderDialectCodec?(wire: number): Codec<unknown>;
  /** Adjusts the scenario a seed draws (say, a safety phase long enough for what it plans); absent: as drawn. */
  scenarioFor?(drawn: Scenario): Scenario;
}

const none: SimProtocol = {
  name: 'none',
  summary: 'membership only; nodes observe',
  protocol: 'bully',
  electionFor: () => null,
  invariants: [],
  agreement: [],
  livenessExtraMs: () => 0,
};

/**
 * Bully with `config` (the daemon's defaults unless a test breaks one on purpose), judged by the
 * lease contract, Bully's own promises and agreement after healing.
 */
export function bullyProtocol(config: BullyConfig = SIM_BULLY_CONFIG, wrap: (machine: Election<unknown, unknown>) => Election<unknown, unknown> = (m) => m): SimProtocol {
  return {
    name: 'bully',
    summary: 'Bully with fencing epochs, the majority quorum guard and leases (daemon defaults)',
    protocol: 'bully',
    electionFor: (scenario) => (ctx) =>
      wrap(
        createBully({
          selfId: ctx.id,
          config,
          bootstrapExpect: scenario.bootstrapExpect,
          rng: ctx.rng,
          persisted: ctx.persisted as BullyPersisted | null,
          nowMs: ctx.nowMs,
          carryOver: ctx.carryOver,
          memberForgetAfterMs: scenario.timings.forgetAfterMs,
        }) as Election<unknown, unknown>,
      ),
    messageCodec: bullyMessageCodec,
    persistedCodec: bullyPersistedCodec,
    carryOverOf: (persisted) => bullyCarryOver(persisted as BullyPersisted, config.leaseMs),
    invariants: [
      singleLeaderAtEveryInstant,
      namedLeaderHoldsLease,
      oneLeaderPerTerm,
      fencingTokensGrow,
      reignTokensGrow,
      bullyLeaderEpochDurable,
      bullyEpochWithinToken,
    ],
    agreement: [agreedLeaderWithLiveMajority((setup) => bullyAgreementBoundMs(setup, config)), stableLeaderWhenQuiet((setup) => bullyAgreementBoundMs(setup, config))],
    // Time to agree, then as long again to see that the agreement holds.
    livenessExtraMs: () => 2 * bullyAgreementExtraMs(config),
  };
}

const bully = bullyProtocol();

/**
 * Raft with `config`, started from each life's hard state and log (ctx.persisted, ctx.log), judged
 * by the lease contract, the Raft paper's safety properties and agreement after healing.
 */
export function raftProtocol(
  config: RaftConfig = SIM_RAFT_CONFIG,
  name = 'raft',
  summary = 'Raft with pre-vote, check-quorum, stickiness, leader records, leases and autopilot configuration changes (daemon defaults)',
): SimProtocol {
  return {
    name,
    summary,
    protocol: 'raft',
    electionFor: (scenario) => (ctx) =>
      createRaft({
        selfId: ctx.id,
        config,
        bootstrapExpect: scenario.bootstrapExpect,
        rng: ctx.rng,
        persisted: ctx.persisted as RaftHardState | null,
        log: ctx.log,
        nowMs: ctx.nowMs,
        snapshotChunkBytes: SIM_SNAPSHOT_CHUNK_BYTES,
        carryOver: ctx.carryOver,
      }) as Election<unknown, unknown>,
    messageCodec: raftMessageCodec,
    persistedCodec: raftPersistedCodec,
    carryOverOf: (persisted, log) =>
      raftCarryOver(persisted as RaftHardState, storedLeaderRecord(log.snapshot as Parameters<typeof storedLeaderRecord>[0], log.entries as RaftEntry[]), config.electionTimeoutMs),
    invariants: [
      singleLeaderAtEveryInstant,
      namedLeaderHoldsLease,
      oneLeaderPerTerm,
      fencingTokensGrow,
      reignTokensGrow,
      raftElectionSafety,
      raftLeaderAppendOnly,
      raftLogMatching,
      raftCommittedPrefixAgrees,
      raftTermsNeverDecrease,
      raftLeaderTermDurable,
      raftOneUncommittedConfig,
      raftVotersFloor(config),
    ],
    agreement: [raftAgreedLeaderWithLiveVoters((setup) => raftAgreementBoundMs(setup, config))],
    livenessExtraMs: () => 2 * raftAgreementExtraMs(config),
    kvClients: true,
  };
}

const raft = raftProtocol();

/**
 * Raft whose autopilot acts within a seed's run: learners promoted after 2 s, voters dead or left
 * for 3 s replaced or removed (the daemon waits 10 s and 2 min). Crashes, stops and late starts
 * then turn into configuration changes under partitions, loss and stalls.
 */
const raftChurn = raftProtocol(
  { ...SIM_RAFT_CONFIG, stabilizationMs: 2000, deadVoterRemoveMs: 3000 },
  'raft-churn',
  'Raft as above, with autopilot waits short enough that crashes and late starts change the configuration',
);

/** No node of an older Raft dialect refused a message as its build would (SimProtocol.olderDialectCodec). */
const olderDialectNeverRefuses: InvariantFactory = () => ({ name: 'older-dialect-never-refuses', check: (view) => view.olderDialectRefusals[0] ?? null });

/**
 * Raft in a rolling upgrade: in every seed about half the nodes start as an older build would
 * (a quarter gossip dialect 1, a quarter dialect 2, and each refuses a message with a field of a
 * later dialect, as that build's strict codec does) and come back as this build at their first
 * restart. Every machine is this build's, so the run shows that the dialect rule costs no safety
 * and no liveness while a cluster moves from mixed to whole, and (olderDialectNeverRefuses) that
 * no node of an older dialect is sent a message it would refuse.
 */
const raftUpgrade: SimProtocol = {
  ...raft,
  name: 'raft-upgrade',
  summary: 'Raft in a rolling upgrade: about half the nodes gossip an older dialect until their first restart',
  invariants: [...raft.invariants, olderDialectNeverRefuses],
  raftWireOf: (scenario, nodeIndex, life) => (life === 1 && (scenario.seed + nodeIndex) % 2 === 1 ? ((scenario.seed + nodeIndex) % 4 === 1 ? 1 : 2) : RAFT_WIRE),
  olderDialectCodec: (wire) => ({
    parse(value) {
      const parsed = raftMessageCodec.parse(value);
      if (!parsed.ok) return parsed;
      const m = parsed.value;
      for (const [dialect, fields] of Object.entries(DIALECT_FIELDS)) {
        if (Number(dialect) <= wire) continue;
        const field = fields.find((f) => f in m);
        if (field) return { ok: false, reason: `${m.type}.${field}: a field of Raft dialect ${dialect}` };
      }
      if (wire < 2 && m.type === 'APPEND' && m.entries.some(isHandoverRecord)) return { ok: false, reason: 'APPEND: a handover record (Raft dialect 2)' };
      return parsed;
    },
  }),
};

/**
 * A cluster that switches between Bully and Raft (switching.ts): operators ask by rolling
 * restart, reload and `conclave protocol switch` amid the faults. Both protocols' own invariants
 * hold wherever they run, the lease contract and growing tokens hold across them, and the
 * agreement after healing is the running protocol's.
 */
export function switchingProtocol(
  machines: Readonly<Record<ProtocolName, SimProtocol>> = { bully, raft },
  name = 'switch',
  summary = 'Bully and Raft by protocol eras: rolling restarts, reloads and protocol switch orders amid the faults',
): SimProtocol {
  return {
    name,
    summary,
    protocol: 'bully',
    electionFor: () => null,
    machines,
    // The lease contract's invariants are shared (one copy each); each protocol's own judge its machines wherever they run.
    invariants: [...new Set(PROTOCOL_NAMES.flatMap((p) => machines[p].invariants))],
    agreement: [agreementUnderRunningProtocol({ bully: machines.bully.agreement, raft: machines.raft.agreement })],
    livenessExtraMs: (scenario, bounds) => Math.max(...PROTOCOL_NAMES.map((p) => machines[p].livenessExtraMs(scenario, bounds))),
    // Room for a switch there and back amid the faults.
    scenarioFor: (drawn) => ({ ...drawn, safetyMs: drawn.safetyMs + SWITCH_SAFETY_EXTRA_MS }),
  };
}

export const SIM_PROTOCOLS: Readonly<Record<string, SimProtocol>> = {
  none,
  bully,
  raft,
  'raft-churn': raftChurn,
  'raft-upgrade': raftUpgrade,
  switch: switchingProtocol(),
  'switch-churn': switchingProtocol({ bully, raft: raftChurn }, 'switch-churn', 'switch, with raft-churn: crashes and late starts change the Raft configuration (learners, removals) between switches'),
};

export function simProtocol(name: string): SimProtocol {
  const protocol = Object.hasOwn(SIM_PROTOCOLS, name) ? SIM_PROTOCOLS[name] : undefined;
  if (!protocol) throw new UnknownSimProtocolError(name, Object.keys(SIM_PROTOCOLS));
  return protocol;
}
