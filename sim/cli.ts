#!/usr/bin/env node
/**
 * `npm run sim -- --seeds N` / `--seed S`: runs the deterministic simulator (protocols/sim) and
 * prints one line per seed; a violation prints the seed, the invariant, the trace and the exact
 * replay command, and the exit code is 1. A process, so it lives outside protocols/: the
 * simulator itself does no I/O.
 */
import { Command, CommanderError, InvalidArgumentError } from 'commander';
import { failureReport, runSwarm, SIM_PROTOCOLS, summaryLine } from '../protocols/sim/index.js';

const EXIT_VIOLATION = 1;
const EXIT_USAGE = 2;

function seedArg(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 0xffffffff) throw new InvalidArgumentError('expected an integer in 0..4294967295');
  return n;
}

function countArg(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('expected a positive integer');
  return n;
}

function protocolArg(value: string): string {
  if (!Object.hasOwn(SIM_PROTOCOLS, value)) throw new InvalidArgumentError(`expected one of: ${Object.keys(SIM_PROTOCOLS).join(', ')}`);
  return value;
}

interface CliOptions {
  seeds: number;
  seed?: number;
  start: number;
  protocol: string;
  verbose: boolean;
}

function main(argv: string[]): number {
  const program = new Command()
    .name('sim')
    .description('Deterministic simulation of a Conclave cluster: one seed, one run.')
    .option('--seeds <n>', 'how many seeds to run', countArg, 100)
    .option('--seed <s>', 'run exactly this seed', seedArg)
    .option('--start <s>', 'first seed of a --seeds run', seedArg, 1)
    .option('--protocol <name>', `election protocol (${Object.keys(SIM_PROTOCOLS).join('|')})`, protocolArg, 'none')
    .option('--verbose', 'print every trace line', false)
    .exitOverride()
    .configureOutput({ writeErr: () => {} });
  try {
    program.parse(argv, { from: 'user' });
  } catch (err) {
    if (err instanceof CommanderError && (err.code === 'commander.helpDisplayed' || err.code === 'commander.version')) return 0;
    const message = err instanceof Error ? err.message : String(err);
    process.stderr.write(`${message}\n\n${program.helpInformation()}`);
    return EXIT_USAGE;
  }
  const opts = program.opts<CliOptions>();
  const seeds = opts.seed !== undefined ? [opts.seed] : Array.from({ length: opts.seeds }, (_, i) => (opts.start + i) >>> 0);
  const onTrace = opts.verbose ? (line: string) => process.stdout.write(`  ${line}\n`) : undefined;
  const width = String(seeds.length).length;
  const startedMs = performance.now();
  const report = runSwarm({
    seeds,
    protocol: opts.protocol,
    onTrace,
    onSeed: (outcome, i) => {
      const progress = seeds.length > 1 ? `[${String(i + 1).padStart(width)}/${seeds.length}] ` : '';
      if (outcome.crash) {
        process.stdout.write(`${progress}${failureReport(outcome, opts.protocol)}`);
        return;
      }
      process.stdout.write(`${progress}${summaryLine(outcome.result)}\n`);
      if (outcome.result.violation) process.stdout.write(`\n${failureReport(outcome, opts.protocol)}\n`);
    },
  });
  const wallS = (performance.now() - startedMs) / 1000;
  const failed = report.failed.map((f) => f.seed);
  process.stdout.write(
    `${seeds.length} seed(s), ${failed.length} failed, ${(report.virtualMs / 1000).toFixed(0)} virtual s in ${wallS.toFixed(1)} s` +
      (failed.length > 0 ? `; failing seeds: ${failed.join(' ')}` : '') +
      '\n',
  );
  return failed.length > 0 ? EXIT_VIOLATION : 0;
}

// `npm run sim -- --verbose | head` closes the pipe early: that is the reader's choice, not an error.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw err;
});
process.exitCode = main(process.argv.slice(2));
