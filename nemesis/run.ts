/**
 * One chaos run on real daemons: a namespace LAN of `scripts/cluster.sh`, the seeded nemesis of
 * schedule.ts acting through cluster.sh's verbs, and a recorder writing what every node answers
 * (all of them asked at once every `sampleIntervalMs`) and streams, to history.jsonl. Beside each
 * daemon runs `conclave run` with job.ts as its command, which notes when it starts and stops; in
 * Raft runs, key-value clients (kv-workload.ts) and named-election clients (election-workload.ts)
 * record their operations too. At
 * the end check.ts judges the history. The cluster is taken down whatever happens: at the end, on an
 * error, and on SIGINT/SIGTERM/SIGHUP.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { cpSync, createWriteStream, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { createApiClient, type ApiClient } from '../daemon/api/client.js';
import { isAlive } from '../daemon/lock.js';
import { checkHistory, formatReport, type ChaosReport, type CheckOptions } from './check.js';
import { parseHistory, type EventRecord, type HistoryRecord, type JobRecord, type SampleRecord } from './history.js';
import { renderReportHtml } from './report-html.js';
import type { ProtocolName } from '../protocols/types.js';
import { startElectionWorkload } from './election-workload.js';
import { describeHostileOutcome, hostileFailure, runHostileFault, type HostileOutcome } from './hostile-fault.js';
import { startKvWorkload } from './kv-workload.js';
import { formatSides, planFaults, type Fault, type FaultKind } from './schedule.js';

const ROOT = new URL('../../', import.meta.url).pathname;
const CLUSTER_SH = join(ROOT, 'scripts/cluster.sh');
const CONCLAVE = join(ROOT, 'bin/conclave');
const JOB = join(ROOT, 'dist/nemesis/job.js');
/** `conclave run --grace-ms`: job.ts stops at once, so this is only a backstop. */
const JOB_GRACE_MS = 2_000;

export interface ChaosRunOptions {
  nodes: number;
  protocol: string;
  /** A daemon config file for every node (`cluster.sh up --config`), or null. */
  config: string | null;
  durationMs: number;
  seed: number;
  kinds: readonly FaultKind[];
  /** Where history.jsonl, report.json and summary.txt go. */
  outDir: string;
  sampleIntervalMs: number;
  check: CheckOptions;
  /** Progress lines (stderr). */
  progress(line: string): void;
}

/** The run was stopped by a signal; the cluster is down by the time this is thrown. */
export class ChaosInterruptedError extends Error {
  override readonly name = 'ChaosInterruptedError';
}

export async function runChaos(opts: ChaosRunOptions): Promise<ChaosReport> {
  mkdirSync(opts.outDir, { recursive: true });
  const cluster = `chaos${process.pid}`;
  const faults = planFaults({ seed: opts.seed, nodes: opts.nodes, durationMs: opts.durationMs, kinds: opts.kinds });
  const stop = new AbortController();
  const onSignal = (signal: NodeJS.Signals) => {
    opts.progress(`${signal}: stopping the run and taking cluster '${cluster}' down`);
    stop.abort(new ChaosInterruptedError(`stopped by ${signal}`));
  };
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, onSignal);
  await takeDownOrphans(opts.progress);
  const history = createWriteStream(join(opts.outDir, 'history.jsonl'));
  const jobsFile = join(opts.outDir, 'jobs.jsonl');
  const runners: ChildProcess[] = [];
  let recorder: Recorder | null = null;
  let workloads: { stop: () => Promise<void> } | null = null;
  /** Wall-clock ms at t = 0, to place the jobs' own timestamps on the history's clock. */
  let wallAtZero = Number.NaN;
  try {
    opts.progress(`starting ${opts.nodes} ${opts.protocol} daemons as cluster '${cluster}' (scripts/cluster.sh up)…`);
    await clusterSh(['up', String(opts.nodes), '--protocol', opts.protocol, ...(opts.config ? ['--config', opts.config] : [])], cluster, stop.signal);
    const sockets: string[] = [];
    for (let i = 1; i <= opts.nodes; i++) sockets.push((await clusterSh(['sock', String(i)], cluster, stop.signal)).trim());
    const clients = sockets.map((socket) => createApiClient({ address: `unix:${socket}`, timeoutMs: Math.max(250, opts.sampleIntervalMs * 4) }));
    // The clients' and the hostile fault's requests wait longer than the sampler's: a slow answer is still an answer.
    const patientClients = sockets.map((socket) => createApiClient({ address: `unix:${socket}`, timeoutMs: 3_000 }));
    opts.progress('waiting for the nodes to agree on a leader…');
    await agreed(clients, stop.signal, 60_000);
    for (const socket of sockets) {
      runners.push(spawn(CONCLAVE, ['run', '--api', `unix:${socket}`, '--grace-ms', String(JOB_GRACE_MS), '--restart', 'always', '--quiet', '--', process.execPath, JOB, jobsFile], { stdio: 'ignore' }));
    }
    const t0 = performance.now();
    wallAtZero = Date.now();
    const now = () => performance.now() - t0;
    const write = (record: HistoryRecord) => history.write(`${JSON.stringify(record)}\n`);
    write({ type: 'meta', t: 0, seed: opts.seed, nodes: opts.nodes, protocol: opts.protocol, durationMs: opts.durationMs, sampleIntervalMs: opts.sampleIntervalMs, startedAt: new Date().toISOString(), faults });
    recorder = new Recorder(clients, opts.sampleIntervalMs, now, write);
    if (opts.protocol === 'raft') workloads = startRaftWorkloads(patientClients, now, write);
    opts.progress(`seed ${opts.seed}: ${faults.length} faults over ${Math.round(opts.durationMs / 1000)} s; history in ${join(opts.outDir, 'history.jsonl')}`);
    for (const fault of faults) {
      await sleepUntil(t0 + fault.atMs, stop.signal);
      opts.progress(`[${formatElapsed(now())}] ${describeFault(fault)}`);
      write({ type: 'fault-start', t: now(), fault });
      const outcome = await applyFault(fault, { cluster, protocol: opts.protocol as ProtocolName, clients: patientClients, signal: stop.signal });
      if (outcome) opts.progress(`[${formatElapsed(now())}] hostile: ${describeHostileOutcome(outcome)}`);
      write({ type: 'fault-end', t: now(), fault, ...(outcome ? { outcome } : {}) });
    }
    await sleepUntil(t0 + opts.durationMs, stop.signal);
    await workloads?.stop();
    workloads = null;
    await recorder.stop();
    write({ type: 'end', t: now() });
    recorder = null;
  } finally {
    await workloads?.stop();
    await recorder?.stop();
    await stopRunners(runners);
    for (const record of jobRecords(jobsFile, wallAtZero)) history.write(`${JSON.stringify(record)}\n`);
    await new Promise<void>((resolve) => history.end(resolve));
    for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.off(signal, onSignal);
    opts.progress(`taking cluster '${cluster}' down…`);
    await clusterSh(['down'], cluster, null).then(
      // The daemons' logs go with the run, beside the history they explain.
      () => moveDir(join(ROOT, '.cluster/.logs', cluster), join(opts.outDir, 'logs')),
      (err: unknown) => opts.progress(`cluster.sh down failed: ${err instanceof Error ? err.message : String(err)}; run \`scripts/cluster.sh down --name ${cluster}\``),
    ).catch((err: unknown) => opts.progress(`the daemons' logs stay in .cluster/.logs/${cluster}: ${err instanceof Error ? err.message : String(err)}`));
  }
  if (stop.signal.aborted) throw stop.signal.reason;
  return judge(opts.outDir, opts.check);
}

/** Checks the history in `outDir` and writes report.json, summary.txt and report.html beside it. */
export function judge(outDir: string, check: CheckOptions): ChaosReport {
  const records = parseHistory(readFileSync(join(outDir, 'history.jsonl'), 'utf8'));
  const report = checkHistory(records, check);
  writeFileSync(join(outDir, 'report.json'), `${JSON.stringify(report, null, 2)}\n`);
  writeFileSync(join(outDir, 'summary.txt'), `${formatReport(report)}\n`);
  writeFileSync(join(outDir, 'report.html'), renderReportHtml(records, report));
  return report;
}

/**
 * A run that was killed outright (SIGKILL, a crash of the machine) could not take its cluster
 * down: its cluster is named after its PID, so one whose process is gone is taken down now.
 */
async function takeDownOrphans(progress: (line: string) => void): Promise<void> {
  const dir = join(ROOT, '.cluster');
  if (!existsSync(dir)) return;
  for (const name of readdirSync(dir)) {
    const pid = /^chaos(\d+)$/.exec(name)?.[1];
    if (pid === undefined || isAlive(Number(pid))) continue;
    progress(`taking down cluster '${name}', left by a chaos run (PID ${pid}) that is gone`);
    await clusterSh(['down'], name, null).catch((err: unknown) => progress(`could not: ${err instanceof Error ? err.message : String(err)}`));
  }
}

/** rename, or copy and delete when the two are on different file systems. */
function moveDir(from: string, to: string): void {
  try {
    renameSync(from, to);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EXDEV') throw err;
    cpSync(from, to, { recursive: true });
    rmSync(from, { recursive: true, force: true });
  }
}

/** SIGTERM to each `conclave run` (it stops its child first), by PID; waits for all to exit. */
async function stopRunners(runners: readonly ChildProcess[]): Promise<void> {
  await Promise.all(
    runners.map(
      (runner) =>
        new Promise<void>((resolve) => {
          if (runner.exitCode !== null || runner.signalCode !== null) return resolve();
          const killer = setTimeout(() => runner.kill('SIGKILL'), JOB_GRACE_MS + 3_000);
          runner.once('exit', () => {
            clearTimeout(killer);
            resolve();
          });
          runner.kill('SIGTERM');
        }),
    ),
  );
}

/** The jobs' start and stop lines, on the history's clock. */
function jobRecords(file: string, wallAtZero: number): JobRecord[] {
  if (!existsSync(file) || Number.isNaN(wallAtZero)) return [];
  const records: JobRecord[] = [];
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    if (line.trim() === '') continue;
    const j = JSON.parse(line) as { event: 'start' | 'stop'; node: string | null; token: number; pid: number; wallMs: number };
    records.push({ type: 'job', t: j.wallMs - wallAtZero, node: j.node ?? '?', event: j.event, token: j.token, pid: j.pid });
  }
  return records;
}

/** A key-value worker's keys live this long, then it moves to fresh ones: each key's history stays short for the checker. */
const KV_KEY_GENERATION_MS = 20_000;
const KV_KEYS_PER_GENERATION = 4;
/** A key-value worker's pause between operations: about 20 a second per node at most. */
const KV_PAUSE_MS = 50;

/** One key-value worker and one named-election campaigner and observer per node (Raft runs). */
function startRaftWorkloads(clients: readonly ApiClient[], now: () => number, write: (record: HistoryRecord) => void): { stop: () => Promise<void> } {
  const kv = startKvWorkload({
    workers: clients.map((client, i) => ({ name: `n${i + 1}`, client })),
    keyFor: (w, n) => `chaos/kv/g${Math.floor(now() / KV_KEY_GENERATION_MS)}/k${(w + n) % KV_KEYS_PER_GENERATION}`,
    pauseMs: KV_PAUSE_MS,
    now,
    onOperation: (op) => write({ type: 'kv', t: op.callMs, id: Number(op.id), client: String(op.client), returnT: op.returnMs, input: op.input, ...(op.output ? { output: op.output } : {}) }),
  });
  const elections = startElectionWorkload({ clients, now, onRecord: write });
  return { stop: async () => void (await Promise.all([kv.stop(), elections.stop()])) };
}

/** Every node asked at once each interval; each node's event stream, reconnected when it drops. */
class Recorder {
  private round = 0;
  private stopped = false;
  private readonly loops: Promise<void>[];
  private readonly streams: AbortController[] = [];

  constructor(
    private readonly clients: readonly ApiClient[],
    private readonly intervalMs: number,
    private readonly now: () => number,
    private readonly write: (record: HistoryRecord) => void,
  ) {
    this.loops = [this.sample(), ...clients.map((client, i) => this.stream(client, `n${i + 1}`))];
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    for (const s of this.streams) s.abort();
    await Promise.all(this.loops);
  }

  private async sample(): Promise<void> {
    const names = new Map<string, string>();
    while (!this.stopped) {
      const startedMs = performance.now();
      const round = ++this.round;
      const t = this.now();
      await Promise.all(
        this.clients.map(async (client, i) => {
          try {
            const s = await client.status();
            names.set(s.id, `n${i + 1}`);
            const leader = s.leader === null ? null : (names.get(s.leader.id) ?? s.leader.name);
            const record: SampleRecord = { type: 'sample', t, round, node: `n${i + 1}`, role: s.role, term: s.term, leader, fencingToken: s.fencingToken, leaseRemainingMs: s.leaseRemainingMs ?? null };
            if (!this.stopped) this.write(record);
          } catch {
            // Killed, paused or cut off: missing from this round.
          }
        }),
      );
      await sleep(Math.max(0, this.intervalMs - (performance.now() - startedMs)));
    }
  }

  private async stream(client: ApiClient, node: string): Promise<void> {
    while (!this.stopped) {
      const controller = new AbortController();
      this.streams.push(controller);
      try {
        await client.events(
          (event) => {
            if (this.stopped) return;
            let record: EventRecord | null = null;
            if (event.type === 'member-dead' || event.type === 'member-suspect') record = { type: 'event', t: this.now(), node, event: event.type, member: event.name };
            if (event.type === 'leader-changed') record = { type: 'event', t: this.now(), node, event: event.type, member: event.to?.name ?? null, term: event.term, fencingToken: event.fencingToken };
            if (record) this.write(record);
          },
          { signal: controller.signal, types: ['member-dead', 'member-suspect', 'leader-changed'] },
        );
      } catch {
        // The node is down or paused: try again shortly.
      }
      this.streams.splice(this.streams.indexOf(controller), 1);
      if (!this.stopped) await sleep(200);
    }
  }
}

interface FaultContext {
  cluster: string;
  protocol: ProtocolName;
  clients: readonly ApiClient[];
  signal: AbortSignal;
}

/** Does what `fault` says and undoes it after its duration; a hostile fault returns what it got through. */
async function applyFault(fault: Fault, { cluster, protocol, clients, signal }: FaultContext): Promise<HostileOutcome | null> {
  const node = String(fault.nodes[0]);
  const hold = () => sleep(fault.durationMs, signal);
  switch (fault.kind) {
    case 'kill':
      await clusterSh(['kill', node], cluster, signal);
      await hold();
      await clusterSh(['restart', node], cluster, signal);
      return null;
    case 'pause':
    case 'stall':
      await clusterSh(['stop', node], cluster, signal);
      await hold();
      await clusterSh(['cont', node], cluster, signal);
      return null;
    case 'restart':
      await clusterSh(['restart', node], cluster, signal);
      return null;
    case 'partition':
    case 'bridge':
      // A node in no group (the bridge) reaches every node.
      await clusterSh(['partition', ...fault.groups!.map((g) => g.join(','))], cluster, signal);
      await hold();
      await clusterSh(['heal'], cluster, signal);
      return null;
    case 'one-way':
      await clusterSh(['oneway', node, fault.groups![1]!.join(',')], cluster, signal);
      await hold();
      await clusterSh(['heal'], cluster, signal);
      return null;
    case 'loss':
      await clusterSh(['loss', node, String(fault.percent)], cluster, signal);
      await hold();
      await clusterSh(['loss', node, '0'], cluster, signal);
      return null;
    case 'hostile': {
      // The peers run beside the node, in its namespace (when the LAN has namespaces).
      const namespace = `cc-${cluster}-n${node}`;
      // An attack that could not start (the kit's process failed, a daemon did not answer) is
      // recorded as such and the run goes on: the rest of the schedule still tells something.
      return await runHostileFault({ fault, cluster, protocol, clients, namespace: existsSync(`/run/netns/${namespace}`) ? namespace : null, signal }).catch((err: unknown) => {
        if (signal.aborted) throw err;
        return hostileFailure(err);
      });
    }
  }
}

export function describeFault(fault: Fault): string {
  const s = (fault.durationMs / 1000).toFixed(1);
  const n = `n${fault.nodes[0]}`;
  switch (fault.kind) {
    case 'kill':
      return `kill -9 ${n}, restart after ${s} s`;
    case 'pause':
      return `SIGSTOP ${n} for ${s} s`;
    case 'stall':
      return `stall ${n} (SIGSTOP) for ${fault.durationMs} ms`;
    case 'restart':
      return `restart ${n} (SIGTERM, start)`;
    case 'partition':
      return `partition ${formatSides(fault.groups!)} for ${s} s`;
    case 'bridge':
      return `bridge ${n} between ${formatSides(fault.groups!)} for ${s} s`;
    case 'one-way':
      return `one-way cut: what ${n} sends to ${fault.groups![1]!.map((i) => `n${i}`).join(',')} is dropped for ${s} s`;
    case 'loss':
      return `${fault.percent} % packet loss at ${n} for ${s} s`;
    case 'hostile':
      return `hostile peers beside ${n} for ${s} s: flooding n${fault.flooded}, accusing n${fault.accused}`;
  }
}

/** Until every node answers and all name one leader that says it leads. */
async function agreed(clients: readonly ApiClient[], signal: AbortSignal, timeoutMs: number): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (performance.now() < deadline) {
    const answers = await Promise.all(clients.map((c) => c.status().catch(() => null)));
    const leaders = new Set(answers.map((a) => a?.leader?.id ?? null));
    if (answers.every((a) => a !== null) && leaders.size === 1 && !leaders.has(null) && answers.some((a) => a!.role === 'leader')) return;
    await sleep(200, signal);
  }
  throw new Error(`the cluster did not agree on a leader within ${timeoutMs / 1000} s of starting; see its logs in .cluster/.logs/`);
}

/** Runs cluster.sh for `cluster`; resolves with its stdout, rejects with its output on failure. */
function clusterSh(args: string[], cluster: string, signal: AbortSignal | null): Promise<string> {
  if (signal?.aborted) return Promise.reject(signal.reason);
  return new Promise((resolve, reject) => {
    const child = spawn('bash', [CLUSTER_SH, ...args, '--name', cluster], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, CONCLAVE_CLUSTER_NAME: undefined } });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    // A stopped run stops the command too (`up` then takes down what it started).
    const onAbort = () => child.kill('SIGTERM');
    signal?.addEventListener('abort', onAbort, { once: true });
    child.on('error', reject);
    child.on('close', (code) => {
      signal?.removeEventListener('abort', onAbort);
      if (code === 0) resolve(out);
      else reject(signal?.aborted ? signal.reason : new Error(`scripts/cluster.sh ${args.join(' ')} failed (exit ${code}): ${(err || out).trim()}`));
    });
  });
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal!.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

function sleepUntil(atMs: number, signal: AbortSignal): Promise<void> {
  return sleep(Math.max(0, atMs - performance.now()), signal);
}

function formatElapsed(ms: number): string {
  const s = Math.floor(ms / 1000);
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
}
