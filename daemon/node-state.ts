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
 * one where a first start stopped between its two writes (an empty state without a key). A
 * protocol that keeps no election state (Raft in this build) checks nothing.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import type { ConclaveConfig } from './config/types.js';
import { ElectionStateError } from './errors.js';
import { IDENTITY_FILE, loadOrCreateIdentity, type Identity } from './identity.js';
import { createElectionHost, electionStateFile } from './protocols.js';
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
  election: ElectionHost<unknown, unknown> | null;
}

export interface OpenNodeStateOptions {
  /** `--reset-election-state`: accept a mismatch for this start, with empty election state. */
  resetElectionState: boolean;
  nowMs: number;
  log: { warn(fields: object, message: string): void; info(fields: object, message: string): void };
}

/**
 * The identity (created in a new data dir) and the election host, restored from disk. Throws
 * ElectionStateError on a mismatch without `resetElectionState`, and DataFileError,
 * IdentityError or PersistError for a file that cannot be read, parsed or written.
 */
export async function openNodeState(config: ConclaveConfig, opts: OpenNodeStateOptions): Promise<NodeState> {
  const identityPath = join(config.dataDir, IDENTITY_FILE);
  const file = electionStateFile(config);
  if (file === null) {
    if (opts.resetElectionState) opts.log.info({ protocol: config.protocol }, `--reset-election-state ignored: protocol ${config.protocol} keeps no election state in this build`);
    const identity = await loadOrCreateIdentity(config.dataDir);
    return { identity, election: createElectionHost(config, identity.peerId, opts.nowMs) };
  }
  const { store, initial } = file;
  const hasIdentity = existsSync(identityPath);
  const stored = store.load(); // a corrupt state file throws DataFileError, as itself
  const mismatch = stateMismatch(hasIdentity, stored === null ? 'none' : isDeepStrictEqual(stored, initial) ? 'initial' : 'held');
  if (mismatch !== null && !opts.resetElectionState) {
    // A corrupt key is reported as such before a missing state is; an existing key is only read.
    if (hasIdentity) await loadOrCreateIdentity(config.dataDir);
    throw new ElectionStateError(mismatch, store.path, identityPath);
  }
  if (mismatch === 'lost-state') {
    opts.log.warn(
      { file: store.path, mismatch },
      `starting with empty election state (--reset-election-state): ${store.path} was missing. This node's fencing token restarts ` +
        "from 0; it learns the cluster's epoch from its peers before it claims, but a node without peers hands out tokens from 1 again",
    );
  } else if (mismatch === 'lost-identity') {
    opts.log.warn(
      { file: store.path, mismatch },
      `starting a new identity with empty election state (--reset-election-state): ${identityPath} was missing, and ${store.path}, ` +
        'which belonged to the old identity, is replaced',
    );
  } else if (opts.resetElectionState) {
    opts.log.info({ file: store.path }, '--reset-election-state ignored: the identity and election state in this data dir belong together (remove the flag)');
  }
  // Before a new identity: a start that stops in between leaves an empty state without a key,
  // which the next start takes for a new node, never a key without its state.
  if (stored === null || mismatch === 'lost-identity') store.save(initial);
  const identity = await loadOrCreateIdentity(config.dataDir);
  return { identity, election: createElectionHost(config, identity.peerId, opts.nowMs) };
}
