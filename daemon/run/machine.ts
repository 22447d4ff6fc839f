/**
 * `conclave run`'s decisions, as a pure machine: inputs are leadership facts (from the client
 * library's `lead()`), the child's exits, signals sent to `run` and the clock; outputs are what
 * to do (start the child with its environment, signal it, resign, exit). runner.ts owns the
 * process and the timer, nothing else, so every rule below is tested without a process.
 *
 * The rules (issue 11, section 1; consul lock and systemd's Restart= as the models):
 * - the child runs only while this node leads; it is started under one fencing token and
 *   stopped (SIGTERM, SIGKILL after `graceMs`) the moment that leadership ends or the token
 *   changes; under a new token a new child starts once the old one is gone, never beside it;
 * - a child that exits by itself while leading is restarted per `restart` with backoff
 *   (`never`: `run` exits with its status; `on-failure`: a clean exit ends `run` with 0);
 *   with `resignOnExit` the node gives up leadership first, and no child starts again under
 *   that token;
 * - a child stopped because leadership was lost is started again when this node next leads:
 *   `restart` governs only exits the child chose;
 * - SIGINT and SIGTERM are forwarded and `run` exits with the child's status once it is gone
 *   (SIGKILL after `graceMs`); SIGHUP is only forwarded.
 */
import type { Leadership } from '../../client/leadership.js';

export const RESTART_POLICIES = ['never', 'on-failure', 'always'] as const;
export type RestartPolicy = (typeof RESTART_POLICIES)[number];
export type ForwardedSignal = 'SIGINT' | 'SIGTERM' | 'SIGHUP';

export interface RunOptions {
  restart: RestartPolicy;
  /** After SIGTERM, how long the child has before SIGKILL. */
  graceMs: number;
  resignOnExit: boolean;
  /** First restart delay; doubles per quick failure up to backoffMaxMs. */
  backoffInitialMs: number;
  backoffMaxMs: number;
  /** A child that ran at least this long resets the backoff to its first delay. */
  backoffResetAfterMs: number;
}

/** Defaults: restart at once-ish (100 ms), at most every 30 s in a crash loop, as systemd's RestartSec scale. */
export const DEFAULT_RUN_OPTIONS: RunOptions = {
  restart: 'never',
  graceMs: 10_000,
  resignOnExit: false,
  backoffInitialMs: 100,
  backoffMaxMs: 30_000,
  backoffResetAfterMs: 10_000,
};

export type RunInput =
  | { kind: 'leading'; leadership: Leadership; nowMs: number }
  | { kind: 'not-leading'; nowMs: number }
  | { kind: 'child-exited'; code: number | null; signal: NodeJS.Signals | null; nowMs: number }
  | { kind: 'signal'; signal: ForwardedSignal; nowMs: number }
  | { kind: 'tick'; nowMs: number };

export type RunAction =
  | { kind: 'start'; leadership: Leadership; env: Record<string, string> }
  | { kind: 'signal'; signal: ForwardedSignal | 'SIGKILL' }
  | { kind: 'resign' }
  | { kind: 'exit'; code: number };

type Child =
  | { state: 'none' }
  | { state: 'running'; leadership: Leadership; startedAtMs: number }
  /** We asked it to stop; `killAtMs` null once SIGKILL went out. */
  | { state: 'stopping'; killAtMs: number | null; startedAtMs: number };

/** Signal numbers for the `128 + n` exit status of a child a signal ended (Linux). */
const SIGNAL_NUMBERS: Readonly<Record<string, number>> = { SIGHUP: 1, SIGINT: 2, SIGQUIT: 3, SIGABRT: 6, SIGKILL: 9, SIGSEGV: 11, SIGPIPE: 13, SIGALRM: 14, SIGTERM: 15 };

/** A child's status as a shell reports it: its exit code, or 128 + the signal that ended it. */
export function exitStatus(code: number | null, signal: NodeJS.Signals | null): number {
  if (code !== null) return code;
  return 128 + (signal ? (SIGNAL_NUMBERS[signal] ?? 0) : 0);
}

/** The environment a child starts with: the reign it runs for. */
export function childEnv(leadership: Leadership): Record<string, string> {
  return {
    CONCLAVE_FENCING_TOKEN: String(leadership.fencingToken),
    CONCLAVE_TERM: String(leadership.term),
    CONCLAVE_LEADER_ID: leadership.leader.id,
    CONCLAVE_LEADER_NAME: leadership.leader.name,
    CONCLAVE_NODE_NAME: leadership.node.name,
    ...(leadership.election !== undefined ? { CONCLAVE_ELECTION: leadership.election } : {}),
  };
}

export class RunMachine {
  private leadership: Leadership | null = null;
  private child: Child = { state: 'none' };
  private restartAtMs: number | null = null;
  private quickFailures = 0;
  /** After resign-on-exit: no child starts again under this token. */
  private resignedToken: number | null = null;
  /** Set by SIGINT/SIGTERM or a final exit: the status `run` exits with once no child is left. */
  private exitCode: number | null = null;
  private exited = false;

  constructor(private readonly opts: RunOptions) {}

  step(input: RunInput): RunAction[] {
    if (this.exited) return [];
    const actions: RunAction[] = [];
    switch (input.kind) {
      case 'leading':
        this.leadership = input.leadership;
        if (this.child.state === 'running' && this.child.leadership.fencingToken !== input.leadership.fencingToken) this.stop(input.nowMs, actions);
        break;
      case 'not-leading':
        this.leadership = null;
        this.restartAtMs = null;
        if (this.child.state === 'running') this.stop(input.nowMs, actions);
        break;
      case 'child-exited':
        this.childExited(input.code, input.signal, input.nowMs, actions);
        break;
      case 'signal':
        this.signal(input.signal, input.nowMs, actions);
        break;
      case 'tick':
        if (this.child.state === 'stopping' && this.child.killAtMs !== null && input.nowMs >= this.child.killAtMs) {
          this.child = { ...this.child, killAtMs: null };
          actions.push({ kind: 'signal', signal: 'SIGKILL' });
        }
        if (this.restartAtMs !== null && input.nowMs >= this.restartAtMs) this.restartAtMs = null;
        break;
    }
    this.settle(input.nowMs, actions);
    return actions;
  }

  /** When `tick` must next be called: a SIGKILL due or a restart's backoff ending; null when nothing waits. */
  nextDeadlineMs(): number | null {
    const times = [this.child.state === 'stopping' ? this.child.killAtMs : null, this.restartAtMs].filter((t): t is number => t !== null);
    return times.length > 0 ? Math.min(...times) : null;
  }

  /** True while a child process exists (running or being stopped). */
  get hasChild(): boolean {
    return this.child.state !== 'none';
  }

  private stop(nowMs: number, actions: RunAction[]): void {
    if (this.child.state !== 'running') return;
    this.child = { state: 'stopping', killAtMs: nowMs + this.opts.graceMs, startedAtMs: this.child.startedAtMs };
    actions.push({ kind: 'signal', signal: 'SIGTERM' });
  }

  private signal(signal: ForwardedSignal, nowMs: number, actions: RunAction[]): void {
    if (signal === 'SIGHUP') {
      if (this.child.state === 'running') actions.push({ kind: 'signal', signal });
      return;
    }
    // Asked to stop with no child: a clean stop (0), as systemd expects of a service it stops.
    this.exitCode ??= 0;
    if (this.child.state === 'running') {
      this.child = { state: 'stopping', killAtMs: nowMs + this.opts.graceMs, startedAtMs: this.child.startedAtMs };
      actions.push({ kind: 'signal', signal });
    } else if (this.child.state === 'stopping') {
      actions.push({ kind: 'signal', signal });
    }
  }

  private childExited(code: number | null, signal: NodeJS.Signals | null, nowMs: number, actions: RunAction[]): void {
    const child = this.child;
    if (child.state === 'none') return;
    this.child = { state: 'none' };
    const status = exitStatus(code, signal);
    if (this.exitCode !== null) {
      // Stopped at our user's request: `run` ends with the child's own status.
      this.exitCode = status;
      return;
    }
    if (child.state === 'stopping') return;
    // It exited by itself while this node led.
    if (this.opts.resignOnExit && this.leadership) {
      this.resignedToken = this.leadership.fencingToken;
      actions.push({ kind: 'resign' });
    }
    const restart = this.opts.restart === 'always' || (this.opts.restart === 'on-failure' && status !== 0);
    if (!restart) {
      this.exitCode = status;
      return;
    }
    const ranMs = nowMs - child.startedAtMs;
    this.quickFailures = ranMs >= this.opts.backoffResetAfterMs ? 0 : this.quickFailures + 1;
    const delayMs = Math.min(this.opts.backoffMaxMs, this.opts.backoffInitialMs * 2 ** Math.max(0, this.quickFailures - 1));
    this.restartAtMs = nowMs + delayMs;
  }

  private settle(nowMs: number, actions: RunAction[]): void {
    if (this.exitCode !== null) {
      if (this.child.state === 'none') {
        this.exited = true;
        actions.push({ kind: 'exit', code: this.exitCode });
      }
      return;
    }
    const reign = this.leadership;
    if (this.child.state === 'none' && reign && this.restartAtMs === null && this.resignedToken !== reign.fencingToken) {
      this.child = { state: 'running', leadership: reign, startedAtMs: nowMs };
      actions.push({ kind: 'start', leadership: reign, env: childEnv(reign) });
    }
  }
}
