/**
 * `conclave kv get|put|del|ls|txn|watch`: the replicated key-value store (Raft only) through one
 * daemon's control API, with the flags and failure reporting of the other reporting commands
 * (report.ts, report-actions.ts). Plain output is for shells: `get` prints the value alone, so
 * `$(conclave kv get k)` is the value; `--json` prints the API's reply. `watch` prints one line
 * per change until interrupted, and survives reconnects without losing or repeating a change.
 *
 * Exit codes: 0 ok (for `watch`: interrupted); 1 when `get` finds no key, a compare fails
 * (put/del `--if-mod-revision`, a txn whose compares were false), the daemon cannot be reached
 * (`watch` keeps retrying instead), a watch can no longer resume (compacted), or the API refuses
 * (the message says which); 2 usage: bad flags, an empty key, a txn document that is not a JSON
 * object of arrays, stdin that is not UTF-8. Like the modules report.ts loads, nothing heavy is
 * loaded here.
 */
import type { Command } from 'commander';
import { isTransient, reconnectDelayMs, sleep } from '../../client/follow.js';
import type { KvEvent, KvWatchFilter } from '../../protocols/kv/types.js';
import type { ApiClient } from '../api/client.js';
import { ApiError, KvCompareFailedError } from '../api/errors.js';
import type { KvTxnRequest } from '../api/types.js';
import { UsageError } from '../errors.js';
import { formatKvCompareFailed, formatKvDelete, formatKvEvent, formatKvList, formatKvPut, formatKvTxn } from './format.js';
import { apiCommand, integerArg } from './report.js';
import { client, interruption, json, processIo, reporting, type ApiFlags, type ReportIo } from './report-actions.js';

/** What the kv commands read besides their arguments: `put KEY -` and `txn` read stdin. */
export interface KvIo extends ReportIo {
  /** The bytes of stdin; called only by a command that reads it. */
  stdin(): AsyncIterable<Uint8Array | string>;
}

/** `kv get` found no such key (under --json the reply `{"kv":null,…}` says so instead). */
export class KeyNotFoundError extends Error {
  override readonly name = 'KeyNotFoundError';
  readonly exitCode = 1;
}

/** `kv get` on an absent key, and `kv txn` when the failure branch ran: scripts test for these. */
const NOT_FOUND_EXIT_CODE = 1;
const TXN_COMPARE_FAILED_EXIT_CODE = 1;
/**
 * Far above any body the API takes (64 KiB), so the daemon, not the CLI, says what is too
 * large; bounded so that a mistaken pipe (`cat disk.img |`) fails at once instead of filling memory.
 */
const MAX_STDIN_BYTES = 1 << 20;

const SERIALIZABLE_HELP = "read this node's own store, possibly stale, instead of a linearizable read (ReadIndex through the leader)";
const IF_MOD_REVISION_HELP = "only if the key's modRevision is N (0: only if the key is absent); otherwise exit 1 saying what the key holds now";

type KvFlags = ApiFlags & { serializable?: boolean; ifModRevision?: number; prefix?: boolean; limit?: number };
type KvWatchFlags = ApiFlags & { key?: boolean; fromRevision?: number };

export function registerKvCommands(program: Command, io: KvIo = processKvIo()): void {
  const kv = program
    .command('kv')
    .description('the replicated key-value store (raft only): get, put, del, ls, txn, watch')
    .addHelpText('after', '\nExit status: 0 ok; 1 key not found (get), compare failed (put/del --if-mod-revision, txn), daemon\n' +
      'unreachable or an API error such as not-raft under bully or a 504 timeout (a write may still be applied); 2 usage.');

  apiCommand(kv, 'get', 'print the value of KEY alone (exit 1 when there is no such key)')
    .argument('<key>', 'the key')
    .option('--serializable', SERIALIZABLE_HELP)
    .action((key: string, flags: KvFlags) => kvReporting(flags, io, async () => {
      const reply = await client(flags).kvGet(requireKey(key), { serializable: flags.serializable === true });
      if (flags.json) io.out(json(reply));
      else if (reply.kv !== null) io.out(`${reply.kv.value}\n`);
      if (reply.kv !== null) return;
      if (flags.json) io.setExitCode(NOT_FOUND_EXIT_CODE);
      else throw new KeyNotFoundError(`no key ${JSON.stringify(key)} (store at revision ${reply.revision})`);
    }));

  apiCommand(kv, 'put', 'set KEY to VALUE; prints `put "KEY" at revision N`')
    .argument('<key>', 'the key')
    .argument('<value>', 'the value; - reads it from stdin as it is, a trailing newline included')
    .option('--if-mod-revision <n>', IF_MOD_REVISION_HELP, integerArg(0))
    .action((key: string, value: string, flags: KvFlags) => kvReporting(flags, io, async () => {
      requireKey(key);
      const text = value === '-' ? await readStdin(io, 'the value') : value;
      const reply = await compareExplained(key, flags.ifModRevision, () =>
        client(flags).kvPut(key, text, flags.ifModRevision !== undefined ? { ifModRevision: flags.ifModRevision } : {}));
      io.out(flags.json ? json(reply) : `${formatKvPut(key, reply.revision)}\n`);
    }));

  apiCommand(kv, 'del', 'delete KEY, or with --prefix every key starting with it; prints `deleted N keys at revision R`')
    .argument('<key>', 'the key, or with --prefix the prefix ("" for every key)')
    .option('--prefix', 'delete every key starting with KEY')
    .option('--if-mod-revision <n>', IF_MOD_REVISION_HELP, integerArg(0))
    .addHelpText('after', '\nDeleting a key that does not exist is not an error: `deleted 0 keys`, exit 0.')
    .action((key: string, flags: KvFlags) => kvReporting(flags, io, async () => {
      if (flags.prefix && flags.ifModRevision !== undefined) throw new UsageError('--if-mod-revision applies to one key, not to --prefix');
      const reply = flags.prefix
        ? await client(flags).kvDeletePrefix(key)
        : await compareExplained(requireKey(key), flags.ifModRevision, () =>
            client(flags).kvDelete(key, flags.ifModRevision !== undefined ? { ifModRevision: flags.ifModRevision } : {}));
      io.out(flags.json ? json(reply) : `${formatKvDelete(reply)}\n`);
    }));

  apiCommand(kv, 'ls', 'list the keys starting with PREFIX (default: every key), in UTF-8 byte order')
    .argument('[prefix]', 'the prefix', '')
    .option('--limit <n>', 'at most N keys (0: all, the default); when more exist, stderr says so', integerArg(0))
    .option('--serializable', SERIALIZABLE_HELP)
    .addHelpText('after', '\nOutput: one line per key, KEY<TAB>VALUE. A backslash, tab, newline or carriage return in a key\n' +
      'or value is written \\\\, \\t, \\n or \\r, so each key is one line; --json gives the exact strings.')
    .action((prefix: string, flags: KvFlags) => kvReporting(flags, io, async () => {
      const reply = await client(flags).kvRange(prefix, { serializable: flags.serializable === true, ...(flags.limit !== undefined ? { limit: flags.limit } : {}) });
      if (flags.json) {
        io.out(json(reply));
        return;
      }
      if (reply.kvs.length > 0) io.out(`${formatKvList(reply.kvs)}\n`);
      if (reply.more) io.err(`conclave: more keys start with ${JSON.stringify(prefix)} than --limit ${flags.limit} shows\n`);
    }));

  apiCommand(kv, 'txn', 'apply a transaction read from stdin as JSON: {"compare": [...], "success": [...], "failure": [...]}')
    .addHelpText('after', '\nIf every compare holds the success operations apply, else the failure ones, atomically. Prints\n' +
      '`succeeded at revision R` (exit 0) or `compare failed: ran the failure branch, at revision R` (exit 1),\n' +
      'then one line per operation of the branch that ran. Example:\n' +
      '  echo \'{"compare":[{"key":"lock","target":"version","op":"=","value":0}],\n' +
      '        "success":[{"kind":"put","key":"lock","value":"me"}],"failure":[{"kind":"get","key":"lock"}]}\' | conclave kv txn')
    .action((flags: KvFlags) => kvReporting(flags, io, async () => {
      const request = parseTxnRequest(await readStdin(io, 'the txn'));
      const reply = await client(flags).kvTxn(request);
      io.out(flags.json ? json(reply) : `${formatKvTxn(request, reply)}\n`);
      if (!reply.succeeded) io.setExitCode(TXN_COMPARE_FAILED_EXIT_CODE);
    }));

  apiCommand(kv, 'watch', 'print each change to the keys starting with PREFIX (with --key: to the key PREFIX) until interrupted')
    .argument('<prefix>', 'the prefix ("" for every key), or with --key the key')
    .option('--key', 'watch the one key PREFIX, not every key starting with it')
    .option('--from-revision <n>', "start at revision N, out of the daemon's history (default: the next change)", integerArg(1))
    .addHelpText('after', '\nOutput: one line per change in revision order, `put KEY=VALUE @REVISION` or `delete KEY @REVISION`\n' +
      '(escaped as kv ls escapes); --json: each event as one JSON object per line. When the stream ends or the\n' +
      'daemon goes away it reconnects, at once then backing off to 2 s, and resumes where it left off: no change\n' +
      'is lost or printed twice. Exit status: 0 on Ctrl-C or SIGTERM; 1 when the daemon no longer holds the\n' +
      'changes to resume from (compacted: re-read with kv ls --json, then watch --from-revision its revision\n' +
      'plus 1) or refuses the watch (not-raft under bully); 2 usage.')
    .action((prefix: string, flags: KvWatchFlags) => reporting(flags, io, async () => {
      const filter: KvWatchFilter = flags.key ? { key: requireKey(prefix) } : { prefix };
      await watchKv(client(flags), filter, flags.fromRevision, flags.json === true, io);
    }));
}

/**
 * `kv watch`: follows the changes until interrupted. When the stream ends or breaks it opens
 * another, at once, then backing off to 2 s (leader --watch's delays, follow.ts), from where the
 * cursor says it left off. Without --from-revision it first reads the store's revision R and
 * watches from R + 1: a stream that breaks before its first change then still resumes without
 * a gap. A refusal that another try would meet again (compacted, not-raft, a refused token) ends
 * the watch with that error.
 */
async function watchKv(api: ApiClient, filter: KvWatchFilter, fromRevision: number | undefined, asJson: boolean, io: ReportIo): Promise<void> {
  const { signal, release } = interruption(io);
  let cursor = fromRevision === undefined ? null : new KvWatchCursor(fromRevision);
  let attempt = 0;
  let down = false;
  const print = (event: KvEvent) => {
    if (cursor!.admit(event)) io.out(asJson ? `${JSON.stringify(event)}\n` : `${formatKvEvent(event)}\n`);
  };
  const onOpen = () => {
    // Not 0 (at once): a daemon that accepted and then at once ended every watch would be asked in a tight loop.
    attempt = 1;
    down = false;
  };
  try {
    while (!signal.aborted) {
      let reason: string;
      try {
        cursor ??= new KvWatchCursor((await api.kvRange('key' in filter ? filter.key : filter.prefix, { limit: 1, serializable: true })).revision + 1);
        await api.kvWatch(filter, print, { fromRevision: cursor.resume(), signal, onOpen });
        reason = `the daemon at ${api.address} ended the watch`;
      } catch (err) {
        if (!isRetryable(err)) throw compactedExplained(err, filter);
        reason = (err as Error).message;
      }
      if (signal.aborted) return;
      // Once per outage, as leader --watch says it.
      if (!down) io.err(`conclave: ${reason}; reconnecting${cursor ? ` from revision ${cursor.from}` : ''}…\n`);
      down = true;
      await sleep(reconnectDelayMs(attempt++), signal);
    }
  } finally {
    release();
  }
}

/**
 * Where a watch resumes after a reconnect, so that no change is lost or passed on twice. One
 * write (a txn, a prefix delete) can change several keys at one revision, and a stream can break
 * between them: so the next connection starts at the last revision seen, not after it, and the
 * events of that revision already passed on are passed over (the daemon sends a revision's events
 * in the same order every time). Events below the last revision seen are never passed on.
 */
export class KvWatchCursor {
  /** The highest revision passed on (fromRevision - 1 before any), and how many of its events were. */
  private revision: number;
  private passed = 0;
  /** Events of `revision` the current connection has delivered, repeats included. */
  private delivered = 0;

  constructor(fromRevision: number) {
    this.revision = fromRevision - 1;
  }

  /** The fromRevision the next connection asks for. */
  get from(): number {
    return this.passed > 0 ? this.revision : this.revision + 1;
  }

  /** A connection is being opened: returns its fromRevision. */
  resume(): number {
    this.delivered = 0;
    return this.from;
  }

  /** True when `event` is to be passed on; false for one already passed on, or from before the start. */
  admit(event: KvEvent): boolean {
    if (event.revision > this.revision) {
      this.revision = event.revision;
      this.passed = 1;
      this.delivered = 1;
      return true;
    }
    if (event.revision < this.revision || this.passed === 0) return false;
    this.delivered++;
    if (this.delivered <= this.passed) return false;
    this.passed = this.delivered;
    return true;
  }
}

/** Worth another connection: no daemon answered, or it answered 503 (no leader, busy, shutting down, too many watches), which says retry. */
function isRetryable(err: unknown): boolean {
  return isTransient(err) || (err instanceof ApiError && err.name === 'ApiError' && err.status === 503);
}

/** A 410 compacted, saying how to pick up again: re-read what the watch covers, then watch from after that read. */
function compactedExplained(err: unknown, filter: KvWatchFilter): unknown {
  if (!(err instanceof ApiError) || err.code !== 'compacted') return err;
  const reread = 'key' in filter ? `conclave kv get ${shellWord(filter.key)} --json` : `conclave kv ls ${shellWord(filter.prefix)} --json`;
  return new ApiError(err.status, err.code,
    `${err.message}, so the changes in between cannot be replayed: re-read with \`${reread}\`, then watch again with --from-revision set to its "revision" plus 1`);
}

/** `text` as one single-quoted shell word, for a command line the user is told to run. */
function shellWord(text: string): string {
  return `'${text.replace(/'/g, `'\\''`)}'`;
}

/**
 * reporting(), except that under --json a lost compare prints the API's own 409 body,
 * `{"error":{…},"current":{…}}`, so a script sees the revisions to retry against.
 */
function kvReporting(flags: ApiFlags, io: ReportIo, run: () => Promise<void>): Promise<void> {
  return reporting(flags, io, async () => {
    try {
      await run();
    } catch (err) {
      if (!(flags.json && err instanceof KvCompareFailedError)) throw err;
      io.out(`${JSON.stringify({ error: { code: err.code, message: err.message }, current: err.current })}\n`);
      io.setExitCode(err.exitCode);
    }
  });
}

/** Runs a write; a lost compare is rethrown saying what `key` holds now and what the write asked for. */
async function compareExplained<T>(key: string, ifModRevision: number | undefined, write: () => Promise<T>): Promise<T> {
  try {
    return await write();
  } catch (err) {
    if (!(err instanceof KvCompareFailedError) || ifModRevision === undefined) throw err;
    throw new KvCompareFailedError(formatKvCompareFailed(key, ifModRevision, err.current), err.current);
  }
}

/** The daemon refuses an empty key too, but as a runtime error; it is the command line that is wrong. */
function requireKey(key: string): string {
  if (key === '') throw new UsageError('the key is empty');
  return key;
}

/**
 * The txn document: a JSON object with `compare`, `success` and `failure` arrays (each may be
 * left out). What is inside them is the daemon's to check (a refusal is `invalid`, exit 1).
 */
export function parseTxnRequest(text: string): KvTxnRequest {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw new UsageError(`the txn on stdin is not JSON: ${(err as Error).message}`);
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) {
    throw new UsageError('the txn on stdin must be a JSON object like {"compare": [...], "success": [...], "failure": [...]}');
  }
  const { compare = [], success = [], failure = [], ...rest } = doc as Record<string, unknown>;
  const extra = Object.keys(rest)[0];
  if (extra !== undefined) throw new UsageError(`the txn has an unknown field ${JSON.stringify(extra)}; it takes compare, success and failure`);
  for (const [name, value] of [['compare', compare], ['success', success], ['failure', failure]] as const) {
    if (!Array.isArray(value)) throw new UsageError(`the txn's ${name} must be an array`);
  }
  return { compare, success, failure } as KvTxnRequest;
}

/** All of stdin as UTF-8 text, kept as it is (a byte-order mark included); `what` names it in errors. */
async function readStdin(io: KvIo, what: string): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of io.stdin()) {
    const bytes = typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : Buffer.from(chunk);
    size += bytes.length;
    if (size > MAX_STDIN_BYTES) throw new UsageError(`${what} on stdin is longer than ${MAX_STDIN_BYTES} bytes`);
    chunks.push(bytes);
  }
  try {
    return new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(Buffer.concat(chunks));
  } catch {
    throw new UsageError(`${what} on stdin is not UTF-8 text`);
  }
}

export function processKvIo(): KvIo {
  // process.stdin is created on first use: only `put KEY -` and `txn` touch it.
  return { ...processIo(), stdin: () => process.stdin };
}
