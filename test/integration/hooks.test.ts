/**
 * Hooks on real daemons (issue 11, section 2): 3 Bully nodes whose hooks append a line per run to
 * one shared file. Each node runs onFollower once at start, then one run per transition, in
 * order, through a cold start, a `transfer`, a kill -9 of the leader and its return; fencing
 * tokens seen by onLeader only grow. A hook that fails or times out is counted and logged, and
 * leadership carries on undisturbed.
 */
import '../../daemon/polyfill.js';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { LocalCluster, sleep } from '../support/local-cluster.js';

const work = mkdtempSync(join(tmpdir(), 'conclave-hooks-it-'));
const clusters: LocalCluster[] = [];
after(async () => {
  await Promise.all(clusters.map((c) => c.stop()));
  rmSync(work, { recursive: true, force: true });
});

/** A YAML hooks section whose every hook appends `node hook leader previous term token` to `file`. */
function recordingHooks(file: string): string {
  const line = (hook: string) => `'echo "$CONCLAVE_NODE_NAME ${hook} $CONCLAVE_ROLE [$CONCLAVE_LEADER_NAME] [$CONCLAVE_PREVIOUS_LEADER] $CONCLAVE_TERM $CONCLAVE_FENCING_TOKEN" >> ${file}'`;
  return `hooks:\n  onLeader: ${line('onLeader')}\n  onFollower: ${line('onFollower')}\n  onLeaderChange: ${line('onLeaderChange')}\n`;
}

interface HookLine {
  node: string;
  hook: string;
  role: string;
  leader: string;
  previous: string;
  term: number;
  token: number;
}

function readLines(file: string): HookLine[] {
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .trimEnd()
    .split('\n')
    .filter(Boolean)
    .map((text) => {
      const [node, hook, role, leader, previous, term, token] = text.split(' ');
      return { node: node!, hook: hook!, role: role!, leader: leader!.slice(1, -1), previous: previous!.slice(1, -1), term: Number(term), token: Number(token) };
    });
}

/** One node's runs as `hook` or `hook:leader<previous` (onLeaderChange), in the order they ran. */
function runsOf(lines: HookLine[], node: string): string[] {
  return lines.filter((l) => l.node === node).map((l) => (l.hook === 'onLeaderChange' ? `${l.hook}:${l.leader}<${l.previous}` : l.hook));
}

/**
 * Waits until every node's runs are exactly `expected`, then a little longer to see that no
 * extra run follows (each transition fires once).
 */
/**
 * A node's runs as its two lanes run them (policy.ts): onLeader/onFollower in order, and
 * onLeaderChange in order. The lanes run side by side, so how they interleave is not ordered.
 */
function byLane(runs: string[]): string {
  return JSON.stringify([runs.filter((r) => !r.startsWith('onLeaderChange')), runs.filter((r) => r.startsWith('onLeaderChange'))]);
}

async function expectRuns(cluster: LocalCluster, file: string, expected: Record<string, string[]>, what: string): Promise<HookLine[]> {
  const matches = () => {
    const lines = readLines(file);
    return Object.entries(expected).every(([node, runs]) => byLane(runsOf(lines, node)) === byLane(runs)) ? lines : null;
  };
  try {
    await cluster.waitFor(what, 20_000, async () => matches());
  } catch (err) {
    const lines = readLines(file);
    const seen = Object.fromEntries(Object.keys(expected).map((node) => [node, runsOf(lines, node)]));
    throw new Error(`${(err as Error).message}\nexpected ${JSON.stringify(expected, null, 1)}\nseen ${JSON.stringify(seen, null, 1)}`);
  }
  await sleep(1500);
  const lines = readLines(file);
  for (const [node, runs] of Object.entries(expected)) assert.equal(byLane(runsOf(lines, node)), byLane(runs), `${what}: ${node} ran more hooks than transitions`);
  return lines;
}

/** `conclave_hook_runs_total{hook,result}` at node i. */
async function hookRuns(cluster: LocalCluster, index: number, hook: string, result: string): Promise<number> {
  const text = await cluster.metricsText(index);
  const match = new RegExp(`^conclave_hook_runs_total\\{hook="${hook}",result="${result}"\\} (\\S+)$`, 'm').exec(text);
  return match ? Number(match[1]) : NaN;
}

describe('hooks on 3 real daemons', { timeout: 240_000 }, () => {
  it('fire once per transition, in order: cold start, transfer, kill -9 of the leader and its return', async () => {
    const file = join(work, 'runs.log');
    const cluster = await LocalCluster.start({ size: 3, protocol: 'bully', priorities: [1, 2, 3], yaml: recordingHooks(file) });
    clusters.push(cluster);
    assert.equal(await cluster.agreedLeader(), 'n3');
    const started = {
      n1: ['onFollower', 'onLeaderChange:n3<'],
      n2: ['onFollower', 'onLeaderChange:n3<'],
      n3: ['onFollower', 'onLeader', 'onLeaderChange:n3<'],
    };
    let lines = await expectRuns(cluster, file, started, 'cold start');
    const firstToken = lines.find((l) => l.hook === 'onLeader')!.token;

    const transfer = await cluster.client(3).transfer('n2');
    assert.equal(transfer.ok, true, JSON.stringify(transfer));
    assert.equal(await cluster.agreedLeader(), 'n2');
    const transferred = {
      n1: [...started.n1, 'onLeaderChange:n2<n3'],
      n2: [...started.n2, 'onLeader', 'onLeaderChange:n2<n3'],
      n3: [...started.n3, 'onFollower', 'onLeaderChange:n2<n3'],
    };
    lines = await expectRuns(cluster, file, transferred, 'transfer to n2');
    const n2Led = lines.filter((l) => l.node === 'n2' && l.hook === 'onLeader');
    assert.equal(n2Led.length, 1);
    assert.ok(n2Led[0]!.token > firstToken, `the token grows across the transfer: ${firstToken} → ${n2Led[0]!.token}`);
    assert.equal(n2Led[0]!.role, 'leader');
    assert.equal(n2Led[0]!.leader, 'n2');
    assert.equal(lines.filter((l) => l.node === 'n3' && l.hook === 'onFollower').at(-1)!.role, 'follower');

    cluster.signal(2, 'SIGKILL');
    await cluster.waitExit(2);
    assert.equal(await cluster.agreedLeader([1, 3], undefined, 'n2'), 'n3');
    const killed = {
      n1: [...transferred.n1, 'onLeaderChange:n3<n2'],
      n2: transferred.n2,
      n3: [...transferred.n3, 'onLeader', 'onLeaderChange:n3<n2'],
    };
    lines = await expectRuns(cluster, file, killed, 'kill -9 of n2');
    const n3Led = lines.filter((l) => l.node === 'n3' && l.hook === 'onLeader');
    assert.ok(n3Led[1]!.token > n2Led[0]!.token, `the token grows across the fail-over: ${n2Led[0]!.token} → ${n3Led[1]!.token}`);

    // n2 returns: its start-up onFollower stops whatever its killed daemon's onLeader started.
    cluster.startNode(2);
    await cluster.waitForApi(2);
    assert.equal(await cluster.agreedLeader(), 'n3');
    await expectRuns(cluster, file, { ...killed, n2: [...killed.n2, 'onFollower', 'onLeaderChange:n3<'] }, 'n2 back');
    await cluster.stop();
  });

  it('a failing or timing-out hook is counted and logged, and leadership carries on', async () => {
    const cluster = await LocalCluster.start({
      size: 3,
      protocol: 'bully',
      priorities: [1, 2, 3],
      yaml: `hooks:\n  onLeader: 'echo "still going" ; sleep 60'\n  onLeaderChange: 'echo "no such service" >&2; exit 7'\n  onFollower: [/nonexistent/conclave-hook]\n  timeoutMs: 1000\n`,
    });
    clusters.push(cluster);
    assert.equal(await cluster.agreedLeader(), 'n3');
    const before = await cluster.client(3).status();
    await cluster.waitFor('onLeader timed out on n3', 15_000, async () => (await hookRuns(cluster, 3, 'onLeader', 'timeout')) === 1);
    for (const i of [1, 2, 3]) {
      await cluster.waitFor(`onLeaderChange failed on n${i}`, 15_000, async () => (await hookRuns(cluster, i, 'onLeaderChange', 'failed')) === 1);
      assert.equal(await hookRuns(cluster, i, 'onFollower', 'failed'), 1, `n${i}: the start-up onFollower could not start`);
      assert.equal(await hookRuns(cluster, i, 'onLeaderChange', 'ok'), 0);
      const text = await cluster.metricsText(i);
      assert.match(text, /^conclave_hook_duration_seconds_count\{hook="onLeaderChange"\} 1$/m);
    }
    const log3 = readFileSync(cluster.node(3).logFile, 'utf8');
    assert.match(log3, /"hook":"onLeader".*"output":"still going".*hook onLeader timed out after 1000 ms/);
    const log1 = readFileSync(cluster.node(1).logFile, 'utf8');
    assert.match(log1, /"exitCode":7.*"output":"no such service".*hook onLeaderChange failed: exit status 7/);
    assert.match(log1, /hook onFollower could not be started \(ENOENT/);

    await sleep(2000);
    const statuses = await Promise.all([1, 2, 3].map((i) => cluster.client(i).status()));
    assert.deepEqual(statuses.map((s) => s.leader?.name), ['n3', 'n3', 'n3']);
    assert.equal(statuses[2]!.role, 'leader');
    assert.equal(statuses[2]!.term, before.term, 'no election since the hooks failed');
    assert.match(await cluster.metricsText(3), /^conclave_leader_changes_total 1$/m);
    await cluster.stop();
  });
});
