/** The reporting and leadership commands, run in-process against an API server with a fake source. */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer as createHttpServer, type IncomingMessage } from 'node:http';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, beforeEach, describe, it } from 'node:test';
import { startApiServer, type ApiServer } from '../api/server.js';
import { FakeControlSource, PEER_ID, SELF_ID } from '../api/testing.js';
import type { LeaderResponse } from '../api/types.js';
import { runCli, type Run } from './cli-testing.js';
import { registerReportCommands } from './report.js';
import { shortId } from '../../shared/format.js';

const workDir = mkdtempSync(join(tmpdir(), 'conclave-report-test-'));
after(() => rmSync(workDir, { recursive: true, force: true }));
let serial = 0;


/** `conclave <args>` with the reporting commands; see runCli. */
function conclave(args: string[], opts: { interrupt?: AbortSignal; onOut?: (text: string) => void } = {}): Promise<Run> {
  return runCli(registerReportCommands, args, opts);
}

/** No leader at this node, term 4; `revision` differs from the fencing token, as it does in a real daemon. */
function noLeader(overrides: Partial<LeaderResponse> = {}): LeaderResponse {
  return { leader: null, term: 4, fencingToken: 11, role: 'follower', leaseRemainingMs: null, revision: 11, ...overrides };
}

interface Reply {
  status: number;
  type: string;
  body: string;
}

/** A plain HTTP server answering each request with `answer(req)`: a daemon scripted reply by reply, or another program. */
async function scriptedServer(answer: (req: IncomingMessage) => Reply): Promise<{ address: string; close(): Promise<void> }> {
  const server = createHttpServer((req, res) => {
    const reply = answer(req);
    res.writeHead(reply.status, { 'content-type': reply.type });
    res.end(reply.body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    address: `127.0.0.1:${(server.address() as { port: number }).port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** The one line a --json failure prints on stdout. */
function jsonError(run: Run): { code: string; message: string } {
  assert.equal(run.out.trimEnd().split('\n').length, 1, run.out);
  const body = JSON.parse(run.out) as { error: { code: string; message: string } };
  assert.deepEqual(Object.keys(body), ['error']);
  return body.error;
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

  it('status says whether the swarm is open or protected by a pre-shared key', async () => {
    assert.match((await conclave(['status', '--api', addr])).out, /^security {2}pre-shared key$/m);
    source.security = { psk: false };
    const open = await conclave(['status', '--api', addr]);
    assert.equal(open.code, 0);
    assert.match(open.out, /^security {2}open \(no pre-shared key; run conclave init\)$/m);
    assert.deepEqual((JSON.parse((await conclave(['status', '--api', addr, '--json'])).out) as { security: unknown }).security, { psk: false });
  });

  it('members prints the aligned table, or {members} with --json', async () => {
    const table = await conclave(['members', '--api', addr]);
    assert.equal(table.code, 0);
    const lines = table.out.trimEnd().split('\n');
    assert.match(lines[0]!, /^NAME\s+ID\s+STATE\s+ROLE\s+TERM\s+FOLLOWS\s+LAST SEEN\s+ADDRESS$/);
    assert.match(lines[2]!, new RegExp(`^beta\\s+${shortId(PEER_ID)}\\s+alive\\s+follower\\s+3\\s+alpha\\s+0\\.3s\\s+/ip4/127\\.0\\.0\\.1/tcp/4002$`));
    assert.deepEqual(JSON.parse((await conclave(['members', '--api', addr, '--json'])).out), source.members());
  });

  it('members under raft adds a VOTE column (voter, learner) and `vote` to each --json member; bully has neither', async () => {
    source.useRaft('leader');
    const table = await conclave(['members', '--api', addr]);
    assert.equal(table.code, 0);
    const lines = table.out.trimEnd().split('\n');
    assert.match(lines[0]!, /^NAME\s+ID\s+STATE\s+ROLE\s+VOTE\s+TERM\s+FOLLOWS\s+LAST SEEN\s+ADDRESS$/);
    assert.match(lines[1]!, /^alpha \*\s+\S+\s+alive\s+leader\s+voter\s+/);
    assert.match(lines[3]!, /^gamma\s+\S+\s+alive\s+follower\s+learner\s+/);
    const asJson = JSON.parse((await conclave(['members', '--api', addr, '--json'])).out) as { members: { name: string; vote: string | null }[] };
    assert.deepEqual(asJson.members.map((m) => [m.name, m.vote]), [['alpha', 'voter'], ['beta', 'voter'], ['gamma', 'learner']]);
  });

  it('raft on the leader prints the configuration and a progress table per peer; --json is the API reply', async () => {
    const view = source.useRaft('leader');
    const run = await conclave(['raft', '--api', addr]);
    assert.equal(run.code, 0);
    assert.match(run.out, /^log {7}commit 42, applied 42, last 44 \(term 3\), snapshot 0$/m);
    assert.match(run.out, /^voters {4}alpha beta$/m);
    assert.match(run.out, /^learners {2}gamma$/m);
    assert.match(run.out, /^NAME\s+VOTE\s+MATCH\s+LAG\s+LAST CONTACT\s+STATE$/m);
    assert.match(run.out, /^beta\s+voter\s+44\s+0\s+40ms ago\s+replicate$/m);
    assert.match(run.out, /^gamma\s+learner\s+30\s+14\s+never\s+probe$/m);
    assert.deepEqual(JSON.parse((await conclave(['raft', '--api', addr, '--json'])).out), view);
  });

  it('raft on a follower says the leader tracks progress, naming it', async () => {
    source.useRaft('follower');
    const run = await conclave(['raft', '--api', addr]);
    assert.equal(run.code, 0);
    assert.match(run.out, /^progress {2}tracked by the leader, beta \(/m);
    assert.doesNotMatch(run.out, /MATCH/);
  });

  it('raft under bully exits 1 with the not-raft error; an unknown flag is usage, exit 2', async () => {
    const run = await conclave(['raft', '--api', addr]);
    assert.equal(run.code, 1);
    assert.match(run.error!.message, /runs bully/);
    assert.equal(jsonError(await conclave(['raft', '--api', addr, '--json'])).code, 'not-raft');
    assert.equal((await conclave(['raft', '--api', addr, '--frobnicate'])).code, 2);
    assert.equal((await conclave(['leave', '--api', addr, '--frobnicate'])).code, 2);
  });

  it('reload lists what was applied and what needs a restart, exit 0; --json prints the reply', async () => {
    source.reloadResult = {
      applied: [{ field: 'log.level', from: 'info', to: 'debug' }, { field: 'protocol', from: 'bully', to: 'raft', note: 'requested' }],
      needsRestart: [{ field: 'listen', from: ['/ip4/0.0.0.0/tcp/7401'], to: ['/ip4/0.0.0.0/tcp/7501'] }],
      unchanged: false,
    };
    const text = await conclave(['reload', '--api', addr]);
    assert.equal(text.code, 0, text.error?.message);
    assert.equal(
      text.out,
      'applied:\n  log.level: "info" → "debug"\n  protocol: "bully" → "raft" (requested)\n' +
        'needs a restart to take effect:\n  listen: ["/ip4/0.0.0.0/tcp/7401"] → ["/ip4/0.0.0.0/tcp/7501"]\n',
    );
    const asJson = await conclave(['reload', '--api', `unix:${api.socketPath}`, '--json']);
    assert.deepEqual(JSON.parse(asJson.out), source.reloadResult);
    assert.equal(source.reloads, 2);
    source.reloadResult = { applied: [], needsRestart: [], unchanged: true };
    assert.equal((await conclave(['reload', '--api', addr])).out, 'nothing changed\n');
  });

  it('reload of a malformed config exits 2 listing each problem by field path; --json adds the issues', async () => {
    source.refuseReload([
      { path: 'log.level', message: 'expected one of trace, debug, info, warn, error, silent; got "loud"' },
      { path: 'hooks.timeoutMs', message: 'must be at least 100 ms' },
    ]);
    const text = await conclave(['reload', '--api', addr]);
    assert.equal(text.code, 2);
    assert.equal(text.error?.name, 'InvalidConfigError');
    assert.match(text.error!.message, /keeps running its previous configuration.*\n {2}log\.level: expected one of .*\n {2}hooks\.timeoutMs: must be at least 100 ms$/s);
    const asJson = await conclave(['reload', '--api', addr, '--json']);
    assert.equal(asJson.code, 2);
    const body = JSON.parse(asJson.out) as { error: { code: string }; issues: { path: string }[] };
    assert.equal(body.error.code, 'invalid-config');
    assert.deepEqual(body.issues.map((i) => i.path), ['log.level', 'hooks.timeoutMs']);
  });

  it('leave under raft removes the node, says so, and exits 0 once the daemon stopped answering', async () => {
    source.useRaft('follower');
    source.commandResult = async () => ({ ok: true, detail: 'alpha removed at index 45' });
    source.onStop = () => void api.close();
    const run = await conclave(['leave', '--api', addr]);
    assert.equal(run.code, 0, run.error?.message);
    assert.equal(run.out, 'removing alpha from the raft configuration… done; stopping… stopped\n');
    assert.deepEqual(source.commands, [{ kind: 'remove', id: SELF_ID }]);
  });

  it('leave under bully only stops the daemon; --json prints the reply with stopped: true', async () => {
    source.commandResult = async () => ({ ok: false, code: 'unsupported', message: 'bully has no configuration' });
    source.onStop = () => void api.close();
    const run = await conclave(['leave', '--api', addr, '--json']);
    assert.equal(run.code, 0, run.out);
    const body = JSON.parse(run.out) as { removed: boolean; stopped: boolean };
    assert.equal(body.removed, false);
    assert.equal(body.stopped, true);
  });

  it('leave whose removal fails reports it, exits 1 and leaves the daemon running; --force stops anyway', async () => {
    source.useRaft('follower');
    source.commandResult = async () => ({ ok: false, code: 'no-leader', message: 'no leader to relay the removal to' });
    const failed = await conclave(['leave', '--api', addr]);
    assert.equal(failed.code, 1);
    assert.equal(failed.out, 'removing alpha from the raft configuration… failed\n');
    assert.match(failed.error!.message, /no leader to relay.*keeps running/);
    assert.deepEqual(source.stops, []);
    source.onStop = () => void api.close();
    const forced = await conclave(['leave', '--force', '--api', addr]);
    assert.equal(forced.code, 0, forced.error?.message);
    assert.match(forced.out, /not removed \(.*no-leader.*\); stopping… stopped\n$/);
  });

  it('leave exits 1 when the daemon still answers after --wait-ms', async () => {
    const run = await conclave(['leave', '--api', addr, '--wait-ms', '200']);
    assert.equal(run.code, 1);
    assert.match(run.error!.message, /still answers 200 ms after/);
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

  it('leader prints the leader, term and fencing token, and exits 0', async () => {
    const run = await conclave(['leader', '--api', addr]);
    assert.equal(run.code, 0);
    assert.match(run.out, new RegExp(`^alpha \\(${shortId(SELF_ID)}\\), term 3, fencing token 11`));
  });

  it('leader exits 1 when this node knows no leader, still printing `no leader (term N)`', async () => {
    source.leaderNow = noLeader();
    const run = await conclave(['leader', '--api', addr]);
    assert.equal(run.code, 1);
    assert.equal(run.error, null, 'nothing for main.ts to print: the reply said it');
    assert.equal(run.out, 'no leader (term 4)\n');
    assert.equal(run.err, '');
  });

  it('leader --json with no leader prints the reply on stdout and exits 1', async () => {
    source.leaderNow = noLeader();
    const run = await conclave(['leader', '--api', addr, '--json']);
    assert.equal(run.code, 1);
    assert.equal(run.error, null);
    assert.deepEqual(JSON.parse(run.out), noLeader());
  });

  it('leader --watch --json prints one line for the leader at connection and one per change of leader or token, nothing for a repeat, and ends on interrupt with exit 0', async () => {
    const stop = new AbortController();
    const lines: string[] = [];
    const run = conclave(['leader', '--watch', '--json', '--api', addr], {
      interrupt: stop.signal,
      onOut: (text) => {
        lines.push(...text.trimEnd().split('\n'));
        if (lines.length === 1) {
          source.changeLeader('beta', PEER_ID);
          // The same leader and token again (a re-sent event): no line.
          source.emit({ type: 'leader-changed', from: null, to: { id: PEER_ID, name: 'beta' }, term: source.leaderNow.term, fencingToken: source.leaderNow.fencingToken, leaderlessMs: 0 });
          source.emit({ type: 'leader-changed', from: { id: PEER_ID, name: 'beta' }, to: null, term: 5, fencingToken: 12, leaderlessMs: 0 });
        }
        if (lines.length === 3) stop.abort();
      },
    });
    const done = await run;
    assert.equal(done.code, 0, done.err);
    const parsed = done.out.trimEnd().split('\n').map((l) => JSON.parse(l) as { at: string; leader: { name: string } | null; term: number; fencingToken: number });
    assert.deepEqual(parsed.map(({ leader, term, fencingToken }) => [leader?.name ?? null, term, fencingToken]), [['alpha', 3, 11], ['beta', 4, 12], [null, 5, 12]]);
    for (const p of parsed) assert.ok(!Number.isNaN(Date.parse(p.at)), p.at);
  });

  it('leader --watch prints readable lines and says once on stderr that it reconnects while the daemon is gone', async () => {
    const stop = new AbortController();
    let closing: Promise<void> | null = null;
    const run = await conclave(['leader', '--watch', '--api', addr], {
      interrupt: stop.signal,
      onOut: () => {
        closing = api.close();
        // Give the watch time to fail more than once before it is stopped.
        setTimeout(() => stop.abort(), 1500);
      },
    });
    await closing;
    const errors = run.err.split('\n').filter((l) => l.includes('reconnecting…')).length;
    assert.equal(run.code, 0, run.err);
    assert.match(run.out, new RegExp(`^\\S+ alpha \\(${shortId(SELF_ID)}\\), term 3, fencing token 11\n$`));
    assert.equal(errors, 1, run.err);
  });

  it('is-leader --json says whether this node leads, with its term, token and lease; exit 0 leading, 1 not', async () => {
    const leading = await conclave(['is-leader', '--json', '--api', addr]);
    assert.equal(leading.code, 0);
    assert.deepEqual(JSON.parse(leading.out), { isLeader: true, node: { id: SELF_ID, name: 'alpha' }, role: 'leader', term: 3, fencingToken: 11, leaseRemainingMs: 2500, leader: { id: SELF_ID, name: 'alpha' } });
    source.changeLeader('beta', PEER_ID);
    const following = await conclave(['is-leader', '--json', '--api', addr]);
    assert.equal(following.code, 1);
    assert.equal(following.error, null);
    assert.deepEqual(JSON.parse(following.out), { isLeader: false, node: { id: SELF_ID, name: 'alpha' }, role: 'follower', term: 4, fencingToken: 12, leaseRemainingMs: null, leader: { id: PEER_ID, name: 'beta' } });
    const text = await conclave(['is-leader', '--api', addr]);
    assert.equal(text.code, 1);
    assert.equal(text.out, `not leader: alpha is follower and follows beta (${shortId(PEER_ID)}) (term 4)\n`);
  });

  it('leader --wait blocks on the long-poll until a leader exists', async () => {
    source.leaderNow = noLeader();
    const pending = conclave(['leader', '--wait', '--api', addr]);
    while (source.listeners.size === 0) await new Promise((r) => setTimeout(r, 5));
    source.changeLeader('beta', PEER_ID);
    const run = await pending;
    assert.equal(run.code, 0, run.err);
    assert.match(run.out, new RegExp(`^beta \\(${shortId(PEER_ID)}\\), term 5, fencing token 12`));
  });

  it('leader --wait-ms gives up with exit 1 when no leader appears', async () => {
    source.leaderNow = noLeader();
    const run = await conclave(['leader', '--wait-ms', '100', '--api', addr]);
    assert.equal(run.code, 1);
    assert.equal(run.error?.name, 'NoLeaderError');
    assert.equal(run.out, '');
    const asJson = await conclave(['leader', '--wait-ms', '100', '--api', addr, '--json']);
    assert.equal(asJson.code, 1);
    assert.equal(jsonError(asJson).code, 'no-leader');
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

  it('forget NODE resolves a name and prints the detail; without NODE it is a usage error', async () => {
    const forget = await conclave(['forget', 'beta', '--api', addr]);
    assert.equal(forget.code, 0);
    assert.equal(forget.out, 'done\n');
    assert.deepEqual(source.commands.at(-1), { kind: 'forget', id: PEER_ID });
    const unknown = await conclave(['forget', 'nobody', '--api', addr, '--json']);
    assert.equal(unknown.code, 1);
    assert.equal(jsonError(unknown).code, 'unknown-node');
    assert.equal((await conclave(['forget', '--api', addr])).code, 2);
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

  it('--json prints an API error as {"error":{code,message}} on stdout and exits 1', async () => {
    const unknown = await conclave(['transfer', 'nobody', '--api', addr, '--json']);
    assert.equal(unknown.code, 1);
    assert.equal(unknown.error, null, 'reported on stdout, not again by main.ts');
    assert.equal(unknown.err, '');
    assert.equal(jsonError(unknown).code, 'unknown-node');
    source.commandResult = null;
    const missing = await conclave(['elect', '--api', addr, '--json']);
    assert.equal(missing.code, 1);
    assert.equal(jsonError(missing).code, 'not-implemented');
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
    for (const args of [['status'], ['members'], ['leader'], ['transfer', 'x'], ['resign'], ['elect'], ['reload']]) {
      const run = await conclave([...args, '--api', address]);
      assert.equal(run.code, 1, args.join(' '));
      assert.equal(run.error?.name, 'ApiUnreachableError');
      assert.ok(run.error?.message.includes(address), run.error?.message);
    }
  });

  it('--json prints an unreachable daemon as {"error":{"code":"unreachable"}} on stdout for every command, exit 1', async () => {
    const address = await closedAddress();
    for (const args of [['status'], ['members'], ['leader'], ['transfer', 'x'], ['resign'], ['elect'], ['reload']]) {
      const run = await conclave([...args, '--api', address, '--json']);
      assert.equal(run.code, 1, args.join(' '));
      assert.equal(run.error, null);
      const error = jsonError(run);
      assert.equal(error.code, 'unreachable');
      assert.ok(error.message.includes(address), error.message);
    }
  });

  it('a reply that is not Conclave\'s API (an HTML 404 page) is named as such, in text and in --json', async () => {
    const other = await scriptedServer(() => ({ status: 404, type: 'text/html', body: '<html><h1>Not Found</h1></html>' }));
    try {
      for (const args of [['status'], ['leader'], ['resign']]) {
        const text = await conclave([...args, '--api', other.address]);
        assert.equal(text.code, 1);
        assert.equal(text.error?.name, 'NotConclaveApiError');
        assert.ok(!text.error.message.includes('<html>'), text.error.message);
        const asJson = await conclave([...args, '--api', other.address, '--json']);
        assert.equal(asJson.code, 1);
        const error = jsonError(asJson);
        assert.equal(error.code, 'not-conclave-api');
        assert.match(error.message, /HTTP 404 \(text\/html\)/);
      }
    } finally {
      await other.close();
    }
  });

  it('leader --wait long-polls with after = the last reply\'s revision, not its fencing token', async () => {
    const polls: URLSearchParams[] = [];
    const daemon = await scriptedServer((req) => {
      const query = new URL(req.url ?? '/', 'http://x').searchParams;
      polls.push(query);
      // The first long-poll ends without a change (leader appearing is what changes the revision).
      const leader = polls.length < 3 ? noLeader({ revision: 41 }) : { ...noLeader({ revision: 42 }), leader: { id: PEER_ID, name: 'beta' } };
      return { status: 200, type: 'application/json', body: JSON.stringify(leader) };
    });
    try {
      const run = await conclave(['leader', '--wait', '--api', daemon.address]);
      assert.equal(run.code, 0, run.err);
      assert.match(run.out, /^beta /);
      assert.deepEqual(polls.map((q) => q.get('after')), [null, '41', '41']);
      assert.ok(polls.slice(1).every((q) => Number(q.get('waitMs')) > 0));
    } finally {
      await daemon.close();
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
    const asJson = await conclave(['status', '--api', 'nowhere', '--json']);
    assert.equal(asJson.code, 2);
    assert.equal(jsonError(asJson).code, 'usage');
  });
});
