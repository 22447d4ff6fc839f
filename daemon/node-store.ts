/**
 * A data dir's durable machine state: one log store (storage/) under `<dataDir>/wal`, holding the
 * membership incarnation and the election's hard state (and, for a log-based protocol, its log).
 * It is the runtime's NodeDisk: each persist batch of the host core becomes one append, and
 * appends made while an fsync runs share the next one (group commit).
 *
 * Data dirs written before the log store kept `incarnation` and `bully-state.json` as files; the
 * first start with the log store imports them in one batch and renames them `*.migrated`, so an
 * older daemon started on the same dir refuses it (no election state) instead of going back to
 * an older epoch.
 */
import { renameSync } from 'node:fs';
import { join } from 'node:path';
import type { EraRecord, NodeBatch } from '../protocols/host/core.js';
import { PROTOCOL_NAMES, type Codec, type LogEntry, type ProtocolName, type Snapshot } from '../protocols/types.js';
import { DataFileError, PersistError } from './errors.js';
import { INCARNATION_FILE, loadIncarnation, MAX_INCARNATION } from './incarnation.js';
import type { NodeDisk } from './runtime.js';
import { openLogStore, type LogStore, type StoreBatch, type TornTail } from './storage/index.js';
import { createStateStore } from './store.js';

export const WAL_DIR = 'wal';
/** The hard-state key of membership; each election protocol's state is kept under its own name. */
export const MEMBERSHIP_KEY = 'membership';
/** The hard-state key naming the protocol the node's config asked for when it last started (`{ protocol }`). */
export const RUNNING_KEY = 'running';
/** The hard-state key of the node's protocol era (protocols/host/switch.ts): `{ era, protocol, requested }`. */
export const ERA_KEY = 'era';

/** Files of data dirs from before the log store, per protocol. */
export const LEGACY_ELECTION_FILES: Readonly<Partial<Record<ProtocolName, string>>> = { bully: 'bully-state.json' };

export interface NodeStoreInit {
  dataDir: string;
  protocol: ProtocolName;
  /** Validates the stored election state (the protocol's persisted codec); null: the protocol keeps none. */
  electionCodec: Codec<unknown> | null;
  /**
   * The other protocols' codecs: when the stored era names another protocol than `protocol`
   * (the cluster switched), that protocol's state is the one validated and run.
   */
  electionCodecs?: Partial<Record<ProtocolName, Codec<unknown>>>;
  /** Validate the stored log (a log-based protocol): its snapshot's data and each entry. */
  logCodecs?: { snapshot: Codec<unknown>; entry: Codec<unknown> };
  log: { warn(fields: object, message: string): void; info(fields: object, message: string): void };
  /** Segment size (tests: a tiny one makes every append start a new file). Default: the log store's. */
  segmentBytes?: number;
}

export interface NodeStore extends NodeDisk {
  /** The log store's directory: what error messages and logs name. */
  readonly path: string;
  /** The protocol this node runs: the stored era's, else the one it was opened for. */
  readonly protocol: ProtocolName;
  /** The stored protocol era; null before the first era was written (a new node, or a version before eras). */
  readonly era: EraRecord | null;
  /** The election's stored hard state, validated; null when none was ever written. */
  readonly election: unknown;
  /** A log-based election's snapshot and the entries after it, as recovered at open (empty for Bully). */
  readonly log: { readonly snapshot: Snapshot | null; readonly entries: readonly LogEntry[] };
  /**
   * Every protocol's stored election state by protocol name, unvalidated (what was written):
   * a protocol started on a data dir another one used reads its fencing tokens from here.
   */
  readonly otherElections: ReadonlyMap<string, unknown>;
  /** The protocol that ran here last: the era's, else the one the node last started with; null before the first start. */
  readonly ranLast: ProtocolName | null;
  /** The protocol the node's config asked for when it last started here; null before the first start. */
  readonly startedWith: ProtocolName | null;
  /** The stored incarnation; null before the first start. */
  readonly incarnation: number | null;
  /** A crash mid-append cut at open (kept beside the segment, logged), or null. */
  readonly torn: TornTail | null;
  /** Appends directly (start-up writes before the runtime exists); rejects with PersistError. */
  append(batch: StoreBatch): Promise<void>;
  readonly stats: LogStore['stats'];
  /** Every fsync's duration (ms) as it completes: LogStore.onFsync. */
  onFsync: LogStore['onFsync'];
  close(): Promise<void>;
}

/**
 * Opens (or creates) the store. Corruption throws DataFileError naming the file and byte offset
 * (the daemon refuses to start, exit 2); a torn last record is cut, kept and logged.
 */
export async function openNodeStore(init: NodeStoreInit): Promise<NodeStore> {
  const path = join(init.dataDir, WAL_DIR);
  const store = await openLogStore(path, {
    ...(init.segmentBytes !== undefined ? { segmentBytes: init.segmentBytes } : {}),
    onTorn: (torn) =>
      init.log.warn(
        { file: torn.file, offset: torn.offset, bytes: torn.bytes, keptAs: torn.keptAs },
        `cut a torn last record (a crash mid-write, never acknowledged) from ${torn.file} at byte ${torn.offset}; the ${torn.bytes} bytes are kept in ${torn.keptAs}`,
      ),
    onLeftovers: (files) => init.log.info({ files }, `deleted ${files.length} temporary snapshot file(s) a crash left mid-write (never acknowledged): ${files.join(', ')}`),
  });
  let key: ProtocolName = init.protocol;
  let election: unknown;
  let incarnation: number | null;
  let era: EraRecord | null;
  const hard = new Map(store.recovered.hardState);
  try {
    // Nothing stored yet: a new data dir, or one from before the log store (then import it).
    if (hard.size === 0) for (const [k, v] of Object.entries(await importLegacy(init, store))) hard.set(k, v);
    era = validEra(path, hard.get(ERA_KEY));
    if (era !== null) key = era.protocol;
    const codec = key === init.protocol ? init.electionCodec : (init.electionCodecs?.[key] ?? null);
    election = validElection(path, codec, hard.get(key));
    incarnation = validIncarnation(path, hard.get(MEMBERSHIP_KEY));
    if (init.logCodecs) validLog(path, init.logCodecs, store.recovered);
  } catch (err) {
    await store.close().catch(() => undefined);
    throw err;
  }
  const otherElections = new Map([...hard].filter(([k]) => k !== key && k !== MEMBERSHIP_KEY && k !== RUNNING_KEY && k !== ERA_KEY));
  const running = hard.get(RUNNING_KEY) as { protocol?: unknown } | undefined;
  const startedWith = PROTOCOL_NAMES.find((p) => p === running?.protocol) ?? null;
  return {
    path,
    protocol: key,
    era,
    startedWith,
    election,
    log: { snapshot: store.recovered.snapshot, entries: store.recovered.entries },
    otherElections,
    ranLast: era?.protocol ?? startedWith,
    incarnation,
    torn: store.recovered.torn,
    // A getter: the store's stats are a fresh snapshot on every read (a plain property froze them at open).
    get stats() {
      return store.stats;
    },
    onFsync: (listener) => store.onFsync(listener),
    append: (batch) => store.append(batch),
    write: (batch) => store.append(toStoreBatch(key, batch)),
    close: () => store.close(),
  };
}

/** A host core batch as one log store batch: each machine's hard state under its key. */
export function toStoreBatch(electionKey: string, batch: NodeBatch): StoreBatch {
  const hardState: Record<string, unknown> = {};
  if (batch.incarnation !== undefined) hardState[MEMBERSHIP_KEY] = { incarnation: batch.incarnation };
  if (batch.era !== undefined) hardState[ERA_KEY] = { ...batch.era };
  const e = batch.election;
  if (e?.hardState !== undefined) hardState[batch.electionProtocol ?? electionKey] = e.hardState;
  return {
    ...(Object.keys(hardState).length > 0 ? { hardState } : {}),
    ...(e?.snapshot !== undefined ? { snapshot: e.snapshot } : {}),
    ...(e?.truncateAfter !== undefined ? { truncateAfter: e.truncateAfter } : {}),
    ...(e?.entries !== undefined ? { entries: e.entries } : {}),
  };
}

function validElection(path: string, codec: Codec<unknown> | null, value: unknown): unknown {
  if (value === undefined || codec === null) return null;
  const parsed = codec.parse(value);
  if (!parsed.ok) throw new DataFileError(path, `its election state does not parse: ${parsed.reason}`);
  return parsed.value;
}

/** A stored log the machine could not use is reported, never silently replaced (its first bad part named). */
function validLog(path: string, codecs: NonNullable<NodeStoreInit['logCodecs']>, log: { snapshot: Snapshot | null; entries: readonly LogEntry[] }): void {
  if (log.snapshot) {
    const parsed = codecs.snapshot.parse(log.snapshot.data);
    if (!parsed.ok) throw new DataFileError(path, `its snapshot at index ${log.snapshot.index} does not parse: ${parsed.reason}`);
  }
  for (const entry of log.entries) {
    const parsed = codecs.entry.parse(entry);
    if (!parsed.ok) throw new DataFileError(path, `its log entry at index ${entry.index} does not parse: ${parsed.reason}`);
  }
}

function validEra(path: string, value: unknown): EraRecord | null {
  if (value === undefined) return null;
  const v = value as Partial<EraRecord> | null;
  const isProtocol = (p: unknown): p is ProtocolName => PROTOCOL_NAMES.some((name) => name === p);
  const counter = (n: unknown): n is number => typeof n === 'number' && Number.isSafeInteger(n) && n >= 0;
  if (!counter(v?.era) || !isProtocol(v.protocol) || !isProtocol(v.requested) || (v.tokenFloor !== undefined && !counter(v.tokenFloor))) {
    throw new DataFileError(path, `its protocol era should be { era, protocol, requested, tokenFloor? } with protocols among ${PROTOCOL_NAMES.join(', ')}, not ${JSON.stringify(value)?.slice(0, 80)}`);
  }
  return { era: v.era, protocol: v.protocol, requested: v.requested, ...(v.tokenFloor !== undefined ? { tokenFloor: v.tokenFloor } : {}) };
}

function validIncarnation(path: string, value: unknown): number | null {
  if (value === undefined) return null;
  const n = (value as { incarnation?: unknown } | null)?.incarnation;
  if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < 0 || n > MAX_INCARNATION) {
    throw new DataFileError(path, `its membership state should hold an incarnation in 0..${MAX_INCARNATION}, not ${JSON.stringify(value)?.slice(0, 40)}`);
  }
  return n;
}

/** A data dir from before the log store: its state files become the first batch, then are renamed. Returns what it imported. */
async function importLegacy(init: NodeStoreInit, store: LogStore): Promise<Record<string, unknown>> {
  const incarnationPath = join(init.dataDir, INCARNATION_FILE);
  const electionName = LEGACY_ELECTION_FILES[init.protocol];
  const electionPath = electionName ? join(init.dataDir, electionName) : null;
  const incarnation = loadIncarnation(init.dataDir); // a corrupt file throws DataFileError, as itself
  const election = electionPath && init.electionCodec ? createStateStore(init.dataDir, electionName!, init.electionCodec).load() : null;
  if (incarnation === null && election === null) return {};
  const hardState: Record<string, unknown> = {};
  if (incarnation !== null) hardState[MEMBERSHIP_KEY] = { incarnation };
  if (election !== null) hardState[init.protocol] = election;
  await store.append({ hardState });
  const moved: string[] = [];
  for (const file of [incarnation !== null ? incarnationPath : null, election !== null ? electionPath : null]) {
    if (file === null) continue;
    try {
      renameSync(file, `${file}.migrated`);
    } catch (err) {
      throw new PersistError(file, err, `imported into ${store.dir} but not renamed to ${file}.migrated`);
    }
    moved.push(file);
  }
  init.log.info({ files: moved, wal: store.dir }, `imported ${moved.join(' and ')} into the log store ${store.dir}; the old files are kept as *.migrated`);
  return hardState;
}
