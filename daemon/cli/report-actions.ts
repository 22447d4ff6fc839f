/**
 * The reporting commands scripts run most — `status`, `leader` and `is-leader` — and what every
 * reporting command shares: where output goes, the API client from the flags, and how a failure
 * is reported. Commander-free, so that quick.ts can answer these three without loading it
 * (report.ts registers them, and the rest, with commander).
 */
import { resolveApiAddress } from '../api/address.js';
import { createApiClient, type ApiClient } from '../api/client.js';
import { ApiError } from '../api/errors.js';
import type { LeaderResponse } from '../api/types.js';
import { exitCodeOf } from '../errors.js';
import { formatIsLeader, formatLeader, formatStatus } from './format.js';

/** Where the commands write, and what stops a `--watch` loop; tests pass their own. */
export interface ReportIo {
  out(text: string): void;
  err(text: string): void;
  /** True when `out` is a terminal: `--watch` then redraws in place. */
  isTty: boolean;
  /** Ends `--watch` and `--wait` loops; by default the first Ctrl-C (SIGINT) ends `--watch`. */
  interrupt?: AbortSignal;
  /** Sets the exit code of a failure already reported on `out` (nothing more is printed). */
  setExitCode(code: number): void;
}

/** The flags every reporting command takes (`--api` and `--token` also from the environment). */
export interface ApiFlags {
  api?: string;
  token?: string;
  json?: boolean;
}

/** `conclave leader` when the node knows no leader: scripts test for a leader with it. */
const NO_LEADER_EXIT_CODE = 1;
/** `conclave is-leader` when this node does not lead (an unreachable daemon is 1 as well, said on stderr). */
const NOT_LEADER_EXIT_CODE = 1;
/** The `code` of a `--json` failure the CLI detects itself; an ApiError (not-conclave-api included) carries its own. */
const ERROR_CODES: Readonly<Record<string, string>> = {
  ApiUnreachableError: 'unreachable',
  NoLeaderError: 'no-leader',
  UsageError: 'usage',
};

export function reportStatus(flags: ApiFlags, io: ReportIo): Promise<void> {
  return reporting(flags, io, async () => {
    const status = await client(flags).status();
    io.out(flags.json ? json(status) : `${formatStatus(status)}\n`);
  });
}

/** `conclave leader` without --wait or --watch. */
export function reportLeader(flags: ApiFlags, io: ReportIo): Promise<void> {
  return reporting(flags, io, async () => printLeader(await client(flags).leader(), flags, io));
}

export function printLeader(leader: LeaderResponse, flags: ApiFlags, io: ReportIo): void {
  io.out(flags.json ? json(leader) : `${formatLeader(leader)}\n`);
  // The reply itself says so; the exit code lets `conclave leader && …` test for a leader.
  if (leader.leader === null) io.setExitCode(NO_LEADER_EXIT_CODE);
}

export function reportIsLeader(flags: ApiFlags, io: ReportIo): Promise<void> {
  return reporting(flags, io, async () => {
    const status = await client(flags).status();
    const leads = status.role === 'leader';
    if (flags.json) io.out(json({ isLeader: leads, node: { id: status.id, name: status.name }, role: status.role, term: status.term, fencingToken: status.fencingToken, leaseRemainingMs: status.leaseRemainingMs ?? null, leader: status.leader }));
    else io.out(`${formatIsLeader(status)}\n`);
    if (!leads) io.setExitCode(NOT_LEADER_EXIT_CODE);
  });
}

/**
 * Runs one command's work. Under --json a failure becomes one line `{"error":{code,message}}`
 * (with `issues` beside it for a config a reload refused) on stdout and its exit code is set
 * here; without --json the error goes up to the caller, which prints `conclave: <message>` on
 * stderr (reportFailure).
 */
export async function reporting(flags: ApiFlags, io: ReportIo, run: () => Promise<void>): Promise<void> {
  try {
    await run();
  } catch (err) {
    if (flags.json !== true) throw err;
    const issues = (err as { issues?: unknown } | null)?.issues;
    io.out(`${JSON.stringify({ error: { code: errorCode(err), message: err instanceof Error ? err.message : String(err) }, ...(Array.isArray(issues) ? { issues } : {}) })}\n`);
    io.setExitCode(exitCodeOf(err));
  }
}

/** A command failed: `conclave: <message>` on stderr, and the error's exit code. */
export function reportFailure(err: unknown): void {
  process.stderr.write(`conclave: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = exitCodeOf(err);
}

function errorCode(err: unknown): string {
  const name = err instanceof Error ? err.name : '';
  return ERROR_CODES[name] ?? (err instanceof ApiError ? err.code : 'error');
}

export function client(flags: ApiFlags): ApiClient {
  return createApiClient({ address: resolveApiAddress(flags.api), token: flags.token ?? null });
}

export function json(value: unknown): string {
  return `${JSON.stringify(value, null, 2)}\n`;
}

export function processIo(): ReportIo {
  return {
    out: (text) => process.stdout.write(text),
    err: (text) => process.stderr.write(text),
    isTty: process.stdout.isTTY === true,
    setExitCode: (code) => {
      process.exitCode = code;
    },
  };
}

/**
 * The signal that ends a watch: the caller's, or SIGINT or SIGTERM, so that an interrupted watch
 * exits 0 with its output flushed instead of being killed; or stdout's reader going away
 * (`conclave kv watch p/ | head -1`), which would otherwise crash the process with EPIPE. Used by
 * every command that follows the daemon until stopped (`leader --watch`, `members --watch`, `kv watch`).
 */
export function interruption(io: ReportIo): { signal: AbortSignal; release: () => void } {
  if (io.interrupt) return { signal: io.interrupt, release: () => undefined };
  const controller = new AbortController();
  const stop = () => controller.abort();
  const onStdoutError = (err: NodeJS.ErrnoException) => {
    if (err.code !== 'EPIPE') throw err;
    stop();
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  process.stdout.on('error', onStdoutError);
  return {
    signal: controller.signal,
    release: () => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      process.stdout.off('error', onStdoutError);
    },
  };
}
