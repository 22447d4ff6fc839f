/**
 * `conclave status`, `leader` and `is-leader` in their plain forms — what scripts, health checks
 * and systemd's ExecCondition= run, often many times a minute — answered without loading
 * commander (about 14 ms of a process that should take well under 100 ms). Their output,
 * exit codes and errors are report-actions.ts's, the same as through commander.
 *
 * Only `--api ADDR`, `--token TOKEN` (both also `--flag=value`, and from $CONCLAVE_API and
 * $CONCLAVE_API_TOKEN) and `--json` are taken here; any other argument, `--help` included,
 * means "not quick": the full program parses the command line, and reports usage errors.
 */
import { processIo, reportFailure, reportIsLeader, reportLeader, reportStatus, type ApiFlags, type ReportIo } from './report-actions.js';

const QUICK: Readonly<Partial<Record<string, (flags: ApiFlags, io: ReportIo) => Promise<void>>>> = {
  status: reportStatus,
  leader: reportLeader,
  'is-leader': reportIsLeader,
};

/** The flags of a quick command line, or null when the full program must parse it. */
export function quickFlags(args: readonly string[]): ApiFlags | null {
  const flags: ApiFlags = {};
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === '--json') {
      flags.json = true;
      continue;
    }
    const [name, inline] = arg.includes('=') ? [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)] : [arg, undefined];
    if (name !== '--api' && name !== '--token') return null;
    const value = inline ?? args[++i];
    // A missing or flag-like value is a usage question for commander.
    if (value === undefined || value === '' || value.startsWith('-')) return null;
    if (name === '--api') flags.api = value;
    else flags.token = value;
  }
  const { CONCLAVE_API: api, CONCLAVE_API_TOKEN: token } = process.env;
  if (flags.api === undefined && api) flags.api = api;
  if (flags.token === undefined && token) flags.token = token;
  return flags;
}

/** Runs argv's command here if it is a quick one; false when the full program must. */
export async function runQuick(argv: readonly string[], io: ReportIo = processIo()): Promise<boolean> {
  const command = QUICK[argv[2] ?? ''];
  const flags = command ? quickFlags(argv.slice(3)) : null;
  if (!command || !flags) return false;
  try {
    await command(flags, io);
  } catch (err) {
    reportFailure(err);
  }
  return true;
}
