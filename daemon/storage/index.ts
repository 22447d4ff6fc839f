/** The log store: durable state of the daemon's machines in checksummed, segmented, append-only files. */
export { openLogStore, readLogStore } from './open.js';
export { DEFAULT_SEGMENT_BYTES, FSYNC_SAMPLES, MAX_COMMIT_BYTES } from './types.js';
export type { LogStore, LogStoreOptions, LogStoreStats, Recovered, StoreBatch, TornTail } from './types.js';
export { InvalidBatchError, LogContinuityError, LogStoreClosedError } from './errors.js';
export { nodeStoreFs } from './fs.js';
export type { StoreFile, StoreFs } from './fs.js';
