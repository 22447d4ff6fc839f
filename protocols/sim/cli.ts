#!/usr/bin/env node
/**
 * `npm run sim -- --seeds N` / `--seed S`: runs the deterministic simulator and prints one line
 * per seed; a violation prints the seed, the invariant, the trace and the exact replay command,
 * and the exit code is 1. The only part of protocols/sim that does I/O.
 */
import { Command, CommanderError, InvalidArgumentError } from 'commander';
import { runSeed, summaryLine } from './run.js';
import { SIM_PROTOCOLS } from './protocols.js';
import type { SimResult } from './types.js';

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

function replayCommand(seed: number, protocol: string): string {
  return `npm run sim -- --seed ${seed}${protocol === 'none' ? '' : ` --protocol ${protocol}`} --verbose`;
}

function report(result: SimResult): void {
  const v = result.violation!;
  const out = process.stdout;
  out.write(`\nVIOLATION of ${v.invariant} at ${v.nowMs} ms (seed ${v.seed}, protocol ${result.protocol})\n  ${v.message}\n`);
  out.write(`  faults and events before it:\n${v.notable.map((l) => `    ${l}`).join('\n')}\n`);
  out.write(`  last steps:\n${v.trace.map((l) => `    ${l}`).join('\n')}\n`);
  out.write(`  replay: ${replayCommand(v.seed, result.protocol)}\n\n`);
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
  const failed: number[] = [];
  let virtualMs = 0;
  seeds.forEach((seed, i) => {
    const progress = seeds.length > 1 ? `[${String(i + 1).padStart(width)}/${seeds.length}] ` : '';
    let result: SimResult;
    try {
      result = runSeed(seed, { protocol: opts.protocol, onTrace });
    } catch (err) {
      failed.push(seed);
      const name = err instanceof Error ? err.name : 'Error';
      process.stdout.write(`${progress}seed ${seed}: CRASHED ${name}: ${err instanceof Error ? err.message : String(err)}\n`);
      process.stdout.write(`  replay: ${replayCommand(seed, opts.protocol)}\n`);
      return;
    }
    virtualMs += result.stats.virtualMs;
    process.stdout.write(`${progress}${summaryLine(result)}\n`);
    if (result.violation) {
      failed.push(seed);
      report(result);
    }
  });
  const wallS = (performance.now() - startedMs) / 1000;
  process.stdout.write(
    `${seeds.length} seed(s), ${failed.length} failed, ${(virtualMs / 1000).toFixed(0)} virtual s in ${wallS.toFixed(1)} s` +
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
