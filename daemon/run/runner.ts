/**
 * `conclave run`'s process plumbing around RunMachine (machine.ts): follows leadership with the
 * client library's `lead()`, spawns and signals the child, forwards SIGINT/SIGTERM/SIGHUP, keeps
 * one timer for the machine's next deadline, and resolves with the status `run` exits with.
 * Every decision is the machine's.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import type { ElectionLeadership } from '../../client/campaign.js';
import { Conclave } from '../../client/conclave.js';
import { ApiError, LeadershipLostError, SessionEndedError } from '../../client/errors.js';
import { isTransient, reconnectDelayMs, sleep } from '../../client/follow.js';
import type { Leadership, StopReason } from '../../client/leadership.js';
import type { NodeRef } from '../api/types.js';
import { RunMachine, type ForwardedSignal, type RunAction, type RunInput, type RunOptions } from './machine.js';

export interface RunnerOptions extends RunOptions {
  api: string;
  token: string | null;
  command: string;
  args: string[];
  /** Lead this named election (Raft mode) instead of following the node's own leadership. */
  election?: string;
  /** The election's session TTL (default 10 s). */
  ttlMs?: number;
  /** What observers of the election read as this candidate (default: the node's name). */
  value?: string;
  /** Where `run` says what it does (start, stop, resign); the child's own output is passed through untouched. */
  log(line: string): void;
}

const FORWARDED: readonly ForwardedSignal[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];

export async function runWhileLeading(opts: RunnerOptions): Promise<number> {
  const machine = new RunMachine(opts);
  const conclave = new Conclave({ api: opts.api, token: opts.token });
  const stopFollowing = new AbortController();
  const now = () => performance.now();
  let child: ChildProcess | null = null;
  let timer: NodeJS.Timeout | null = null;
  /** Under --election: the reign in progress (resign-on-exit resigns it). */
  let currentReign: ElectionLeadership | null = null;
  let finish!: (code: number) => void;
  const finished = new Promise<number>((resolve) => (finish = resolve));

  const step = (input: RunInput) => {
    for (const action of machine.step(input)) perform(action);
    if (timer) clearTimeout(timer);
    timer = null;
    const deadline = machine.nextDeadlineMs();
    if (deadline !== null) timer = setTimeout(() => step({ kind: 'tick', nowMs: now() }), Math.max(0, Math.ceil(deadline - now())));
  };

  const perform = (action: RunAction) => {
    switch (action.kind) {
      case 'start': {
        const { leadership } = action;
        const who = leadership.election !== undefined ? `this candidate leads ${leadership.election} (on ${leadership.node.name}` : `${leadership.node.name} leads (term ${leadership.term}`;
        opts.log(`${who}, fencing token ${leadership.fencingToken}): starting ${opts.command}`);
        const started = spawn(opts.command, opts.args, { stdio: 'inherit', env: { ...process.env, ...action.env } });
        child = started;
        started.once('error', (err) => {
          opts.log(`cannot start ${opts.command}: ${err.message}`);
        });
        started.once('exit', (code, signal) => {
          if (child === started) child = null;
          opts.log(`${opts.command} (pid ${started.pid ?? '?'}) exited ${code !== null ? `with status ${code}` : `on ${signal}`}`);
          step({ kind: 'child-exited', code: code ?? (signal ? null : 127), signal, nowMs: now() });
        });
        break;
      }
      case 'signal':
        if (child?.pid !== undefined) {
          opts.log(`sending ${action.signal} to ${opts.command} (pid ${child.pid})`);
          child.kill(action.signal);
        }
        break;
      case 'resign':
        opts.log('the job exited: resigning leadership (--resign-on-exit)');
        (currentReign ? currentReign.resign() : conclave.resign()).catch((err: unknown) => opts.log(`resign failed: ${(err as Error).message}`));
        break;
      case 'exit':
        finish(action.code);
        break;
    }
  };

  const onSignal = (signal: ForwardedSignal) => step({ kind: 'signal', signal, nowMs: now() });
  const handlers = FORWARDED.map((signal) => [signal, () => onSignal(signal)] as const);
  for (const [signal, handler] of handlers) process.on(signal, handler);

  const following = opts.election !== undefined
    ? followElection(conclave, opts.election, opts, stopFollowing.signal, {
        leading: (leadership, reign) => {
          currentReign = reign;
          step({ kind: 'leading', leadership, nowMs: now() });
        },
        ended: (reason) => {
          currentReign = null;
          if (machine.hasChild) opts.log(`leadership of ${opts.election} ended here (${reason})`);
          step({ kind: 'not-leading', nowMs: now() });
        },
      }).catch((err: unknown) => {
        opts.log(`cannot campaign in ${opts.election} at ${conclave.address}: ${(err as Error).message}`);
        step({ kind: 'signal', signal: 'SIGTERM', nowMs: now() });
        return 1;
      })
    : conclave
    .lead(
      {
        onStartedLeading: (_signal, _token, leadership) => step({ kind: 'leading', leadership, nowMs: now() }),
        onStoppedLeading: (reason) => {
          if (machine.hasChild) opts.log(`leadership ended here (${reason})`);
          step({ kind: 'not-leading', nowMs: now() });
        },
      },
      { signal: stopFollowing.signal },
    )
    .catch((err: unknown) => {
      // A refused token or another server at the address: no retry helps. Stop the child, then exit 1.
      opts.log(`cannot follow the daemon at ${conclave.address}: ${(err as Error).message}`);
      step({ kind: 'signal', signal: 'SIGTERM', nowMs: now() });
      return 1;
    });

  const code = await finished;
  stopFollowing.abort();
  if (timer) clearTimeout(timer);
  for (const [signal, handler] of handlers) process.off(signal, handler);
  const failed = await following;
  return typeof failed === 'number' && code === 0 ? failed : code;
}

/**
 * `--election NAME`: campaigns, reports each reign, and campaigns again when one ends, until
 * `signal` aborts. A reign's term is its token (a named election has no other). A refusal no
 * retry cures (not-raft, a refused token) rejects.
 */
async function followElection(
  conclave: Conclave,
  name: string,
  opts: Pick<RunnerOptions, 'ttlMs' | 'value' | 'log'>,
  signal: AbortSignal,
  on: { leading: (leadership: Leadership, reign: ElectionLeadership) => void; ended: (reason: StopReason) => void },
): Promise<void> {
  let node: NodeRef | null = null;
  /** The last failure told, so that an outage is told once, not at every try. */
  let told: string | null = null;
  for (let attempt = 0; !signal.aborted; ) {
    try {
      if (node === null) {
        const status = await conclave.status();
        node = { id: status.id, name: status.name };
      }
      const self = node;
      const reign = await conclave.campaign(name, { value: opts.value ?? self.name, ...(opts.ttlMs !== undefined ? { ttlMs: opts.ttlMs } : {}), signal });
      attempt = 0;
      told = null;
      on.leading({ fencingToken: reign.fencingToken, term: reign.fencingToken, leader: self, node: self, election: name }, reign);
      await new Promise<void>((resolve) => {
        if (reign.signal.aborted) resolve();
        reign.signal.addEventListener('abort', () => resolve(), { once: true });
      });
      on.ended(reign.signal.reason instanceof LeadershipLostError ? reign.signal.reason.reason : 'lost');
    } catch (err) {
      if (signal.aborted) return;
      // A lost session (campaign again with a new one), no daemon for now, or a 503: retried.
      if (!isTransient(err) && !(err instanceof SessionEndedError) && !(err instanceof ApiError && err.status === 503)) throw err;
      if ((err as Error).message !== told) opts.log(`campaign in ${name}: ${(err as Error).message}; trying again until it answers`);
      told = (err as Error).message;
      await sleep(reconnectDelayMs(attempt++), signal).catch(() => undefined);
    }
  }
}
