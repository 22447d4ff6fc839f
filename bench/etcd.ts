/**
 * etcd as the peer for the Bully fail-over figures: 5 members on 127.0.0.1 doing the same job
 * (kill -9 or SIGSTOP of the leader until every survivor names the same new leader), so a bench
 * can print Conclave's figure beside etcd's; withEtcdCluster lends the same cluster to another
 * workload (bench/kv.ts). Data dirs live in one temp dir; stop() and a process exit hook remove it
 * and kill every etcd by PID, as test/support/local-cluster.ts does.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { appendFileSync, closeSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sleep } from '../test/support/local-cluster.js';

const SIZE = 5;
export const ETCD_BIN = '/usr/bin/etcd';
/** Each poll round asks every live member; 10 ms keeps the poll error well under a heartbeat. */
const POLL_MS = 10;
/** A member that does not answer within this counts as "no answer" for the round. */
const REQUEST_TIMEOUT_MS = 500;
const WAIT_MS = 30_000;
/** How long after the poll saw agreement a survivor's log line naming the leader may still take to reach its file. */
const LOG_LINE_WAIT_MS = 500;
/** Clear of etcd's 2379/2380 defaults, so a system etcd never meets these members. */
const FIRST_PORT = 23790;

export type EtcdAvailability = { ok: true; version: string } | { ok: false; reason: string };

export function etcdAvailable(bin = ETCD_BIN): EtcdAvailability {
  const r = spawnSync(bin, ['--version'], { encoding: 'utf8', timeout: 5000 });
  if (r.error) return { ok: false, reason: `${bin}: ${r.error.message} (Debian: apt-get install -y etcd-server)` };
  const version = /^etcd Version: (\S+)/m.exec(r.stdout)?.[1];
  if (r.status !== 0 || !version) return { ok: false, reason: `${bin} --version exited ${r.status}: ${(r.stderr || r.stdout).trim().split('\n')[0]}` };
  return { ok: true, version };
}

export interface EtcdFailoverOptions {
  trials: number;
  /** etcd's --election-timeout; its default 1000 matches Conclave's lan preset. */
  electionTimeoutMs: number;
  /** etcd's --heartbeat-interval; its default 100. */
  heartbeatIntervalMs: number;
  /** Default ETCD_BIN. */
  bin?: string;
}

/** What one member says in its status: itself and whom it follows (null while it has no leader). */
export interface MemberStatus {
  memberId: string;
  leader: string | null;
}

/** The leader every member names, if they all answered and agree on one that is not `excluded`. */
export function agreedLeader(statuses: readonly (MemberStatus | null)[], excluded?: string): string | null {
  const leader = statuses[0]?.leader ?? null;
  if (leader === null || leader === excluded) return null;
  return statuses.every((s) => s?.leader === leader) ? leader : null;
}

/**
 * When etcd's raft says, in this member's log, that it follows `leaderHex` (ms since the epoch,
 * the line's `ts`): the first `raft.node: … elected leader X` or `… changed leader from Y to X`
 * line (raft/node.go, logged as the member's raft state names X), or null if there is none.
 * `logText` is zap's JSON lines (`--logger zap`, ms timestamps); other lines are skipped.
 */
export function leaderNamedAtMs(logText: string, leaderHex: string): number | null {
  const named = new RegExp(`^raft\\.node: [0-9a-f]+ (?:elected leader|changed leader from [0-9a-f]+ to) ${leaderHex} at term \\d+$`);
  for (const line of logText.split('\n')) {
    if (!line.includes(leaderHex)) continue;
    let entry: { ts?: unknown; msg?: unknown };
    try {
      entry = JSON.parse(line) as { ts?: unknown; msg?: unknown };
    } catch {
      continue;
    }
    if (typeof entry.msg !== 'string' || typeof entry.ts !== 'string' || !named.test(entry.msg)) continue;
    const at = Date.parse(entry.ts);
    if (Number.isFinite(at)) return at;
  }
  return null;
}

/**
 * Per trial, ms from just before the signal until every survivor names the new leader: `polled`,
 * the poll round (every POLL_MS) that first saw them all agree, and `logged`, the last survivor's
 * log line naming it (leaderNamedAtMs; null for a trial where a survivor's line was not found).
 */
export interface EtcdFailoverTimes {
  polled: number[];
  logged: (number | null)[];
}

/**
 * 5 members; each trial waits for a settled cluster, sends `signal` to the leader and measures ms
 * from just before the signal to the poll round that first saw every survivor name the same new
 * leader, and to the survivors' own log lines saying so. The victim then comes back (SIGCONT, or
 * a restart on its data dir) before the next trial.
 * On SIGTERM etcd's leader transfers its leadership before it stops (EtcdServer.Stop), as ours does.
 */
export async function etcdFailover(signal: 'SIGKILL' | 'SIGTERM' | 'SIGSTOP', opts: EtcdFailoverOptions, progress: (line: string) => void = () => {}): Promise<EtcdFailoverTimes> {
  const cluster = await EtcdCluster.start(opts);
  try {
    const times: EtcdFailoverTimes = { polled: [], logged: [] };
    for (let t = 0; t < opts.trials; t++) {
      const leaderId = await cluster.settledLeader();
      const victim = cluster.members.find((m) => m.id === leaderId)!;
      const survivors = cluster.members.filter((m) => m !== victim);
      const logFrom = survivors.map((m) => statSync(m.logFile).size);
      const t0 = Date.now();
      process.kill(victim.process!.pid!, signal);
      const { leader, atMs: agreedAt } = await cluster.waitAgreement(survivors, leaderId, `survivors of ${victim.name} to agree on a new leader`);
      const loggedAt = await lastLogLine(survivors, logFrom, BigInt(leader).toString(16));
      times.polled.push(agreedAt - t0);
      times.logged.push(loggedAt === null ? null : loggedAt - t0);
      progress(`  etcd ${signal} trial ${t + 1}/${opts.trials}: ${agreedAt - t0} ms (logged by the survivors at ${loggedAt === null ? 'n/a' : loggedAt - t0})`);
      if (signal === 'SIGSTOP') process.kill(victim.process!.pid!, 'SIGCONT');
      else await cluster.restart(victim);
    }
    return times;
  } finally {
    await cluster.stop();
  }
}

/** The latest of the members' log lines naming `leaderHex`, each read from its offset; null if one has none within LOG_LINE_WAIT_MS. */
async function lastLogLine(members: Member[], from: number[], leaderHex: string): Promise<number | null> {
  const deadline = Date.now() + LOG_LINE_WAIT_MS;
  for (;;) {
    const at = members.map((m, i) => leaderNamedAtMs(readFileSync(m.logFile).subarray(from[i]).toString('utf8'), leaderHex));
    if (at.every((x) => x !== null)) return Math.max(...(at as number[]));
    if (Date.now() > deadline) return null;
    await sleep(20);
  }
}

/**
 * An idle 5-member etcd at `opts`' timings: CPU (% of one core, from /proc) and RSS per member over
 * `windowMs`, after the cluster agreed on a leader and settled for `settleMs`.
 */
export async function etcdIdle(windowMs: number, opts: Omit<EtcdFailoverOptions, 'trials'>, settleMs = 3000): Promise<{ cpuPercent: number[]; rssMb: number[]; pssMb: number[] }> {
  const cluster = await EtcdCluster.start({ ...opts, trials: 0 });
  try {
    await new Promise((resolve) => setTimeout(resolve, settleMs));
    const pids = cluster.members.map((m) => m.process!.pid!);
    const before = pids.map(procCpuMs);
    await new Promise((resolve) => setTimeout(resolve, windowMs));
    const after = pids.map(procCpuMs);
    return {
      cpuPercent: pids.map((_, i) => ((after[i]! - before[i]!) / windowMs) * 100),
      rssMb: pids.map(procRssMb),
      pssMb: pids.map(procPssMb),
    };
  } finally {
    await cluster.stop();
  }
}

/**
 * A 5-member etcd at `opts`' timings for a bench's own workload: `use` gets the members' client
 * URLs (`http://127.0.0.1:PORT`, where etcd 3.4 also serves its JSON gateway and /metrics) and PIDs once
 * every member names one leader. The cluster is stopped and its data deleted however `use` ends.
 */
export async function withEtcdCluster<T>(opts: Omit<EtcdFailoverOptions, 'trials'>, use: (clientUrls: string[], pids: number[]) => Promise<T>): Promise<T> {
  const cluster = await EtcdCluster.start({ ...opts, trials: 0 });
  try {
    return await use(
      cluster.members.map((m) => `http://127.0.0.1:${m.clientPort}`),
      cluster.members.map((m) => m.process!.pid!),
    );
  } finally {
    await cluster.stop();
  }
}

/** utime + stime of a process so far, in ms (from clock ticks: 100 per second on Linux, so 10 ms steps). */
export function procCpuMs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

/**
 * Context switches of every thread of `pid` so far: voluntary (it slept: waiting for a socket, a
 * timer, a disk write; each a wake-up) and involuntary (preempted while it could still run: on a
 * machine with more runnable processes than cores, a wake-up of one often preempts another).
 * A thread that ends takes its counts with it: compare phases, not runs that start threads.
 */
export function procContextSwitches(pid: number): { voluntary: number; involuntary: number } {
  let voluntary = 0;
  let involuntary = 0;
  for (const task of readdirSync(`/proc/${pid}/task`)) {
    let status: string;
    try {
      status = readFileSync(`/proc/${pid}/task/${task}/status`, 'utf8');
    } catch {
      continue; // the thread ended between the listing and the read
    }
    voluntary += Number(/\nvoluntary_ctxt_switches:\s+(\d+)/.exec(status)?.[1] ?? 0);
    involuntary += Number(/nonvoluntary_ctxt_switches:\s+(\d+)/.exec(status)?.[1] ?? 0);
  }
  return { voluntary, involuntary };
}

export function procRssMb(pid: number): number {
  return Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) / 1024;
}

/**
 * Proportional set size: RSS with each page shared by k processes counted 1/k in each. Several
 * daemons on one host share the pages of one `node` binary (most of an idle daemon's RSS, README
 * "Footprint"); summed over them, PSS is the memory they take together.
 */
export function procPssMb(pid: number): number {
  return Number(/^Pss:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'))?.[1] ?? 0) / 1024;
}

interface Member {
  name: string;
  clientPort: number;
  peerPort: number;
  logFile: string;
  process: ChildProcess | null;
  /** From the member's own status; kept in its data dir, so the same after a restart. */
  id: string | null;
}

const liveClusters = new Set<EtcdCluster>();
process.on('exit', () => {
  for (const cluster of liveClusters) cluster.destroySync();
});

class EtcdCluster {
  // Keep-alive: a fresh TCP connection per 10 ms poll would dominate the members' CPU.
  private readonly agent = new Agent({ keepAlive: true, maxSockets: SIZE });

  private constructor(
    readonly members: Member[],
    private readonly workDir: string,
    private readonly opts: EtcdFailoverOptions,
  ) {}

  static async start(opts: EtcdFailoverOptions): Promise<EtcdCluster> {
    const workDir = mkdtempSync(join(tmpdir(), 'conclave-etcd-'));
    const ports = await freePorts(2 * SIZE);
    const members = Array.from({ length: SIZE }, (_, i): Member => ({
      name: `e${i + 1}`,
      clientPort: ports[i]!,
      peerPort: ports[SIZE + i]!,
      logFile: join(workDir, `e${i + 1}.log`),
      process: null,
      id: null,
    }));
    const cluster = new EtcdCluster(members, workDir, opts);
    liveClusters.add(cluster);
    try {
      for (const m of members) cluster.spawn(m);
      await cluster.waitAgreement(members, undefined, 'every member to answer and name one leader');
      return cluster;
    } catch (err) {
      await cluster.stop();
      throw err;
    }
  }

  private spawn(m: Member): void {
    const initialCluster = this.members.map((o) => `${o.name}=http://127.0.0.1:${o.peerPort}`).join(',');
    const args = [
      '--name', m.name,
      '--data-dir', join(this.workDir, m.name),
      '--listen-client-urls', `http://127.0.0.1:${m.clientPort}`,
      '--advertise-client-urls', `http://127.0.0.1:${m.clientPort}`,
      '--listen-peer-urls', `http://127.0.0.1:${m.peerPort}`,
      '--initial-advertise-peer-urls', `http://127.0.0.1:${m.peerPort}`,
      '--initial-cluster', initialCluster,
      // Ignored on a restart: the member then reads its membership from its data dir.
      '--initial-cluster-state', 'new',
      '--initial-cluster-token', `conclave-bench-${process.pid}`,
      '--heartbeat-interval', String(this.opts.heartbeatIntervalMs),
      '--election-timeout', String(this.opts.electionTimeoutMs),
      '--logger', 'zap',
    ];
    // The member writes its log straight to the file, so the log survives a busy bench process.
    const log = openSync(m.logFile, 'a');
    try {
      // ETCD_* variables would override or conflict with these flags.
      const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('ETCD_')));
      const bin = this.opts.bin ?? ETCD_BIN;
      m.process = spawn(bin, args, { stdio: ['ignore', log, log], env });
      // A failed spawn leaves exitCode set and no 'exit'; waitAgreement then reports this log.
      m.process.on('error', (err) => appendFileSync(m.logFile, `spawn ${bin}: ${err.message}\n`));
    } finally {
      closeSync(log);
    }
  }

  /** Restarts a killed member on its data dir and waits until it follows the cluster's leader. */
  async restart(m: Member): Promise<void> {
    await exited(m.process!);
    this.spawn(m);
    await this.waitAgreement(this.members, undefined, `${m.name} to rejoin after restart`);
  }

  /**
   * A leader every member has named for one whole election timeout: a member that just came back
   * may still start an election (pre-vote is off in etcd 3.4), and a trial must not race it.
   */
  async settledLeader(): Promise<string> {
    const deadline = Date.now() + WAIT_MS;
    for (;;) {
      const { leader } = await this.waitAgreement(this.members, undefined, 'a settled leader');
      await sleep(this.opts.electionTimeoutMs);
      if (agreedLeader(await Promise.all(this.members.map((m) => this.status(m)))) === leader) return leader;
      if (Date.now() > deadline) throw new Error(`etcd: no leader held for ${this.opts.electionTimeoutMs} ms within ${WAIT_MS} ms`);
    }
  }

  /** Polls `members` every POLL_MS until they agree; `atMs` is when that round's last answer came. */
  async waitAgreement(members: Member[], excluded: string | undefined, what: string): Promise<{ leader: string; atMs: number }> {
    const deadline = Date.now() + WAIT_MS;
    for (;;) {
      const statuses = await Promise.all(members.map((m) => this.status(m)));
      const leader = agreedLeader(statuses, excluded);
      if (leader !== null) return { leader, atMs: Date.now() };
      const dead = members.find((m) => !m.process || !isRunning(m.process));
      if (dead) throw new Error(`etcd member ${dead.name} exited while waiting for ${what}; ${logHint(dead)}`);
      if (Date.now() > deadline) {
        const silent = members.find((_, i) => statuses[i] === null) ?? members[0]!;
        const seen = members.map((m, i) => `${m.name}: ${statuses[i] ? `leader ${statuses[i]!.leader}` : 'no answer'}`).join(', ');
        throw new Error(`etcd: timed out after ${WAIT_MS} ms waiting for ${what} (${seen}); ${logHint(silent)}`);
      }
      await sleep(POLL_MS);
    }
  }

  /**
   * One member's view, from the grpc-gateway of etcd 3.4 on the client port:
   * `POST /v3/maintenance/status` with body `{}` (GET is 405). It answers from local raft state,
   * without a quorum, so a follower answers while it has no leader. uint64 ids come as decimal
   * strings; `leader` is "0" or absent while the member has none.
   */
  private status(m: Member): Promise<MemberStatus | null> {
    return new Promise((resolve) => {
      const req = request({ host: '127.0.0.1', port: m.clientPort, method: 'POST', path: '/v3/maintenance/status', agent: this.agent, timeout: REQUEST_TIMEOUT_MS, headers: { 'content-type': 'application/json' } }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (body += chunk));
        res.on('end', () => {
          try {
            const json = JSON.parse(body) as { header?: { member_id?: string }; leader?: string };
            if (res.statusCode !== 200 || !json.header?.member_id) return resolve(null);
            m.id = json.header.member_id;
            resolve({ memberId: m.id, leader: json.leader && json.leader !== '0' ? json.leader : null });
          } catch {
            resolve(null);
          }
        });
        // A body cut short by the timeout ends in 'close' without 'end'.
        res.on('close', () => resolve(null));
      });
      req.on('timeout', () => req.destroy());
      req.on('error', () => resolve(null));
      req.end('{}');
    });
  }

  private killAll(): void {
    for (const m of this.members) {
      if (m.process && isRunning(m.process)) {
        try {
          process.kill(m.process.pid!, 'SIGKILL');
        } catch {
          // already gone
        }
      }
    }
  }

  /** The data is thrown away, so SIGKILL (which also ends a stopped member); wait, then delete. */
  async stop(): Promise<void> {
    this.killAll();
    await Promise.all(this.members.map((m) => (m.process ? exited(m.process) : undefined)));
    this.destroySync();
  }

  /** Also the last resort from the process exit hook, which cannot wait for exits. */
  destroySync(): void {
    this.killAll();
    this.agent.destroy();
    if (!process.env.CONCLAVE_KEEP_TEST_LOGS) rmSync(this.workDir, { recursive: true, force: true });
    liveClusters.delete(this);
  }
}

function isRunning(p: ChildProcess): boolean {
  return p.exitCode === null && p.signalCode === null;
}

function exited(p: ChildProcess): Promise<void> {
  if (!isRunning(p)) return Promise.resolve();
  return new Promise((resolve) => {
    p.once('exit', () => resolve());
    p.once('error', () => resolve());
  });
}

/** The temp dir goes on error too, so the message carries the tail of the log. */
function logHint(m: Member, lines = 15): string {
  let text: string;
  try {
    text = readFileSync(m.logFile, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    text = '(no log)';
  }
  return `log ${m.logFile} (kept with CONCLAVE_KEEP_TEST_LOGS=1), last lines:\n${text}`;
}

/** `count` ports from FIRST_PORT up that 127.0.0.1 can bind now, so a busy port fails here, not in etcd. */
async function freePorts(count: number): Promise<number[]> {
  const ports: number[] = [];
  for (let port = FIRST_PORT; ports.length < count; port++) {
    if (port > FIRST_PORT + 1000) throw new Error(`etcd: fewer than ${count} free ports on 127.0.0.1 from ${FIRST_PORT}`);
    if (await canBind(port)) ports.push(port);
  }
  return ports;
}

function canBind(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}
