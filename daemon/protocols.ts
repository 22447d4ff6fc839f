/** Which election machine a protocol name runs, with its codecs and the state it starts from. */
import { randomInt } from 'node:crypto';
import { bullyMessageCodec, bullyPersistedCodec, createBully, INITIAL_BULLY_STATE, type BullyPersisted } from '../protocols/bully/index.js';
import { createRng } from '../protocols/rng.js';
import type { Codec, NodeId } from '../protocols/types.js';
import type { ConclaveConfig } from './config/types.js';
import type { ElectionHost } from './runtime.js';

/** How the configured protocol's durable election state is checked, and its value before any election. */
export interface ElectionState {
  codec: Codec<unknown>;
  initial: unknown;
}

/** The configured protocol's election state; null when it keeps none (Raft, an observer in this build). */
export function electionState(config: ConclaveConfig): ElectionState | null {
  switch (config.protocol) {
    case 'bully':
      return { codec: bullyPersistedCodec as Codec<unknown>, initial: { ...INITIAL_BULLY_STATE, members: [] } };
    case 'raft':
      return null;
  }
}

/**
 * Builds the election host for `config.protocol` from its stored state (validated by
 * electionState's codec; null: none yet). Null: the protocol has no machine in this build, so
 * the node only observes (role `observer`).
 */
export function createElectionHost(config: ConclaveConfig, selfId: NodeId, persisted: unknown, nowMs: number): ElectionHost<unknown, unknown> | null {
  switch (config.protocol) {
    case 'bully': {
      const machine = createBully({
        selfId,
        config: config.bully,
        bootstrapExpect: config.cluster.bootstrapExpect,
        // Election timing jitter only; each process seeds itself, the simulator seeds per node.
        rng: createRng(randomInt(2 ** 31)),
        persisted: persisted as BullyPersisted | null,
        nowMs,
      });
      return { machine, messageCodec: bullyMessageCodec } as ElectionHost<unknown, unknown>;
    }
    case 'raft':
      return null;
  }
}
