/**
 * `conclave run [--api ADDR] [--grace-ms MS] [--restart never|on-failure|always]
 * [--resign-on-exit] -- CMD [ARGS…]`: runs CMD only while the daemon at --api leads (see
 * daemon/run/machine.ts for every rule). Loaded on the fast path with the reporting commands:
 * only commander and the client library.
 */
import { Command, InvalidArgumentError, Option } from 'commander';
import { resolveApiAddress } from '../api/address.js';
import { UsageError } from '../errors.js';
import { DEFAULT_RUN_OPTIONS, RESTART_POLICIES, type RestartPolicy } from '../run/machine.js';

interface RunFlags {
  api?: string;
  token?: string;
  graceMs: number;
  restart: RestartPolicy;
  resignOnExit?: boolean;
  quiet?: boolean;
  election?: string;
  ttlMs?: number;
  value?: string;
}

export function registerRunCommand(program: Command): void {
  program
    .command('run')
    .description('run CMD only while this node leads; stop it the moment leadership ends')
    .usage('[options] -- CMD [ARGS...]')
    .argument('<cmd>', 'the command to run')
    .argument('[args...]', 'its arguments')
    .addOption(new Option('--api <addr>', 'daemon API address: HOST:PORT or unix:PATH (default 127.0.0.1:7400)').env('CONCLAVE_API'))
    .addOption(new Option('--token <token>', 'API bearer token (needed on TCP when the daemon sets api.token)').env('CONCLAVE_API_TOKEN'))
    .option('--grace-ms <ms>', 'after SIGTERM, how long CMD has before SIGKILL', integerArg(0), DEFAULT_RUN_OPTIONS.graceMs)
    .addOption(new Option('--restart <policy>', 'when CMD exits by itself while leading: never (exit with its status), on-failure, always').choices(RESTART_POLICIES).default(DEFAULT_RUN_OPTIONS.restart))
    .option('--resign-on-exit', 'give up leadership when CMD exits by itself')
    .option('--election <name>', 'lead this named election (raft) instead of the node itself: run on one of many, per election')
    .option('--ttl-ms <ms>', 'with --election: the session time to live (default 10000)', integerArg(1000))
    .option('--value <text>', 'with --election: what observers read as this candidate (default: the node name)')
    .option('--quiet', 'do not report starts and stops on stderr')
    .addHelpText('after', [
      '',
      'CMD gets CONCLAVE_FENCING_TOKEN, CONCLAVE_TERM, CONCLAVE_LEADER_ID, CONCLAVE_LEADER_NAME and',
      'CONCLAVE_NODE_NAME. It is stopped (SIGTERM, then SIGKILL after --grace-ms) when this node stops',
      'leading, the term changes, or the daemon is silent past the lease it last reported; it starts',
      'again when this node next leads. SIGINT, SIGTERM and SIGHUP are forwarded to CMD.',
      'With --election NAME, run campaigns in the named election NAME instead (raft): CMD runs while this',
      'candidate leads it, with the election\'s fencing token (CONCLAVE_TERM is the same number) and',
      'CONCLAVE_ELECTION=NAME; it is stopped when the session ends or no keep-alive gets through within',
      '--ttl-ms, and run campaigns again.',
      'Exit status: CMD\'s own when it exits by itself under --restart never (or cleanly under',
      'on-failure), or when run is stopped by SIGINT/SIGTERM; 0 when stopped with no CMD running.',
    ].join('\n'))
    .action(async (cmd: string, args: string[], flags: RunFlags) => {
      // The runner (and the client library under it) loads only when `run` runs, not for `status`.
      if (flags.election === undefined && (flags.ttlMs !== undefined || flags.value !== undefined)) throw new UsageError('--ttl-ms and --value go with --election NAME');
      const { runWhileLeading } = await import('../run/runner.js');
      const code = await runWhileLeading({
        ...DEFAULT_RUN_OPTIONS,
        api: resolveApiAddress(flags.api),
        token: flags.token ?? null,
        command: cmd,
        args,
        graceMs: flags.graceMs,
        restart: flags.restart,
        resignOnExit: flags.resignOnExit === true,
        ...(flags.election !== undefined ? { election: flags.election } : {}),
        ...(flags.ttlMs !== undefined ? { ttlMs: flags.ttlMs } : {}),
        ...(flags.value !== undefined ? { value: flags.value } : {}),
        log: flags.quiet ? () => undefined : (line) => process.stderr.write(`conclave run: ${line}\n`),
      });
      process.exitCode = code;
    });
}

function integerArg(min: number): (value: string) => number {
  return (value) => {
    if (!/^\d+$/.test(value) || Number(value) < min) throw new InvalidArgumentError(`expected an integer of at least ${min}`);
    return Number(value);
  };
}
