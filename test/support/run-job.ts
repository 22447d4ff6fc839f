/**
 * `conclave run` on real daemons, for test/integration/run.test.ts and bench/run.ts: one run
 * process per node whose child appends `start <node> <pid> <token> <ms>` when it starts and
 * `term <node> <pid> <token> <ms>` when SIGTERM reaches it (wall-clock ms, the same clock as the
 * harness), so who ran when, under which fencing token, is read from one file.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { CLI, type LocalCluster } from './local-cluster.js';

/**
 * The child, a POSIX shell script so that its start costs a fork, not a Node start (~100-300 ms on
 * a loaded host, which would drown what `run` itself adds): records its start, records SIGTERM
 * and exits 0 on it, otherwise sleeps. `$$` is the shell's PID, the child `run` spawned.
 */
const JOB = [
  'line() { echo "$1 $CONCLAVE_NODE_NAME $$ $CONCLAVE_FENCING_TOKEN $(date +%s%3N)" >> "$RUN_JOB_FILE"; }',
  'trap \'line term; exit 0\' TERM',
  'line start',
  'while :; do sleep 1 & wait $!; done',
].join('\n');

export interface JobRecord {
  what: 'start' | 'term';
  node: string;
  pid: number;
  token: number;
  atMs: number;
}

export function readJobRecords(file: string): JobRecord[] {
  let text = '';
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return [];
  }
  return text.split('\n').filter(Boolean).map((line) => {
    const [what, node, pid, token, at] = line.split(' ');
    return { what: what as JobRecord['what'], node: node!, pid: Number(pid), token: Number(token), atMs: Number(at) };
  });
}

/** Children that started and have not recorded SIGTERM (nor been seen to die). */
export function runningJobs(file: string): JobRecord[] {
  const records = readJobRecords(file);
  const ended = new Set(records.filter((r) => r.what === 'term').map((r) => r.pid));
  return records.filter((r) => r.what === 'start' && !ended.has(r.pid) && alive(r.pid));
}

/** Whether a process with this PID still exists (signal 0 checks without sending). */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Starts `conclave run` against node `index`'s socket; its stderr is kept for failure messages. */
export function startRun(cluster: LocalCluster, index: number, file: string, extraArgs: string[] = []): { process: ChildProcess; log: string[] } {
  return startRunAt(`unix:${cluster.node(index).socket}`, file, extraArgs);
}

/** Starts `conclave run` against the daemon at `api` (e.g. a scripts/cluster.sh node's socket). */
export function startRunAt(api: string, file: string, extraArgs: string[] = []): { process: ChildProcess; log: string[] } {
  const log: string[] = [];
  const child = spawn(process.execPath, [CLI, 'run', '--api', api, '--grace-ms', '2000', ...extraArgs, '--', 'sh', '-c', JOB], {
    stdio: ['ignore', 'inherit', 'pipe'],
    env: { ...process.env, RUN_JOB_FILE: file, CONCLAVE_API: undefined },
  });
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => log.push(chunk));
  return { process: child, log };
}

/** Ends a run process by its PID (SIGTERM, which it forwards to its child) and waits for it. */
export async function stopRun(run: { process: ChildProcess }, timeoutMs = 5000): Promise<number | null> {
  const child = run.process;
  if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
  child.kill('SIGTERM');
  return await new Promise((resolve) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      resolve(null);
    }, timeoutMs);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve(code);
    });
  });
}
