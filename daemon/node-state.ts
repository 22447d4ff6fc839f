/**
 * Opens a data dir's durable node state at start: the identity (`peer.key`) and the configured
 * protocol's election state, refusing the combinations that could move a fencing token backwards.
 *
 * A new node writes its (empty) election state before it creates its identity, so from then on
 * an identity without its election state means the state was lost (deleted, or only the key
 * restored from a backup): starting empty would restart the token of an id its peers know from
 * 0, and a lone node would hand out token 1 again after 42. Election state that holds anything
 * without an identity belongs to a node whose key is gone: a new identity must not inherit its
 * promises. Both are refused (ElectionStateError, exit 2) unless the operator passes
 * `--reset-election-state` for this one start. A brand-new data dir starts normally, and so does
 * one where a first start stopped between its two writes (an empty state without a key), and one
 * that another protocol ran on (this protocol's state starts empty: it never voted there).
 *
 * The election state and the incarnation live in the log store (node-store.ts).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import type { ConclaveConfig } from './config/types.js';
import { ElectionStateError } from './errors.js';
import { IDENTITY_FILE, loadOrCreateIdentity, type Identity } from './identity.js';
import { incarnationForStart } from './incarnation.js';
import { ERA_KEY, MEMBERSHIP_KEY, openNodeStore, RUNNING_KEY, type NodeStore } from './node-store.js';
import { eraAtStart } from '../protocols/host/switch.js';
import { carryOverFor, createElectionHost, electionFactory, electionState, MESSAGE_CODECS, PERSISTED_CODECS, RAFT_LOG_CODECS } from './protocols.js';
import type { ElectionFactory } from '../protocols/host/core.js';
import type { Codec, ProtocolName } from '../protocols/types.js';
import type { ElectionHost } from './runtime.js';

export type StateMismatch = ElectionStateError['kind'];

/** What the election state file holds: nothing (no file), the state before any election, or more. */
export type StoredState = 'none' | 'initial' | 'held';

/** Which mismatch a data dir shows; null when its identity and election state belong together. */
export function stateMismatch(hasIdentity: boolean, state: StoredState): StateMismatch | null {
  if (hasIdentity) return state === 'none' ? 'lost-state' : null;
  return state === 'held' ? 'lost-identity' : null;
}

export interface NodeState {
  identity: Identity;
  /** The machine of the protocol this node runs: its era's (the cluster's), which may differ from its config's. */
  election: ElectionHost<unknown, unknown>;
  /** The protocol era to start in and what this node asks for (protocols/host/switch.ts), and the machines of a live switch. */
  switching: { era: { era: number; requested: ProtocolName; tokenFloor: number }; factory: ElectionFactory; codecs: Record<ProtocolName, Codec<unknown>> };
  /** The log store, open: the runtime's disk. */
  store: NodeStore;
  /** This start's incarnation, already durable. */
  incarnation: number;
}

export interface OpenNodeStateOptions {
  /** `--reset-election-state`: accept a mismatch for this start, with empty election state. */
  resetElectionState: boolean;
  nowMs: number;
  /** Wall-clock ms, for the incarnation. */
  wallMs?: number;
  log: { warn(fields: object, message: string): void; info(fields: object, message: string): void };
}

/**
 * The identity (created in a new data dir), the election host restored from the log store, and
 * this start's incarnation (stored before it is returned, so before any gossip). Throws
 * ElectionStateError on a mismatch without `resetElectionState`, and DataFileError,
 * IdentityError or PersistError for state that cannot be read, parsed or written. The store is
 * closed again when opening fails.
 */
export async function openNodeState(config: ConclaveConfig, opts: OpenNodeStateOptions): Promise<NodeState> {
  // The log holds Raft's entries whatever protocol starts: Bully reads its leader records too (carryOverFor).
  const store = await openNodeStore({
    dataDir: config.dataDir,
    protocol: config.protocol,
    electionCodec: PERSISTED_CODECS[config.protocol],
    electionCodecs: PERSISTED_CODECS,
    logCodecs: RAFT_LOG_CODECS,
    log: opts.log,
  });
  try {
    // A node that was part of a cluster runs the cluster's protocol (its era's), whatever its
    // config asks for: the config is a request, carried out by a switch of the whole cluster.
    const running: ConclaveConfig = { ...config, protocol: store.protocol };
    const { identity, persisted } = await openIdentity(running, store, opts);
    const carryOver = carryOverFor(running, store, store.election);
    if (carryOver.leaseTo !== null) {
      opts.log.info(
        { ranLast: store.ranLast, tokenFloor: carryOver.tokenFloor, leaseTo: carryOver.leaseTo, holdMs: carryOver.holdMs },
        `this node ran another protocol last: ${running.protocol} starts above its fencing token ${carryOver.tokenFloor} and helps elect no one for ${carryOver.holdMs} ms (its promise to the old leader)`,
      );
    }
    const { era, requested, tokenFloor } = eraAtStart(store.era, store.startedWith, config.protocol);
    if (running.protocol !== config.protocol) {
      opts.log.warn(
        { protocol: config.protocol, running: running.protocol, era: store.era?.era ?? 0 },
        `the config asks for ${config.protocol}, but this node's cluster runs ${running.protocol} (era ${store.era?.era ?? 0}): it runs ${running.protocol} and asks the cluster to switch (the leader switches it once most members ask; conclave protocol switch ${config.protocol} orders it)`,
      );
    }
    const incarnation = incarnationForStart(store.incarnation, opts.wallMs ?? Date.now());
    // Which protocol the config asked for, so the next start knows whether it changed; and what
    // this node asks for, which outlives the start that read a changed config.
    const eraRecord = store.era === null ? {} : { [ERA_KEY]: { ...store.era, requested } };
    const election = createElectionHost(running, identity.peerId, persisted, store.log, opts.nowMs, carryOver);
    // A state another protocol's tokens raised is written before the machine reports a token: a
    // later start reads it back rather than the lower one (simulator, switch seed 3712).
    const raised = carryOver.tokenFloor > 0 && election.machine.durableImage ? { [running.protocol]: election.machine.durableImage().persisted } : {};
    await store.append({ hardState: { [MEMBERSHIP_KEY]: { incarnation }, [RUNNING_KEY]: { protocol: config.protocol }, ...eraRecord, ...raised } });
    const switching = { era: { era, requested, tokenFloor }, factory: electionFactory(config, identity.peerId, store), codecs: { ...MESSAGE_CODECS } };
    return { identity, election, switching, store, incarnation };
  } catch (err) {
    await store.close().catch(() => undefined);
    throw err;
  }
}

/** The identity, and the election state the machine starts from. */
async function openIdentity(config: ConclaveConfig, store: NodeStore, opts: OpenNodeStateOptions): Promise<{ identity: Identity; persisted: unknown }> {
  const identityPath = join(config.dataDir, IDENTITY_FILE);
  const state = electionState(config);
  const where = store.path;
  const hasIdentity = existsSync(identityPath);
  const stored = store.election;
  // A data dir another protocol ran on: this one never ran here, so it never voted or promised
  // anything under this identity, and it starts empty. Only a store without any election state
  // (deleted, or only the key restored) is state lost.
  const ranOther = stored === null && store.otherElections.size > 0;
  const mismatch = stateMismatch(hasIdentity, stored === null ? (ranOther ? 'initial' : 'none') : isDeepStrictEqual(stored, state.initial) ? 'initial' : 'held');
  if (mismatch !== null && !opts.resetElectionState) {
    // A corrupt key is reported as such before a missing state is; an existing key is only read.
    if (hasIdentity) await loadOrCreateIdentity(config.dataDir);
    throw new ElectionStateError(mismatch, where, identityPath);
  }
  if (mismatch === 'lost-state') {
    opts.log.warn(
      { file: store.path, mismatch },
      `starting with empty election state (--reset-election-state): ${where} was missing. This node's fencing token restarts ` +
        "from 0; it learns the cluster's epoch from its peers before it claims, but a node without peers hands out tokens from 1 again",
    );
  } else if (mismatch === 'lost-identity') {
    opts.log.warn(
      { file: store.path, mismatch },
      `starting a new identity with empty election state (--reset-election-state): ${identityPath} was missing, and ${where}, ` +
        'which belonged to the old identity, is replaced',
    );
  } else if (opts.resetElectionState) {
    opts.log.info({ file: store.path }, '--reset-election-state ignored: the identity and election state in this data dir belong together (remove the flag)');
  }
  // Before a new identity: a start that stops in between leaves an empty state without a key,
  // which the next start takes for a new node, never a key without its state.
  const fresh = stored === null || mismatch === 'lost-identity';
  if (fresh) await store.append({ hardState: { [config.protocol]: state.initial } });
  return { identity: await loadOrCreateIdentity(config.dataDir), persisted: fresh ? state.initial : stored };
}
