/**
 * Reporting and leadership commands: `status`, `members [--watch]`, `leader [--wait|--watch]`, `is-leader`, `raft`,
 * `transfer [NODE]`, `resign`, `elect`, `forget NODE`, `leave [--force]`, `reload`. Each talks to one daemon's control API (`--api`,
 * `$CONCLAVE_API`, default 127.0.0.1:7400). Exit codes: 0 ok, 1 runtime failure (the error
 * names the address tried) and `leader` when no leader is known, 2 usage and a config `reload` refused. Under `--json` a
 * failure is `{"error":{"code","message"}}` on stdout, so `conclave status --json | jq` sees it.
 */
import { Command, InvalidArgumentError, Option } from 'commander';
import { resolveApiAddress } from '../api/address.js';
import type { ApiClient } from '../api/client.js';
import type { LeaderResponse, LeaveResponse, MemberResponse, StatusResponse } from '../api/types.js';
import { PROTOCOL_NAMES, type ProtocolName } from '../../protocols/types.js';
import { formatLeaderChange, formatMembers, formatRaft, formatReload, votesOf } from './format.js';
import { sleep } from '../../client/follow.js';
import { client, interruption, json, printLeader, processIo, reportIsLeader, reporting, reportStatus, type ApiFlags, type ReportIo } from './report-actions.js';

export type { ReportIo } from './report-actions.js';

/** `leader --wait-ms` ran out before any leader was known. */
export class NoLeaderError extends Error {
  override readonly name = 'NoLeaderError';
  readonly exitCode = 1;
}

const DEFAULT_INTERVAL_MS = 1000;
/** `leave`: a graceful stop takes at most about 2 s (hand-off, leave announcement, close). */
const DEFAULT_STOP_WAIT_MS = 10_000;
const STOP_POLL_MS = 100;
/**
 * One long-poll's wait: bounds how late an interrupt is seen, and, from a daemon older than
 * `revision`, how late a leader that appears without a fencing-token change is seen.
 */
const LEADER_POLL_CHUNK_MS = 2000;
const UNREACHABLE_RETRY_MS = 250;
const CLEAR_SCREEN = '\x1b[H\x1b[2J';

export function registerReportCommands(program: Command, io: ReportIo = processIo()): void {
  apiCommand(program, 'status', 'summary of this node: role, term, lease, leader, fencing token, member counts, bootstrap')
    .action((flags: ApiFlags) => reportStatus(flags, io));

  apiCommand(program, 'members', 'table of every member this node knows, with state, role and leader it follows')
    .option('--watch', 'redraw until Ctrl-C; keeps retrying while the daemon is unreachable')
    .option('--interval-ms <ms>', 'redraw interval for --watch', integerArg(50), DEFAULT_INTERVAL_MS)
    .action((flags: ApiFlags & { watch?: boolean; intervalMs: number }) => reporting(flags, io, async () => {
      const api = client(flags);
      if (flags.watch) {
        await watchMembers(api, flags.intervalMs, flags.json === true, io);
        return;
      }
      const { members, votes } = await membersWithVotes(api);
      io.out(flags.json ? json({ members: withVotes(members, votes) }) : `${formatMembers(members, votes)}\n`);
    }));

  apiCommand(program, 'leader', 'the leader this node follows, its term and fencing token; exits 1 when it knows none')
    .option('--wait', 'block until a leader exists')
    .option('--wait-ms <ms>', 'with --wait: give up after this long (exit 1); implies --wait', integerArg(0))
    .option('--watch', 'print one line per leader change until Ctrl-C (with --json: one JSON object per line)')
    .addHelpText('after', '\nExit status: 0 when a leader is known; 1 when none is (the reply, e.g. `no leader (term 4)`,\n' +
      'is still printed), when --wait-ms runs out, or when the daemon cannot be reached.')
    .action((flags: ApiFlags & { wait?: boolean; waitMs?: number; watch?: boolean }) => reporting(flags, io, async () => {
      if (flags.watch) {
        await watchLeader(flags, io);
        return;
      }
      const wait = flags.wait === true || flags.waitMs !== undefined;
      printLeader(wait ? await waitForLeader(client(flags), flags.waitMs ?? null, io) : await client(flags).leader(), flags, io);
    }));

  apiCommand(program, 'is-leader', 'exit 0 if this node leads, 1 if it does not or the daemon cannot be reached (for ExecCondition=)')
    .addHelpText('after', '\nExit status: 0 this node leads; 1 it does not (stdout says who does), or the daemon cannot be\n' +
      'reached (stderr says so); 2 usage. Usable as systemd\'s ExecCondition=.')
    .action((flags: ApiFlags) => reportIsLeader(flags, io));

  apiCommand(program, 'raft', 'the raft log and configuration; on the leader, each member\'s replication progress')
    .addHelpText('after', '\nOnly the leader tracks progress: on a follower this names the leader to ask. Exits 1 under bully.')
    .action((flags: ApiFlags) => reporting(flags, io, async () => {
      const raft = await client(flags).raft();
      io.out(flags.json ? json(raft) : `${formatRaft(raft)}\n`);
    }));

  apiCommand(program, 'leave', 'leave the cluster for good: remove this node from the raft configuration, then stop the daemon')
    .option('--force', 'stop even when the removal fails (no leader, timeout)')
    .option('--wait-ms <ms>', 'how long to wait for the daemon to stop once asked', integerArg(0), DEFAULT_STOP_WAIT_MS)
    .addHelpText('after', '\nUnder bully there is no configuration: the daemon only stops, and its graceful stop announces the leave.\n' +
      'When the removal fails the daemon keeps running and this exits 1, unless --force.')
    .action((flags: ApiFlags & { force?: boolean; waitMs: number }) => reporting(flags, io, async () => {
      await leave(client(flags), flags.force === true, flags.waitMs, flags.json === true, io);
    }));

  apiCommand(program, 'reload', 'have the daemon re-read its config file and apply what can change live (as SIGHUP does)')
    .addHelpText('after', '\nThe daemon reads the file, environment and flags it started with (flags still win over the file).\n' +
      'Live: log.level, hooks.*, membership timings (and protocol, through a cluster switch); every other changed\n' +
      'field is listed as needing a restart. Exit status: 0 reloaded; 2 the config is invalid (each problem listed by\n' +
      'field path; the daemon keeps running its previous config); 1 the daemon cannot be reached.')
    .action((flags: ApiFlags) => reporting(flags, io, async () => {
      const reply = await client(flags).reload();
      io.out(flags.json ? json(reply) : `${formatReload(reply)}\n`);
    }));

  apiCommand(program, 'transfer', 'ask the leader to hand leadership to NODE (id or name), or to the best other node')
    .argument('[node]', 'node id or name')
    .action((node: string | undefined, flags: ApiFlags) => reporting(flags, io, async () => {
      printCommandResult(await client(flags).transfer(node), flags, io);
    }));

  apiCommand(program, 'resign', 'ask the leader to step down (asked of a follower, it is relayed to the leader)').action((flags: ApiFlags) => reporting(flags, io, async () => {
    printCommandResult(await client(flags).resign(), flags, io);
  }));

  apiCommand(program, 'elect', 'bully: make the highest-ranked live member lead; raft: make this node lead (a hand-off from the leader, or an election now)').action((flags: ApiFlags) => reporting(flags, io, async () => {
    printCommandResult(await client(flags).elect(), flags, io);
  }));

  const protocol = program.command('protocol').description('the election protocol the cluster runs, and switching it live');
  apiCommand(protocol, 'switch', 'order the whole cluster to run PROTOCOL (bully or raft): the leader switches every member at once')
    .argument('<protocol>', `one of ${PROTOCOL_NAMES.join(', ')}`, (value: string) => {
      if (!PROTOCOL_NAMES.some((p) => p === value)) throw new InvalidArgumentError(`expected one of ${PROTOCOL_NAMES.join(', ')}`);
      return value as ProtocolName;
    })
    .addHelpText('after', '\nAsked of any node: the leader announces the switch, waits until most members acknowledge it, and\n' +
      'every member changes together; fencing tokens continue above the old protocol\'s. Answers once this\n' +
      'node runs PROTOCOL; without a leader the order stands and is carried out once one is elected.')
    .action((name: ProtocolName, flags: ApiFlags) => reporting(flags, io, async () => {
      printCommandResult(await client(flags).switchProtocol(name), flags, io);
    }));

  apiCommand(program, 'forget', 'drop a dead or departed member from the cluster size for good (it counts again if it comes back)')
    .argument('<node>', 'node id or name')
    .addHelpText('after', '\nThe daemon asked tells every live member; each obeys only if it too sees NODE dead or gone.\n' +
      'A live member cannot be forgotten: stop it first (SIGTERM makes it leave by itself).')
    .action((node: string, flags: ApiFlags) => reporting(flags, io, async () => {
      printCommandResult(await client(flags).forget(node), flags, io);
    }));
}

/** A subcommand of `parent` with the flags every reporting command takes: --api, --token, --json. */
export function apiCommand(parent: Command, name: string, description: string): Command {
  return parent
    .command(name)
    .description(description)
    .addOption(new Option('--api <addr>', 'daemon API address: HOST:PORT or unix:PATH (default 127.0.0.1:7400)').env('CONCLAVE_API'))
    .addOption(new Option('--token <token>', 'API bearer token (needed on TCP when the daemon sets api.token)').env('CONCLAVE_API_TOKEN'))
    .option('--json', 'print the API reply as JSON, and a failure as {"error":{"code","message"}}, on stdout');
}

function printCommandResult(result: { ok: true; detail: string }, flags: ApiFlags, io: ReportIo): void {
  io.out(flags.json ? json(result) : `${result.detail}\n`);
}

/** Parses a flag's value as an integer of at least `min`; anything else is a usage error (exit 2). */
export function integerArg(min: number): (value: string) => number {
  return (value) => {
    if (!/^\d+$/.test(value) || Number(value) < min || !Number.isSafeInteger(Number(value))) throw new InvalidArgumentError(`expected an integer of at least ${min}`);
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
        const { members, votes } = await membersWithVotes(api);
        body = asJson ? JSON.stringify({ at: new Date().toISOString(), members: withVotes(members, votes) }) : formatMembers(members, votes);
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

/** The members, and under Raft who votes (from /v1/status). */
async function membersWithVotes(api: ApiClient): Promise<{ members: MemberResponse[]; votes: ReturnType<typeof votesOf> }> {
  const [status, { members }] = await Promise.all([api.status(), api.members()]);
  return { members, votes: votesOf(status) };
}

/** `--json` members under Raft gain `vote` (voter, learner, or null outside the configuration); under Bully they are the API's as is. */
function withVotes(members: MemberResponse[], votes: ReturnType<typeof votesOf>): (MemberResponse & { vote?: string | null })[] {
  return votes ? members.map((m) => ({ ...m, vote: votes.get(m.id) ?? null })) : members;
}

/**
 * `conclave leave`: says what it asks, asks, then waits until the daemon's API stops answering
 * (bounded by `waitMs`), so a script can rely on exit 0 meaning the daemon is gone.
 */
async function leave(api: ApiClient, force: boolean, waitMs: number, asJson: boolean, io: ReportIo): Promise<void> {
  const status: StatusResponse = await api.status();
  const progress = (text: string) => {
    if (!asJson) io.out(text);
  };
  progress(status.raft ? `removing ${status.name} from the raft configuration… ` : `${status.name} runs ${status.protocol}: no configuration to leave; `);
  let reply: LeaveResponse;
  try {
    reply = await api.leave({ force });
  } catch (err) {
    progress('failed\n');
    throw err;
  }
  progress(reply.removed ? 'done; stopping… ' : status.raft ? `not removed (${reply.detail}); stopping… ` : 'stopping (the graceful stop announces the leave)… ');
  const stopped = await waitUntilGone(api, waitMs);
  if (!stopped) {
    progress('still running\n');
    throw new Error(`the daemon at ${api.address} still answers ${waitMs} ms after it was asked to stop; see its log`);
  }
  progress('stopped\n');
  if (asJson) io.out(json({ ...reply, stopped: true }));
}

/** Polls /healthz until the daemon no longer answers; false when it still does after `waitMs`. */
async function waitUntilGone(api: ApiClient, waitMs: number): Promise<boolean> {
  const deadlineMs = Date.now() + waitMs;
  for (;;) {
    try {
      await api.healthz();
    } catch (err) {
      if (isUnreachable(err)) return true;
      // A daemon mid-stop may answer oddly (its listener closing): keep polling until the bound.
    }
    if (Date.now() >= deadlineMs) return false;
    await sleep(STOP_POLL_MS);
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
      last = last === null ? await api.leader() : await api.leader({ waitMs: Math.min(remainingMs, LEADER_POLL_CHUNK_MS), after: last.revision });
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

/**
 * `leader --watch`: one line per change of the leader this node names (or of its fencing
 * token), from the event stream. The first line is the leader at connection; after a reconnect
 * the fresh snapshot prints a line only when the leader changed meanwhile. Ends on Ctrl-C.
 */
async function watchLeader(flags: ApiFlags, io: ReportIo): Promise<void> {
  const { Conclave } = await import('../../client/conclave.js');
  const conclave = new Conclave({ api: resolveApiAddress(flags.api), token: flags.token ?? null });
  const { signal, release } = interruption(io);
  let last: string | null = null;
  let disconnected = false;
  const print = (leader: LeaderResponse['leader'], term: number, fencingToken: number) => {
    const key = `${leader?.id ?? '-'}/${fencingToken}`;
    if (key === last) return;
    last = key;
    const at = new Date().toISOString();
    io.out(flags.json ? `${JSON.stringify({ at, leader, term, fencingToken })}\n` : `${formatLeaderChange(at, leader, term, fencingToken)}\n`);
  };
  try {
    for await (const event of conclave.watch({ signal, types: ['leader-changed'] })) {
      if (event.type === 'snapshot') {
        disconnected = false;
        print(event.status.leader, event.status.term, event.status.fencingToken);
      } else if (event.type === 'leader-changed') {
        print(event.to, event.term, event.fencingToken);
      } else if (event.type === 'disconnected' && !disconnected) {
        disconnected = true;
        io.err(`conclave: ${event.reason}; reconnecting…\n`);
      }
    }
  } finally {
    release();
  }
}

