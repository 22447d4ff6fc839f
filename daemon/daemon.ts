/**
 * One daemon process: data dir lock, identity, libp2p node, membership, election, runtime,
 * control API, hooks; a graceful stop on SIGINT/SIGTERM or `POST /v1/leave` (hand off, leave, exit
 * within 2 s, or once the hooks that fired finish, within hooks.timeoutMs); a config reload on
 * SIGHUP or `POST /v1/reload` (reload.ts).
 */
import { EventEmitter, on } from 'node:events';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { createMembership, protocolMeta } from '../protocols/membership/index.js';
import { RAFT_WIRE } from '../protocols/raft/messages.js';
import { startApiServer, type ApiServer } from './api/server.js';
import type { ConclaveConfig } from './config/types.js';
import { createControlSource } from './control.js';
import type { PersistError } from './errors.js';
import { acquireDataDirLock } from './lock.js';
import type { LogRecord } from '../shared/log-record.js';
import { createLogger, logSinkHealth, reopenLog, setLogLevel, type Logger } from './log.js';
import type { NodeStore } from './node-store.js';
import { openNodeState } from './node-state.js';
import { followRuntime, HookRunner } from './hooks/runner.js';
import { bindMetrics } from './observe.js';
import { createP2PNode, peerLimitsFor, readSwarmKey, type P2PNode } from './p2p/index.js';
import { Runtime } from './runtime.js';
import { ConfigReloader } from './reload.js';
import { openSwarmWarning } from './security.js';
import { VERSION } from './version.js';

/**
 * Shows a dashboard on this terminal, attached to this daemon's API (`unix:PATH`) and fed its log
 * records; resolves when the user quits it.
 */
export type DashboardOpener = (attach: { api: string; logRecords: AsyncIterable<LogRecord> }) => Promise<void>;

export interface RunOptions {
  /**
   * `start --tui`: the dashboard to open once the API is up. The CLI supplies it, so the daemon
   * never loads the dashboard itself. With one, logs go to a file and its log panel.
   */
  dashboard?: DashboardOpener;
  /** `--reset-election-state`: accept an identity without election state (or the reverse) for this start. */
  resetElectionState?: boolean;
  /**
   * Loads the config again from the file, environment and flags this daemon started with, for
   * `conclave reload` and SIGHUP; throws ConfigError.
   */
  loadConfig: () => ConclaveConfig;
}

/**
 * When each stage of start-up ended, in ms since the process began: modules loaded and config read
 * (runDaemon called), durable state open (identity, log store), libp2p listening, API listening.
 */
export interface StartupTimes {
  loaded: number;
  state: number;
  p2p: number;
  api: number;
}

function roundTimes(t: StartupTimes): StartupTimes {
  return { loaded: Math.round(t.loaded), state: Math.round(t.state), p2p: Math.round(t.p2p), api: Math.round(t.api) };
}

/** Time allowed for libp2p and the API to close before the process exits anyway. */
const CLOSE_TIMEOUT_MS = 500;

/** Runs a daemon until SIGINT/SIGTERM; resolves the process exit code. Start-up errors throw. */
export async function runDaemon(config: ConclaveConfig, opts: RunOptions): Promise<number> {
  // Milliseconds since the process began (performance's time origin) at each stage of start-up,
  // logged with `started`: where start-up goes (npm run bench -- startup reads it).
  const startup: StartupTimes = { loaded: performance.now(), state: 0, p2p: 0, api: 0 };
  mkdirSync(config.dataDir, { recursive: true, mode: 0o700 });
  const lock = acquireDataDirLock(config.dataDir);
  // With the dashboard on this terminal, logs go to a file and to its log panel, never over it.
  const tuiLog = opts.dashboard ? new EventEmitter() : null;
  // Listening before the first record, so the start-up lines (addresses, API socket) reach the panel too.
  const tuiRecords = tuiLog ? (on(tuiLog, 'record') as AsyncIterableIterator<[LogRecord]>) : null;
  const log = createLogger({
    ...config.log,
    file: opts.dashboard ? (config.log.file ?? join(config.dataDir, 'daemon.log')) : config.log.file,
    node: config.node.name,
    tap: tuiLog ? (record) => tuiLog.emit('record', record) : undefined,
  });
  let p2p: P2PNode | null = null;
  let api: ApiServer | null = null;
  let store: NodeStore | null = null;
  let onHangup: (() => void) | null = null;
  try {
    if (lock.tookOverFromPid !== null) log.warn({ pid: lock.tookOverFromPid }, 'took over a stale data dir lock');
    const nowMs = () => performance.now();
    const opened = await openNodeState(config, { resetElectionState: opts.resetElectionState === true, nowMs: nowMs(), log });
    store = opened.store;
    startup.state = performance.now();
    const { identity, election, incarnation: initialIncarnation } = opened;
    const psk = config.security.pskFile ? await readSwarmKey(config.security.pskFile) : null;
    p2p = await createP2PNode({
      privateKey: identity.privateKey,
      cluster: config.cluster.name,
      protocol: opened.store.protocol,
      listen: config.listen,
      bootstrap: config.discovery.bootstrap,
      reconnectTimeoutMs: config.discovery.reconnectTimeoutMs,
      mdns: config.discovery.mdns,
      psk,
      maxFrameBytes: config.messaging.maxFrameBytes,
      linkPort: config.messaging.linkPort,
      peerLimits: peerLimitsFor(opened.store.protocol),
      peerLimitsFor,
      logger: log.child({ component: 'p2p' }),
    });
    startup.p2p = performance.now();
    const summary = election.machine.summary(nowMs());
    const membership = createMembership({
      cluster: config.cluster.name,
      selfId: identity.peerId,
      selfMeta: {
        name: config.node.name,
        addrs: p2p.listenAddrs(),
        ...protocolMeta(opened.store.protocol),
        priority: config.node.priority,
        version: VERSION,
        raftWire: RAFT_WIRE,
        ...summary,
      },
      initialIncarnation,
      timings: config.membership,
      nowMs: nowMs(),
    });
    let onFatal: (err: PersistError) => void = () => undefined;
    const fatal = new Promise<PersistError>((resolve) => (onFatal = resolve));
    const runtime = new Runtime({
      selfId: identity.peerId,
      membership,
      election,
      disk: opened.store,
      p2p,
      log: log.child({ component: 'runtime' }),
      nowMs,
      bootstrapExpect: config.cluster.bootstrapExpect,
      revisionBase: Date.now(),
      onFatal,
      switching: opened.switching,
    });
    // Raft's metrics too under Bully: a live switch may start Raft in this process.
    const metrics = bindMetrics(runtime, p2p, opened.store, { raft: true, logHealth: () => logSinkHealth(log) });
    const hooks = new HookRunner({ hooks: config.hooks, nodeName: config.node.name, log: log.child({ component: 'hooks' }), onResult: metrics.countHookRun });
    const reloader = new ConfigReloader({
      config,
      load: opts.loadConfig,
      targets: {
        setLogLevel: (level) => setLogLevel(log, level),
        setHooks: (next) => hooks.setHooks(next),
        setMembershipTimings: (timings) => runtime.setMembershipTimings(timings),
        // A changed `protocol` is a request: the cluster's leader switches every member once most ask (README "Switching protocols").
        requestProtocol: (protocol) => runtime.requestProtocol(protocol),
      },
      log: log.child({ component: 'config' }),
    });
    // A reload also opens the log again: logrotate's `postrotate` sends SIGHUP, and a log whose
    // destination failed (a full disk, since freed) is tried again.
    const reload = (trigger: 'SIGHUP' | 'api') => {
      reopenLog(log);
      return reloader.reload(trigger);
    };
    // SIGHUP has nobody to answer: what it did, or why the config was refused, is the reloader's log.
    onHangup = () => {
      try {
        reload('SIGHUP');
      } catch {
        // Already logged; the daemon keeps running its config.
      }
    };
    process.on('SIGHUP', onHangup);
    // `conclave leave` (POST /v1/leave) stops the daemon the way SIGTERM does, once its reply is sent.
    let onStopRequest: (reason: string) => void = () => undefined;
    const stopRequest = new Promise<string>((resolve) => (onStopRequest = resolve));
    api = await startApiServer({
      source: createControlSource({ runtime, config, metrics: metrics.scrape, stop: onStopRequest, reload: () => reload('api') }),
      tcpListen: config.api.listen,
      socketPath: join(config.dataDir, 'api.sock'),
      token: config.api.token,
      onError: (err) => log.warn({ err }, 'control API error'),
      onRequest: metrics.countRequest,
      onRejected: metrics.countRejected,
      onAbuse: ({ kind, count, total, from, detail, advice }) =>
        log.warn(
          { kind, count, total, from, detail },
          `control API refusals: ${count} ${kind} since the last report (logged at most once a minute per kind; all counted in conclave_api_rejected_requests_total): ${advice}`,
        ),
    });
    startup.api = performance.now();
    runtime.start();
    // After start, so the start-up run (onFollower) sees the runtime's first view.
    followRuntime(runtime, hooks);
    log.info(
      { id: identity.peerId, cluster: config.cluster.name, protocol: opened.store.protocol, requested: config.protocol, addrs: p2p.listenAddrs(), linkPort: p2p.linkPort, api: api.tcpAddress, socket: api.socketPath, newIdentity: identity.created, startupMs: roundTimes(startup) },
      `conclave ${VERSION} started`,
    );
    const openWarning = openSwarmWarning(config);
    if (openWarning !== null) log.warn({ cluster: config.cluster.name, psk: false }, openWarning);
    installCrashGuards(log);
    const stopSignal = Promise.race([waitForStopSignal(log), stopRequest]);
    const failed = fatal.then((err) => ({ err }));
    const reason =
      opts.dashboard && tuiRecords
        ? await Promise.race([stopSignal, failed, openDashboard(opts.dashboard, api.socketPath, tuiRecords).then(() => 'dashboard closed')])
        : await Promise.race([stopSignal, failed]);
    if (typeof reason === 'object') {
      // Memory is ahead of the disk: carrying on could make this node contradict itself after a
      // restart (an epoch or vote promised twice). Stop at once, without a hand-off or leave.
      log.fatal({ err: reason.err, file: reason.err.path, code: reason.err.code }, `stopping: ${reason.err.message}. Free space or fix permissions, then restart`);
      void hooks.stop(0);
      return 1;
    }
    log.info({ reason }, 'stopping: handing off leadership and leaving the cluster');
    await runtime.shutdown();
    // The hand-off may have fired onFollower here: let it finish (bounded by hooks.timeoutMs).
    await hooks.stop();
    return 0;
  } finally {
    if (onHangup) process.off('SIGHUP', onHangup);
    await closeQuietly(api, p2p, log);
    // Every acknowledged write is already synced; closing only releases the files.
    await store?.close().catch((err: unknown) => log.warn({ err }, 'error while closing the log store'));
    lock.release();
    log.flush();
  }
}

/** The dashboard on this terminal, attached to this daemon; resolves when the user quits it. */
function openDashboard(open: DashboardOpener, socketPath: string, records: AsyncIterable<[LogRecord]>): Promise<void> {
  const logRecords = (async function* () {
    for await (const [record] of records) yield record;
  })();
  return open({ api: `unix:${socketPath}`, logRecords });
}

function waitForStopSignal(log: Logger): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    let received = false;
    const onSignal = (signal: NodeJS.Signals) => {
      if (received) {
        log.warn({ signal }, 'second signal: exiting now');
        process.exit(1);
      }
      received = true;
      resolve(signal);
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  });
}

async function closeQuietly(api: ApiServer | null, p2p: P2PNode | null, log: Logger): Promise<void> {
  const closing = Promise.allSettled([api?.close(), p2p?.stop()]).then((results) => {
    for (const r of results) if (r.status === 'rejected') log.warn({ err: r.reason }, 'error while closing');
  });
  await Promise.race([closing, new Promise((resolve) => setTimeout(resolve, CLOSE_TIMEOUT_MS).unref())]);
}

/**
 * A peer's bad input or a transport hiccup must not take the daemon down: libp2p's dial and
 * stream machinery can reject promises nobody awaits. Log them; keep running.
 */
function installCrashGuards(log: Logger): void {
  process.on('unhandledRejection', (reason) => log.error({ err: reason }, 'unhandled rejection (daemon keeps running)'));
  process.on('uncaughtException', (err) => log.error({ err }, 'uncaught exception (daemon keeps running)'));
}
