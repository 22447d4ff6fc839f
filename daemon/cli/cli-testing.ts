/** Test helpers for the CLI's commands run in-process, the way main.ts runs them. */
import { Command, CommanderError } from 'commander';
import { until as waitUntil } from '../../shared/testing.js';
import { exitCodeOf } from '../errors.js';
import type { ReportIo } from './report-actions.js';

export interface Run {
  code: number;
  out: string;
  err: string;
  error: Error | null;
}

/** What a command may read besides its arguments: stdin (kv put -, kv txn). */
type Io = ReportIo & { stdin: () => AsyncIterable<Uint8Array | string> };

/**
 * Runs `conclave <args>` with the commands `register` adds and `stdin` as standard input: usage
 * errors exit 2, others their exitCode, or the code the command set. `interrupt` stands for
 * Ctrl-C; `run` is filled in as the command goes, for a test that reads its output meanwhile.
 */
export async function runCli(
  register: (program: Command, io: Io) => void,
  args: string[],
  opts: { stdin?: (string | Uint8Array)[]; interrupt?: AbortSignal; run?: Run; onOut?: (text: string) => void } = {},
): Promise<Run> {
  const run = opts.run ?? { code: 0, out: '', err: '', error: null };
  const stdin = opts.stdin ?? [];
  const program = new Command('conclave').exitOverride().configureOutput({ writeOut: (s) => (run.err += s), writeErr: (s) => (run.err += s) });
  register(program, {
    out: (text) => {
      run.out += text;
      opts.onOut?.(text);
    },
    err: (text) => (run.err += text),
    isTty: false,
    setExitCode: (code) => (run.code = code),
    ...(opts.interrupt ? { interrupt: opts.interrupt } : {}),
    stdin: async function* () {
      yield* stdin;
    },
  });
  try {
    await program.parseAsync(args, { from: 'user' });
  } catch (err) {
    run.error = err as Error;
    run.code = err instanceof CommanderError ? 2 : exitCodeOf(err);
  }
  return run;
}

/** Resolves once `done()` holds (see shared/testing.ts); rejects naming `what` after 30 s. */
export function until(done: () => boolean, what: string | (() => string)): Promise<void> {
  return waitUntil(what, done);
}
