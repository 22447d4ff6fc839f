/**
 * One real daemon on loopback (mDNS off): the control API contract field by field, the
 * observer mode of a protocol without a machine, `conclave leave` and /v1/raft under each
 * protocol, and start-up refusals that must name the cause — bad config, a second daemon on one
 * data dir, a corrupt peer.key or state file.
 */
import '../../daemon/polyfill.js';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync, mkdirSync } from 'node:fs';
import { request } from 'node:http';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createApiClient } from '../../daemon/api/client.js';
import type { StreamEvent } from '../../daemon/api/types.js';
import { ROLES } from '../../protocols/types.js';
import { RAFT_WIRE } from '../../protocols/raft/messages.js';
import { CLI, sleep } from '../support/local-cluster.js';

const workDir = mkdtempSync(join(tmpdir(), 'conclave-daemon-test-'));
const children = new Set<ChildProcess>();
after(() => {
  for (const child of children) if (child.exitCode === null && child.pid) process.kill(child.pid, 'SIGKILL');
  rmSync(workDir, { recursive: true, force: true });
});

async function freePort(): Promise<number> {
  return await new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const port = (server.address() as { port: number }).port;
      server.close(() => resolve(port));
    });
  });
}

function startArgs(dataDir: string, apiPort: number, extra: string[] = []): string[] {
  return [CLI, 'start', '--cluster', 'apitest', '--name', 'solo', '--data-dir', dataDir, '--listen', '/ip4/127.0.0.1/tcp/0', '--api', `127.0.0.1:${apiPort}`, '--no-mdns', '--log-format', 'json', ...extra];
}

function spawnDaemon(args: string[]): { child: ChildProcess; output: () => string } {
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  let output = '';
  child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
  return { child, output: () => output };
}

function exitOf(child: ChildProcess, timeoutMs = 10_000): Promise<number | null> {
  if (child.exitCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('daemon did not exit')), timeoutMs);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve(code);
    });
  });
}

async function waitUp(address: string, timeoutMs = 15_000): Promise<void> {
  const client = createApiClient({ address, timeoutMs: 1000 });
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      await client.status();
      return;
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await sleep(100);
    }
  }
}

function rawRequest(opts: { socketPath?: string; port?: number; method?: string; path: string; headers?: Record<string, string>; body?: string }): Promise<{ status: number; headers: Record<string, unknown>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: opts.port, socketPath: opts.socketPath, method: opts.method ?? 'GET', path: opts.path, headers: opts.headers }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end(opts.body);
  });
}

describe('control API contract (bully daemon, alone)', { timeout: 60_000 }, () => {
  const dataDir = join(workDir, 'bully');
  let port = 0;
  let daemon: ReturnType<typeof spawnDaemon>;

  before(async () => {
    port = await freePort();
    daemon = spawnDaemon(startArgs(dataDir, port, ['--protocol', 'bully', '--priority', '3']));
    await waitUp(`127.0.0.1:${port}`);
  });
  after(async () => {
    if (daemon.child.pid && daemon.child.exitCode === null) process.kill(daemon.child.pid, 'SIGTERM');
    await exitOf(daemon.child).catch(() => undefined);
  });

  it('GET /v1/status has every field with its type, on TCP and on the Unix socket', async () => {
    for (const via of [{ port }, { socketPath: join(dataDir, 'api.sock') }]) {
      const res = await rawRequest({ ...via, path: '/v1/status' });
      assert.equal(res.status, 200);
      assert.match(String(res.headers['content-type']), /application\/json/);
      const s = JSON.parse(res.body) as Record<string, unknown>;
      assert.deepEqual(Object.keys(s).sort(), ['bootstrap', 'cluster', 'era', 'fencingToken', 'id', 'leader', 'leaseRemainingMs', 'members', 'name', 'protocol', 'revision', 'role', 'security', 'term', 'uptimeMs', 'version'].sort());
      // Alone, never led: era 0, asking for the protocol it runs, no switch.
      assert.deepEqual(s.era, { era: 0, requested: 'bully', switch: null, ordered: null });
      assert.equal(typeof s.id, 'string');
      assert.equal(s.name, 'solo');
      assert.equal(s.cluster, 'apitest');
      assert.equal(s.protocol, 'bully');
      assert.ok((ROLES as readonly unknown[]).includes(s.role), String(s.role));
      assert.equal(typeof s.term, 'number');
      assert.equal(typeof s.fencingToken, 'number');
      assert.ok(s.leader === null || (typeof (s.leader as { id: unknown }).id === 'string' && typeof (s.leader as { name: unknown }).name === 'string'));
      assert.deepEqual(Object.keys(s.members as object).sort(), ['alive', 'dead', 'left', 'suspect']);
      assert.equal((s.members as { alive: number }).alive, 1);
      assert.equal(typeof s.uptimeMs, 'number');
      // Alone, with the default bootstrapExpect of 3: waiting for the cluster, never leading.
      assert.deepEqual(s.bootstrap, { expect: 3, seen: 1, complete: false });
      assert.equal(s.role, 'follower');
      assert.equal(s.leaseRemainingMs, null);
      assert.equal(typeof s.revision, 'number');
      // No pre-shared key configured: the open cluster is reported; the state file is on disk.
      assert.deepEqual(s.security, { psk: false });
      assert.equal('persistError' in s, false, 'a daemon that stops on a failed write has no write failure to report');
      assert.match(s.version as string, /^\d+\.\d+\.\d+/);
    }
  });

  it('the Unix socket is mode 0600', () => {
    assert.equal(statSync(join(dataDir, 'api.sock')).mode & 0o777, 0o600);
  });

  it('GET /v1/members lists self with every field', async () => {
    const res = await rawRequest({ port, path: '/v1/members' });
    assert.equal(res.status, 200);
    const { members } = JSON.parse(res.body) as { members: Record<string, unknown>[] };
    assert.equal(members.length, 1);
    const m = members[0]!;
    assert.deepEqual(Object.keys(m).sort(), ['addrs', 'era', 'id', 'incarnation', 'lastSeenMs', 'leader', 'name', 'priority', 'protocol', 'raftWire', 'requested', 'role', 'self', 'state', 'switchTo', 'term', 'version'].sort());
    assert.deepEqual([m.era, m.requested, m.switchTo, m.raftWire], [0, 'bully', null, RAFT_WIRE]);
    assert.equal(m.self, true);
    assert.equal(m.state, 'alive');
    assert.equal(m.lastSeenMs, 0);
    assert.equal(m.priority, 3);
    assert.ok(Array.isArray(m.addrs) && (m.addrs as string[]).every((a) => a.startsWith('/ip4/')));
    assert.equal(typeof m.incarnation, 'number');
  });

  it('GET /v1/leader answers at once, and long-polls until the revision differs from `after`', async () => {
    const now = JSON.parse((await rawRequest({ port, path: '/v1/leader' })).body) as { revision: number };
    assert.deepEqual(Object.keys(now).sort(), ['fencingToken', 'leader', 'leaseRemainingMs', 'revision', 'role', 'term']);
    const started = Date.now();
    const res = await rawRequest({ port, path: `/v1/leader?waitMs=600&after=${now.revision}` });
    const waited = Date.now() - started;
    assert.equal(res.status, 200);
    // Alone and waiting for its cluster, nothing changes: the poll runs to its bound.
    assert.ok(waited >= 500, `long-poll returned after ${waited} ms`);
    assert.equal((JSON.parse(res.body) as { revision: number }).revision, now.revision);
    const immediate = Date.now();
    await rawRequest({ port, path: `/v1/leader?waitMs=60000&after=${now.revision + 1000}` });
    assert.ok(Date.now() - immediate < 30_000, 'a different revision answers at once, not at waitMs');
  });

  it('GET /v1/events starts with a snapshot of status and members', async () => {
    const client = createApiClient({ address: `127.0.0.1:${port}` });
    const controller = new AbortController();
    const first = await new Promise<StreamEvent>((resolve, reject) => {
      client.events((e) => {
        resolve(e);
        controller.abort();
      }, { signal: controller.signal }).catch(reject);
    });
    assert.equal(first.type, 'snapshot');
    assert.ok(!Number.isNaN(Date.parse(first.at)));
    assert.equal(first.status.name, 'solo');
    assert.equal(first.members.length, 1);
  });

  it('GET /metrics is Prometheus text with conclave_ names; /healthz is ok', async () => {
    const metrics = await rawRequest({ port, path: '/metrics' });
    assert.equal(metrics.status, 200);
    for (const name of ['conclave_members', 'conclave_messages_rejected_total', 'conclave_is_leader', 'conclave_term', 'conclave_heartbeats_sent_total']) {
      assert.ok(metrics.body.includes(name), `missing ${name}`);
    }
    const health = await rawRequest({ port, path: '/healthz' });
    assert.equal(health.status, 200);
    assert.deepEqual(JSON.parse(health.body), { ok: true });
  });

  it('unknown routes get a JSON error', async () => {
    const res = await rawRequest({ port, path: '/v1/nope' });
    assert.equal(res.status, 404);
    const body = JSON.parse(res.body) as { error: { code: string; message: string } };
    assert.equal(typeof body.error.code, 'string');
    assert.equal(typeof body.error.message, 'string');
  });

  it('a second daemon on the same data dir refuses to start, naming the holder (exit 2)', async () => {
    const second = spawnDaemon(startArgs(dataDir, await freePort()));
    const code = await exitOf(second.child);
    assert.equal(code, 2);
    assert.match(second.output(), new RegExp(`${daemon.child.pid}`));
    assert.match(second.output(), /in use/);
  });
});

describe('raft, one node', { timeout: 60_000 }, () => {
  it('with --bootstrap-expect 1 it leads once its leader record is committed; a restart leads a higher term with a higher fencing token', async () => {
    const dataDir = join(workDir, 'raft');
    // The API on a port of the kernel's choosing, read through the Unix socket: a port picked
    // free beforehand can be taken before the daemon binds it, and the daemon then exits at start.
    const address = `unix:${join(dataDir, 'api.sock')}`;
    const leading = async (): Promise<{ term: number; fencingToken: number }> => {
      const daemon = spawnDaemon(startArgs(dataDir, 0, ['--protocol', 'raft', '--bootstrap-expect', '1']));
      try {
        await waitUp(address).catch((err: Error) => {
          throw new Error(`${err.message}; the daemon said:\n${daemon.output()}`);
        });
        const client = createApiClient({ address });
        for (const deadline = Date.now() + 10_000; ; await sleep(50)) {
          const status = await client.status();
          if (status.role === 'leader') {
            assert.equal(status.protocol, 'raft');
            assert.equal(status.leader?.name, 'solo');
            assert.ok(status.leaseRemainingMs !== null && status.leaseRemainingMs > 0, 'a leader reports the lease it holds');
            // Its configuration (itself), then its leader record, at least, are committed.
            assert.deepEqual(status.raft?.voters.map((v) => v.name), ['solo']);
            assert.ok(status.raft.commitIndex >= 2 && status.raft.lastTerm === status.term, JSON.stringify(status.raft));
            return { term: status.term, fencingToken: status.fencingToken };
          }
          assert.ok(Date.now() < deadline, `no leadership within 10 s: ${JSON.stringify(status)}\n${daemon.output()}`);
        }
      } finally {
        // A daemon that already exited has its output in the error above; a kill would hide it.
        if (daemon.child.exitCode === null && daemon.child.signalCode === null) {
          daemon.child.kill('SIGTERM');
          assert.equal(await exitOf(daemon.child), 0);
        }
      }
    };
    const first = await leading();
    assert.ok(first.term >= 1 && first.fencingToken === first.term, JSON.stringify(first));
    const second = await leading();
    assert.ok(second.term > first.term, `term ${second.term} after ${first.term}`);
    assert.ok(second.fencingToken > first.fencingToken, `token ${second.fencingToken} after ${first.fencingToken}`);
  });
});

describe('conclave leave and /v1/raft, one node', { timeout: 60_000 }, () => {
  const cli = (args: string[]) => spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', timeout: 30_000 });

  it('bully: conclave leave stops the daemon gracefully (exit 0 for both), and /v1/raft is 409 not-raft', async () => {
    const port = await freePort();
    const daemon = spawnDaemon(startArgs(join(workDir, 'leave-bully'), port, ['--protocol', 'bully']));
    await waitUp(`127.0.0.1:${port}`);
    const raft = await rawRequest({ port, path: '/v1/raft' });
    assert.equal(raft.status, 409);
    assert.equal((JSON.parse(raft.body) as { error: { code: string } }).error.code, 'not-raft');
    const run = cli(['leave', '--api', `127.0.0.1:${port}`]);
    assert.equal(run.status, 0, run.stderr + run.stdout);
    assert.match(run.stdout, /^solo runs bully: no configuration to leave; stopping .*… stopped$/m);
    assert.equal(await exitOf(daemon.child), 0, daemon.output());
  });

  it('raft: /v1/raft shows the leader alone, /metrics the raft series and fsync histogram; leave refuses while the machine cannot remove, --force stops', async () => {
    const port = await freePort();
    const address = `127.0.0.1:${port}`;
    const daemon = spawnDaemon(startArgs(join(workDir, 'leave-raft'), port, ['--protocol', 'raft', '--bootstrap-expect', '1']));
    try {
      await waitUp(address);
      const client = createApiClient({ address });
      for (const deadline = Date.now() + 10_000; (await client.status()).role !== 'leader'; await sleep(50)) {
        assert.ok(Date.now() < deadline, `no leadership within 10 s\n${daemon.output()}`);
      }
      const raft = await client.raft();
      assert.equal(raft.role, 'leader');
      assert.deepEqual(raft.configuration.voters.map((v) => v.name), ['solo']);
      assert.deepEqual(raft.peers, []);
      assert.ok(raft.commitIndex >= 2, JSON.stringify(raft));
      const metrics = (await rawRequest({ port, path: '/metrics' })).body;
      assert.match(metrics, /^conclave_raft_commit_index [1-9]\d*$/m);
      assert.match(metrics, /^conclave_raft_step_downs_total\{reason="check-quorum"\} 0$/m);
      assert.match(metrics, /^conclave_wal_fsync_duration_seconds_count [1-9]\d*$/m, 'fsyncs since start are observed');
      const refused = cli(['leave', '--api', address]);
      if (refused.status === 0) {
        // The machine removes members now: the daemon is gone, as it should be.
        assert.equal(await exitOf(daemon.child), 0);
        return;
      }
      assert.equal(refused.status, 1, refused.stderr);
      assert.match(refused.stdout, /^removing solo from the raft configuration… failed$/m);
      assert.match(refused.stderr, /keeps running/);
      assert.equal((await client.healthz()).ok, true, 'still running after a refused leave');
      const forced = cli(['leave', '--force', '--api', address]);
      assert.equal(forced.status, 0, forced.stderr + forced.stdout);
      assert.match(forced.stdout, /not removed .*stopping… stopped$/m);
      assert.equal(await exitOf(daemon.child), 0, daemon.output());
    } finally {
      if (daemon.child.pid && daemon.child.exitCode === null) process.kill(daemon.child.pid, 'SIGTERM');
    }
  });
});

describe('start-up refusals', { timeout: 60_000 }, () => {
  it('a malformed config exits 2 naming the field path and the reason', () => {
    const file = join(workDir, 'bad.yaml');
    writeFileSync(file, 'node:\n  priority: high\nprotocl: bully\n');
    const r = spawnSync(process.execPath, [CLI, 'start', '--config', file, '--data-dir', join(workDir, 'bad')], { encoding: 'utf8' });
    assert.equal(r.status, 2);
    assert.match(r.stderr, /node\.priority/);
    assert.match(r.stderr, /protocl/);
  });

  it('a messaging.linkPort in use exits 2 naming the field and what to do', async () => {
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    try {
      const linkPort = (taken.address() as { port: number }).port;
      const file = join(workDir, 'link-port.yaml');
      writeFileSync(file, `messaging:\n  linkPort: ${linkPort}\n`);
      const daemon = spawnDaemon([...startArgs(join(workDir, 'link-port'), await freePort()), '--config', file]);
      assert.equal(await exitOf(daemon.child), 2);
      assert.match(daemon.output(), new RegExp(`messaging\\.linkPort ${linkPort} is in use`));
    } finally {
      taken.close();
    }
  });

  it('an unknown flag prints usage and exits 2', () => {
    const r = spawnSync(process.execPath, [CLI, 'start', '--frobnicate'], { encoding: 'utf8' });
    assert.equal(r.status, 2);
    assert.match(r.stderr, /frobnicate/);
  });

  it('a corrupt peer.key is reported by name (exit 2) and left untouched', async () => {
    const dataDir = join(workDir, 'corrupt-key');
    mkdirSync(dataDir, { recursive: true });
    writeFileSync(join(dataDir, 'peer.key'), 'not a key', { mode: 0o600 });
    const daemon = spawnDaemon(startArgs(dataDir, await freePort()));
    assert.equal(await exitOf(daemon.child), 2);
    assert.match(daemon.output(), /peer\.key/);
    assert.equal(readFileSync(join(dataDir, 'peer.key'), 'utf8'), 'not a key');
  });

  it('a corrupt log store is reported by file and byte (exit 2) and left untouched', async () => {
    const dataDir = join(workDir, 'corrupt-state');
    mkdirSync(join(dataDir, 'wal'), { recursive: true });
    const segment = join(dataDir, 'wal', '0000000000000001.wal');
    writeFileSync(segment, 'not a log segment at all, and longer than a header');
    const daemon = spawnDaemon(startArgs(dataDir, await freePort(), ['--protocol', 'bully']));
    assert.equal(await exitOf(daemon.child), 2);
    assert.match(daemon.output(), /0000000000000001\.wal/);
    assert.match(daemon.output(), /byte \d+/);
    assert.equal(readFileSync(segment, 'utf8'), 'not a log segment at all, and longer than a header');
  });
});
