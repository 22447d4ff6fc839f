/**
 * Runs the configured hooks as child processes, and nothing else: which hook fires and what waits
 * for what is decided in policy.ts. The runtime never waits on a hook: this module hears about
 * leadership through the runtime's event stream, reads the new view after the runtime's batch is
 * done (a microtask later), and spawns without awaiting anything.
 *
 * Each run gets its own process group, so a timeout kills the hook and whatever it started
 * (SIGTERM to the group, SIGKILL a moment later). Output is kept as a bounded tail and logged
 * when the run fails; every run is counted by hook and result, and timed.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import type { ConclaveConfig, HookCommand } from '../config/types.js';
import type { Logger } from '../log.js';
import type { Runtime } from '../runtime.js';
import { HookLane, hookEnv, HookTrigger, laneOf, OutputTail, type HookLaneName, type HookName, type HookResult, type HookRun, type LeadershipView } from './policy.js';

/** Output kept per run for the log: the end of a failing script's output is what explains it. */
const OUTPUT_TAIL_BYTES = 4096;
/** After a timeout's SIGTERM, the group gets this long before SIGKILL. */
const KILL_GRACE_MS = 1000;
/**
 * After the hook process exits, its output pipes get this long to close: a background process it
 * left behind may hold them open forever, and must not hold up the queue.
 */
const PIPE_CLOSE_WAIT_MS = 200;

export interface HookRunnerInit {
  hooks: ConclaveConfig['hooks'];
  /** CONCLAVE_NODE_NAME. */
  nodeName: string;
  log: Logger;
  /** Every run's end (duration null for `skipped`), for metrics. */
  onResult?: (hook: HookName, result: HookResult, durationMs: number | null) => void;
  /** The environment hooks inherit; defaults to the daemon's. */
  env?: NodeJS.ProcessEnv;
}

export class HookRunner {
  private readonly trigger = new HookTrigger();
  private readonly lanes = new Map<HookLaneName, HookLane>();
  private readonly running = new Set<ChildProcess>();
  private readonly idleWaiters = new Set<() => void>();
  private closed = false;
  private hooks: ConclaveConfig['hooks'];

  constructor(private readonly init: HookRunnerInit) {
    this.hooks = init.hooks;
  }

  /**
   * New hook commands and timeout (`conclave reload`), for every run that starts from now on: a
   * queued run of a hook now null is skipped; a running one keeps its command and timeout. A hook
   * configured now fires at the next transition, not for the state the node is already in.
   */
  setHooks(hooks: ConclaveConfig['hooks']): void {
    this.hooks = { ...hooks };
  }

  /** Feeds this node's current leadership view; fires what it calls for. Never blocks. */
  observe(view: LeadershipView): void {
    if (this.closed) return;
    for (const run of this.trigger.observe(view)) {
      if (this.hooks[run.hook] === null) continue;
      const lane = this.laneFor(run.hook);
      const step = lane.enqueue(run);
      for (const skipped of step.skipped) this.skipped(skipped);
      if (step.start) this.start(lane, step.start);
    }
  }

  /**
   * A stopping daemon: no new transitions are taken; resolves once the queued and running hooks
   * are done, or after `maxWaitMs` (then the rest is dropped and whatever still runs is left to
   * the service manager). By default as long as one run may take, so a hook that a hand-off
   * fired (onFollower on the old leader) gets to finish. Safe to call twice.
   */
  async stop(maxWaitMs = this.hooks.timeoutMs + KILL_GRACE_MS + PIPE_CLOSE_WAIT_MS): Promise<void> {
    this.closed = true;
    if (this.idle) return;
    let timer: NodeJS.Timeout | undefined;
    const drained = await Promise.race([
      new Promise<boolean>((resolve) => this.idleWaiters.add(() => resolve(true))),
      new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), maxWaitMs))),
    ]);
    clearTimeout(timer);
    if (drained) return;
    for (const lane of this.lanes.values()) for (const run of lane.clear()) this.skipped(run);
    this.init.log.warn({ running: this.running.size }, `hooks still running after ${maxWaitMs} ms of the stop; leaving them to the service manager`);
  }

  private get idle(): boolean {
    return [...this.lanes.values()].every((lane) => !lane.busy);
  }

  private laneFor(hook: HookName): HookLane {
    const name = laneOf(hook);
    let lane = this.lanes.get(name);
    if (!lane) this.lanes.set(name, (lane = new HookLane()));
    return lane;
  }

  private skipped(run: HookRun, why = 'a later transition made it moot before it started'): void {
    this.init.log.debug({ hook: run.hook, term: run.view.term }, `hook ${run.hook} skipped: ${why}`);
    this.init.onResult?.(run.hook, 'skipped', null);
  }

  private start(lane: HookLane, run: HookRun): void {
    const { log } = this.init;
    const hooks = this.hooks;
    const command: HookCommand | null = hooks[run.hook];
    if (command === null) {
      this.skipped(run, 'a reload turned it off while it waited');
      return this.next(lane);
    }
    const [file, args] = typeof command === 'string' ? ['/bin/sh', ['-c', command]] : [command[0]!, command.slice(1)];
    const fields = { hook: run.hook, term: run.view.term, fencingToken: run.view.fencingToken, leader: run.view.leader?.name ?? null };
    const startedMs = performance.now();
    const tail = new OutputTail(OUTPUT_TAIL_BYTES);
    let timedOut = false;
    let done = false;
    const timers: NodeJS.Timeout[] = [];

    const finish = (result: Exclude<HookResult, 'skipped'>, details: Record<string, unknown>, message: string) => {
      if (done) return;
      done = true;
      for (const t of timers) clearTimeout(t);
      this.running.delete(child!);
      const ms = Math.round(performance.now() - startedMs);
      const output = tail.text();
      if (result === 'ok') log.info({ ...fields, ms }, `hook ${run.hook} ok`);
      else log.warn({ ...fields, ms, ...details, output }, `hook ${run.hook} ${message}${output ? '; its last output is in `output`' : ''}`);
      if (result === 'ok' && output) log.debug({ hook: run.hook, output }, `hook ${run.hook} output`);
      this.init.onResult?.(run.hook, result, ms);
      this.next(lane);
    };

    let child: ChildProcess;
    try {
      child = spawn(file, args, {
        // Its own process group: a timeout kills the hook and everything it started.
        detached: true,
        stdio: ['ignore', 'pipe', 'pipe'],
        env: { ...(this.init.env ?? process.env), ...hookEnv(run, this.init.nodeName) },
      });
    } catch (err) {
      // Arguments Node refuses outright (a NUL byte in the command).
      log.warn({ ...fields, err }, `hook ${run.hook} could not be started`);
      this.init.onResult?.(run.hook, 'failed', 0);
      return this.next(lane);
    }
    this.running.add(child);
    child.stdout?.on('data', (chunk: Buffer) => tail.push(chunk));
    child.stderr?.on('data', (chunk: Buffer) => tail.push(chunk));
    // A spawn that fails (no such program, not executable) ends here, with no exit.
    child.on('error', (err: NodeJS.ErrnoException) => finish('failed', { error: err.code ?? err.message }, `could not be started (${err.code ?? err.message}: ${file})`));
    child.on('exit', (code, signal) => {
      const end = () => {
        if (timedOut) finish('timeout', { signal }, `timed out after ${hooks.timeoutMs} ms (hooks.timeoutMs); its process group was killed`);
        else if (code === 0) finish('ok', {}, 'ok');
        else if (code !== null) finish('failed', { exitCode: code }, `failed: exit status ${code}`);
        else finish('failed', { signal }, `failed: killed by ${signal}`);
      };
      if (child.stdout?.readableEnded !== false && child.stderr?.readableEnded !== false) return end();
      child.once('close', end);
      timers.push(
        setTimeout(() => {
          child.stdout?.destroy();
          child.stderr?.destroy();
          end();
        }, PIPE_CLOSE_WAIT_MS),
      );
    });
    if (child.pid === undefined) return;
    log.debug({ ...fields, pid: child.pid }, `hook ${run.hook} started`);
    const pid = child.pid;
    timers.push(
      setTimeout(() => {
        timedOut = true;
        killGroup(pid, 'SIGTERM');
        timers.push(setTimeout(() => killGroup(pid, 'SIGKILL'), KILL_GRACE_MS));
      }, hooks.timeoutMs),
    );
  }

  private next(lane: HookLane): void {
    const step = lane.finished();
    if (step.start) return this.start(lane, step.start);
    if (!this.idle) return;
    for (const resolve of this.idleWaiters) resolve();
    this.idleWaiters.clear();
  }
}

function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // The group is gone already.
  }
}

/** This node's leadership as of now, in the runtime's words. */
export function leadershipView(runtime: Runtime): LeadershipView {
  const summary = runtime.reportedSummary;
  return { role: summary.role, term: summary.term, fencingToken: summary.fencingToken, leader: runtime.nodeRef(summary.leader) };
}

/**
 * Feeds the runner from a runtime: the current view now (the start-up runs), then again after
 * every batch of events that touches leadership. The view is read a microtask later, once the
 * runtime has carried out the whole batch (a role change and its leader change arrive together),
 * and as reported, without stepping the runtime (Runtime.reportedSummary). Followed even with no
 * hook configured, so one a reload adds fires at the next transition. Returns the unsubscribe.
 */
export function followRuntime(runtime: Runtime, runner: HookRunner): () => void {
  runner.observe(leadershipView(runtime));
  let scheduled = false;
  return runtime.subscribe((event) => {
    if (scheduled || (event.type !== 'role-changed' && event.type !== 'leader-changed' && event.type !== 'term-changed')) return;
    scheduled = true;
    queueMicrotask(() => {
      scheduled = false;
      runner.observe(leadershipView(runtime));
    });
  });
}
