/** The reporting and leadership commands, run in-process against an API server with a fake source. */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, beforeEach, describe, it } from 'node:test';
import { Command, CommanderError } from 'commander';
import { startApiServer, type ApiServer } from '../api/server.js';
import { FakeControlSource, PEER_ID, SELF_ID } from '../api/testing.js';
import { exitCodeOf } from '../errors.js';
import { registerReportCommands } from './report.js';
import { shortId } from './format.js';

const workDir = mkdtempSync(join(tmpdir(), 'conclave-report-test-'));
after(() => rmSync(workDir, { recursive: true, force: true }));
let serial = 0;

interface Run {
  code: number;
  out: string;
  err: string;
  error: Error | null;
}

/** Runs `conclave <args>` the way main.ts does: usage errors exit 2, others their exitCode. */
async function conclave(args: string[], opts: { interrupt?: AbortSignal; onOut?: (text: string) => void } = {}): Promise<Run> {
  const run: Run = { code: 0, out: '', err: '', error: null };
  const program = new Command('conclave').exitOverride().configureOutput({ writeOut: (s) => (run.err += s), writeErr: (s) => (run.err += s) });
  registerReportCommands(program, {
    out: (text) => {
      run.out += text;
      opts.onOut?.(text);
    },
    err: (text) => (run.err += text),
    isTty: false,
    interrupt: opts.interrupt,
  });
  try {
    await program.parseAsync(args, { from: 'user' });
  } catch (err) {
    run.error = err as Error;
    run.code = err instanceof CommanderError ? 2 : exitCodeOf(err);
  }
  return run;
}

async function closedAddress(): Promise<string> {
  return await new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(`127.0.0.1:${port}`));
    });
  });
}

describe('conclave reporting commands', () => {
  let source: FakeControlSource;
  let api: ApiServer;
  let addr: string;
  beforeEach(async () => {
    source = new FakeControlSource();
    api = await startApiServer({ source, tcpListen: '127.0.0.1:0', socketPath: join(workDir, `r${serial++}.sock`), token: null });
    addr = api.tcpAddress!;
  });
  afterEach(() => api.close());

  it('status prints a readable summary, or the API reply with --json', async () => {
    const text = await conclave(['status', '--api', addr]);
    assert.equal(text.code, 0);
    assert.match(text.out, /^node {6}alpha \(/m);
    assert.match(text.out, /^leader {4}alpha .*fencing token 11$/m);
    const asJson = await conclave(['status', '--api', `unix:${api.socketPath}`, '--json']);
    assert.deepEqual(JSON.parse(asJson.out), source.status());
  });

  it('members prints the aligned table, or {members} with --json', async () => {
    const table = await conclave(['members', '--api', addr]);
    assert.equal(table.code, 0);
    const lines = table.out.trimEnd().split('\n');
    assert.match(lines[0]!, /^NAME\s+ID\s+STATE\s+ROLE\s+TERM\s+FOLLOWS\s+LAST SEEN\s+ADDRESS$/);
    assert.match(lines[2]!, new RegExp(`^beta\\s+${shortId(PEER_ID)}\\s+alive\\s+follower\\s+3\\s+alpha\\s+0\\.3s\\s+/ip4/127\\.0\\.0\\.1/tcp/4002$`));
    assert.deepEqual(JSON.parse((await conclave(['members', '--api', addr, '--json'])).out), source.members());
  });

  it('members --watch redraws, shows `disconnected, retrying…` while the daemon is gone, and stops on interrupt with exit 0', async () => {
    const stop = new AbortController();
    let draws = 0;
    let closing: Promise<void> | null = null;
    const run = await conclave(['members', '--watch', '--interval-ms', '50', '--api', addr], {
      interrupt: stop.signal,
      onOut: (text) => {
        draws++;
        if (draws === 2) closing = api.close();
        if (text.includes('disconnected, retrying…')) stop.abort();
      },
    });
    await closing;
    assert.equal(run.code, 0, run.err);
    const frames = run.out.split(/\nmembers via /).filter(Boolean);
    assert.ok(frames.length >= 3, run.out);
    assert.ok(run.out.startsWith(`\nmembers via ${addr} at `), run.out);
    assert.match(frames[0]!, /\n\nNAME +ID +STATE/);
    assert.match(frames.at(-1)!, /disconnected, retrying… \(cannot reach the conclave API at 127\.0\.0\.1:\d+/);
  });

  it('leader prints the leader, term and fencing token; `no leader` when there is none', async () => {
    assert.equal((await conclave(['leader', '--api', addr])).out, `alpha (${shortId(SELF_ID)}), term 3, fencing token 11\n`);
    source.leaderNow = { leader: null, term: 4, fencingToken: 11 };
    const none = await conclave(['leader', '--api', addr, '--json']);
    assert.equal(none.code, 0);
    assert.deepEqual(JSON.parse(none.out), { leader: null, term: 4, fencingToken: 11 });
  });

  it('leader --wait blocks on the long-poll until a leader exists', async () => {
    source.leaderNow = { leader: null, term: 4, fencingToken: 11 };
    const pending = conclave(['leader', '--wait', '--api', addr]);
    while (source.listeners.size === 0) await new Promise((r) => setTimeout(r, 5));
    source.changeLeader('beta', PEER_ID);
    const run = await pending;
    assert.equal(run.code, 0, run.err);
    assert.equal(run.out, `beta (${shortId(PEER_ID)}), term 5, fencing token 12\n`);
  });

  it('leader --wait-ms gives up with exit 1 when no leader appears', async () => {
    source.leaderNow = { leader: null, term: 4, fencingToken: 11 };
    const run = await conclave(['leader', '--wait-ms', '100', '--api', addr]);
    assert.equal(run.code, 1);
    assert.equal(run.error?.name, 'NoLeaderError');
    assert.equal(run.out, '');
  });

  it('transfer NODE resolves a name; resign and elect print the detail', async () => {
    const transfer = await conclave(['transfer', 'beta', '--api', addr]);
    assert.equal(transfer.code, 0);
    assert.equal(transfer.out, 'done\n');
    assert.deepEqual(source.commands.at(-1), { kind: 'transfer', to: PEER_ID });
    await conclave(['transfer', '--api', addr]);
    assert.deepEqual(source.commands.at(-1), { kind: 'transfer', to: null });
    assert.deepEqual(JSON.parse((await conclave(['resign', '--api', addr, '--json'])).out), { ok: true, detail: 'done' });
    assert.equal((await conclave(['elect', '--api', addr])).code, 0);
    assert.deepEqual(source.commands.at(-1), { kind: 'elect' });
  });

  it('a refused or unimplemented command exits 1 with the API error', async () => {
    const unknown = await conclave(['transfer', 'nobody', '--api', addr]);
    assert.equal(unknown.code, 1);
    assert.equal(unknown.error?.name, 'ApiError');
    assert.equal((unknown.error as Error & { code: string }).code, 'unknown-node');
    source.commandResult = null;
    const missing = await conclave(['elect', '--api', addr]);
    assert.equal(missing.code, 1);
    assert.equal((missing.error as Error & { code: string }).code, 'not-implemented');
  });

  it('--token and CONCLAVE_API_TOKEN are sent as the bearer token; CONCLAVE_API picks the address', async () => {
    const guarded = await startApiServer({ source, tcpListen: '127.0.0.1:0', socketPath: join(workDir, `g${serial++}.sock`), token: 'tok' });
    const saved = { api: process.env.CONCLAVE_API, token: process.env.CONCLAVE_API_TOKEN };
    try {
      assert.equal((await conclave(['status', '--api', guarded.tcpAddress!])).code, 1);
      assert.equal((await conclave(['status', '--api', guarded.tcpAddress!, '--token', 'tok'])).code, 0);
      process.env.CONCLAVE_API = guarded.tcpAddress!;
      process.env.CONCLAVE_API_TOKEN = 'tok';
      const fromEnv = await conclave(['status', '--json']);
      assert.equal(fromEnv.code, 0, fromEnv.err);
      assert.equal(JSON.parse(fromEnv.out).id, SELF_ID);
    } finally {
      for (const [key, value] of [['CONCLAVE_API', saved.api], ['CONCLAVE_API_TOKEN', saved.token]] as const) {
        if (value === undefined) delete process.env[key];
        else process.env[key] = value;
      }
      await guarded.close();
    }
  });
});

describe('conclave reporting commands: failures', () => {
  it('an unreachable daemon exits 1 and the message names the address tried', async () => {
    const address = await closedAddress();
    for (const args of [['status'], ['members'], ['leader'], ['transfer', 'x'], ['resign'], ['elect']]) {
      const run = await conclave([...args, '--api', address]);
      assert.equal(run.code, 1, args.join(' '));
      assert.equal(run.error?.name, 'ApiUnreachableError');
      assert.ok(run.error?.message.includes(address), run.error?.message);
    }
  });

  it('leader --wait-ms against no daemon says it is waiting, then exits 1', async () => {
    const run = await conclave(['leader', '--wait-ms', '200', '--api', await closedAddress()]);
    assert.equal(run.code, 1);
    assert.match(run.err, /waiting for the daemon at 127\.0\.0\.1:\d+/);
  });

  it('usage errors exit 2: a malformed --api, a bad --interval-ms or --wait-ms, an unknown flag', async () => {
    for (const args of [['status', '--api', 'nowhere'], ['members', '--interval-ms', 'fast'], ['leader', '--wait-ms', '-1'], ['status', '--frobnicate']]) {
      const run = await conclave(args);
      assert.equal(run.code, 2, `${args.join(' ')}: ${run.error?.message}`);
    }
  });
});
