/**
 * Runs one disk scenario of store-disk.test.ts and prints what it observed as JSON: the atomic
 * file replacement, and a node on the log store, on a full and a read-only file system. It expects to
 * run inside a private mount namespace with a fresh tmpfs mounted at the directory it is given
 * (the test starts it so): it fills that file system or remounts it read-only, which must never
 * touch a real data dir. Usage: node disk-fixture.js full|read-only DIR
 */
import { execFileSync } from 'node:child_process';
import { closeSync, ftruncateSync, fstatSync, openSync, readdirSync, readFileSync, readlinkSync, unlinkSync, writeSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { bullyPersistedCodec, type BullyPersisted } from '../protocols/bully/index.js';
import type { Codec } from '../protocols/types.js';
import { openNodeStore, WAL_DIR, type NodeStore } from './node-store.js';
import { createRuntimeHarness, SELF_ID, type RuntimeHarness } from './runtime-testing.js';
import { writeFileDurably } from './store.js';

const PAGE = 4096;

export interface CapturedError {
  name: string;
  path: string | null;
  code: string | null;
  message: string;
}

/** What the node reported, and what was on disk, at one moment. */
export interface NodeReport {
  status: { role: string; term: number; fencingToken: number; leader: string | null; leaseRemainingMs: number | null };
  leader: { role: string; fencingToken: number; leader: string | null };
  metrics: { fencingToken: number; isLeader: number };
  /** The write failure the runtime stopped on (the daemon exits 1 with it); null while none. */
  fatal: CapturedError | null;
  /** Election messages that left the node. */
  sent: number;
  diskToken: number;
  files: string[];
  /** Events other than member-joined, in order. */
  events: { type: string; fencingToken?: unknown; to?: unknown }[];
  errorLogs: { err: unknown; msg: unknown }[];
}

const AT_41: BullyPersisted = { v: 1, acceptedEpoch: 41, acceptedLeader: SELF_ID, leaseTo: SELF_ID, highestEpochSeen: 41, members: [SELF_ID], bootstrapped: true };

function capture(write: () => void): CapturedError | null {
  try {
    write();
    return null;
  } catch (err) {
    const e = err as Error & { path?: string; code?: string | null };
    return { name: e.name, path: e.path ?? null, code: e.code ?? null, message: e.message };
  }
}

/** Appends whole pages to `path` until the file system is full. */
function fill(path: string): void {
  const fd = openSync(path, 'a');
  try {
    for (let i = 0; i < 1_000_000; i++) writeSync(fd, Buffer.alloc(PAGE, 1));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOSPC') throw err;
  } finally {
    closeSync(fd);
  }
}

/** Frees `pages` pages at the end of the filler. */
function free(path: string, pages: number): void {
  const fd = openSync(path, 'r+');
  try {
    ftruncateSync(fd, Math.max(0, fstatSync(fd).size - pages * PAGE));
  } finally {
    closeSync(fd);
  }
}

async function report(h: RuntimeHarness, walDir: string, diskToken: number): Promise<NodeReport> {
  const status = h.control.status();
  const leader = h.control.leader();
  const body = await h.scrape();
  const metric = (name: string) => Number(new RegExp(`^conclave_${name} (\\S+)$`, 'm').exec(body)?.[1]);
  return {
    status: { role: status.role, term: status.term, fencingToken: status.fencingToken, leader: status.leader?.id ?? null, leaseRemainingMs: status.leaseRemainingMs },
    leader: { role: leader.role, fencingToken: leader.fencingToken, leader: leader.leader?.id ?? null },
    metrics: { fencingToken: metric('fencing_token'), isLeader: metric('is_leader') },
    fatal: capture(() => {
      const err = h.fatal();
      if (err) throw err;
    }),
    sent: h.sent.length,
    diskToken,
    files: readdirSync(walDir).sort(),
    events: h.events.filter((e) => e.type !== 'member-joined').map((e) => ({ type: e.type, fencingToken: 'fencingToken' in e ? e.fencingToken : undefined, to: 'to' in e ? e.to : undefined })),
    errorLogs: h.logs.filter((r) => r.level === 50).map((r) => ({ err: r.err, msg: r.msg })),
  };
}

const quiet = { warn: () => undefined, info: () => undefined };

/**
 * `segmentBytes: 1` starts a new segment file with every append: on a full disk an append into
 * the last, partly used page of a file can still succeed, a new file cannot.
 */
function openStore(dir: string, segmentBytes?: number): Promise<NodeStore> {
  return openNodeStore({ dataDir: dir, protocol: 'bully', electionCodec: bullyPersistedCodec as Codec<unknown>, log: quiet, ...(segmentBytes ? { segmentBytes } : {}) });
}

/** The token a restart would read. */
async function storedToken(dir: string): Promise<number> {
  const store = await openStore(dir);
  await store.close();
  return (store.election as BullyPersisted | null)?.acceptedEpoch ?? -1;
}

/** A data dir whose log store holds election state at token 41. */
async function seeded(dir: string): Promise<void> {
  const store = await openStore(dir);
  await store.append({ hardState: { bully: AT_41, membership: { incarnation: 1_700_000_000 } } });
  await store.close();
}

/**
 * The node runs on `store` while `breakDisk` is in force: it must stop on the first failed write.
 * Then `fixDisk`, and a restart (the store reopened) leads at the next token.
 */
async function runBrokenThenRestart(dir: string, breakDisk: () => void, fixDisk: () => void): Promise<{ failing: NodeReport; recovered: NodeReport; walDir: string }> {
  const walDir = join(dir, WAL_DIR);
  const store = await openStore(dir, 1);
  breakDisk();
  const h = createRuntimeHarness({ persisted: store.election as BullyPersisted, disk: store });
  await h.advance(3000);
  // Nothing was acknowledged since the open: the disk holds what the store recovered then.
  const failing = await report(h, walDir, (store.election as BullyPersisted | null)?.acceptedEpoch ?? -1);
  await store.close().catch(() => undefined);
  fixDisk();
  const reopened = await openStore(dir);
  const restarted = createRuntimeHarness({ persisted: reopened.election as BullyPersisted, disk: reopened });
  await restarted.advance(1500);
  await reopened.close();
  const recovered = await report(restarted, walDir, await storedToken(dir));
  return { failing, recovered, walDir };
}

async function fullDisk(dir: string): Promise<object> {
  // The atomic file replacement (snapshots, identity) on a full disk.
  const statePath = join(dir, 'small-state.json');
  writeFileDurably(statePath, JSON.stringify(AT_41) + '\n');
  const original = readFileSync(statePath, 'utf8');
  const filler = join(dir, 'filler');
  fill(filler);
  const direct = capture(() => writeFileDurably(statePath, JSON.stringify({ ...AT_41, acceptedEpoch: 42, highestEpochSeen: 42 }) + '\n'));
  const afterDirect = { files: readdirSync(dir).sort(), intact: readFileSync(statePath, 'utf8') === original };
  // Room for part of the content only: write(2) returns short, and nothing may be renamed into place.
  free(filler, 2);
  const partial = capture(() => writeFileDurably(statePath, JSON.stringify({ pad: 'x'.repeat(4 * PAGE) }) + '\n'));
  const afterPartial = { files: readdirSync(dir).sort(), intact: readFileSync(statePath, 'utf8') === original };
  unlinkSync(filler);
  unlinkSync(statePath);

  await seeded(dir);
  const run = await runBrokenThenRestart(dir, () => fill(filler), () => unlinkSync(filler));
  return { statePath, direct, afterDirect, partial, afterPartial, ...run };
}

/**
 * A data dir remounted read-only: the log store cannot be opened for appending, so the start
 * fails (exit 2) naming the file. (A file system cannot be remounted read-only under a daemon
 * that holds its segment open for writing: the kernel refuses, "mount point is busy".)
 */
async function readOnly(dir: string): Promise<object> {
  await seeded(dir);
  execFileSync('mount', ['--bind', dir, dir]);
  execFileSync('mount', ['-o', 'remount,bind,ro', dir]);
  let opening: CapturedError | null = null;
  try {
    await (await openStore(dir)).close();
  } catch (err) {
    const e = err as Error & { path?: string; code?: string | null };
    opening = { name: e.name, path: e.path ?? null, code: e.code ?? null, message: e.message };
  }
  execFileSync('mount', ['-o', 'remount,bind,rw', dir]);
  const store = await openStore(dir);
  const restarted = createRuntimeHarness({ persisted: store.election as BullyPersisted, disk: store });
  await restarted.advance(1500);
  await store.close();
  const recovered = await report(restarted, join(dir, WAL_DIR), await storedToken(dir));
  return { walDir: join(dir, WAL_DIR), opening, recovered };
}

/** Why this process must not fill or remount `dir`; null when it is a tmpfs in a mount namespace of its own. */
function unsafeReason(dir: string): string | null {
  // The parent (the test) runs in the namespace this one must differ from.
  if (readlinkSync('/proc/self/ns/mnt') === readlinkSync(`/proc/${process.ppid}/ns/mnt`)) return 'not in a mount namespace of its own (start it with unshare -m)';
  const mounted = readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .some((line) => line.split(' ')[4] === resolve(dir) && line.split(' - ')[1]?.startsWith('tmpfs '));
  return mounted ? null : `${dir} is not a tmpfs mount point`;
}

const [scenario, dir] = process.argv.slice(2);
if (!dir || (scenario !== 'full' && scenario !== 'read-only')) {
  process.stderr.write('usage: disk-fixture.js full|read-only DIR (inside a private mount namespace, DIR a fresh tmpfs)\n');
  process.exit(2);
}
const unsafe = unsafeReason(dir);
if (unsafe !== null) {
  process.stderr.write(`disk-fixture: refusing to fill or remount ${dir}: ${unsafe}\n`);
  process.exit(2);
}
const observed = scenario === 'full' ? await fullDisk(dir) : await readOnly(dir);
process.stdout.write(JSON.stringify(observed) + '\n');
// prom-client's default metrics keep a timer: the scenario is done.
process.exit(0);
