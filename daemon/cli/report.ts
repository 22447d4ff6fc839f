/**
 * Reporting and leadership commands: `status`, `members [--watch]`, `leader [--wait]`,
 * `transfer [NODE]`, `resign`, `elect`. Each talks to one daemon's control API (`--api`,
 * `$CONCLAVE_API`, default 127.0.0.1:7400). Exit codes: 0 ok, 1 runtime failure (the error
 * names the address tried), 2 usage.
 */
import { Command, InvalidArgumentError, Option } from 'commander';
import { resolveApiAddress } from '../api/address.js';
import { createApiClient, type ApiClient } from '../api/client.js';
import type { LeaderResponse } from '../api/types.js';
import { formatLeader, formatMembers, formatStatus } from './format.js';

/** Where the commands write, and what stops a `--watch` loop; tests pass their own. */
export interface ReportIo {
  out(text: string): void;
  err(text: string): void;
  /** True when `out` is a terminal: `--watch` then redraws in place. */
  isTty: boolean;
  /** Ends `--watch` and `--wait` loops; by default the first Ctrl-C (SIGINT) ends `--watch`. */
  interrupt?: AbortSignal;
}

interface ApiFlags {
  api?: string;
  token?: string;
  json?: boolean;
}

/** `leader --wait-ms` ran out before any leader was known. */
export class NoLeaderError extends Error {
  override readonly name = 'NoLeaderError';
  readonly exitCode = 1;
}

const DEFAULT_INTERVAL_MS = 1000;
/** One long-poll's wait: bounds the delay when a leader appears without a fencing-token change. */
const LEADER_POLL_CHUNK_MS = 2000;
const UNREACHABLE_RETRY_MS = 250;
const CLEAR_SCREEN = '\x1b[H\x1b[2J';

export function registerReportCommands(program: Command, io: ReportIo = processIo()): void {
  apiCommand(program, 'status', 'summary of this node: role, leader, term, fencing token, member counts').action(async (flags: ApiFlags) => {
    const status = await client(flags).status();
    io.out(flags.json ? json(status) : `${formatStatus(status)}\n`);
  });

  apiCommand(program, 'members', 'table of every member this node knows, with state, role and leader it follows')
    .option('--watch', 'redraw until Ctrl-C; keeps retrying while the daemon is unreachable')
    .option('--interval-ms <ms>', 'redraw interval for --watch', integerArg(50), DEFAULT_INTERVAL_MS)
    .action(async (flags: ApiFlags & { watch?: boolean; intervalMs: number }) => {
      const api = client(flags);
      if (flags.watch) {
        await watchMembers(api, flags.intervalMs, flags.json === true, io);
        return;
      }
      const { members } = await api.members();
      io.out(flags.json ? json({ members }) : `${formatMembers(members)}\n`);
    });

  apiCommand(program, 'leader', 'the leader this node follows, its term and fencing token')
    .option('--wait', 'block until a leader exists')
    .option('--wait-ms <ms>', 'with --wait: give up after this long (exit 1); implies --wait', integerArg(0))
    .action(async (flags: ApiFlags & { wait?: boolean; waitMs?: number }) => {
      const api = client(flags);
      const wait = flags.wait === true || flags.waitMs !== undefined;
      const leader = wait ? await waitForLeader(api, flags.waitMs ?? null, io) : await api.leader();
      io.out(flags.json ? json(leader) : `${formatLeader(leader)}\n`);
    });

  apiCommand(program, 'transfer', 'ask the leader to hand leadership to NODE (id or name), or to the best other node')
    .argument('[node]', 'node id or name')
    .action(async (node: string | undefined, flags: ApiFlags) => {
      printCommandResult(await client(flags).transfer(node), flags, io);
    });

  apiCommand(program, 'resign', 'ask this node to step down if it leads').action(async (flags: ApiFlags) => {
    printCommandResult(await client(flags).resign(), flags, io);
  });

  apiCommand(program, 'elect', 'ask this node to start an election now').action(async (flags: ApiFlags) => {
    printCommandResult(await client(flags).elect(), flags, io);
  });
}

function apiCommand(program: Command, name: string, description: string): Command {
  return program
    .command(name)
    .description(description)
    .addOption(new Option('--api <addr>', 'daemon API address: HOST:PORT or unix:PATH (default 127.0.0.1:7400)').env('CONCLAVE_API'))
    .addOption(new Option('--token <token>', 'API bearer token (needed on TCP when the daemon sets api.token)').env('CONCLAVE_API_TOKEN'))
    .option('--json', 'print the API reply as JSON');
}

function client(flags: ApiFlags): ApiClient {
  return createApiClient({ address: resolveApiAddress(flags.api), token: flags.token ?? null });
}

function json(value: unknown): string {
  return `${JSON.stringify(value, null, 2)}\n`;
}

function printCommandResult(result: { ok: true; detail: string }, flags: ApiFlags, io: ReportIo): void {
  io.out(flags.json ? json(result) : `${result.detail}\n`);
}

function integerArg(min: number): (value: string) => number {
  return (value) => {
    if (!/^\d+$/.test(value) || Number(value) < min) throw new InvalidArgumentError(`expected an integer of at least ${min}`);
    return Number(value);
  };
}

function isUnreachable(err: unknown): boolean {
  return (err as Error | null)?.name === 'ApiUnreachableError';
}

async function watchMembers(api: ApiClient, intervalMs: number, asJson: boolean, io: ReportIo): Promise<void> {
  const { signal, release } = interruption(io);
  try {
    while (!signal.aborted) {
      let body: string;
      try {
        const { members } = await api.members();
        body = asJson ? JSON.stringify({ at: new Date().toISOString(), members }) : formatMembers(members);
      } catch (err) {
        if (!isUnreachable(err)) throw err;
        const line = `disconnected, retrying… (${(err as Error).message})`;
        body = asJson ? JSON.stringify({ at: new Date().toISOString(), error: { code: 'unreachable', message: line } }) : line;
      }
      if (signal.aborted) break;
      if (asJson) io.out(`${body}\n`);
      else io.out(`${io.isTty ? CLEAR_SCREEN : '\n'}members via ${api.address} at ${new Date().toLocaleTimeString()}\n\n${body}\n`);
      await sleep(intervalMs, signal);
    }
  } finally {
    release();
  }
}

/**
 * Long-polls /v1/leader until a leader is known. A daemon still starting (unreachable) is
 * retried, so `conclave start & conclave leader --wait` works in scripts.
 */
async function waitForLeader(api: ApiClient, waitMs: number | null, io: ReportIo): Promise<LeaderResponse> {
  const deadlineMs = waitMs === null ? Number.POSITIVE_INFINITY : Date.now() + waitMs;
  let last: LeaderResponse | null = null;
  let noticed = false;
  for (;;) {
    if (io.interrupt?.aborted) throw new NoLeaderError('interrupted while waiting for a leader');
    const remainingMs = Math.max(0, deadlineMs - Date.now());
    try {
      last = last === null ? await api.leader() : await api.leader({ waitMs: Math.min(remainingMs, LEADER_POLL_CHUNK_MS), after: last.fencingToken });
      if (last.leader !== null) return last;
    } catch (err) {
      if (!isUnreachable(err) || Date.now() >= deadlineMs) throw err;
      if (!noticed) io.err(`conclave: waiting for the daemon at ${api.address}…\n`);
      noticed = true;
      last = null;
      await sleep(Math.min(remainingMs, UNREACHABLE_RETRY_MS), io.interrupt);
    }
    if (Date.now() >= deadlineMs) {
      throw new NoLeaderError(`no leader within ${waitMs} ms${last ? ` (term ${last.term})` : ''} at ${api.address}`);
    }
  }
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) {
      resolve();
      return;
    }
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}

/** The signal that ends a watch: the caller's, or Ctrl-C (a clean exit 0 instead of a kill). */
function interruption(io: ReportIo): { signal: AbortSignal; release: () => void } {
  if (io.interrupt) return { signal: io.interrupt, release: () => undefined };
  const controller = new AbortController();
  const onSigint = () => controller.abort();
  process.once('SIGINT', onSigint);
  return { signal: controller.signal, release: () => process.off('SIGINT', onSigint) };
}

function processIo(): ReportIo {
  return {
    out: (text) => process.stdout.write(text),
    err: (text) => process.stderr.write(text),
    isTty: process.stdout.isTTY === true,
  };
}
