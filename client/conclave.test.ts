/**
 * The client library against a real API server over a fake daemon (daemon/api/testing.ts):
 * plain calls, watch() with reconnect and a fresh snapshot, waitForLeader, lead()'s signal,
 * typed errors; and the import graph: loading it pulls in no libp2p, blessed, commander or config.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, beforeEach, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { startApiServer, type ApiServer } from '../daemon/api/server.js';
import { FakeControlSource, PEER_ID, SELF_ID } from '../daemon/api/testing.js';
import { until } from '../shared/testing.js';
import { Conclave, type WatchEvent } from './index.js';
import type { LeaderInfo, StopReason } from './leadership.js';

const ROOT = new URL('../../', import.meta.url).pathname;
const workDir = mkdtempSync(join(tmpdir(), 'conclave-lib-test-'));
after(() => rmSync(workDir, { recursive: true, force: true }));
let serial = 0;

describe('Conclave client library', () => {
  let source: FakeControlSource;
  let server: ApiServer;
  let socketPath: string;
  beforeEach(async () => {
    source = new FakeControlSource();
    socketPath = join(workDir, `l${serial++}.sock`);
    server = await startApiServer({ source, socketPath, tcpListen: '127.0.0.1:0', token: 'secret' });
  });
  afterEach(() => server.close());

  it('status, members and leader over the socket; TCP needs the token (ApiError unauthorized)', async () => {
    const conclave = new Conclave({ api: `unix:${socketPath}` });
    assert.equal((await conclave.status()).id, SELF_ID);
    assert.deepEqual((await conclave.members()).map((m) => m.name), ['alpha', 'beta']);
    assert.equal((await conclave.leader()).fencingToken, 11);
    assert.equal((await new Conclave({ api: server.tcpAddress!, token: 'secret' }).status()).id, SELF_ID);
    await assert.rejects(new Conclave({ api: server.tcpAddress!, token: null }).status(), { name: 'ApiError', code: 'unauthorized' });
  });

  it('errors are typed: UsageError for a bad address, ApiUnreachableError when nothing listens, LeaderTimeoutError', async () => {
    assert.throws(() => new Conclave({ api: 'nonsense' }), { name: 'UsageError' });
    await assert.rejects(new Conclave({ api: `unix:${join(workDir, 'none.sock')}` }).status(), { name: 'ApiUnreachableError' });
    source.leaderNow = { ...source.leaderNow, leader: null, role: 'follower', leaseRemainingMs: null };
    await assert.rejects(new Conclave({ api: `unix:${socketPath}` }).waitForLeader({ timeoutMs: 100 }), { name: 'LeaderTimeoutError' });
  });

  it('waitForLeader resolves when a leader appears', async () => {
    source.leaderNow = { ...source.leaderNow, leader: null, role: 'follower', leaseRemainingMs: null };
    const waiting = new Conclave({ api: `unix:${socketPath}` }).waitForLeader({ timeoutMs: 5000 });
    await sleep(50);
    source.changeLeader('beta', PEER_ID);
    assert.equal((await waiting).leader.name, 'beta');
  });

  it('watch() yields the snapshot, then events; after the daemon restarts, a disconnect and a fresh snapshot', async () => {
    const conclave = new Conclave({ api: `unix:${socketPath}` });
    const controller = new AbortController();
    const seen: WatchEvent[] = [];
    const done = (async () => {
      for await (const event of conclave.watch({ signal: controller.signal })) seen.push(event);
    })();
    await until('snapshot', () => seen.length === 1);
    source.changeLeader('beta', PEER_ID);
    await until('leader-changed', () => seen.some((e) => e.type === 'leader-changed'));
    await server.close();
    server = await startApiServer({ source, socketPath, tcpListen: null, token: null });
    await until('a second snapshot', () => seen.filter((e) => e.type === 'snapshot').length === 2);
    controller.abort();
    await done;
    const types = seen.map((e) => e.type);
    assert.deepEqual(types.slice(0, 2), ['snapshot', 'leader-changed']);
    assert.ok(types.includes('disconnected'), types.join(','));
    assert.equal(types.at(-1), 'snapshot');
  });

  it('lead(): onStartedLeading gets the token; its signal aborts the moment leadership moves; onNewLeader names the new one', async () => {
    const conclave = new Conclave({ api: `unix:${socketPath}` });
    const controller = new AbortController();
    const reigns: { token: number; signal: AbortSignal }[] = [];
    const stopped: StopReason[] = [];
    const leaders: LeaderInfo[] = [];
    const running = conclave.lead(
      {
        onStartedLeading: (signal, token) => void reigns.push({ token, signal }),
        onStoppedLeading: (reason) => void stopped.push(reason),
        onNewLeader: (leader) => void leaders.push(leader),
      },
      { signal: controller.signal },
    );
    await until('started', () => reigns.length === 1);
    assert.equal(reigns[0]!.token, 11);
    source.changeLeader('beta', PEER_ID);
    await until('aborted', () => reigns[0]!.signal.aborted);
    assert.equal((reigns[0]!.signal.reason as Error).name, 'LeadershipLostError');
    assert.deepEqual(stopped, ['lost']);
    assert.equal(leaders.at(-1)?.leader?.name, 'beta');
    source.changeLeader('alpha', SELF_ID);
    await until('leading again', () => reigns.length === 2);
    assert.equal(reigns[1]!.token, 13, 'a higher token');
    controller.abort();
    await running;
    assert.ok(reigns[1]!.signal.aborted, 'stopping lead() ends the reign');
    assert.deepEqual(stopped, ['lost', 'closed']);
  });

  it('lead(): the daemon gone ends the reign at once (daemon-gone), well before the lease would', async () => {
    source.leaderNow = { ...source.leaderNow, leaseRemainingMs: 60_000 };
    const controller = new AbortController();
    const stopped: StopReason[] = [];
    let started = 0;
    const running = new Conclave({ api: `unix:${socketPath}` }).lead({ onStartedLeading: () => void started++, onStoppedLeading: (r) => void stopped.push(r) }, { signal: controller.signal });
    await until('started', () => started === 1);
    await server.close();
    await until('stopped', () => stopped.length === 1);
    assert.deepEqual(stopped, ['daemon-gone']);
    server = await startApiServer({ source, socketPath, tcpListen: null, token: null });
    controller.abort();
    await running;
  });

  it('lead(): a daemon that stops answering loses the reign when the lease it reported runs out', async () => {
    // A lease of 3 s: the long-poll renews it at half of what is left (about 1.5 s before its end),
    // so only a pause of the test process longer than that could end it (CI once paused past 0.7 s).
    source.leaderNow = { ...source.leaderNow, leaseRemainingMs: 3000 };
    const controller = new AbortController();
    const stopped: StopReason[] = [];
    let started = 0;
    const running = new Conclave({ api: `unix:${socketPath}` }).lead({ onStartedLeading: () => void started++, onStoppedLeading: (r) => void stopped.push(r) }, { signal: controller.signal });
    try {
      await until('started', () => started === 1);
      const renewalsBefore = source.leaderCalls;
      await sleep(3600);
      assert.deepEqual(stopped, [], 'renewed by long-polls while the daemon answers, past the first lease');
      assert.ok(source.leaderCalls - renewalsBefore >= 2, 'renewed by long-polls, not by luck');
      // A daemon frozen: it still reports leadership, but with a lease that is not renewed.
      source.leaderNow = { ...source.leaderNow, leaseRemainingMs: 1 };
      await until('stopped', () => stopped.length === 1);
      assert.deepEqual(stopped, ['lease-expired']);
      // Still claimed without a usable lease: asked again and again, at an interval, not in a spin
      // (a spin asks thousands of times a second; the interval is 100 ms).
      const before = source.leaderCalls;
      const from = performance.now();
      await until('asked again', () => source.leaderCalls - before >= 3);
      await sleep(300);
      const asked = source.leaderCalls - before;
      const elapsedMs = performance.now() - from;
      assert.ok(asked <= elapsedMs / 50 + 2, `asked ${asked} times in ${Math.round(elapsedMs)} ms`);
    } finally {
      // Also when an assertion failed: a lead() left running keeps this file's process alive, and
      // the test runner waits for it for ever.
      controller.abort();
      await running.catch(() => undefined);
    }
  });
});

describe('what importing the library loads', () => {
  it('import { Conclave } from "conclave" loads no libp2p, blessed, commander, zod or config module', () => {
    const record = join(workDir, 'loads.txt');
    const r = spawnSync(process.execPath, ['--import', join(ROOT, 'test/support/record-loads.mjs'), '--input-type=module', '-e', "const { Conclave } = await import('conclave'); new Conclave({ api: 'unix:/nonexistent' });"], {
      cwd: ROOT,
      encoding: 'utf8',
      env: { ...process.env, CONCLAVE_RECORD_LOADS: record },
    });
    assert.equal(r.status, 0, r.stderr);
    const loaded = readFileSync(record, 'utf8').split('\n').filter(Boolean);
    assert.ok(loaded.some((url) => url.endsWith('/dist/client/index.js')), 'the package name resolves to dist/client/index.js');
    const forbidden = loaded.filter((url) => /libp2p|multiformats|blessed|commander|\/zod\/|\/daemon\/config\/|\/tui\/|pino|prom-client/.test(url));
    assert.deepEqual(forbidden, []);
  });
});
