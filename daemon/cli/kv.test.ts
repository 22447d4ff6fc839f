/** `conclave kv …`, run in-process against an API server whose fake source keeps a real store, over its Unix socket. */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, beforeEach, describe, it } from 'node:test';
import { Command, CommanderError } from 'commander';
import { startApiServer, type ApiServer } from '../api/server.js';
import { FakeControlSource } from '../api/testing.js';
import { exitCodeOf } from '../errors.js';
import { registerKvCommands } from './kv.js';

const workDir = mkdtempSync(join(tmpdir(), 'conclave-kv-cli-test-'));
after(() => rmSync(workDir, { recursive: true, force: true }));
let serial = 0;

interface Run {
  code: number;
  out: string;
  err: string;
  error: Error | null;
}

/** Runs `conclave <args>` with `stdin` as its standard input, the way main.ts does: usage errors exit 2, others their exitCode; or the code the command set. */
async function conclave(args: string[], stdin: (string | Uint8Array)[] = []): Promise<Run> {
  const run: Run = { code: 0, out: '', err: '', error: null };
  const program = new Command('conclave').exitOverride().configureOutput({ writeOut: (s) => (run.err += s), writeErr: (s) => (run.err += s) });
  registerKvCommands(program, {
    out: (text) => (run.out += text),
    err: (text) => (run.err += text),
    isTty: false,
    setExitCode: (code) => (run.code = code),
    stdin: async function* () {
      yield* stdin;
    },
  });
  try {
    await program.parseAsync(args, { from: 'user' });
  } catch (err) {
    run.error = err as Error;
    run.code = err instanceof CommanderError ? 2 : exitCodeOf(err);
  }
  return run;
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
    const bare = await kv(['txn'], ['{"success": [{"kind": "deletePrefix", "prefix": ""}]}']);
    assert.deepEqual([bare.code, bare.out], [0, 'succeeded at revision 2\ndeletePrefix "": 1 deleted\n'], 'compare and failure may be left out');
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
    for (const args of [['kv'], ['kv', 'watch', 'k'], ['kv', 'get'], ['kv', 'put', 'k'], ['kv', 'get', 'k', '--frobnicate'], ['kv', 'ls', 'a', 'b']]) {
      const run = await conclave([...args, '--api', addr]);
      assert.equal(run.code, 2, args.join(' '));
    }
    assert.equal(source.kvRequests.length, 0);
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
});
