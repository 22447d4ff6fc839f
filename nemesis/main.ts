/**
 * `scripts/chaos.sh`: `run` starts a cluster on the namespace LAN, breaks it on a seeded
 * schedule for a while, records what every node said, and judges the history; `check DIR` judges
 * a recorded run again. Exit status: 0 when every check holds, 1 on violations or a failed run,
 * 2 on a usage error.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { PROTOCOL_NAMES } from '../protocols/types.js';
import { DEFAULT_CHECK_OPTIONS, formatReport, type CheckOptions } from './check.js';
import { ChaosInterruptedError, judge, runChaos } from './run.js';
import { FAULT_DESCRIPTIONS, FAULT_KINDS, parseDurationMs, parseFaultKinds } from './schedule.js';

const USAGE = `usage: scripts/chaos.sh run [--nodes N] [--protocol ${PROTOCOL_NAMES.join('|')}] [--config FILE]
                          [--duration 10m] [--seed S] [--faults ${FAULT_KINDS.join(',')}]
                          [--heal-bound 5s] [--out DIR]
       scripts/chaos.sh check DIR [--heal-bound 5s]

run    starts N daemons (default 5, bully) on a namespace LAN of scripts/cluster.sh (root and
       iproute2; iptables for loss), injects faults on a seeded schedule with quiet periods
       between them and a quiet tail, records every node's answers and events to
       DIR/history.jsonl (default chaos/<time>-<protocol>-seed<S>; a DIR that holds an
       earlier run is refused), checks the history and prints the summary. The seed is
       printed; the same seed gives the same schedule.
check  checks a recorded history again.

Faults:
${FAULT_KINDS.map((k) => `  ${k.padEnd(10)} ${FAULT_DESCRIPTIONS[k]}`).join('\n')}

Beside every daemon runs \`conclave run\` with a job that notes when it starts and stops.

Checks: two leaders at once, one term led by two nodes, a leader named for a term it never led,
fencing tokens going backwards (per node and from reign to reign), a leader on a partition's
minority side past its lease, no agreed leader within --heal-bound after a fault ends, a member
declared dead that no fault touched, two nodes' jobs alive at once, and a job started under an
older fencing token. Exit 0 when every check holds, 1 otherwise, 2 on a usage error.`;

function usageError(message: string): never {
  process.stderr.write(`chaos.sh: ${message}\n\n${USAGE}\n`);
  process.exit(2);
}

function duration(flag: string, text: string): number {
  const ms = parseDurationMs(text);
  if (ms === null || ms <= 0) usageError(`${flag} must be a duration such as 90s, 10m or 1h, not '${text}'`);
  return ms;
}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined || command === 'help' || command === '--help' || command === '-h') {
    process.stdout.write(`${USAGE}\n`);
    return command === undefined ? 2 : 0;
  }
  let parsed;
  try {
    parsed = parseArgs({
      args: rest,
      allowPositionals: command === 'check',
      options: {
        nodes: { type: 'string', default: '5' },
        protocol: { type: 'string', default: 'bully' },
        config: { type: 'string' },
        duration: { type: 'string', default: '10m' },
        seed: { type: 'string' },
        faults: { type: 'string', default: FAULT_KINDS.join(',') },
        'heal-bound': { type: 'string', default: `${DEFAULT_CHECK_OPTIONS.healBoundMs / 1000}s` },
        out: { type: 'string' },
      },
    });
  } catch (err) {
    usageError(err instanceof Error ? err.message : String(err));
  }
  const { values, positionals } = parsed;
  const check: CheckOptions = { ...DEFAULT_CHECK_OPTIONS, healBoundMs: duration('--heal-bound', values['heal-bound']!) };
  if (command === 'check') {
    if (positionals.length !== 1) usageError('check needs the directory of one run');
    const dir = resolve(positionals[0]!);
    if (!existsSync(join(dir, 'history.jsonl'))) usageError(`${dir} holds no history.jsonl`);
    const report = judge(dir, check);
    process.stdout.write(`${formatReport(report)}\nreport: ${join(dir, 'report.html')}\n`);
    return report.ok ? 0 : 1;
  }
  if (command !== 'run') usageError(`unknown command '${command}'`);
  const nodes = Number(values.nodes);
  if (!Number.isInteger(nodes) || nodes < 1 || nodes > 99) usageError(`--nodes must be 1 to 99, not '${values.nodes}'`);
  if (!(PROTOCOL_NAMES as readonly string[]).includes(values.protocol!)) usageError(`--protocol must be one of ${PROTOCOL_NAMES.join(', ')}, not '${values.protocol}'`);
  const kinds = parseFaultKinds(values.faults!);
  if ('error' in kinds) usageError(`--faults: ${kinds.error}`);
  const seed = values.seed === undefined ? Math.floor(Math.random() * 2 ** 31) : Number(values.seed);
  if (!Number.isInteger(seed) || seed < 0) usageError(`--seed must be a non-negative integer, not '${values.seed}'`);
  if (values.config !== undefined && !existsSync(values.config)) usageError(`--config: ${values.config} does not exist`);
  // Every flag is judged before what the machine lacks (root, ip, iptables): a bad command line is exit 2 anywhere.
  const durationMs = duration('--duration', values.duration!);
  const stamp = new Date().toISOString().replace(/[-:]/g, '').replace(/\..*$/, '').replace('T', '-');
  const outDir = resolve(values.out ?? join('chaos', `${stamp}-${values.protocol}-seed${seed}`));
  // A run owns its directory: written into an earlier run's, it would replace that history and
  // fail to move its daemons' logs there, and the earlier run's job children read as its own.
  if (existsSync(join(outDir, 'history.jsonl'))) usageError(`--out: ${outDir} holds an earlier run (history.jsonl); give another directory, or remove that one first`);
  if (process.getuid?.() !== 0 || spawnSync('ip', ['netns', 'list']).status !== 0) {
    process.stderr.write('chaos.sh: a run needs root and iproute2 (`ip`) for the namespace LAN that partitions and packet loss act on\n');
    return 1;
  }
  // Found only when the first such fault comes, seconds into the run, it would end it there.
  const lossKinds: readonly string[] = kinds.kinds.filter((k) => k === 'loss' || k === 'one-way');
  if (lossKinds.length > 0 && spawnSync('iptables', ['--version']).error) {
    const rest = kinds.kinds.filter((k) => !lossKinds.includes(k));
    process.stderr.write(
      `chaos.sh: the faults ${lossKinds.join(' and ')} need iptables, which is not installed: apt-get install iptables` +
        (rest.length > 0 ? `, or leave them out (--faults ${rest.join(',')})\n` : '\n'),
    );
    return 1;
  }
  const progress = (line: string) => process.stderr.write(`chaos: ${line}\n`);
  progress(`seed ${seed} (replay: scripts/chaos.sh run --seed ${seed} --nodes ${nodes} --protocol ${values.protocol} --duration ${values.duration} --faults ${kinds.kinds.join(',')})`);
  try {
    const report = await runChaos({
      nodes,
      protocol: values.protocol!,
      config: values.config ? resolve(values.config) : null,
      durationMs,
      seed,
      kinds: kinds.kinds,
      outDir,
      sampleIntervalMs: 50,
      check,
      progress,
    });
    process.stdout.write(`${formatReport(report)}\nrun: ${outDir} (timeline: ${join(outDir, 'report.html')})\n`);
    return report.ok ? 0 : 1;
  } catch (err) {
    if (err instanceof ChaosInterruptedError) {
      progress(`${err.message}; what was recorded is in ${outDir} (scripts/chaos.sh check ${outDir})`);
      return 130;
    }
    progress(`the run failed: ${err instanceof Error ? err.message : String(err)}`);
    return 1;
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`chaos.sh: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
