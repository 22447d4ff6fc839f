/**
 * Hostile peers against real daemons: a security tester's findings, each replayed with the
 * hostile-peer kit (nemesis/hostile-peer.ts) against a 3-node Bully cluster (priorities
 * 1, 2, 3, so n3 leads) and asserted through the daemons' /v1/status, /v1/members, metrics and
 * data files. Each test asserts the hardened behaviour; each also checks that what the kit
 * forged actually reached a daemon, so a pass is never a frame that got lost on the way.
 *
 * A member-stranger is a peer with no business in the cluster that gossips valid heartbeats (an
 * open swarm lets it); a non-member only talks on the election protocol.
 */
import '../../daemon/polyfill.js';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import type { StatusResponse, StreamEvent } from '../../daemon/api/types.js';
import { MEMBERSHIP_KEY, WAL_DIR } from '../../daemon/node-store.js';
import { DEFAULT_PEER_LIMITS } from '../../daemon/p2p/flood-guard.js';
import { readLogStore } from '../../daemon/storage/index.js';
import { bullyPersistedCodec, type BullyPersisted } from '../../protocols/bully/index.js';
import type { LeadershipSample } from '../../protocols/sim/leadership-history.js';
import { bullyForgeries, HUGE_VALID, raftForgeries } from '../../nemesis/hostile-frames.js';
import { HostilePeer, type ForgedHeartbeat, type HostilePeerInit } from '../../nemesis/hostile-peer.js';
import { LeadershipSampler, type SampledNode } from '../support/leadership-sampler.js';
import { CLI, LocalCluster, sleep } from '../support/local-cluster.js';

const ALL = [1, 2, 3];
/** 2^53 - 1: the largest exact integer, what the tester sent. */
const MAX_SAFE = Number.MAX_SAFE_INTEGER;
/** Epochs and fencing tokens a few test elections can reach; anything above came from a forged message. */
const SMALL_EPOCH = 1000;
/** Incarnations are wall-clock seconds at boot, plus one per refutation: far below this. */
const SANE_INCARNATION = Math.floor(Date.now() / 1000) + 1_000_000;
const LEADER_TIMEOUT_MS = 10_000;
const MB = 1024 * 1024;

const clusters: LocalCluster[] = [];
const peers: HostilePeer[] = [];

async function cleanUp(): Promise<void> {
  await Promise.allSettled(peers.splice(0).map((p) => p.close()));
  await Promise.allSettled(clusters.splice(0).map((c) => c.stop()));
}
after(cleanUp);

async function startCluster(yaml?: string, protocol: 'bully' | 'raft' = 'bully'): Promise<LocalCluster> {
  const cluster = await LocalCluster.start({ size: 3, protocol, preset: 'lan', priorities: [1, 2, 3], yaml });
  clusters.push(cluster);
  await leaderOf(cluster, ALL, 25_000);
  return cluster;
}

/** A hostile peer in the cluster's network, connected to the daemons `dialled` (none: not yet). */
async function hostile(cluster: LocalCluster, dialled: number[], opts: Partial<HostilePeerInit> = {}): Promise<HostilePeer> {
  const peer = await HostilePeer.start({ cluster: cluster.name, namespace: cluster.namespace, ...opts });
  peers.push(peer);
  for (const index of dialled) await peer.dial(await daemonAddr(cluster, index));
  return peer;
}

/** Node i's own listen address, with /p2p/, from its member list. */
async function daemonAddr(cluster: LocalCluster, index: number): Promise<string> {
  const self = (await cluster.members(index)).find((m) => m.self);
  const addr = self?.addrs.find((a) => a.includes('/p2p/'));
  if (!addr) throw new Error(`node ${index} lists no address of its own`);
  return addr;
}

async function statusOf(cluster: LocalCluster, index: number): Promise<StatusResponse> {
  return await cluster.client(index).status();
}

/** One line per node: what it answers now; for failure messages. */
async function describeNodes(cluster: LocalCluster, indexes = ALL): Promise<string> {
  const lines = await Promise.all(
    indexes.map(async (i) => {
      try {
        const s = await statusOf(cluster, i);
        return `n${i}: ${s.role} term ${s.term} leader ${s.leader?.name ?? '-'} token ${s.fencingToken}`;
      } catch (err) {
        return `n${i}: no answer (${(err as Error).message})`;
      }
    }),
  );
  return lines.join('; ');
}

/** The agreed leader's own status, once the given nodes agree; a timeout names what each node said. */
async function leaderOf(cluster: LocalCluster, indexes = ALL, timeoutMs = LEADER_TIMEOUT_MS): Promise<StatusResponse> {
  let name: string;
  try {
    name = await cluster.agreedLeader(indexes, timeoutMs);
  } catch (err) {
    throw new Error(`${(err as Error).message}; ${await describeNodes(cluster, indexes)}`);
  }
  return await statusOf(cluster, Number(name.slice(1)));
}

/** SIGTERM, then start again; fails with the log tail when the daemon does not come back. */
async function restart(cluster: LocalCluster, index: number): Promise<StatusResponse> {
  cluster.signal(index, 'SIGTERM');
  await cluster.waitExit(index, 5000);
  cluster.startNode(index);
  return await cluster.waitForApi(index);
}

function startIfDown(cluster: LocalCluster, index: number): void {
  const child = cluster.node(index).process;
  if (!child || child.exitCode !== null || child.signalCode !== null) cluster.startNode(index);
}

/** Sum of a Prometheus counter's series at node i whose labels include `labels`. */
async function metric(cluster: LocalCluster, index: number, name: string, labels: Record<string, string> = {}): Promise<number> {
  let total = 0;
  for (const line of (await cluster.metricsText(index)).split('\n')) {
    const m = /^(\w+)(?:\{([^}]*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const series = Object.fromEntries([...(m[2] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((x) => [x[1], x[2]]));
    if (Object.entries(labels).every(([k, v]) => series[k] === v)) total += Number(m[3]);
  }
  return total;
}

/** Election frames node i has taken in so far: accepted (of `type`, or all) plus dropped for any reason. */
async function framesIn(cluster: LocalCluster, index: number, type?: string): Promise<number> {
  const received = await metric(cluster, index, 'conclave_messages_received_total', type ? { type } : {});
  return received + (await metric(cluster, index, 'conclave_messages_rejected_total'));
}

/** Whether node i's log names `peer` in a line about a dropped or refused message. */
function loggedDrop(cluster: LocalCluster, index: number, peer: string): boolean {
  let text = '';
  try {
    text = readFileSync(cluster.node(index).logFile, 'utf8');
  } catch {
    return false;
  }
  return text.split('\n').some((line) => line.includes(peer) && /drop|refus|reject/i.test(line));
}

/** Kit check: node i took in at least `count` more frames than `before`, or logged dropping the peer's. */
async function waitDelivered(cluster: LocalCluster, index: number, peer: string, before: number, count: number, type?: string): Promise<void> {
  await cluster.waitFor(`node ${index} to take in ${count} forged frame(s) (kit check)`, 10_000, async () => (await framesIn(cluster, index, type)) - before >= count || loggedDrop(cluster, index, peer));
}

function sampled(cluster: LocalCluster): () => SampledNode[] {
  return () => cluster.nodes.map((n) => ({ name: n.name, api: `unix:${n.socket}` }));
}

/** Node i's durable Bully state, read from its log store and checked by the daemon's codec (throws DataFileError as start-up would). */
async function bullyState(cluster: LocalCluster, index: number): Promise<BullyPersisted> {
  const { hardState } = await readLogStore(join(cluster.node(index).dataDir, WAL_DIR));
  const parsed = bullyPersistedCodec.parse(hardState.get('bully'));
  assert.ok(parsed.ok, `n${index} holds valid Bully state: ${parsed.ok ? '' : parsed.reason}`);
  return parsed.value;
}

/** A heartbeat of a plain follower of `leader` at `term`: a member that looks like any other. */
function follower(leader: StatusResponse): ForgedHeartbeat {
  return { meta: { role: 'follower', term: leader.term, leader: leader.id, fencingToken: leader.fencingToken } };
}

/** Waits until every node lists `id` as alive. */
async function waitMember(cluster: LocalCluster, id: string, indexes = ALL): Promise<void> {
  await cluster.waitFor(`every node to list ${id} alive`, 10_000, async () => {
    for (const i of indexes) if ((await cluster.members(i)).find((m) => m.id === id)?.state !== 'alive') return false;
    return true;
  });
}

/** Rounds of `samples` in which no node answered `leader`, as a fraction of all rounds. */
function leaderlessShare(samples: readonly LeadershipSample[]): { rounds: number; leaderless: number } {
  const led = new Map<number, boolean>();
  for (const s of samples) led.set(s.round, (led.get(s.round) ?? false) || s.role === 'leader');
  return { rounds: led.size, leaderless: [...led.values()].filter((l) => !l).length };
}

function pid(cluster: LocalCluster, index: number): number {
  const value = cluster.node(index).process?.pid;
  if (value === undefined) throw new Error(`n${index} has no process`);
  return value;
}

/** Members `names` that node i's log says it suspected because their connection closed, since `sinceMs`. */
function connectionsLostLogged(cluster: LocalCluster, index: number, names: string[], sinceMs: number): string[] {
  const lost = new Set<string>();
  for (const line of readFileSync(cluster.node(index).logFile, 'utf8').split('\n')) {
    if (!line.includes('connection-closed')) continue;
    let record: { time?: number; event?: string; member?: string; reason?: string };
    try {
      record = JSON.parse(line) as typeof record;
    } catch {
      continue; // a line still being written
    }
    if (record.event === 'member-suspect' && record.reason === 'connection-closed' && (record.time ?? 0) >= sinceMs && names.includes(record.member ?? '')) lost.add(record.member!);
  }
  return [...lost].sort();
}

function vmRssBytes(pid: number): number {
  const match = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!match) throw new Error(`no VmRSS for ${pid}`);
  return Number(match[1]) * 1024;
}

/** Whether this build's CLI has `conclave forget` (being written alongside these tests). */
function hasForgetCommand(): boolean {
  return /^\s+forget\b/m.test(spawnSync(process.execPath, [CLI, '--help'], { encoding: 'utf8' }).stdout);
}

// Each test cleans up with t.after: a describe-level afterEach would also run after every subtest.
describe('hostile peers against a 3-node Bully cluster', { timeout: 600_000 }, () => {
  it('1. a non-member\'s COORDINATOR and ANSWER at a huge epoch: one leader, small fencing tokens, loadable state, the node restarts', { timeout: 120_000 }, async (t) => {
    t.after(cleanUp);
    const cluster = await startCluster();
    const before = await leaderOf(cluster);
    const target = await statusOf(cluster, 2);
    const stranger = await hostile(cluster, [2]);
    const seen = await framesIn(cluster, 2, 'ANSWER');
    await stranger.send(target.id, [
      { type: 'COORDINATOR', epoch: MAX_SAFE, kind: 'takeover', round: 1, leaseMs: 0 },
      { type: 'ANSWER', epoch: MAX_SAFE },
      { type: 'COORDINATOR', epoch: HUGE_VALID, kind: 'takeover', round: 1, leaseMs: 0 },
      { type: 'ANSWER', epoch: HUGE_VALID },
    ]);
    await waitDelivered(cluster, 2, stranger.id, seen, 2, 'ANSWER');

    await t.test('the leader and its epoch are undisturbed', async () => {
      const now = await leaderOf(cluster);
      assert.equal(now.name, before.name);
      assert.equal(now.term, before.term);
    });
    // n2 is next in rank: the fail-over makes it pick its epoch from what it has seen.
    await t.test('after kill -9 of the leader, the next leader has a small fencing token', async () => {
      cluster.signal(3, 'SIGKILL');
      await cluster.waitExit(3);
      const next = await leaderOf(cluster, [1, 2]);
      assert.ok(next.fencingToken < SMALL_EPOCH, `fencing token ${next.fencingToken}`);
    });
    await t.test('every node\'s Bully state loads and holds small epochs', async () => {
      for (const i of ALL) {
        const state = await bullyState(cluster, i);
        assert.ok(state.acceptedEpoch < SMALL_EPOCH && state.highestEpochSeen < SMALL_EPOCH, `n${i}: ${JSON.stringify(state)}`);
      }
    });
    await t.test('the attacked node restarts, the old leader rejoins, and one leader has a small token', async () => {
      await restart(cluster, 2);
      startIfDown(cluster, 3);
      await cluster.waitForApi(3);
      const final = await leaderOf(cluster);
      assert.ok(final.fencingToken < SMALL_EPOCH, `fencing token ${final.fencingToken}`);
    });
  });

  it('2. a member-stranger gossiping role leader at the next term is named leader by no node; the real leader keeps leading', { timeout: 60_000 }, async (t) => {
    t.after(cleanUp);
    const cluster = await startCluster();
    const leader = await leaderOf(cluster);
    const stranger = await hostile(cluster, ALL);
    const term = leader.term + 1;
    await stranger.heartbeats({ meta: { role: 'leader', term, leader: stranger.id, fencingToken: term } }, { intervalMs: 400 });
    await cluster.waitFor('every node to list the stranger as a leader (kit check)', 10_000, async () => {
      for (const i of ALL) if ((await cluster.members(i)).find((m) => m.id === stranger.id)?.role !== 'leader') return false;
      return true;
    });

    const sampler = new LeadershipSampler(sampled(cluster), 50);
    await sleep(5000);
    const report = await sampler.stop();
    const strangerName = (await cluster.members(1)).find((m) => m.id === stranger.id)?.name ?? stranger.id;
    const namingStranger = sampler.samples.filter((s) => s.leader === strangerName || s.leader === stranger.id);
    assert.deepEqual(namingStranger, [], 'no node names the stranger as its leader');
    assert.deepEqual(report.reigns.map((r) => `${r.leader}@${r.term}`), [`${leader.name}@${leader.term}`], 'the real leader keeps its reign');
    const other = sampler.samples.filter((s) => s.leader !== leader.name);
    assert.deepEqual(other, [], `every answer names ${leader.name}`);
  });

  it('3. a gossiped suspicion of n2 at a huge incarnation: n2 stays alive everywhere with a small incarnation, also after a restart', { timeout: 90_000 }, async (t) => {
    t.after(cleanUp);
    const cluster = await startCluster();
    const leader = await leaderOf(cluster);
    const n2 = await statusOf(cluster, 2);
    const incarnationAt = async (i: number) => (await cluster.members(i)).find((m) => m.id === n2.id)?.incarnation ?? null;
    const selfBefore = await incarnationAt(2);
    const dropsBefore = await metric(cluster, 2, 'conclave_messages_rejected_total', { reason: 'invalid-heartbeat' });
    const stranger = await hostile(cluster, ALL);
    for (const incarnation of [MAX_SAFE, HUGE_VALID]) {
      await stranger.heartbeats({ ...follower(leader), suspects: [{ id: n2.id, incarnation }] }, { intervalMs: 400, count: 4 });
    }
    await stranger.heartbeats(follower(leader), { intervalMs: 400 });
    await cluster.waitFor('n2 to read the forged suspicion: it refuted, or dropped the heartbeat (kit check)', 5000, async () => {
      return (await incarnationAt(2)) !== selfBefore || (await metric(cluster, 2, 'conclave_messages_rejected_total', { reason: 'invalid-heartbeat' })) > dropsBefore;
    });

    await t.test('n2 stays alive at every node, with a small incarnation, through the suspicion and death timeouts', async () => {
      // lan: suspect after 1.5 s of silence, dead at most 2 s later.
      const problems: string[] = [];
      const untilMs = Date.now() + 6000;
      while (Date.now() < untilMs) {
        for (const i of ALL) {
          const seen = (await cluster.members(i)).find((m) => m.id === n2.id);
          if (!seen || seen.state !== 'alive' || seen.incarnation >= SANE_INCARNATION) problems.push(`n${i} sees n2 ${seen ? `${seen.state} at incarnation ${seen.incarnation}` : 'nowhere'}`);
        }
        await sleep(250);
      }
      assert.deepEqual([...new Set(problems)], []);
    });
    await t.test('n2 restarts, its stored incarnation stays small, and every node sees it alive again', async () => {
      await restart(cluster, 2);
      const { hardState } = await readLogStore(join(cluster.node(2).dataDir, WAL_DIR));
      const stored = (hardState.get(MEMBERSHIP_KEY) as { incarnation?: number } | undefined)?.incarnation ?? null;
      assert.ok(stored !== null && stored < SANE_INCARNATION, `stored incarnation ${stored}`);
      for (const i of [1, 3]) await cluster.waitForStates(i, { n2: 'alive' });
      for (const i of ALL) {
        const incarnation = await incarnationAt(i);
        assert.ok(incarnation !== null && incarnation < SANE_INCARNATION, `n${i} sees n2 at incarnation ${incarnation}`);
      }
    });
  });

  it('4. three throwaway identities that gossip three heartbeats and vanish: once forgotten, the cluster still fails over and still elects after a full restart', { timeout: 120_000 }, async (t) => {
    t.after(cleanUp);
    // Forgetting after 8 s instead of lan's 60 s keeps the test short; the rule is the same.
    const cluster = await startCluster('membership:\n  forgetAfterMs: 8000\n');
    const leader = await leaderOf(cluster);
    const watchers = ALL.map((i) => cluster.watchEvents(i));
    await Promise.all(watchers.map((w) => w.ready));
    // Not asserted: how long the cluster goes without a leader while it counts the throwaways.
    const sampler = new LeadershipSampler(sampled(cluster), 50);
    try {
      const throwaways = await Promise.all([1, 2, 3].map(() => hostile(cluster, ALL)));
      await Promise.all(throwaways.map((p) => p.heartbeats(follower(leader), { intervalMs: 400, count: 3 })));
      await Promise.all(throwaways.map((p) => p.close()));
      const ids = throwaways.map((p) => p.id);
      const joined = (events: StreamEvent[], id: string) => events.some((e) => e.type === 'member-joined' && e.member.id === id);
      await cluster.waitFor('every node to see every throwaway join (kit check)', 5000, async () => watchers.every((w) => ids.every((id) => joined(w.events, id))));
      for (const w of watchers) w.stop();

      const listed = async (i: number) => (await cluster.members(i)).filter((m) => ids.includes(m.id));
      await cluster.waitFor('every node to see the throwaways dead (or already forgotten)', 15_000, async () => {
        for (const i of ALL) if ((await listed(i)).some((m) => m.state !== 'dead')) return false;
        return true;
      });
      if (hasForgetCommand()) {
        // One node is asked; FORGET tells the others (protocols/bully/messages.ts).
        for (const id of ids) {
          const r = spawnSync(process.execPath, [CLI, 'forget', id, '--api', `unix:${cluster.node(1).socket}`], { encoding: 'utf8' });
          assert.equal(r.status, 0, `conclave forget ${id}: ${r.stderr}`);
        }
      } else {
        t.diagnostic('conclave forget is not in this build: waiting for the automatic forgetAfterMs rule');
        await cluster.waitFor('every node to forget the throwaways', 25_000, async () => {
          for (const i of ALL) if ((await listed(i)).length > 0) return false;
          return true;
        });
      }
      await leaderOf(cluster).catch(() => null);
    } finally {
      await sampler.stop();
      const { rounds, leaderless } = leaderlessShare(sampler.samples);
      t.diagnostic(`from the throwaways' arrival until they were forgotten: leaderless in ${leaderless} of ${rounds} rounds of 50 ms`);
    }

    let killed = 3;
    await t.test('once the throwaways are forgotten, the cluster has a leader again', async () => {
      killed = Number((await leaderOf(cluster)).name.slice(1));
    });
    await t.test('kill -9 of the leader (n3 if none): the other two elect a leader', async () => {
      cluster.signal(killed, 'SIGKILL');
      await cluster.waitExit(killed);
      await leaderOf(cluster, ALL.filter((i) => i !== killed));
    });
    await t.test('after the old leader returns and every node restarts, the cluster elects a leader', async () => {
      startIfDown(cluster, killed);
      await cluster.waitForApi(killed);
      for (const i of ALL) cluster.signal(i, 'SIGTERM');
      await Promise.all(ALL.map((i) => cluster.waitExit(i, 5000)));
      for (const i of ALL) cluster.startNode(i);
      await Promise.all(ALL.map((i) => cluster.waitForApi(i)));
      await leaderOf(cluster, ALL, 20_000);
    });
  });

  it('5. a member-stranger\'s REJECT, COORDINATOR(5000), gossiped leave of the leader and a 10 s mixed flood leave leadership and tokens alone', { timeout: 150_000 }, async (t) => {
    t.after(cleanUp);
    const cluster = await startCluster();
    const first = await leaderOf(cluster);
    const ids = new Map<string, string>();
    for (const i of ALL) ids.set(`n${i}`, (await statusOf(cluster, i)).id);
    const stranger = await hostile(cluster, ALL);
    await stranger.heartbeats(follower(first), { intervalMs: 400 });
    await waitMember(cluster, stranger.id);
    const sampler = new LeadershipSampler(sampled(cluster), 50);
    try {
      await t.test('one REJECT to the leader does not make it step down', async () => {
        const leader = await leaderOf(cluster);
        const index = Number(leader.name.slice(1));
        const seen = await framesIn(cluster, index, 'REJECT');
        const fromRound = sampler.rounds;
        await stranger.send(leader.id, [{ type: 'REJECT', epoch: leader.term + 1, leader: null }]);
        await waitDelivered(cluster, index, stranger.id, seen, 1, 'REJECT');
        await sleep(2000);
        const since = sampler.samples.filter((s) => s.round > fromRound);
        assert.deepEqual(since.filter((s) => s.leader !== leader.name), [], `every answer names ${leader.name}`);
        assert.equal((await leaderOf(cluster)).term, leader.term);
      });

      await t.test('a COORDINATOR(5000) claim does not move the next election to epoch 5001', async (st) => {
        const leader = await leaderOf(cluster);
        const rejectsBefore = (await stranger.stats()).framesReceived.REJECT ?? 0;
        const dropsBefore = await Promise.all(ALL.map((i) => metric(cluster, i, 'conclave_messages_rejected_total')));
        for (const i of ALL) await stranger.send(ids.get(`n${i}`)!, [{ type: 'COORDINATOR', epoch: 5000, kind: 'claim', round: 1, leaseMs: 0 }]);
        await cluster.waitFor('the claim to reach the daemons: a REJECT back, or a drop counted or logged (kit check)', 5000, async () => {
          if (((await stranger.stats()).framesReceived.REJECT ?? 0) > rejectsBefore) return true;
          const drops = await Promise.all(ALL.map((i) => metric(cluster, i, 'conclave_messages_rejected_total')));
          return drops.some((n, k) => n > dropsBefore[k]!) || ALL.some((i) => loggedDrop(cluster, i, stranger.id));
        });
        // Any election picks its epoch from what it has seen: a hand-off to the next in rank shows it.
        const to = leader.name === 'n3' ? 'n2' : 'n3';
        // Whoever ends up leading: the epoch it leads at is the point, not the hand-off itself.
        await cluster.client(Number(leader.name.slice(1))).transfer(to).catch((err: Error) => st.diagnostic(`transfer to ${to}: ${err.message}`));
        const next = await leaderOf(cluster);
        assert.ok(next.term > leader.term, `a new election ran (${leader.name}@${leader.term} -> ${next.name}@${next.term})`);
        assert.ok(next.term < 5000 && next.fencingToken < 5000, `the cluster moved to epoch ${next.term} (token ${next.fencingToken})`);
      });

      await t.test('a gossiped leave of the leader in the stranger\'s left list causes no fail-over', async () => {
        const leader = await leaderOf(cluster);
        const index = Number(leader.name.slice(1));
        const selfIncarnation = async () => (await cluster.members(index)).find((m) => m.self)!.incarnation;
        const incarnation = await selfIncarnation();
        const watchers = ALL.filter((i) => i !== index).map((i) => cluster.watchEvents(i));
        await Promise.all(watchers.map((w) => w.ready));
        const fromRound = sampler.rounds;
        await stranger.heartbeats({ ...follower(leader), left: [{ id: leader.id, incarnation }] }, { intervalMs: 400, count: 3 });
        await stranger.heartbeats(follower(leader), { intervalMs: 400 });
        const leftSeen = () => watchers.some((w) => w.events.some((e) => e.type === 'member-left' && e.name === leader.name));
        await cluster.waitFor('the leader to refute the forged leave, or a follower to apply it (kit check)', 5000, async () => (await selfIncarnation()) > incarnation || leftSeen());
        await sleep(4000);
        for (const w of watchers) w.stop();
        const since = sampler.samples.filter((s) => s.round > fromRound);
        const reigns = [...new Set(since.filter((s) => s.role === 'leader').map((s) => `${s.node}@${s.term}`))];
        assert.deepEqual(reigns, [`${leader.name}@${leader.term}`], 'no other node leads');
        assert.deepEqual(since.filter((s) => s.leader !== leader.name).map((s) => `round ${s.round}: ${s.node} names ${s.leader}`).slice(0, 10), [], `every answer names ${leader.name}`);
      });

      await t.test('10 s of mixed forged frames to every node: the token moves at most 5, leaderless under 10% of the time', async () => {
        const leader = await leaderOf(cluster);
        const startToken = Math.max(...(await Promise.all(ALL.map((i) => statusOf(cluster, i)))).map((s) => s.fencingToken));
        const seen = await Promise.all(ALL.map((i) => framesIn(cluster, i)));
        const fromRound = sampler.rounds;
        const untilMs = Date.now() + 10_000;
        let sent = 0;
        while (Date.now() < untilMs) {
          const last = sampler.samples.filter((s) => s.round === sampler.rounds - 1);
          const epoch = Math.max(leader.term, ...last.map((s) => s.term));
          const named = last.find((s) => s.leader !== null)?.leader;
          const frames = bullyForgeries(epoch, ids.get(named ?? '') ?? leader.id, stranger.id);
          await Promise.all(ALL.map((i) => stranger.send(ids.get(`n${i}`)!, frames).then(() => (sent += frames.length), () => undefined)));
          await sleep(100);
        }
        const window = sampler.samples.filter((s) => s.round > fromRound);
        const taken = (await Promise.all(ALL.map((i) => framesIn(cluster, i)))).reduce((sum, n, k) => sum + n - seen[k]!, 0);
        assert.ok(taken >= 100 || ALL.some((i) => loggedDrop(cluster, i, stranger.id)), `kit check: the daemons took in ${taken} of ${sent} frames sent`);
        const maxToken = Math.max(...window.map((s) => s.fencingToken));
        const { rounds, leaderless } = leaderlessShare(window);
        t.diagnostic(`flood: ${sent} frames sent, ${taken} taken in; token ${startToken} -> ${maxToken}; leaderless in ${leaderless} of ${rounds} rounds`);
        assert.ok(maxToken - startToken <= 5, `the fencing token went from ${startToken} to ${maxToken}`);
        assert.ok(rounds > 50, `too few sampling rounds (${rounds})`);
        assert.ok(leaderless / rounds < 0.1, `leaderless in ${leaderless} of ${rounds} sampled rounds`);
      });
    } finally {
      await sampler.stop();
    }
  });

  it('7. floods: a peer that never reads does not grow the leader\'s memory; 10k+ frames a second get the flooder disconnected while the leader keeps answering and leading', { timeout: 120_000 }, async (t) => {
    t.after(cleanUp);
    const cluster = await startCluster();

    await t.test('a member that never reads its election stream while the leader answers its ELECTIONs: RSS grows less than 40 MB', async (st) => {
      const leader = await leaderOf(cluster);
      const index = Number(leader.name.slice(1));
      const daemonPid = pid(cluster, index);
      const staller = await hostile(cluster, ALL, { stall: true });
      await staller.heartbeats(follower(leader), { intervalMs: 400 });
      await waitMember(cluster, staller.id);
      const rssBefore = vmRssBytes(daemonPid);
      const answersBefore = await metric(cluster, index, 'conclave_messages_sent_total', { type: 'ANSWER' });
      // Each ELECTION from a lower-ranked member earns an ANSWER and a renewal that nobody reads.
      const result = await staller.flood(leader.id, [{ type: 'ELECTION', epoch: leader.term, forced: false }], { durationMs: 6000, ratePerS: 1000 });
      await sleep(1000);
      const rssAfter = vmRssBytes(daemonPid);
      const answered = (await metric(cluster, index, 'conclave_messages_sent_total', { type: 'ANSWER' })) - answersBefore;
      const held = (await staller.stats()).streamsHeld;
      const after = await leaderOf(cluster).then((s) => `${s.name}@${s.term}`, () => 'none');
      st.diagnostic(`stall: ${result.sent} ELECTIONs in ${result.elapsedMs} ms (${result.ended}), ${answered} ANSWERs sent towards ${held} unread stream(s); RSS ${(rssBefore / MB).toFixed(1)} -> ${(rssAfter / MB).toFixed(1)} MB; leader ${leader.name}@${leader.term} -> ${after}`);
      assert.ok(held >= 1 && answered >= 100, `kit check: the leader sent ${answered} ANSWERs into ${held} unread stream(s)`);
      assert.ok(rssAfter - rssBefore < 40 * MB, `RSS grew by ${((rssAfter - rssBefore) / MB).toFixed(1)} MB`);
      await staller.close();
    });

    await t.test('a flood paced at 20k frames a second from one member: /v1/leader keeps answering, leadership stays, the flooder (only) is disconnected', async (st) => {
      const leader = await leaderOf(cluster);
      const index = Number(leader.name.slice(1));
      const flooder = await hostile(cluster, ALL);
      await flooder.heartbeats(follower(leader), { intervalMs: 400 });
      await waitMember(cluster, flooder.id);
      const seen = await framesIn(cluster, index);
      const startedMs = Date.now();
      const failures: string[] = [];
      let slowestMs = 0;
      let probing = true;
      const probe = (async () => {
        while (probing) {
          const atMs = Date.now();
          try {
            const answer = await cluster.client(index).leader();
            if (answer.leader?.name !== leader.name || answer.term !== leader.term) failures.push(`at +${atMs - startedMs} ms it named ${answer.leader?.name ?? 'no one'} at term ${answer.term}`);
          } catch (err) {
            failures.push(`at +${atMs - startedMs} ms: ${(err as Error).message}`);
          }
          slowestMs = Math.max(slowestMs, Date.now() - atMs);
          await sleep(100);
        }
      })();
      const frames = [
        { type: 'ANSWER', epoch: leader.term },
        { type: 'ACCEPT', epoch: leader.term, round: 1 },
        { type: 'ELECTION', epoch: leader.term, forced: false },
        { type: 'BOGUS', epoch: leader.term },
      ];
      const result = await flooder.flood(leader.id, frames, { durationMs: 5000, ratePerS: 20_000 });
      const floodEndMs = Date.now();
      // Disconnected during the flood, or soon after it.
      const closedSince = (fromMs: number) => flooder.connectionLog.some((e) => e.peer === leader.id && e.event === 'closed' && e.atMs >= fromMs);
      await cluster.waitFor('the leader to drop the flooder', 5000, async () => closedSince(startedMs)).catch(() => undefined);
      probing = false;
      await probe;
      const taken = (await framesIn(cluster, index)) - seen;
      const rss = vmRssBytes(pid(cluster, index));
      const ratePerS = result.ratePerS;
      st.diagnostic(`flood: ${result.sent} frames handed to the stream in ${result.elapsedMs} ms (${Math.round(ratePerS)}/s, ${result.ended}${result.error ? ` ${result.error}` : ''}); leader took in ${taken}; slowest /v1/leader ${slowestMs} ms; RSS ${(rss / MB).toFixed(1)} MB; flood ended ${floodEndMs - startedMs} ms after start`);
      // The flood reached the leader (which may cut it short: that is the point) at ten times the
      // per-peer limit or more. How fast frames are handed over also depends on how fast the leader
      // reads them (stream flow control): 13-19k a second on a quiet machine, 9k on a loaded CI one.
      const floodFloorPerS = 10 * DEFAULT_PEER_LIMITS.frames.ratePerS;
      assert.ok(
        ratePerS >= floodFloorPerS && (taken >= 10_000 || (result.ended === 'error' && taken >= 100)),
        `kit check: ${result.sent} frames sent at ${Math.round(ratePerS)}/s (at least ${floodFloorPerS}), ${result.ended}, ${taken} taken in by the leader`,
      );
      const now = await leaderOf(cluster).then((s) => `${s.name}@${s.term}`, (err: Error) => err.message);
      const others = ALL.filter((i) => i !== index).map((i) => `n${i}`);
      // All at once: which of them broke is the finding. Dropping every connection is no answer to one flooder.
      assert.deepEqual(
        { leaderAnswers: failures.slice(0, 10), leader: now, flooderDisconnected: closedSince(startedMs), membersLost: connectionsLostLogged(cluster, index, others, startedMs) },
        { leaderAnswers: [], leader: `${leader.name}@${leader.term}`, flooderDisconnected: true, membersLost: [] },
      );
    });
  });
});

describe('hostile peers against a 3-node Raft cluster', { timeout: 300_000 }, () => {
  it('8. a non-member\'s votes, appends (a forged configuration, a huge term), TimeoutNow, a vote asked for itself, snapshot and answers at term + 1 are refused as not-a-member: the leader, every term and the logs stay; every node restarts', { timeout: 150_000 }, async (t) => {
    t.after(cleanUp);
    const cluster = await startCluster(undefined, 'raft');
    const before = await leaderOf(cluster);
    const leaderIndex = Number(before.name.slice(1));
    const followerIndex = ALL.find((i) => i !== leaderIndex)!;
    const stranger = await hostile(cluster, [leaderIndex, followerIndex], { protocol: 'raft' });
    const term = before.term;
    const forged = (to: string): unknown[] => raftForgeries(term, stranger.id, to);
    const refusedBefore = await Promise.all(ALL.map((i) => metric(cluster, i, 'conclave_messages_rejected_total', { reason: 'not-a-member' })));
    const seen = await Promise.all([leaderIndex, followerIndex].map((i) => framesIn(cluster, i)));
    for (const [k, index] of [leaderIndex, followerIndex].entries()) {
      const target = await statusOf(cluster, index);
      await stranger.send(target.id, forged(target.id));
      await waitDelivered(cluster, index, stranger.id, seen[k]!, 13);
    }
    await sleep(2000);

    await t.test('the leader, its term and every node\'s term are undisturbed; the forgeries were counted as not-a-member', async () => {
      const now = await leaderOf(cluster);
      assert.deepEqual({ leader: now.name, term: now.term }, { leader: before.name, term }, await describeNodes(cluster));
      for (const i of ALL) assert.equal((await statusOf(cluster, i)).term, term, `n${i}'s term`);
      for (const [k, index] of [leaderIndex, followerIndex].entries()) {
        const refused = (await metric(cluster, index, 'conclave_messages_rejected_total', { reason: 'not-a-member' })) - refusedBefore[ALL.indexOf(index)]!;
        assert.ok(refused >= 9, `n${index} refused ${refused} forged messages as not-a-member (k=${k})`);
      }
    });
    await t.test('the configuration is still the three daemons, everywhere', async () => {
      for (const i of ALL) assert.deepEqual((await statusOf(cluster, i)).raft?.voters.map((v) => v.name).sort(), ['n1', 'n2', 'n3']);
    });
    await t.test('every node restarts from its log; the cluster elects with a small term', async () => {
      for (const i of ALL) await restart(cluster, i);
      const final = await leaderOf(cluster, ALL, 20_000);
      assert.ok(final.term < SMALL_EPOCH && final.fencingToken < SMALL_EPOCH, `term ${final.term}, token ${final.fencingToken}`);
    });
  });
});
