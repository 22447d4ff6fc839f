/**
 * `npm start` (scripts/local.sh) as a newcomer runs it, in a tmux pane: the dashboard opens while
 * `cluster.sh up` starts the five daemons, names their leader once they elect one, and `q` takes
 * the cluster down. A cluster that cannot come up shows why, the dashboard ends and gives the
 * terminal back, and the exit status says so. How soon the leader is on screen is a figure of
 * `npm run bench -- startup`, not a bound here.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { hasTmux, TmuxPane } from './tmux-pane.js';

const root = new URL('../../../', import.meta.url).pathname;
const skip = !hasTmux && 'tmux is not installed';
/** Generous: a loaded machine delays the screen, never what it shows. */
const SCREEN_WAIT_MS = 60_000;

const panes: TmuxPane[] = [];
const clusters: string[] = [];
after(() => {
  for (const pane of panes) pane.stop();
  for (const name of clusters) {
    spawnSync('bash', [join(root, 'scripts/cluster.sh'), 'down', '--name', name], { encoding: 'utf8' });
    if (!process.env.CONCLAVE_KEEP_TEST_LOGS) rmSync(join(root, '.cluster/.logs', name), { recursive: true, force: true });
  }
});

/** `npm start`'s script in a pane; the shell then prints its exit status and stays, for the screen. */
function startLocal(name: string): TmuxPane {
  const pane = new TmuxPane(`npm-start-${name}`);
  panes.push(pane);
  clusters.push(name);
  pane.start(`bash -c 'bash ${root}scripts/local.sh --name ${name}; echo "local.sh exited $?"; sleep 600'`, 160, 45);
  return pane;
}

/** Processes whose command line contains `needle` (a dashboard left behind would show here). */
function processesWith(needle: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      if (readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes(needle)) pids.push(Number(entry));
    } catch {
      // Gone meanwhile.
    }
  }
  return pids;
}

function namespacesOf(name: string): string[] {
  const r = spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.split('\n').filter((line) => line.startsWith(`cc-${name}-`)) : [];
}

test('the dashboard opens beside `up`, names the leader the five daemons elect, and q takes the cluster down', { skip, timeout: 180_000 }, async () => {
  const name = `start${process.pid % 100_000}`;
  const pane = startLocal(name);
  await pane.waitForScreen('a leader in the dashboard header', (text) => /leader n\d term \d+/.test(text), SCREEN_WAIT_MS);
  assert.ok(existsSync(join(root, '.cluster', name)), 'the cluster is up');
  pane.keys('q');
  const text = await pane.waitForScreen('local.sh to end', (t) => /local\.sh exited \d+/.test(t), SCREEN_WAIT_MS);
  assert.match(text, /local\.sh exited 0/);
  assert.match(text, new RegExp(`cluster '${name}' is down`));
  assert.equal(existsSync(join(root, '.cluster', name)), false, 'no cluster state left');
  assert.deepEqual(namespacesOf(name), []);
  assert.deepEqual(processesWith(`/.cluster/${name}/`), [], 'no daemon or dashboard left');
});

test('a cluster that cannot come up: its error is on screen, the dashboard ends and the exit status is 1', { skip, timeout: 120_000 }, async () => {
  const name = `fail${process.pid % 100_000}`;
  // What `up` finds when a cluster of that name is already up: it refuses before starting anything.
  const state = join(root, '.cluster', name);
  mkdirSync(state, { recursive: true });
  try {
    const pane = startLocal(name);
    const text = await pane.waitForScreen('local.sh to end', (t) => /local\.sh exited \d+/.test(t), SCREEN_WAIT_MS);
    assert.match(text, /local\.sh exited 1/);
    assert.match(text, new RegExp(`cluster '${name}' is already up`));
    assert.deepEqual(processesWith(`/.cluster/${name}/nodes/n1/api.sock`), [], 'the dashboard ended');
  } finally {
    rmSync(state, { recursive: true, force: true });
  }
});
