/**
 * `conclave run`'s process plumbing around RunMachine (machine.ts): follows leadership with the
 * client library's `lead()`, spawns and signals the child, forwards SIGINT/SIGTERM/SIGHUP, keeps
 * one timer for the machine's next deadline, and resolves with the status `run` exits with.
 * Every decision is the machine's.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { Conclave } from '../../client/conclave.js';
import { RunMachine, type ForwardedSignal, type RunAction, type RunInput, type RunOptions } from './machine.js';

export interface RunnerOptions extends RunOptions {
  api: string;
  token: string | null;
  command: string;
  args: string[];
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
        opts.log(`${leadership.node.name} leads (term ${leadership.term}, fencing token ${leadership.fencingToken}): starting ${opts.command}`);
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
        conclave.resign().catch((err: unknown) => opts.log(`resign failed: ${(err as Error).message}`));
        break;
      case 'exit':
        finish(action.code);
        break;
    }
  };

  const onSignal = (signal: ForwardedSignal) => step({ kind: 'signal', signal, nowMs: now() });
  const handlers = FORWARDED.map((signal) => [signal, () => onSignal(signal)] as const);
  for (const [signal, handler] of handlers) process.on(signal, handler);

  const following = conclave
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
