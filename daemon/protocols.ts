/** Which election machine a protocol name runs, with its codecs and durable state file. */
import { randomInt } from 'node:crypto';
import { bullyMessageCodec, bullyPersistedCodec, createBully } from '../protocols/bully/index.js';
import { createRng } from '../protocols/rng.js';
import type { NodeId } from '../protocols/types.js';
import type { ConclaveConfig } from './config/types.js';
import type { ElectionHost } from './runtime.js';
import { createStateStore } from './store.js';

/**
 * Builds the election host for `config.protocol`, restoring its persisted state (a corrupt
 * state file throws DataFileError: reported, never replaced). Null: the protocol has no
 * machine in this build, so the node only observes (role `observer`).
 */
export function createElectionHost(config: ConclaveConfig, selfId: NodeId, nowMs: number): ElectionHost<unknown, unknown> | null {
  switch (config.protocol) {
    case 'bully': {
      const store = createStateStore(config.dataDir, 'bully-state.json', bullyPersistedCodec);
      const machine = createBully({
        selfId,
        config: config.bully,
        bootstrapExpect: config.cluster.bootstrapExpect,
        // Election timing jitter only; each process seeds itself, the simulator seeds per node.
        rng: createRng(randomInt(2 ** 31)),
        persisted: store.load(),
        nowMs,
      });
      return { machine, messageCodec: bullyMessageCodec, store } as ElectionHost<unknown, unknown>;
    }
    case 'raft':
      return null;
  }
}
