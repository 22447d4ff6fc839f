/** Which election machine a protocol name runs, with its codecs and durable state file. */
import { randomInt } from 'node:crypto';
import { bullyMessageCodec, bullyPersistedCodec, createBully, INITIAL_BULLY_STATE, type BullyPersisted } from '../protocols/bully/index.js';
import { createRng } from '../protocols/rng.js';
import type { NodeId } from '../protocols/types.js';
import type { ConclaveConfig } from './config/types.js';
import type { ElectionHost } from './runtime.js';
import { createStateStore, type StateStore } from './store.js';

export const BULLY_STATE_FILE = 'bully-state.json';

/** Where the configured protocol keeps its election state, and its state before any election. */
export interface ElectionStateFile {
  store: StateStore<unknown>;
  initial: unknown;
}

/** The configured protocol's election state file; null when it keeps none (Raft, an observer in this build). */
export function electionStateFile(config: ConclaveConfig): ElectionStateFile | null {
  switch (config.protocol) {
    case 'bully':
      return { store: bullyStore(config.dataDir), initial: { ...INITIAL_BULLY_STATE, members: [] } };
    case 'raft':
      return null;
  }
}

function bullyStore(dataDir: string): StateStore<BullyPersisted> {
  return createStateStore(dataDir, BULLY_STATE_FILE, bullyPersistedCodec);
}

/**
 * Builds the election host for `config.protocol`, restoring its persisted state (a corrupt
 * state file throws DataFileError: reported, never replaced). Null: the protocol has no
 * machine in this build, so the node only observes (role `observer`).
 */
export function createElectionHost(config: ConclaveConfig, selfId: NodeId, nowMs: number): ElectionHost<unknown, unknown> | null {
  switch (config.protocol) {
    case 'bully': {
      const store = bullyStore(config.dataDir);
      const machine = createBully({
        selfId,
        config: config.bully,
        bootstrapExpect: config.cluster.bootstrapExpect,
        // Election timing jitter only; each process seeds itself, the simulator seeds per node.
        rng: createRng(randomInt(2 ** 31)),
        persisted: store.load(),
        nowMs,
      });
      return { machine, messageCodec: bullyMessageCodec } as ElectionHost<unknown, unknown>;
    }
    case 'raft':
      return null;
  }
}
