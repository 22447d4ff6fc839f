#!/usr/bin/env node
/**
 * `npm run sim -- --seeds N` / `--seed S`: runs the deterministic simulator (protocols/sim) and
 * prints one line per seed; a violation prints the seed, the invariant, the trace and the exact
 * replay command, and the exit code is 1. A process, so it lives outside protocols/: the
 * simulator itself does no I/O. Seeds run in `--jobs` worker threads (sim/worker.ts), each
 * through the same runSwarm, and print in seed order whatever order they finish in.
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { Command, CommanderError, InvalidArgumentError } from 'commander';
import { replayCommand, runSwarm, SIM_PROTOCOLS } from '../protocols/sim/index.js';
import { seedDone, type SeedDone, type SeedJob, type SimWorkerData } from './worker.js';

const EXIT_VIOLATION = 1;
const EXIT_USAGE = 2;
/** As a shell reports a process ended by SIGINT. */
const EXIT_INTERRUPTED = 130;

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
  jobs?: number;
  verbose: boolean;
}

/** Prints each seed once those before it are printed, and keeps the totals of what it printed. */
class SeedPrinter {
  private readonly early = new Map<number, SeedDone>();
  private nextIndex = 0;
  readonly failedSeeds: number[] = [];
  virtualMs = 0;

  constructor(private readonly total: number) {}

  get printed(): number {
    return this.nextIndex;
  }

  add(done: SeedDone): void {
    this.early.set(done.index, done);
    for (let next = this.early.get(this.nextIndex); next; next = this.early.get(this.nextIndex)) {
      this.early.delete(this.nextIndex);
      this.nextIndex++;
      const progress = this.total > 1 ? `[${String(this.nextIndex).padStart(String(this.total).length)}/${this.total}] ` : '';
      process.stdout.write(`${progress}${next.text}`);
      this.virtualMs += next.virtualMs;
      if (next.failed) this.failedSeeds.push(next.seed);
    }
  }
}

/**
 * Hands the seeds out one at a time to `jobs` workers (seeds take very different times) and
 * resolves once every seed is printed. Ctrl-C terminates the workers. A worker that dies (not a
 * seed that fails: runSwarm reports those) ends the run with the seed it was running.
 */
function runInWorkers(seeds: readonly number[], protocol: string, jobs: number, printer: SeedPrinter): Promise<number> {
  return new Promise((resolve) => {
    const running = new Map<Worker, SeedJob | null>();
    let nextIndex = 0;
    let settled = false;
    const finish = (code: number) => {
      if (settled) return;
      settled = true;
      process.off('SIGINT', interrupted);
      void Promise.all([...running.keys()].map((w) => w.terminate())).then(() => resolve(code));
    };
    const interrupted = () => {
      process.stderr.write(`interrupted after ${printer.printed} of ${seeds.length} seed(s)\n`);
      finish(EXIT_INTERRUPTED);
    };
    const handOut = (worker: Worker) => {
      if (nextIndex >= seeds.length) {
        running.set(worker, null);
        if (printer.printed === seeds.length) finish(printer.failedSeeds.length > 0 ? EXIT_VIOLATION : 0);
        return;
      }
      const job: SeedJob = { index: nextIndex, seed: seeds[nextIndex]! };
      nextIndex++;
      running.set(worker, job);
      worker.postMessage(job);
    };
    const lost = (worker: Worker, reason: string) => {
      const job = running.get(worker);
      if (settled || !job) return;
      process.stderr.write(`sim: the worker running seed ${job.seed} died (${reason})\n  replay: ${replayCommand(job.seed, protocol)}\n`);
      finish(EXIT_VIOLATION);
    };
    process.on('SIGINT', interrupted);
    const workerData: SimWorkerData = { protocol };
    for (let i = 0; i < jobs; i++) {
      const worker = new Worker(new URL('./worker.js', import.meta.url), { workerData });
      worker.on('message', (done: SeedDone) => {
        printer.add(done);
        handOut(worker);
      });
      worker.on('error', (err: unknown) => lost(worker, err instanceof Error ? err.message : String(err)));
      worker.on('exit', (code) => lost(worker, `exit code ${code}`));
      handOut(worker);
    }
  });
}

async function main(argv: string[]): Promise<number> {
  const program = new Command()
    .name('sim')
    .description('Deterministic simulation of a Conclave cluster: one seed, one run.')
    .option('--seeds <n>', 'how many seeds to run', countArg, 100)
    .option('--seed <s>', 'run exactly this seed', seedArg)
    .option('--start <s>', 'first seed of a --seeds run', seedArg, 1)
    .option('--protocol <name>', `election protocol (${Object.keys(SIM_PROTOCOLS).join('|')})`, protocolArg, 'none')
    .option('--jobs <n>', 'worker threads running seeds (default: one per CPU, at most one per seed)', countArg)
    .option('--verbose', 'print every trace line (runs in-process, one job)', false)
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
  // A replay and a traced run stay in this thread: the trace is printed as it happens.
  const jobs = opts.seed !== undefined || opts.verbose ? 1 : Math.min(opts.jobs ?? availableParallelism(), seeds.length);
  const printer = new SeedPrinter(seeds.length);
  const startedMs = performance.now();
  let code: number;
  if (jobs === 1) {
    const onTrace = opts.verbose ? (line: string) => process.stdout.write(`  ${line}\n`) : undefined;
    runSwarm({ seeds, protocol: opts.protocol, onTrace, onSeed: (outcome, i) => printer.add(seedDone(i, outcome, opts.protocol)) });
    code = printer.failedSeeds.length > 0 ? EXIT_VIOLATION : 0;
  } else {
    code = await runInWorkers(seeds, opts.protocol, jobs, printer);
  }
  const wallS = (performance.now() - startedMs) / 1000;
  const failed = printer.failedSeeds;
  const perS = printer.printed / Math.max(wallS, 0.001);
  process.stdout.write(
    `${printer.printed} seed(s), ${failed.length} failed, ${(printer.virtualMs / 1000).toFixed(0)} virtual s in ${wallS.toFixed(1)} s ` +
      `(${perS.toFixed(1)} seeds/s, ${jobs} job${jobs === 1 ? '' : 's'})` +
      (failed.length > 0 ? `; failing seeds: ${failed.join(' ')}` : '') +
      '\n',
  );
  return code;
}

// `npm run sim -- --verbose | head` closes the pipe early: that is the reader's choice, not an error.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw err;
});
process.exitCode = await main(process.argv.slice(2));
