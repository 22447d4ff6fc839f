/**
 * Bully leader election with fencing epochs and a quorum guard (DESIGN.md section 5, issue 3).
 *
 * @example
 * const bully = createBully({ selfId, config: DEFAULT_BULLY_CONFIG, rng, persisted: store.load(), nowMs });
 * bully.step({ type: 'members', nowMs, members });
 * for (const effect of bully.drain()) ... // persist before send
 */
export { createBully } from './bully.js';
export type { BullyInit } from './bully.js';
export type { BullyConfig } from './config.js';
export { bullyMessageCodec, bullyPersistedCodec, INITIAL_BULLY_STATE } from './messages.js';
export type { BullyMessage, BullyMessageType, BullyPersisted, CoordinatorKind } from './messages.js';
export { compareRank, highestRanked, outranks } from './rank.js';
export type { Ranked } from './rank.js';
export { clusterSize, countedMembers, isMajority, majorityOf } from './quorum.js';
