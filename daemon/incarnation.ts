/**
 * The node's SWIM incarnation across restarts. It lives in the log store (node-store.ts); data
 * dirs from before it kept `<dataDir>/incarnation` (one decimal integer), read here to import it.
 * A restarted node must outrank its previous life (newer incarnation wins), including the
 * refutations it made: it starts at wall-clock seconds, or one above the stored value if that is
 * higher. A file that does not hold a plain integer is reported, never replaced: starting over
 * from the clock could fall below refutations the cluster has already seen.
 */
import { join } from 'node:path';
import { MAX_COUNTER } from '../protocols/bounds.js';
import { DataFileError } from './errors.js';
import { readDataFile } from './store.js';

export const INCARNATION_FILE = 'incarnation';
/**
 * The largest stored value accepted: its successor is still within the counter bound every peer
 * enforces (protocols/bounds.ts). Wall-clock seconds are near 2^31.
 */
export const MAX_INCARNATION = MAX_COUNTER - 1;

/** The stored incarnation, null before the first start; a corrupt file throws DataFileError. */
export function loadIncarnation(dataDir: string): number | null {
  const path = join(dataDir, INCARNATION_FILE);
  const text = readDataFile(path);
  if (text === null) return null;
  // Exactly what saveIncarnation writes: digits and one newline, nothing to guess about.
  if (!/^\d+\n?$/.test(text)) {
    throw new DataFileError(path, `it should hold one non-negative integer, not ${JSON.stringify(text.slice(0, 24))}`);
  }
  const value = Number(text);
  if (!(value <= MAX_INCARNATION)) throw new DataFileError(path, `its value is above the maximum incarnation ${MAX_INCARNATION}`);
  return value;
}

/**
 * The incarnation for this start: wall-clock seconds, or one above the stored value if that is
 * higher. The caller stores it before any gossip (node-store.ts).
 */
export function incarnationForStart(stored: number | null, nowMs = Date.now()): number {
  return Math.max(Math.floor(nowMs / 1000), stored === null ? 0 : stored + 1);
}
