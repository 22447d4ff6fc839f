/**
 * Key-value figures (issue 12): put and linearizable get latency (p50, p99) and throughput with
 * 1 and 16 concurrent clients over the HTTP API of 5 Raft daemons, with the fsyncs of every
 * daemon's write-ahead log counted per operation; and, where etcd 3.4 is installed, the same
 * workload on a 5-member etcd in the same run, driven through its JSON gateway by the same
 * driver, with the ratios conclave / etcd and the targets. Both clusters then run side by side
 * and take turns phase by phase, so the ratios compare the two under the same load of this
 * shared machine; and every phase prints the CPU time per operation of the members together
 * and of the clients, which on a machine that runs out of CPU says more than throughput does,
 * and the members' wake-ups and preemptions per operation (context switches, /proc): each
 * message a member receives wakes it, and with more runnable processes than cores a wake-up
 * often preempts another member mid-turn.
 *
 * Every request goes on a fresh connection for both systems, since that is the only way
 * Conclave's API client talks (HTTP/1.0, one request per connection): Conclave on each node's
 * unix socket, etcd with node:http and `agent: false` over loopback TCP. Latency is measured
 * here, request to reply, with performance.now(); throughput is a phase's operations over its
 * wall time. Clients are spread over all members: request i of client c goes to member
 * (c + i) mod 5, so a Conclave follower forwards the put and asks the leader for a read index,
 * as an etcd follower does. A second Conclave row sends everything to the leader. Then, with
 * etcd, both systems run the workload again with a keep-alive agent for every client (node:http,
 * on the same socket and gateway), as an application with a connection pool would, and the ratios
 * are printed again: the targets are judged on fresh connections, the way Conclave's client talks,
 * and the second table says how much of the comparison that choice makes (etcd's gateway pays
 * more for a new connection than Conclave's API does).
 */
import { Agent, request, type RequestOptions } from 'node:http';
import { performance } from 'node:perf_hooks';
import { tmpdir } from 'node:os';
import { createApiClient } from '../daemon/api/client.js';
import { LocalCluster, canUseNamespaces } from '../test/support/local-cluster.js';
import { etcdAvailable, procContextSwitches, procCpuMs, withEtcdCluster } from './etcd.js';
import { parseNumberOptions, percentile, sum } from './stats.js';

const SIZE = 5;
const CONCURRENCY = [1, 16] as const;
const VALUE_BYTES = 100;
/** Keys per client: `bench/<client>/<i % KEYS_PER_CLIENT>`. */
const KEYS_PER_CLIENT = 100;
/** etcd's defaults, which Conclave's lan preset matches (heartbeat 100 ms, election timeout 1 s). */
const ETCD_TIMINGS = { heartbeatIntervalMs: 100, electionTimeoutMs: 1000 };
/** Conclave's client answers a put within 5 s + 20 s (daemon bound, then its answer); etcd gets the same. */
const REQUEST_TIMEOUT_MS = 25_000;
const TARGETS = { throughput16Min: 1.0, putP50Max: 1.5 };

/** One member as a client sees it: a put, and a linearizable get (null when the key is absent). */
interface KvEndpoint {
  name: string;
  put(key: string, value: string): Promise<void>;
  get(key: string): Promise<string | null>;
}

/** What the driver needs of a system: where to send, and its write-ahead log's fsyncs so far (summed over members). */
interface KvSystem {
  label: string;
  endpoints: readonly KvEndpoint[];
  fsyncs(): Promise<number>;
  /** The members' process ids, for their CPU time (/proc). */
  pids(): number[];
}

interface PhaseResult {
  ops: number;
  latencyMs: number[];
  wallMs: number;
  fsyncs: number;
  /**
   * CPU time per operation, in ms: all members together (utime + stime from /proc, 10 ms ticks)
   * and this bench process, the clients (process.cpuUsage). On a 2-core machine both systems run
   * out of CPU under 16 clients, so this, less noisy than throughput, says which one does more work.
   */
  cpuMsPerOp: { members: number; client: number };
  /** The members' wake-ups (voluntary context switches) and preemptions (involuntary ones) per operation. */
  switchesPerOp: { wakeUps: number; preemptions: number };
  /** The first failed request, which stops the phase; null when every request succeeded. */
  error: string | null;
  /** Operations a second of each round, when the phase ran in rounds (see alternated); throughput is their median. */
  rounds?: number[];
}

interface RunResult {
  clients: number;
  put: PhaseResult;
  get: PhaseResult;
}

export async function run(args: string[]): Promise<void> {
  // --etcd 0 skips etcd; --warmup 0 skips the warm-up (N puts, see warmUp); --rounds N runs every
  // phase N times, the systems alternating (see alternated). 1500 ops a phase keeps a run near 3 min.
  // --keep-alive 0 skips the second comparison with etcd, on kept connections (see the module comment).
  const opts = parseNumberOptions(args, { ops: 1500, warmup: 10_000, etcd: 1, rounds: 3, keepAlive: 1 });
  console.log(
    `kv bench: ${SIZE} raft daemons, preset lan, ${canUseNamespaces() ? 'real mDNS in a private network namespace' : 'loopback, static bootstrap'}, data dirs under ${tmpdir()}; ` +
      `per phase ${opts.rounds} round${opts.rounds === 1 ? '' : 's'} of ${opts.ops} puts of ${VALUE_BYTES}-byte values to keys bench/<client>/<i % ${KEYS_PER_CLIENT}> shared among the clients, then ${opts.ops} linearizable gets of them`,
  );
  console.log(
    `  every request on a fresh connection (conclave: its API client, HTTP/1.0 on each node's unix socket; etcd: node:http with agent: false to its JSON gateway on loopback TCP), then again with a keep-alive agent for both; ` +
      `latency measured in the bench process (p50 and p99 over all rounds); throughput = operations / wall time of a round, the median of the rounds; fsyncs summed over the ${SIZE} members' write-ahead logs; ` +
      `clients spread: request i of client c goes to member (c + i) mod ${SIZE}`,
  );
  const etcd = opts.etcd ? etcdAvailable() : null;
  const cluster = await LocalCluster.start({ size: SIZE, preset: 'lan', protocol: 'raft' });
  // The same workload with a keep-alive agent for both systems: what an application with a connection pool sees.
  const conclaveAgent = new Agent({ keepAlive: true, maxSockets: 64 });
  const etcdAgent = new Agent({ keepAlive: true, maxSockets: 64 });
  try {
    const leaderName = () => cluster.agreedLeader(cluster.nodes.map((n) => n.index), 30_000);
    const endpoints = cluster.nodes.map((n): KvEndpoint => conclaveEndpoint(n.name, n.socket));
    const fsyncs = async () => sum(await Promise.all(cluster.nodes.map(async (n) => metric(await cluster.metricsText(n.index), 'conclave_wal_fsyncs_total'))));
    const pids = () => cluster.nodes.map((n) => n.process?.pid).filter((pid): pid is number => pid !== undefined);
    const all: KvSystem = { label: 'conclave spread', endpoints, fsyncs, pids };
    await leaderName();
    const warmUps = [await warmUp(all, opts.warmup)];
    // With etcd, both clusters run side by side and take turns phase by phase (interleaved), so a
    // change in the machine's load between the two systems' runs does not make the ratios.
    let spread: RunResult[];
    let etcdRuns: RunResult[] | null = null;
    const pooledConclave: KvSystem = { ...all, label: 'conclave keep-alive', endpoints: cluster.nodes.map((n) => pooledConclaveEndpoint(n.name, n.socket, conclaveAgent)) };
    let keepAliveRuns: [RunResult[], RunResult[]] | null = null;
    if (etcd?.ok) {
      [spread, etcdRuns] = await withEtcdCluster(ETCD_TIMINGS, async (clientUrls, etcdPids) => {
        const system: KvSystem = {
          label: 'etcd',
          endpoints: clientUrls.map((url, i) => etcdEndpoint(`e${i + 1}`, url)),
          fsyncs: async () => sum(await Promise.all(clientUrls.map(async (url) => metric(await etcdMetrics(url), 'etcd_disk_wal_fsync_duration_seconds_count')))),
          pids: () => etcdPids,
        };
        warmUps.push(await warmUp(system, opts.warmup));
        const [ours, theirs] = await alternated([all, system], opts.ops, opts.rounds);
        if (opts.keepAlive) {
          const pooled = await alternated([pooledConclave, { ...system, label: 'etcd keep-alive', endpoints: clientUrls.map((url, i) => etcdEndpoint(`e${i + 1}`, url, etcdAgent)) }], opts.ops, opts.rounds);
          keepAliveRuns = [pooled[0]!, pooled[1]!];
        }
        return [ours!, theirs!];
      });
    } else {
      spread = await workload(all, opts.ops, opts.rounds);
    }
    console.log(`warm-up (unmeasured; the phases below start after it):\n${warmUps.map((w) => `  ${w}`).join('\n')}`);
    printRuns(`conclave, clients spread over all ${SIZE} nodes (a follower forwards a put to the leader and asks it for a read index):`, spread);
    const leader = await leaderName();
    const onLeader = await workload({ label: `conclave on leader ${leader}`, endpoints: endpoints.filter((e) => e.name === leader), fsyncs, pids }, opts.ops, opts.rounds);
    const leaderAtEnd = await leaderName();
    printRuns(`conclave, all clients on the leader's socket (${leader}${leaderAtEnd === leader ? ', still the leader at the end' : `; ${leaderAtEnd} led at the end`}):`, onLeader);
    if (!etcd) console.log('etcd comparison: skipped (--etcd 0)');
    else if (!etcd.ok) console.log(`etcd comparison: skipped, etcd is not available (${etcd.reason}); conclave's figures alone above`);
    else if (etcdRuns) {
      printRuns(
        `etcd ${etcd.version}, ${SIZE} members on 127.0.0.1 (heartbeat ${ETCD_TIMINGS.heartbeatIntervalMs} ms, election timeout ${ETCD_TIMINGS.electionTimeoutMs} ms, its defaults), clients spread over all ${SIZE} members, ` +
          'its phases interleaved with conclave\'s spread ones:',
        etcdRuns,
      );
      printComparison(spread, etcdRuns);
      if (keepAliveRuns) {
        printRuns('conclave, clients spread, every client keeping its connections open (node:http keep-alive agent), interleaved with etcd the same way:', keepAliveRuns[0]);
        printRuns('etcd, the same:', keepAliveRuns[1]);
        printComparison(keepAliveRuns[0], keepAliveRuns[1], false);
      } else {
        console.log('keep-alive comparison: skipped (--keep-alive 0)');
      }
    }
  } finally {
    conclaveAgent.destroy();
    etcdAgent.destroy();
    await cluster.stop();
  }
}

/** Warm-up rounds: this many puts, then half as many gets, with 16 clients. */
const WARMUP_ROUND_OPS = 2000;

/**
 * Unmeasured rounds of puts then gets with 16 clients, `ops` puts in all: connections, the first
 * appends and the JIT out of the way. V8 compiles a daemon's hot paths as they get hot, and they
 * get hot slowly: with `--trace-opt`, each member still compiled 400–440 functions (397 of them
 * with Maglev) during 3,000 16-client puts that followed 600 unmeasured ones, and 59–128 after
 * 6,000; 16-client puts ran at 470 ops/s over the first 500, 700–800 up to 2,500, and
 * 1,250–1,370 after 10,000 (one cluster, 2026-12-05). A daemon lives for days, so the measured
 * phases start from there; the ramp, each round's put throughput, is printed for both systems.
 */
async function warmUp(system: KvSystem, ops: number): Promise<string> {
  const ramp: number[] = [];
  for (let done = 0; done < ops; done += WARMUP_ROUND_OPS) {
    const n = Math.min(WARMUP_ROUND_OPS, ops - done);
    const put = await phase(system, 16, n, (e, key, i) => e.put(key, value(key, i)));
    const get = await phase(system, 16, Math.ceil(n / 2), (e, key) => e.get(key).then(() => undefined));
    const error = put.error ?? get.error;
    ramp.push(Math.round(throughput(put)));
    process.stderr.write(`  ${system.label}: warm-up, ${done + n} of ${ops} puts, ${ramp.at(-1)} puts/s with 16 clients in this round${error ? `: ${error}` : ''}\n`);
  }
  return ramp.length === 0 ? `${system.label}: no warm-up` : `${system.label}: ${ops} puts in rounds of ${WARMUP_ROUND_OPS}, 16 clients, puts/s round by round: ${ramp.join(' → ')}`;
}

/** For each concurrency: the puts, then linearizable gets of the keys just written, each in `rounds` rounds. */
async function workload(system: KvSystem, ops: number, rounds: number): Promise<RunResult[]> {
  return (await alternated([system], ops, rounds))[0]!;
}

/**
 * Every phase (concurrency, then puts before gets) in `rounds` rounds; in each round every system
 * runs the phase once, right after the other, the first to go alternating (A B, B A, ...): drift
 * in the machine's load falls on both alike, and the median of the rounds' throughputs is not
 * made by one round that a neighbour's burst slowed (on this shared 2-core machine one 1,500-op
 * phase of 16 clients takes about a second, and two in a row differ by 10 %). Each system's gets
 * still follow its own puts.
 */
async function alternated(systems: readonly KvSystem[], ops: number, rounds: number): Promise<RunResult[][]> {
  const results: RunResult[][] = systems.map(() => []);
  let turn = 0;
  for (const clients of CONCURRENCY) {
    const phases: Record<'put' | 'get', PhaseResult[][]> = { put: systems.map(() => []), get: systems.map(() => []) };
    for (const kind of ['put', 'get'] as const) {
      for (let round = 0; round < Math.max(1, rounds); round++) {
        const order = systems.map((_, i) => i);
        if (turn++ % 2 === 1) order.reverse();
        for (const s of order) phases[kind][s]!.push(await kindPhase(systems[s]!, clients, kind, ops));
      }
    }
    systems.forEach((_, s) => results[s]!.push({ clients, put: combine(phases.put[s]!), get: combine(phases.get[s]!) }));
  }
  return results;
}

/** One result for the rounds of a phase: latencies, counts and wall time together, per-op figures weighted by ops. */
function combine(parts: readonly PhaseResult[]): PhaseResult {
  if (parts.length === 1) return parts[0]!;
  const ops = sum(parts.map((p) => p.ops));
  const perOp = (f: (p: PhaseResult) => number) => (ops > 0 ? sum(parts.map((p) => f(p) * p.ops)) / ops : Number.NaN);
  return {
    ops,
    latencyMs: parts.flatMap((p) => p.latencyMs),
    wallMs: sum(parts.map((p) => p.wallMs)),
    fsyncs: sum(parts.map((p) => p.fsyncs)),
    cpuMsPerOp: { members: perOp((p) => p.cpuMsPerOp.members), client: perOp((p) => p.cpuMsPerOp.client) },
    switchesPerOp: { wakeUps: perOp((p) => p.switchesPerOp.wakeUps), preemptions: perOp((p) => p.switchesPerOp.preemptions) },
    error: parts.find((p) => p.error !== null)?.error ?? null,
    rounds: parts.map(throughput),
  };
}

/** `ops` puts, or linearizable gets of the keys the puts wrote, by `clients` clients. */
async function kindPhase(system: KvSystem, clients: number, kind: 'put' | 'get', ops: number): Promise<PhaseResult> {
  const r =
    kind === 'put'
      ? await phase(system, clients, ops, (e, key, i) => e.put(key, value(key, i)))
      : await phase(system, clients, ops, async (e, key) => {
          if ((await e.get(key)) === null) throw new Error(`get ${key} at ${e.name}: absent, though it was just put`);
        });
  progress(system, clients, kind, r);
  return r;
}

/**
 * `ops` requests shared among `clients` concurrent loops, each awaiting its reply before the
 * next request; client c's i-th request goes to endpoint (c + i) mod n with key
 * bench/<c>/<i % KEYS_PER_CLIENT>. The first failure stops every loop.
 */
async function phase(system: KvSystem, clients: number, ops: number, op: (endpoint: KvEndpoint, key: string, i: number) => Promise<void>): Promise<PhaseResult> {
  const latencyMs: number[] = [];
  let error: string | null = null;
  const fsyncsBefore = await system.fsyncs();
  const pids = system.pids();
  const membersBefore = sum(pids.map(procCpuMs));
  const switchesBefore = pids.map(procContextSwitches);
  const clientBefore = process.cpuUsage();
  const start = performance.now();
  await Promise.all(
    Array.from({ length: clients }, async (_, c) => {
      const mine = Math.floor(ops / clients) + (c < ops % clients ? 1 : 0);
      for (let i = 0; i < mine && error === null; i++) {
        const endpoint = system.endpoints[(c + i) % system.endpoints.length]!;
        const key = `bench/${c}/${i % KEYS_PER_CLIENT}`;
        const t0 = performance.now();
        try {
          await op(endpoint, key, i);
        } catch (err) {
          error ??= `${key} at ${endpoint.name}: ${err instanceof Error ? `${err.name}: ${err.message}` : String(err)}`;
          return;
        }
        latencyMs.push(performance.now() - t0);
      }
    }),
  );
  const wallMs = performance.now() - start;
  const client = process.cpuUsage(clientBefore);
  const members = sum(pids.map(procCpuMs)) - membersBefore;
  const switchesAfter = pids.map(procContextSwitches);
  const done = latencyMs.length;
  const perOp = (v: number) => (done > 0 ? v / done : Number.NaN);
  const cpuMsPerOp = { members: perOp(members), client: perOp((client.user + client.system) / 1000) };
  const switchesPerOp = {
    wakeUps: perOp(sum(switchesAfter.map((s, i) => s.voluntary - switchesBefore[i]!.voluntary))),
    preemptions: perOp(sum(switchesAfter.map((s, i) => s.involuntary - switchesBefore[i]!.involuntary))),
  };
  return { ops: done, latencyMs, wallMs, fsyncs: (await system.fsyncs()) - fsyncsBefore, cpuMsPerOp, switchesPerOp, error };
}

/** 100 bytes of ASCII naming what was written, so a value is never the same twice in a row. */
function value(key: string, i: number): string {
  return `${key}#${i}:`.padEnd(VALUE_BYTES, '.');
}

function conclaveEndpoint(name: string, socket: string): KvEndpoint {
  const client = createApiClient({ address: `unix:${socket}` });
  return {
    name,
    put: async (key, v) => {
      await client.kvPut(key, v);
    },
    get: async (key) => (await client.kvGet(key)).kv?.value ?? null,
  };
}

/**
 * Conclave's HTTP API with a keep-alive agent on the node's socket: `PUT /v1/kv?key=` with
 * `{value}`, and a linearizable `GET /v1/kv?key=` (what the API client sends, on a kept connection).
 */
function pooledConclaveEndpoint(name: string, socket: string, agent: Agent): KvEndpoint {
  const path = (key: string) => `/v1/kv?key=${encodeURIComponent(key)}`;
  return {
    name,
    put: async (key, v) => {
      await jsonRequest({ socketPath: socket, method: 'PUT', path: path(key), agent }, { value: v });
    },
    get: async (key) => ((await jsonRequest({ socketPath: socket, method: 'GET', path: path(key), agent })) as { kv: { value: string } | null }).kv?.value ?? null,
  };
}

/**
 * etcd 3.4's grpc-gateway on the client URL: `POST /v3/kv/put` `{key, value}` and
 * `POST /v3/kv/range` `{key}`, bytes as base64; a range is linearizable unless `serializable`.
 */
function etcdEndpoint(name: string, url: string, agent: Agent | false = false): KvEndpoint {
  const b64 = (s: string) => Buffer.from(s).toString('base64');
  return {
    name,
    put: async (key, v) => {
      await etcdPost(url, '/v3/kv/put', { key: b64(key), value: b64(v) }, agent);
    },
    get: async (key) => {
      const reply = (await etcdPost(url, '/v3/kv/range', { key: b64(key) }, agent)) as { kvs?: { value?: string }[] };
      const found = reply.kvs?.[0]?.value;
      return found === undefined ? null : Buffer.from(found, 'base64').toString();
    },
  };
}

/** One JSON request to etcd's gateway, on a fresh connection unless `agent` keeps them. */
function etcdPost(url: string, path: string, body: unknown, agent: Agent | false): Promise<unknown> {
  const u = new URL(path, url);
  return jsonRequest({ host: u.hostname, port: u.port, path: u.pathname, method: 'POST', agent }, body);
}

/** One request with a JSON reply; a status other than 200 rejects with the status and the start of the body. */
function jsonRequest(opts: RequestOptions, body?: unknown): Promise<unknown> {
  const what = `${opts.method} ${opts.path}`;
  return new Promise((resolve, reject) => {
    const req = request({ ...opts, timeout: REQUEST_TIMEOUT_MS, headers: { 'content-type': 'application/json' } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => {
        if (res.statusCode !== 200) return reject(new Error(`${what}: HTTP ${res.statusCode} ${text.slice(0, 200)}`));
        try {
          resolve(JSON.parse(text) as unknown);
        } catch {
          reject(new Error(`${what}: a reply that is not JSON: ${text.slice(0, 200)}`));
        }
      });
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`${what}: no answer within ${REQUEST_TIMEOUT_MS} ms`)));
    req.on('error', reject);
    req.end(body === undefined ? undefined : JSON.stringify(body));
  });
}

function etcdMetrics(url: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = request(new URL('/metrics', url), { agent: false, timeout: 5000 }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => resolve(text));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`${url}/metrics: no answer within 5000 ms`)));
    req.on('error', reject);
    req.end();
  });
}

/** An unlabelled sample of the Prometheus text; NaN when absent, so a missing counter shows as n/a rather than 0. */
function metric(text: string, name: string): number {
  const match = new RegExp(`^${name} (\\S+)`, 'm').exec(text);
  return match ? Number(match[1]) : Number.NaN;
}

/** Operations a second: the median of the rounds' when the phase ran in rounds. */
function throughput(r: PhaseResult): number {
  return r.rounds ? percentile(r.rounds, 50) : (r.ops * 1000) / r.wallMs;
}

function progress(system: KvSystem, clients: number, kind: 'put' | 'get', r: PhaseResult): void {
  process.stderr.write(
    `  ${system.label}, ${clients} client${clients === 1 ? '' : 's'}, ${kind}: ${r.ops} ops in ${(r.wallMs / 1000).toFixed(1)} s${r.error ? `, stopped: ${r.error}` : ''}\n`,
  );
}

function row(clients: number, kind: 'put' | 'get', r: PhaseResult): string {
  const ms = (v: number) => (Number.isFinite(v) ? `${v.toFixed(2)} ms` : 'n/a');
  const perOp = r.ops > 0 && Number.isFinite(r.fsyncs) ? (r.fsyncs / r.ops).toFixed(2) : 'n/a';
  const label = `${clients} client${clients === 1 ? ' ' : 's'} ${kind}`.padEnd(14);
  const failed = r.error ? `  FAILED after ${r.ops} ops: ${r.error}` : '';
  const cpu = (v: number) => (Number.isFinite(v) ? v.toFixed(2) : 'n/a');
  const count = (v: number) => (Number.isFinite(v) ? v.toFixed(1) : 'n/a');
  const spread = r.rounds && r.rounds.length > 1 ? ` (${Math.min(...r.rounds).toFixed(0)}–${Math.max(...r.rounds).toFixed(0)})` : '';
  return (
    `  ${label} ${throughput(r).toFixed(0).padStart(6)} ops/s${spread}  p50 ${ms(percentile(r.latencyMs, 50))}  p99 ${ms(percentile(r.latencyMs, 99))}  fsyncs/${kind} ${perOp}` +
    `  CPU ms/${kind}: members ${cpu(r.cpuMsPerOp.members)}, client ${cpu(r.cpuMsPerOp.client)}` +
    `  members' wake-ups/${kind} ${count(r.switchesPerOp.wakeUps)}, preemptions/${kind} ${count(r.switchesPerOp.preemptions)}${failed}`
  );
}

function printRuns(heading: string, runs: readonly RunResult[]): void {
  console.log(heading);
  for (const r of runs) {
    console.log(row(r.clients, 'put', r.put));
    console.log(row(r.clients, 'get', r.get));
  }
}

/** Ratios conclave (spread) / etcd for every row, then the two targets. */
function printComparison(conclave: readonly RunResult[], etcd: readonly RunResult[], targets = true): void {
  const ratio = (a: number, b: number) => (Number.isFinite(a) && Number.isFinite(b) && b > 0 ? a / b : Number.NaN);
  const fmt = (v: number) => (Number.isFinite(v) ? `${v.toFixed(2)}×` : 'n/a');
  const verdict = (v: number, ok: boolean) => (!Number.isFinite(v) ? 'n/a, a phase failed' : ok ? 'met' : 'MISSED');
  console.log('ratios conclave (clients spread) / etcd:');
  for (const ours of conclave) {
    const theirs = etcd.find((r) => r.clients === ours.clients);
    if (!theirs) continue;
    for (const kind of ['put', 'get'] as const) {
      const a = ours[kind];
      const b = theirs[kind];
      const label = `${ours.clients} client${ours.clients === 1 ? ' ' : 's'} ${kind}`.padEnd(14);
      console.log(
        `  ${label} throughput ${fmt(ratio(throughput(a), throughput(b)))}  p50 ${fmt(ratio(percentile(a.latencyMs, 50), percentile(b.latencyMs, 50)))}  p99 ${fmt(ratio(percentile(a.latencyMs, 99), percentile(b.latencyMs, 99)))}` +
          `  members' CPU per op ${fmt(ratio(a.cpuMsPerOp.members, b.cpuMsPerOp.members))}`,
      );
    }
  }
  if (!targets) return;
  // Three decimals: a ratio of 0.996 printed as 1.00× beside MISSED reads as a contradiction.
  const exact = (v: number) => (Number.isFinite(v) ? `${v.toFixed(3)}×` : 'n/a');
  console.log('targets (fresh connections, as Conclave\'s API client makes them):');
  const most = CONCURRENCY[CONCURRENCY.length - 1];
  const busy = { ours: conclave.find((r) => r.clients === most), theirs: etcd.find((r) => r.clients === most) };
  for (const kind of ['put', 'get'] as const) {
    const r = busy.ours && busy.theirs && !busy.ours[kind].error && !busy.theirs[kind].error ? ratio(throughput(busy.ours[kind]), throughput(busy.theirs[kind])) : Number.NaN;
    console.log(`  ${kind} throughput with ${most} clients: ${exact(r)} etcd's (target ≥ ${TARGETS.throughput16Min.toFixed(1)}×: ${verdict(r, r >= TARGETS.throughput16Min)})`);
  }
  const single = { ours: conclave.find((r) => r.clients === 1), theirs: etcd.find((r) => r.clients === 1) };
  const p50 = single.ours && single.theirs && !single.ours.put.error && !single.theirs.put.error ? ratio(percentile(single.ours.put.latencyMs, 50), percentile(single.theirs.put.latencyMs, 50)) : Number.NaN;
  console.log(`  p50 put latency with 1 client: ${exact(p50)} etcd's (target ≤ ${TARGETS.putP50Max.toFixed(1)}×: ${verdict(p50, p50 <= TARGETS.putP50Max)})`);
}
