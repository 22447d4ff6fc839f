/**
 * The `conclave` command (started by main.ts, after quick.ts declined the command line). Usage
 * errors (unknown flags or commands, bad arguments) print usage and exit 2; other failures print
 * `conclave: <message>` and exit with the error's exitCode.
 *
 * Reporting commands, `kv` and `run` talk to a daemon's API only: for them nothing else is loaded
 * (no libp2p, blessed, zod config schema), so `conclave status` answers in tens of ms rather
 * than the ~0.6 s that loading the daemon's modules took; `start` loads only itself (and, when
 * it runs, the daemon). Any other command line, `--help` included, loads every command.
 */
import '../polyfill.js';
import { Command, CommanderError } from 'commander';
import { VERSION } from '../version.js';
import { reportFailure } from './report-actions.js';

const DEFAULT_API = '127.0.0.1:7400';
/**
 * Commands registered by report.ts, kv.ts, elections.ts and run.ts, and `tui`: they need only the
 * API client (and the dashboard, loaded by its action). `tui` loading start, init and config with
 * zod and yaml cost `npm start` some 80 ms of CPU while its five daemons were starting.
 */
const LIGHT_COMMANDS: ReadonlySet<string> = new Set([
  'status', 'members', 'leader', 'is-leader', 'raft', 'leave', 'reload', 'transfer', 'resign', 'elect', 'forget', 'kv', 'elections', 'run', 'protocol', 'tui',
]);

/** Only the light commands when argv names one, only `start` for start; every command otherwise (help lists them all). */
async function buildProgram(argv: string[]): Promise<Command> {
  const program = new Command('conclave')
    .description('peer-to-peer cluster daemon: gossip membership, Bully or Raft leader election')
    .version(VERSION)
    // Settings below are inherited by every subcommand registered after them.
    .exitOverride()
    .showHelpAfterError();
  const name = argv[2];
  if (name === 'start') {
    // A daemon's start-up is on the clock (`npm run bench -- startup`): not the modules of the
    // other commands, nor their registration.
    const { registerStartCommand } = await import('./start.js');
    registerStartCommand(program);
    return program;
  }
  const registerLight = await lightCommands();
  if (name !== undefined && LIGHT_COMMANDS.has(name)) {
    registerLight(program);
    return program;
  }
  const [{ registerInitCommand }, { registerStartCommand }, { registerConfigCommands }] = await Promise.all([
    import('./init.js'),
    import('./start.js'),
    import('./config-cmd.js'),
  ]);
  registerInitCommand(program);
  registerStartCommand(program);
  registerConfigCommands(program);
  registerLight(program);
  return program;
}

/** Loads the light commands' modules (LIGHT_COMMANDS); the result registers them, in help order. */
async function lightCommands(): Promise<(program: Command) => void> {
  const [report, kv, elections, run] = await Promise.all([import('./report.js'), import('./kv.js'), import('./elections.js'), import('./run.js')]);
  return (program) => {
    report.registerReportCommands(program);
    kv.registerKvCommands(program);
    elections.registerElectionCommands(program);
    run.registerRunCommand(program);
    registerTuiCommand(program);
  };
}

function registerTuiCommand(program: Command): void {
  program
    .command('tui')
    .description('live dashboard of one or more daemons')
    .option('--api <addr>', 'daemon API address, host:port or unix:PATH (repeatable; default $CONCLAVE_API or 127.0.0.1:7400)', (v: string, prev: string[] = []) => [...prev, v])
    .action(async (opts: { api?: string[] }) => {
      const fromEnv = process.env.CONCLAVE_API?.split(',').map((s) => s.trim()).filter(Boolean);
      const apis = opts.api ?? (fromEnv && fromEnv.length > 0 ? fromEnv : [DEFAULT_API]);
      const { loadTui } = await import('./dashboard.js');
      const tui = await loadTui();
      await tui.runTui({ apis, token: process.env.CONCLAVE_API_TOKEN || null });
    });
}

export async function main(argv: string[]): Promise<void> {
  try {
    await (await buildProgram(argv)).parseAsync(argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      // commander has already printed the error and usage (or the help or version asked for).
      const asked = err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.exitCode === 0;
      process.exitCode = asked ? 0 : 2;
      return;
    }
    reportFailure(err);
  }
}

