/** `conclave kv …`, run in-process against an API server whose fake source keeps a real store, over its Unix socket. */
import assert from 'node:assert/strict';
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, request, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, beforeEach, describe, it } from 'node:test';
import { createKvStore } from '../../protocols/kv/store.js';
import { DEFAULT_KV_LIMITS, type KvEvent } from '../../protocols/kv/types.js';
import { startApiServer, type ApiServer } from '../api/server.js';
import { FakeControlSource } from '../api/testing.js';
import { CommanderError } from 'commander';
import { runCli, until, type Run } from './cli-testing.js';
import { KvWatchCursor, registerKvCommands } from './kv.js';

const workDir = mkdtempSync(join(tmpdir(), 'conclave-kv-cli-test-'));
after(() => rmSync(workDir, { recursive: true, force: true }));
let serial = 0;

/** `conclave <args>` with the kv commands; see runCli. */
function conclave(args: string[], stdin: (string | Uint8Array)[] = [], interrupt?: AbortSignal, run?: Run): Promise<Run> {
  return runCli(registerKvCommands, args, { stdin, ...(interrupt ? { interrupt } : {}), ...(run ? { run } : {}) });
}

/** A `conclave kv watch …` left running: its output so far, and `stop()` (Ctrl-C), which resolves with how it ended. */
interface Watching {
  run: Run;
  /** Its stdout lines so far. */
  lines(): string[];
  /** Resolves once it has printed at least `count` lines (more than that is for the test's assertions to catch). */
  printed(count: number): Promise<void>;
  /** Resolves when the command has ended by itself. */
  done: Promise<Run>;
  stop(): Promise<Run>;
}

function startWatch(args: string[]): Watching {
  const run: Run = { code: 0, out: '', err: '', error: null };
  const interrupt = new AbortController();
  const done = conclave(['kv', 'watch', ...args], [], interrupt.signal, run);
  const lines = () => run.out.split('\n').filter(Boolean);
  return {
    run,
    lines,
    printed: (count) => until(() => lines().length >= count, () => `${count} lines from kv watch ${args.join(' ')}; stdout so far ${JSON.stringify(run.out)}, stderr ${JSON.stringify(run.err)}`),
    done,
    stop: () => {
      interrupt.abort();
      return done;
    },
  };
}

/**
 * A pass-through to the API server on a socket of its own, which a test can `cut` (end every
 * stream open through it, as a daemon ending its side would), `hold` (park new requests until
 * `release`) and `stop` and `start` again (the daemon going away and coming back).
 */
class Proxy {
  /** The URL of every request that reached it, in order. */
  readonly requests: string[] = [];
  private readonly cutters = new Set<() => void>();
  private held: (() => void)[] | null = null;
  private server: Server | null = null;

  constructor(readonly socketPath: string, private readonly upstreamPath: string) {}

  async start(): Promise<void> {
    rmSync(this.socketPath, { force: true });
    const server = createServer((req, res) => this.forward(req, res));
    await new Promise<void>((resolve) => server.listen(this.socketPath, resolve));
    this.server = server;
  }

  /** Stops listening first, so that the streams it then breaks cannot reconnect through it. */
  async stop(): Promise<void> {
    const server = this.server!;
    this.server = null;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeAllConnections();
    await closed;
  }

  hold(): void {
    this.held = [];
  }

  release(): void {
    const parked = this.held ?? [];
    this.held = null;
    for (const forward of parked) forward();
  }

  cut(): void {
    for (const cutter of [...this.cutters]) cutter();
  }

  private forward(req: IncomingMessage, res: ServerResponse): void {
    this.requests.push(req.url ?? '');
    const go = () => {
      const upstream = request({ socketPath: this.upstreamPath, method: req.method, path: req.url, headers: req.headers, agent: false }, (reply) => {
        res.writeHead(reply.statusCode ?? 502, reply.headers);
        reply.pipe(res);
        const cutter = () => {
          reply.unpipe(res);
          upstream.destroy();
          res.end();
        };
        this.cutters.add(cutter);
        res.on('close', () => {
          this.cutters.delete(cutter);
          upstream.destroy();
        });
      });
      upstream.on('error', () => res.destroy());
      req.pipe(upstream);
    };
    if (this.held) this.held.push(go);
    else go();
  }
}

/** The one line a --json failure prints on stdout. */
function jsonError(run: Run): Record<string, unknown> & { error: { code: string; message: string } } {
  assert.equal(run.out.trimEnd().split('\n').length, 1, run.out);
  return JSON.parse(run.out) as Record<string, unknown> & { error: { code: string; message: string } };
}

describe('conclave kv', () => {
  let source: FakeControlSource;
  let api: ApiServer;
  let addr: string;
  /** `conclave kv <args> --api unix:…`. */
  const kv = (args: string[], stdin?: (string | Uint8Array)[]) => conclave(['kv', ...args, '--api', addr], stdin);
  beforeEach(async () => {
    source = new FakeControlSource();
    api = await startApiServer({ source, tcpListen: '127.0.0.1:0', socketPath: join(workDir, `kv${serial++}.sock`), token: null });
    addr = `unix:${api.socketPath}`;
  });
  afterEach(() => api.close());

  it('put prints the revision; get prints the value alone and a newline, or the API reply with --json', async () => {
    const put = await kv(['put', 'app/db', 'postgres://a b']);
    assert.deepEqual([put.code, put.out, put.err], [0, 'put "app/db" at revision 1\n', '']);
    const got = await kv(['get', 'app/db']);
    assert.deepEqual([got.code, got.out, got.err], [0, 'postgres://a b\n', '']);
    const asJson = await kv(['get', 'app/db', '--json']);
    assert.equal(asJson.code, 0);
    assert.deepEqual(JSON.parse(asJson.out), { kv: { key: 'app/db', value: 'postgres://a b', createRevision: 1, modRevision: 1, version: 1, session: null }, revision: 1 });
    const putJson = await kv(['put', 'app/db', 'x', '--json']);
    assert.deepEqual(JSON.parse(putJson.out), { revision: 2, prevKv: { key: 'app/db', value: 'postgres://a b', createRevision: 1, modRevision: 1, version: 1, session: null }, index: 2 });
  });

  it('get is linearizable unless --serializable', async () => {
    await kv(['get', 'k']);
    assert.deepEqual(source.kvRequests.at(-1), { kind: 'read', read: { kind: 'get', key: 'k' }, consistency: 'linearizable' });
    await kv(['get', 'k', '--serializable']);
    assert.deepEqual(source.kvRequests.at(-1), { kind: 'read', read: { kind: 'get', key: 'k' }, consistency: 'serializable' });
  });

  it('get of a missing key exits 1: an error naming the key, or with --json the reply itself', async () => {
    await kv(['put', 'other', 'v']);
    const missing = await kv(['get', 'nothing']);
    assert.equal(missing.code, 1);
    assert.equal(missing.out, '', 'nothing on stdout, so $(conclave kv get k) is empty');
    assert.equal(missing.error?.name, 'KeyNotFoundError');
    assert.match(missing.error!.message, /"nothing"/);
    const asJson = await kv(['get', 'nothing', '--json']);
    assert.equal(asJson.code, 1);
    assert.deepEqual(JSON.parse(asJson.out), { kv: null, revision: 1 });
  });

  it('put - takes the value from stdin as it is: newlines, unicode and a byte-order mark kept', async () => {
    const value = '\ufeffline one\nzweite Zeile ✓\n';
    const bytes = Buffer.from(value, 'utf8');
    // Split inside a multi-byte character: chunks are joined before decoding.
    const at = bytes.indexOf(Buffer.from('✓')) + 1;
    const put = await kv(['put', 'multi', '-'], [bytes.subarray(0, at), bytes.subarray(at)]);
    assert.equal(put.code, 0, put.error?.message);
    assert.equal(source.kvStore.read('multi').kv?.value, value);
    assert.equal((await kv(['get', 'multi'])).out, `${value}\n`);
  });

  it('put - refuses stdin that is not UTF-8 or larger than 1 MiB: usage, exit 2, nothing written', async () => {
    const notUtf8 = await kv(['put', 'k', '-'], [Buffer.from([0x61, 0xff, 0x62])]);
    assert.equal(notUtf8.code, 2);
    assert.equal(notUtf8.error?.name, 'UsageError');
    assert.match(notUtf8.error!.message, /not UTF-8/);
    const huge = await kv(['put', 'k', '-'], [Buffer.alloc(600_000, 0x61), Buffer.alloc(600_000, 0x61)]);
    assert.equal(huge.code, 2);
    assert.equal(huge.error?.name, 'UsageError');
    assert.equal(source.kvRequests.length, 0);
  });

  it('put --if-mod-revision: 0 creates only if absent; a lost compare exits 1 saying what the key holds now', async () => {
    assert.equal((await kv(['put', 'lock', 'me', '--if-mod-revision', '0'])).code, 0);
    const lost = await kv(['put', 'lock', 'you', '--if-mod-revision', '0']);
    assert.equal(lost.code, 1);
    assert.equal(lost.out, '');
    assert.equal(lost.error?.name, 'KvCompareFailedError');
    assert.equal(lost.error?.message, 'compare failed: key "lock" is at modRevision 1 (version 1, created at revision 1), not absent');
    const stale = await kv(['put', 'absent', 'x', '--if-mod-revision', '4']);
    assert.equal(stale.error?.message, 'compare failed: key "absent" is absent, not at modRevision 4');
    const asJson = await kv(['put', 'lock', 'you', '--if-mod-revision', '7', '--json']);
    assert.equal(asJson.code, 1);
    const body = jsonError(asJson);
    assert.equal(body.error.code, 'compare-failed');
    assert.match(body.error.message, /is at modRevision 1 .*not at modRevision 7$/);
    assert.deepEqual(body.current, { createRevision: 1, modRevision: 1, version: 1 }, 'the revisions to retry against');
    const won = await kv(['put', 'lock', 'you', '--if-mod-revision', '1']);
    assert.deepEqual([won.code, won.out], [0, 'put "lock" at revision 2\n']);
  });

  it('--if-mod-revision that is not a non-negative integer is a usage error, exit 2, before anything is sent', async () => {
    for (const bad of ['abc', '1.5', '-1', '', '99999999999999999999']) {
      const run = await kv(['put', 'k', 'v', '--if-mod-revision', bad]);
      assert.equal(run.code, 2, `--if-mod-revision ${JSON.stringify(bad)}`);
      assert.ok(run.error instanceof CommanderError, run.error?.message);
    }
    assert.equal((await kv(['del', 'k', '--if-mod-revision', 'x'])).code, 2);
    assert.equal(source.kvRequests.length, 0);
  });

  it('del deletes one key (deleting none is not an error), --prefix every key under it, --if-mod-revision guards it', async () => {
    for (const key of ['jobs/a', 'jobs/b', 'other']) await kv(['put', key, 'v']);
    const one = await kv(['del', 'other']);
    assert.deepEqual([one.code, one.out], [0, 'deleted 1 key at revision 4\n']);
    const none = await kv(['del', 'other']);
    assert.deepEqual([none.code, none.out], [0, 'deleted 0 keys at revision 4\n']);
    const many = await kv(['del', 'jobs/', '--prefix', '--json']);
    assert.deepEqual(JSON.parse(many.out), { revision: 5, deleted: 2, index: 6 });
    await kv(['put', 'guarded', 'v']);
    const lost = await kv(['del', 'guarded', '--if-mod-revision', '1']);
    assert.equal(lost.code, 1);
    assert.equal(lost.error?.message, 'compare failed: key "guarded" is at modRevision 6 (version 1, created at revision 6), not at modRevision 1');
    assert.equal((await kv(['del', 'guarded', '--if-mod-revision', '6'])).out, 'deleted 1 key at revision 7\n');
  });

  it('del --prefix with --if-mod-revision, and an empty key, are usage errors (exit 2; code usage under --json)', async () => {
    const both = await kv(['del', 'jobs/', '--prefix', '--if-mod-revision', '3']);
    assert.equal(both.code, 2);
    assert.equal(both.error?.name, 'UsageError');
    for (const args of [['get', ''], ['put', '', 'v'], ['del', '']]) {
      const run = await kv([...args, '--json']);
      assert.equal(run.code, 2, args.join(' '));
      assert.equal(jsonError(run).error.code, 'usage');
    }
    assert.equal(source.kvRequests.length, 0);
  });

  it('ls prints KEY<TAB>VALUE lines in key order, escaping what would break a line; --limit says on stderr when it cut', async () => {
    await kv(['put', 'b', 'two\tcols']);
    await kv(['put', 'a', 'line\nbreak \\ done\r']);
    await kv(['put', 'c', 'plain']);
    await kv(['put', 'z/other', 'x']);
    const all = await kv(['ls']);
    assert.equal(all.code, 0);
    assert.equal(all.out, 'a\tline\\nbreak \\\\ done\\r\nb\ttwo\\tcols\nc\tplain\nz/other\tx\n');
    const cut = await kv(['ls', '', '--limit', '2']);
    assert.deepEqual([cut.code, cut.out], [0, 'a\tline\\nbreak \\\\ done\\r\nb\ttwo\\tcols\n']);
    assert.match(cut.err, /more keys .*--limit 2/);
    const under = await kv(['ls', 'z/', '--serializable', '--json']);
    assert.deepEqual(JSON.parse(under.out), { kvs: [source.kvStore.read('z/other').kv], more: false, revision: 4 });
    assert.deepEqual(source.kvRequests.at(-1), { kind: 'read', read: { kind: 'range', prefix: 'z/', limit: 0 }, consistency: 'serializable' });
    const empty = await kv(['ls', 'nothing/']);
    assert.deepEqual([empty.code, empty.out, empty.err], [0, '', '']);
  });

  it('txn reads its JSON from stdin: the success branch exits 0, the failure branch exits 1, each operation on a line', async () => {
    const doc = JSON.stringify({
      compare: [{ key: 'lock', target: 'version', op: '=', value: 0 }],
      success: [{ kind: 'put', key: 'lock', value: 'me' }, { kind: 'get', key: 'lock' }],
      failure: [{ kind: 'get', key: 'lock' }, { kind: 'delete', key: 'nothing' }],
    });
    const won = await kv(['txn'], [doc]);
    assert.deepEqual([won.code, won.out], [0, 'succeeded at revision 1\nput "lock"\nget "lock" = "me"\n']);
    const lost = await kv(['txn'], [doc]);
    assert.deepEqual([lost.code, lost.out], [1, 'compare failed: ran the failure branch, at revision 1\nget "lock" = "me"\ndelete "nothing": 0 deleted\n']);
    const asJson = await kv(['txn', '--json'], [doc]);
    assert.equal(asJson.code, 1);
    assert.deepEqual(JSON.parse(asJson.out), { succeeded: false, responses: [{ kind: 'get', kv: source.kvStore.read('lock').kv }, { kind: 'delete', deleted: 0 }], revision: 1, index: 3 });
    const bare = await kv(['txn'], ['{"success": [{"kind": "deletePrefix", "prefix": "lo"}]}']);
    assert.deepEqual([bare.code, bare.out], [0, 'succeeded at revision 2\ndeletePrefix "lo": 1 deleted\n'], 'compare and failure may be left out');
  });

  it('a txn document that is not a JSON object of arrays is a usage error, exit 2, and never reaches the daemon', async () => {
    for (const doc of ['', '{"compare": [', '[1]', 'null', '{"compare": {}}', '{"success": [], "else": []}']) {
      const run = await kv(['txn'], [doc]);
      assert.equal(run.code, 2, JSON.stringify(doc));
      assert.equal(run.error?.name, 'UsageError');
    }
    const asJson = await kv(['txn', '--json'], ['not json']);
    assert.equal(asJson.code, 2);
    assert.equal(jsonError(asJson).error.code, 'usage');
    assert.equal(source.kvRequests.length, 0);
    const refused = await kv(['txn'], ['{"compare": [{"key": "k", "target": "color", "op": "=", "value": 1}]}']);
    assert.equal(refused.code, 1, 'what is inside the arrays is the daemon\'s to check');
    assert.equal((refused.error as Error & { code?: string }).code, 'invalid');
  });

  it('keys with . and .. segments and the key txn work from the command line', async () => {
    for (const key of ['a/../b', '..', 'txn', '100%/ü']) {
      assert.equal((await kv(['put', key, `v ${key}`])).code, 0);
      assert.equal((await kv(['get', key])).out, `v ${key}\n`);
    }
    assert.equal((await kv(['get', 'b'])).code, 1, 'a/../b was never normalized to b');
  });

  it('API refusals exit 1 naming the code: not-raft under bully, a 504 that may still apply; --json prints the error', async () => {
    source.kvRefusal = { ok: false, code: 'not-raft', message: 'the key-value store needs protocol: raft' };
    for (const [args, stdin] of [[['get', 'k']], [['put', 'k', 'v']], [['del', 'k']], [['ls']], [['txn'], ['{}']]] as [string[], string[]?][]) {
      const run = await kv(args, stdin);
      assert.equal(run.code, 1, args.join(' '));
      assert.equal(run.error?.name, 'ApiError');
      assert.equal((run.error as Error & { code?: string }).code, 'not-raft');
      assert.equal(run.error?.message, 'the key-value store needs protocol: raft');
    }
    source.kvRefusal = { ok: false, code: 'timeout', message: 'no answer within 5000 ms; a write may still be applied' };
    const timedOut = await kv(['put', 'k', 'v', '--json']);
    assert.equal(timedOut.code, 1);
    assert.deepEqual(jsonError(timedOut), { error: { code: 'timeout', message: 'no answer within 5000 ms; a write may still be applied' } });
  });

  it('an unreachable daemon exits 1 naming the address', async () => {
    const run = await conclave(['kv', 'get', 'k', '--api', `unix:${join(workDir, 'nothing.sock')}`]);
    assert.equal(run.code, 1);
    assert.equal(run.error?.name, 'ApiUnreachableError');
    assert.ok(run.error!.message.includes('nothing.sock'), run.error!.message);
    const asJson = await conclave(['kv', 'ls', '--json', '--api', `unix:${join(workDir, 'nothing.sock')}`]);
    assert.equal(asJson.code, 1);
    assert.equal(jsonError(asJson).error.code, 'unreachable');
  });

  it('command-line mistakes exit 2: no subcommand, an unknown one, a missing key or value, an unknown flag', async () => {
    const mistakes = [
      ['kv'], ['kv', 'frobnicate', 'k'], ['kv', 'get'], ['kv', 'put', 'k'], ['kv', 'get', 'k', '--frobnicate'], ['kv', 'ls', 'a', 'b'],
      ['kv', 'watch'], ['kv', 'watch', '', '--key'], ['kv', 'watch', 'p/', '--from-revision', '0'], ['kv', 'watch', 'p/', '--from-revision', 'x'],
    ];
    for (const args of mistakes) {
      // Interrupted from the start: a watch that wrongly ran would end at once with 0, not hang.
      const run = await conclave([...args, '--api', addr], [], AbortSignal.abort());
      assert.equal(run.code, 2, args.join(' '));
    }
    assert.equal(source.kvRequests.length, 0);
  });

  it('watch --from-revision prints the history, then each change as it is made, one escaped line per change, until interrupted (exit 0)', async () => {
    for (const [key, value] of [['jobs/a', '1'], ['other', 'x'], ['jobs/b', 'two\tcols']]) await kv(['put', key, value]);
    const w = startWatch(['jobs/', '--from-revision', '2', '--api', addr]);
    await w.printed(1);
    await kv(['put', 'jobs/a', 'line\nbreak \\']);
    await kv(['put', 'other', 'y']);
    await kv(['del', 'jobs/b']);
    await w.printed(3);
    const run = await w.stop();
    assert.deepEqual([run.code, run.err, run.error], [0, '', null]);
    assert.equal(run.out, 'put jobs/b=two\\tcols @3\nput jobs/a=line\\nbreak \\\\ @4\ndelete jobs/b @6\n');
  });

  it('watch --key --json prints each event as one JSON line; without --from-revision it starts after the revision it reads first', async () => {
    await kv(['put', 'jobs/a', 'before']);
    await kv(['put', 'jobs/ab', 'another key']);
    const w = startWatch(['jobs/a', '--key', '--json', '--api', addr]);
    await until(() => source.kvListeners.size === 1, 'the watch to be open on the daemon');
    await kv(['put', 'jobs/ab', 'still another key']);
    await kv(['put', 'jobs/a', 'after']);
    await kv(['del', 'jobs/a']);
    await w.printed(2);
    const run = await w.stop();
    assert.equal(run.code, 0);
    const events = w.lines().map((line) => JSON.parse(line) as KvEvent);
    assert.deepEqual(events, [
      { type: 'put', kv: { key: 'jobs/a', value: 'after', createRevision: 1, modRevision: 4, version: 2, session: null }, prevKv: { key: 'jobs/a', value: 'before', createRevision: 1, modRevision: 1, version: 1, session: null }, revision: 4 },
      { type: 'delete', kv: { key: 'jobs/a', value: '', createRevision: 0, modRevision: 5, version: 0, session: null }, prevKv: { key: 'jobs/a', value: 'after', createRevision: 1, modRevision: 4, version: 2, session: null }, revision: 5 },
    ]);
    const reads = source.kvRequests.filter((r) => r.kind === 'read');
    assert.deepEqual(reads.slice(-2), [
      { kind: 'read', read: { kind: 'range', prefix: 'jobs/a', limit: 1 }, consistency: 'serializable' },
      { kind: 'read', read: { kind: 'events', fromRevision: 3, filter: { key: 'jobs/a' } }, consistency: 'serializable' },
    ], 'the store was at revision 2: the watch starts at 3');
  });

  it('watch reconnects when the stream ends and when the daemon goes away, resuming without losing or repeating a change', async () => {
    const proxy = new Proxy(join(workDir, `proxy${serial++}.sock`), api.socketPath!);
    await proxy.start();
    await kv(['put', 'p/a', '1']);
    await kv(['put', 'p/b', '2']);
    const w = startWatch(['p/', '--from-revision', '2', '--api', `unix:${proxy.socketPath}`]);
    await w.printed(1);
    await kv(['put', 'p/c', '3']);
    await w.printed(2);
    // The daemon ends the stream; what is written before the watch is back must still come.
    proxy.hold();
    proxy.cut();
    await until(() => proxy.requests.length >= 2, 'the watch to ask again');
    await kv(['put', 'p/d', '4']);
    await kv(['put', 'q', 'not watched']);
    proxy.release();
    await w.printed(3);
    await kv(['put', 'p/e', '5']);
    await w.printed(4);
    // The daemon goes away, and comes back after a change was made.
    await proxy.stop();
    await kv(['put', 'p/f', '6']);
    await proxy.start();
    await w.printed(5);
    const run = await w.stop();
    await proxy.stop();
    assert.equal(run.code, 0);
    assert.deepEqual(w.lines(), ['put p/b=2 @2', 'put p/c=3 @3', 'put p/d=4 @4', 'put p/e=5 @6', 'put p/f=6 @7']);
    // Each time from the last revision seen, whose event the daemon sends again and the watch passes over.
    assert.deepEqual(proxy.requests, ['/v1/kv/watch?prefix=p%2F&fromRevision=2', '/v1/kv/watch?prefix=p%2F&fromRevision=3', '/v1/kv/watch?prefix=p%2F&fromRevision=6']);
    const notices = run.err.split('\n').filter(Boolean);
    assert.equal(notices.length, 2, run.err);
    assert.match(notices[0]!, /^conclave: the daemon at unix:.* ended the watch; reconnecting from revision 3…$/);
    assert.match(notices[1]!, /^conclave: cannot reach the conclave API at unix:.*; reconnecting from revision 6…$/);
  });

  it('watch keeps trying a daemon that is not there yet, says so once on stderr, and follows it once it answers', async () => {
    const proxy = new Proxy(join(workDir, `proxy${serial++}.sock`), api.socketPath!);
    await kv(['put', 'p/a', '1']);
    const w = startWatch(['p/', '--api', `unix:${proxy.socketPath}`]);
    await until(() => w.run.err !== '', 'a notice on stderr');
    await proxy.start();
    await until(() => source.kvListeners.size === 1, 'the watch to be open on the daemon');
    await kv(['put', 'p/b', '2']);
    await w.printed(1);
    const run = await w.stop();
    await proxy.stop();
    assert.deepEqual([run.code, run.out], [0, 'put p/b=2 @2\n']);
    assert.match(run.err, /^conclave: cannot reach the conclave API at unix:.*proxy.*; reconnecting…\n$/);
  });

  it('watch from a compacted revision exits 1 saying how to resume, at the start or on a reconnect; --json prints the error', async () => {
    source.kvStore = createKvStore({ ...DEFAULT_KV_LIMITS, historyRevisions: 2 });
    for (let i = 0; i < 5; i++) await kv(['put', 'k', String(i)]);
    const atStart = await startWatch(['k', '--key', '--from-revision', '1', '--api', addr]).done;
    assert.equal(atStart.code, 1);
    assert.equal(atStart.error?.name, 'ApiError');
    assert.equal((atStart.error as Error & { code?: string }).code, 'compacted');
    assert.match(atStart.error!.message, /oldest revision held is 4.*re-read with `conclave kv get 'k' --json`, then watch again with --from-revision set to its "revision" plus 1$/);
    const asJson = await startWatch(['it\'s/', '--from-revision', '1', '--json', '--api', addr]).done;
    assert.equal(asJson.code, 1);
    assert.equal(jsonError(asJson).error.code, 'compacted');
    assert.match(jsonError(asJson).error.message, /`conclave kv ls 'it'\\''s\/' --json`/, 'a prefix to re-read, quoted for the shell');

    const proxy = new Proxy(join(workDir, `proxy${serial++}.sock`), api.socketPath!);
    await proxy.start();
    const w = startWatch(['k', '--key', '--from-revision', '5', '--api', `unix:${proxy.socketPath}`]);
    await w.printed(1);
    proxy.hold();
    proxy.cut();
    await until(() => proxy.requests.length >= 2, 'the watch to ask again');
    for (let i = 0; i < 3; i++) await kv(['put', 'k', `while away ${i}`]);
    proxy.release();
    const run = await w.done;
    await proxy.stop();
    assert.equal(run.code, 1, 'history moved past revision 5 while the watch was away');
    assert.equal((run.error as Error & { code?: string }).code, 'compacted');
    assert.deepEqual(w.lines(), ['put k=4 @5']);
  });

  it('watch ends with exit 1 when the API refuses it: not-raft under bully', async () => {
    source.kvRefusal = { ok: false, code: 'not-raft', message: 'the key-value store needs protocol: raft' };
    for (const args of [['p/'], ['p/', '--from-revision', '1']]) {
      const run = await startWatch([...args, '--api', addr]).done;
      assert.equal(run.code, 1, args.join(' '));
      assert.equal((run.error as Error & { code?: string }).code, 'not-raft');
    }
  });
});

describe('conclave kv, the binary', () => {
  let source: FakeControlSource;
  let api: ApiServer;
  beforeEach(async () => {
    source = new FakeControlSource();
    api = await startApiServer({ source, tcpListen: '127.0.0.1:0', socketPath: join(workDir, `bin${serial++}.sock`), token: null });
  });
  afterEach(() => api.close());

  /** Spawns dist's `conclave` with `input` on its stdin; asynchronous, so this process's API server answers meanwhile. */
  function binary(args: string[], input = ''): Promise<{ status: number | null; stdout: string; stderr: string }> {
    const cli = new URL('./main.js', import.meta.url).pathname;
    const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('CONCLAVE_')));
    const child = spawn(process.execPath, [cli, 'kv', ...args, '--api', `unix:${api.socketPath}`], { env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s));
    child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
    child.stdin.end(input);
    return new Promise((resolve) => child.on('close', (status) => resolve({ status, stdout, stderr })));
  }

  it('put - reads the process\'s stdin; get prints the value; a missing key is `conclave: …` on stderr, exit 1', async () => {
    const put = await binary(['put', 'greeting', '-'], 'hello\nworld\n');
    assert.deepEqual([put.status, put.stdout, put.stderr], [0, 'put "greeting" at revision 1\n', '']);
    const got = await binary(['get', 'greeting']);
    assert.deepEqual([got.status, got.stdout], [0, 'hello\nworld\n\n']);
    const missing = await binary(['get', 'nothing']);
    assert.equal(missing.status, 1);
    assert.equal(missing.stdout, '');
    assert.match(missing.stderr, /^conclave: no key "nothing"/);
    const txn = await binary(['txn'], '{"success": [{"kind": "get", "key": "greeting"}]}');
    assert.deepEqual([txn.status, txn.stdout], [0, 'succeeded at revision 1\nget "greeting" = "hello\\nworld\\n"\n']);
    const malformed = await binary(['txn'], '{');
    assert.equal(malformed.status, 2);
    assert.match(malformed.stderr, /^conclave: the txn on stdin is not JSON/);
  });

  /** Spawns dist's `conclave kv watch p/` and waits until its watch is open on the daemon. */
  async function binaryWatch(): Promise<{ child: ChildProcessWithoutNullStreams; stdout: () => string; stderr: () => string; closed: Promise<[number | null, string | null]> }> {
    const cli = new URL('./main.js', import.meta.url).pathname;
    const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('CONCLAVE_')));
    const child = spawn(process.execPath, [cli, 'kv', 'watch', 'p/', '--api', `unix:${api.socketPath}`], { env });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s));
    child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
    const closed = new Promise<[number | null, string | null]>((resolve) => child.on('close', (code, killedBy) => resolve([code, killedBy])));
    await until(() => source.kvListeners.size === 1, () => `the watch to be open on the daemon; stderr ${JSON.stringify(stderr)}`);
    return { child, stdout: () => stdout, stderr: () => stderr, closed };
  }

  const put = (key: string, value: string) => source.kv({ kind: 'write', op: { kind: 'put', key, value } });

  it('watch prints each change until SIGINT or SIGTERM, which end it with exit 0 and its output flushed', async () => {
    for (const signal of ['SIGINT', 'SIGTERM'] as const) {
      const watch = await binaryWatch();
      await put('p/k', signal);
      await until(() => watch.stdout().includes('\n'), () => `a line on stdout; stderr ${JSON.stringify(watch.stderr())}`);
      watch.child.kill(signal);
      assert.deepEqual(await watch.closed, [0, null], `${signal}: ${watch.stderr()}`);
      assert.match(watch.stdout(), new RegExp(`^put p/k=${signal} @\\d+\\n$`));
      assert.equal(watch.stderr(), '');
      await until(() => source.kvListeners.size === 0, 'the watch to be closed on the daemon');
    }
  });

  it('watch ends with exit 0, not an EPIPE crash, when its reader goes away (| head -1)', async () => {
    const watch = await binaryWatch();
    await put('p/first', '1');
    await until(() => watch.stdout().includes('\n'), 'the first line');
    watch.child.stdout.destroy();
    await put('p/second', '2');
    assert.deepEqual(await watch.closed, [0, null], watch.stderr());
    assert.equal(watch.stderr(), '');
  });
});

describe('kv watch: where a watch resumes (KvWatchCursor)', () => {
  const event = (revision: number, key: string): KvEvent => ({ type: 'put', kv: { key, value: 'v', createRevision: revision, modRevision: revision, version: 1, session: null }, revision });
  /** The keys `cursor` passes on out of `events`, delivered on one connection. */
  const pass = (cursor: KvWatchCursor, events: KvEvent[]) => events.filter((e) => cursor.admit(e)).map((e) => `${e.kv.key}@${e.revision}`);

  it('starts at --from-revision; resumes from the last revision seen and passes over what it already passed on', () => {
    const cursor = new KvWatchCursor(4);
    assert.equal(cursor.resume(), 4);
    assert.deepEqual(pass(cursor, [event(4, 'a'), event(6, 'b')]), ['a@4', 'b@6']);
    assert.equal(cursor.resume(), 6, 'from 6 again: it may have had more events than the one seen');
    assert.deepEqual(pass(cursor, [event(6, 'b'), event(7, 'c')]), ['c@7']);
  });

  it('a stream cut inside a revision of several changes (a txn, a prefix delete) loses none of them and repeats none', () => {
    const cursor = new KvWatchCursor(1);
    cursor.resume();
    assert.deepEqual(pass(cursor, [event(3, 'a'), event(5, 'x')]), ['a@3', 'x@5'], 'the stream breaks after the first change of revision 5');
    assert.equal(cursor.resume(), 5);
    assert.deepEqual(pass(cursor, [event(5, 'x'), event(5, 'y'), event(5, 'z')]), ['y@5', 'z@5']);
    assert.equal(cursor.resume(), 5);
    assert.deepEqual(pass(cursor, [event(5, 'x'), event(5, 'y'), event(5, 'z'), event(8, 'w')]), ['w@8']);
    assert.equal(cursor.resume(), 8);
  });

  it('never passes on an event below the last revision seen or below the start, nor one twice on the same connection', () => {
    const cursor = new KvWatchCursor(10);
    cursor.resume();
    assert.deepEqual(pass(cursor, [event(8, 'old'), event(9, 'old'), event(10, 'a'), event(9, 'late')]), ['a@10']);
    assert.equal(cursor.from, 10);
    const fresh = new KvWatchCursor(10);
    assert.equal(fresh.resume(), 10, 'before any event it resumes where it started');
    assert.equal(fresh.resume(), 10);
  });
});
