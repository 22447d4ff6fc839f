/**
 * `conclave start`: build the effective config from `--config`, `CONCLAVE_*` and these flags,
 * then run the daemon until it is stopped. `config print` shares the flags.
 */
import { Command, Option } from 'commander';
import { setFlagsFromString } from 'node:v8';
import { MEMBERSHIP_PRESET_NAMES } from '../../protocols/membership/presets.js';
import { PROTOCOL_NAMES } from '../../protocols/types.js';
import { loadConfig, type FlagOverrides } from '../config/load.js';
import { LOG_FORMATS, LOG_LEVELS } from '../config/schema.js';
import { dashboardOpener } from './dashboard.js';

const collect = (value: string, previous: string[] = []): string[] => [...previous, value];

/** The flags that set config fields, shared by `start` and `config print`. */
export function addConfigFlags(command: Command): Command {
  return command
    .option('--config <file>', 'config file (YAML or JSON); default: $CONCLAVE_CONFIG')
    .option('--cluster <name>', 'cluster name (scopes discovery and gossip)')
    .option('--bootstrap-expect <n>', 'no node leads before the cluster was seen with this many members (1: a single node)')
    .option('--name <name>', 'node name (default: host name)')
    .option('--priority <n>', 'Bully rank: higher wins (integer)')
    .addOption(new Option('--protocol <protocol>', 'election protocol').choices(PROTOCOL_NAMES))
    .option('--data-dir <dir>', 'identity, lock and durable state')
    .option('--listen <multiaddr>', 'libp2p listen address (repeatable)', collect)
    .option('--api <host:port>', 'control API TCP address')
    .option('--bootstrap <multiaddr>', 'peer to dial at start (repeatable)', collect)
    .option('--no-mdns', 'turn mDNS discovery off')
    .addOption(new Option('--log-level <level>', 'log level').choices(LOG_LEVELS))
    .addOption(new Option('--log-format <format>', 'log format').choices(LOG_FORMATS))
    .addOption(new Option('--preset <name>', 'membership timing preset').choices(MEMBERSHIP_PRESET_NAMES));
}

/** The config file and flag layer from a command that has addConfigFlags' options. */
export function readConfigFlags(command: Command): { file: string | undefined; flags: FlagOverrides } {
  const given = (name: string): unknown => (command.getOptionValueSource(name) === 'cli' ? command.getOptionValue(name) : undefined);
  return {
    file: given('config') as string | undefined,
    flags: {
      cluster: given('cluster') as string | undefined,
      bootstrapExpect: given('bootstrapExpect') as string | undefined,
      name: given('name') as string | undefined,
      priority: given('priority') as string | undefined,
      protocol: given('protocol') as string | undefined,
      dataDir: given('dataDir') as string | undefined,
      listen: given('listen') as string[] | undefined,
      api: given('api') as string | undefined,
      bootstrap: given('bootstrap') as string[] | undefined,
      // commander defaults a lone --no-x to true; only an explicit --no-mdns overrides file and env.
      mdns: given('mdns') as boolean | undefined,
      logLevel: given('logLevel') as string | undefined,
      logFormat: given('logFormat') as string | undefined,
      preset: given('preset') as string | undefined,
    },
  };
}

/**
 * daemon.ts, with the code a take-over runs compiled as it loads (../eager.ts): V8 compiles every
 * function of the modules that load while that one does (what `start` loaded before, such as the
 * config's, is not compiled again), then lazily again for the rest of the daemon.
 *
 * That code runs only when this node comes to lead, perhaps hours later, and V8 drops the bytecode
 * of a function not run in six of its major collections (an idle daemon makes one every minute or
 * two): it would be compiled again then, inside the hand-off. So once the daemon's modules are in,
 * V8 keeps all bytecode (idle RSS within a megabyte, README "Footprint"). Not as a flag on
 * bin/conclave's command line: V8 refuses the bytecode Node caches for its own modules when a
 * flag it checks differs from Node's build, and compiling them instead took 30 ms of every
 * start; the modules Node loads after this point are few.
 *
 * From then on V8 also skips its baseline tier (Sparkplug): a function it has run a few times is
 * no longer compiled to baseline code on its helper thread, and runs in the interpreter until it
 * is hot enough for Maglev. A hand-off runs dozens of functions a node has not run before, or not
 * often (traced: 50-60 queued for baseline compiling at each node in its 20 ms), and that
 * compiling took cores the hand-off needed (2 ms of the five daemons' CPU, perf). Alternated runs
 * of 12 SIGTERM hand-offs, 22 rounds each way: 0.7 ms less per hand-off on average (16 of 22
 * rounds ahead); idle CPU level, RSS 1.7 MB less, spawn → API unchanged (README "Raft › Hand-off").
 */
async function loadDaemon(): Promise<typeof import('../daemon.js')> {
  setFlagsFromString('--no-lazy');
  try {
    await import('../eager.js');
  } finally {
    setFlagsFromString('--lazy');
  }
  const daemon = await import('../daemon.js');
  setFlagsFromString('--no-flush-bytecode');
  setFlagsFromString('--no-sparkplug');
  return daemon;
}

export function registerStartCommand(program: Command): void {
  addConfigFlags(program.command('start').description('run a daemon in the foreground until SIGINT/SIGTERM'))
    .option('--tui', 'show the dashboard in this terminal while the daemon runs')
    .option(
      '--reset-election-state',
      'for this start only: accept a data dir whose election state is missing (or whose peer.key is), starting from empty ' +
        "election state; the fencing token restarts and the node learns the cluster's epoch from its peers",
    )
    .action(async (opts: { tui?: boolean; resetElectionState?: boolean }, command: Command) => {
      const { file, flags } = readConfigFlags(command);
      // A reload reads the same file with the same flags over it, relative to the same directory.
      const sources = { file, flags, cwd: process.cwd() };
      const config = loadConfig(sources);
      // Loaded here, not at the top: config and report commands need none of libp2p or blessed.
      const dashboard = opts.tui === true ? await dashboardOpener() : undefined;
      const { runDaemon } = await loadDaemon();
      const code = await runDaemon(config, { dashboard, resetElectionState: opts.resetElectionState === true, loadConfig: () => loadConfig(sources) });
      // The daemon has handed off, left, closed and flushed its log: libp2p's leftover timers
      // must not hold the exit (the documented bound is 2 s after SIGTERM).
      process.exit(code);
    });
}
