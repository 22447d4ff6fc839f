/**
 * Errors of the log store that are the caller's bug, not the disk's: a batch that cannot be
 * written as given. Disk failures are PersistError and damaged files DataFileError
 * (daemon/errors.ts). No `exitCode`: a programming error exits 1 (exitCodeOf).
 */
import type { MisfitKind } from './log-state.js';

/** The batch's snapshot, truncation or entries do not fit the stored log; nothing of it was written. */
export class LogContinuityError extends Error {
  override readonly name = 'LogContinuityError';
  readonly kind: MisfitKind;

  constructor(kind: MisfitKind, reason: string) {
    super(`log store refused a batch: ${reason}`);
    this.kind = kind;
  }
}

/** A part of the batch has no stored form (not JSON, a non-integer index, too large); nothing of it was written. */
export class InvalidBatchError extends Error {
  override readonly name = 'InvalidBatchError';
  /** Which part, e.g. `entries[3].data` or `hardState.election`. */
  readonly part: string;

  constructor(part: string, reason: string) {
    super(`log store refused a batch: ${part} ${reason}`);
    this.part = part;
  }
}

/** `append` after `close`. */
export class LogStoreClosedError extends Error {
  override readonly name = 'LogStoreClosedError';

  constructor(dir: string) {
    super(`log store ${dir} is closed`);
  }
}
