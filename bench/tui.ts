/**
 * The dashboard's figures.
 * - CPU (issue 4): the real render loop (reducer, view-model, blessed drawing into a discarded
 *   terminal stream) fed by a fake event source, 50 members and an event every 100 ms, plus the
 *   once-a-second poll. Prints the share of one core used, from process.cpuUsage. Not included:
 *   HTTP and SSE parsing of a live stream (see the API client's own figures).
 * - Fail-over on screen: `conclave tui` under tmux on node 1 of five real Bully daemons; kill -9
 *   of the leader until the screen names the new leader and shows the change in its timeline.
 *   (test/e2e/tui-cluster.test.ts checks that it shows them; this measures how soon.)
 * `--duration-ms 0` or `--failover-trials 0` skips a part.
 */
import { PassThrough, Writable, type Readable } from 'node:stream';
import blessed from 'blessed';
import type { ApiEvent, MemberResponse, SnapshotEvent, StatusResponse } from '../daemon/api/types.js';
import { hasTmux, TmuxPane } from '../test/e2e/tmux-pane.js';
import { canUseNamespaces, CLI, LocalCluster, sleep } from '../test/support/local-cluster.js';
import { Dashboard } from '../tui/dashboard.js';
import { parseNumberOptions, summarize } from './stats.js';

const TARGET_CPU_PERCENT = 5;
/** kill -9 of the leader to the new leader on screen: one membership detection, one election, one render. */
const TARGET_FAILOVER_ON_SCREEN_MS = { p50: 1500, p99: 3000 };
/** How often the fail-over trials read the tmux pane: the resolution of those figures. */
const SCREEN_POLL_MS = 20;

export async function run(args: string[]): Promise<void> {
  const opts = parseNumberOptions(args, { members: 50, eventEveryMs: 100, durationMs: 20_000, warmupMs: 2000, cols: 100, rows: 30, failoverTrials: 5 });
  if (opts.durationMs > 0) await cpu(opts);
  if (opts.failoverTrials > 0) await failoverOnScreen(opts.failoverTrials);
}

async function cpu(opts: { members: number; eventEveryMs: number; durationMs: number; warmupMs: number; cols: number; rows: number }): Promise<void> {
  let bytesOut = 0;
  const output = Object.assign(
    new Writable({
      write(chunk: Buffer, _encoding, done) {
        bytesOut += chunk.length;
        done();
      },
    }),
    { isTTY: true, columns: opts.cols, rows: opts.rows },
  );
  const input = new PassThrough();
  // @types/blessed declares `output` as Readable; blessed only writes to it.
  const screen = blessed.screen({ input, output: output as unknown as Readable, terminal: 'xterm-256color', smartCSR: true, fullUnicode: true, warnings: false });
  const dashboard = new Dashboard({
    screen,
    addresses: ['bench'],
    nowMs: () => Date.now(),
    runCommand: async () => ({ ok: false, code: 'bench', message: 'no daemon in the bench' }),
    onQuit: () => undefined,
  });
  const source = new FakeCluster(opts.members);
  dashboard.start();
  dashboard.dispatch(0, { kind: 'event', nowMs: Date.now(), event: source.snapshot() });
  const events = setInterval(() => dashboard.dispatch(0, { kind: 'event', nowMs: Date.now(), event: source.next() }), opts.eventEveryMs);
  const polls = setInterval(() => dashboard.dispatch(0, { kind: 'polled', nowMs: Date.now(), status: source.status(), members: source.members() }), 1000);
  console.log(`tui bench: ${opts.members} members, an event every ${opts.eventEveryMs} ms, ${opts.cols}x${opts.rows}, ${opts.durationMs / 1000} s after ${opts.warmupMs / 1000} s warm-up`);
  try {
    await sleep(opts.warmupMs);
    const rendersBefore = dashboard.renders;
    const bytesBefore = bytesOut;
    const cpuBefore = process.cpuUsage();
    const startMs = performance.now();
    await sleep(opts.durationMs);
    const cpu = process.cpuUsage(cpuBefore);
    const elapsedMs = performance.now() - startMs;
    const cpuMs = (cpu.user + cpu.system) / 1000;
    const percent = (100 * cpuMs) / elapsedMs;
    const renders = dashboard.renders - rendersBefore;
    console.log(`cpu          ${percent.toFixed(2)} % of one core (user ${(cpu.user / 1000).toFixed(0)} ms, system ${(cpu.system / 1000).toFixed(0)} ms over ${(elapsedMs / 1000).toFixed(1)} s); target ≤ ${TARGET_CPU_PERCENT} %: ${percent <= TARGET_CPU_PERCENT ? 'met' : 'MISSED'}`);
    console.log(`renders      ${renders} (${((renders * 1000) / elapsedMs).toFixed(1)}/s, ${(cpuMs / Math.max(1, renders)).toFixed(2)} ms cpu each)`);
    console.log(`terminal     ${((bytesOut - bytesBefore) / (elapsedMs / 1000) / 1024).toFixed(1)} KiB/s written`);
  } finally {
    clearInterval(events);
    clearInterval(polls);
    dashboard.stop();
    screen.destroy();
  }
}

/** The leader named in the dashboard's second header line, or null. */
function headerLeader(screen: string): string | null {
  return /leader (n\d) term \d+/.exec(screen.split('\n').slice(0, 2).join('\n'))?.[1] ?? null;
}

async function failoverOnScreen(trials: number): Promise<void> {
  if (!hasTmux) {
    console.log('fail-over on screen: skipped (tmux is not installed)');
    return;
  }
  const names = ['n1', 'n2', 'n3', 'n4', 'n5'];
  console.log(`fail-over on screen: 5 Bully daemons (${canUseNamespaces() ? 'real mDNS in a private network namespace' : 'loopback, static bootstrap'}), conclave tui on n1 under tmux; ${trials} trials, screen read every ${SCREEN_POLL_MS} ms`);
  const cluster = await LocalCluster.start({ size: 5, protocol: 'bully', priorities: [1, 2, 3, 4, 5] });
  const pane = new TmuxPane('tui-bench');
  const times: number[] = [];
  try {
    await cluster.agreedLeader();
    // Node 1 is the viewed daemon; with the lowest priority it never leads while others live.
    pane.start(`node ${CLI} tui --api unix:${cluster.node(1).socket}`, 120, 36);
    for (let t = 0; t < trials; t++) {
      const leaderName = await cluster.agreedLeader(undefined, 30_000);
      await pane.waitForScreen(`${leaderName} leading on screen`, (text) => headerLeader(text) === leaderName, 30_000);
      if (leaderName === 'n1') throw new Error('n1, the viewed daemon, leads: the trials need it alive');
      const victim = names.indexOf(leaderName) + 1;
      const t0 = Date.now();
      cluster.signal(victim, 'SIGKILL');
      for (;;) {
        const text = pane.screen();
        const shown = headerLeader(text);
        if (shown !== null && shown !== leaderName && new RegExp(`→${shown}\\s+t\\d+`).test(text)) break;
        if (Date.now() - t0 > 30_000) throw new Error(`no new leader on screen 30 s after kill -9 of ${leaderName}:\n${text}`);
        await sleep(SCREEN_POLL_MS);
      }
      times.push(Date.now() - t0);
      process.stderr.write(`  trial ${t + 1}/${trials}: kill -9 of ${leaderName}, new leader on screen after ${times.at(-1)} ms\n`);
      await cluster.waitExit(victim);
      cluster.startNode(victim);
      await cluster.waitForApi(victim);
      // Let the returning node rejoin and settle before the next trial.
      await cluster.agreedLeader(undefined, 30_000);
      await sleep(500);
    }
    console.log(summarize('kill -9 of the leader → new leader and the change on the dashboard', times, TARGET_FAILOVER_ON_SCREEN_MS));
  } finally {
    pane.stop();
    await cluster.stop();
  }
}

/** A cluster that changes a little on every event: heartbeats, suspicions, recoveries, an election now and then. */
class FakeCluster {
  private readonly list: MemberResponse[];
  private leader = 0;
  private term = 1;
  private turn = 0;

  constructor(size: number) {
    this.list = Array.from({ length: size }, (_, i) => ({
      id: `12D3KooWBench${String(i).padStart(35, '0')}`,
      name: `node-${String(i).padStart(2, '0')}`,
      addrs: [`/ip4/127.0.0.1/tcp/${4001 + i}`],
      state: 'alive',
      incarnation: 1,
      lastSeenMs: (i * 37) % 1000,
      self: i === 0,
      protocol: 'raft',
      role: i === 0 ? 'leader' : 'follower',
      term: 1,
      leader: null,
      priority: i % 5,
      version: '0.1.0',
    }));
    for (const m of this.list) m.leader = this.list[0]!.id;
  }

  status(): StatusResponse {
    const leader = this.list[this.leader]!;
    return {
      id: this.list[0]!.id,
      name: this.list[0]!.name,
      cluster: 'bench',
      protocol: 'raft',
      role: this.leader === 0 ? 'leader' : 'follower',
      term: this.term,
      leader: { id: leader.id, name: leader.name },
      fencingToken: this.term,
      members: { alive: this.list.length, suspect: 0, dead: 0, left: 0 },
      leaseRemainingMs: this.leader === 0 ? 2500 : null,
      bootstrap: { expect: 3, seen: this.list.length, complete: true },
      security: { psk: true },
      revision: this.term,
      uptimeMs: 1000,
      version: '0.1.0',
    };
  }

  members(): MemberResponse[] {
    return this.list.map((m) => ({ ...m, lastSeenMs: Math.floor(Math.random() * 1000) }));
  }

  snapshot(): SnapshotEvent {
    return { type: 'snapshot', at: new Date().toISOString(), status: this.status(), members: this.members() };
  }

  next(): ApiEvent {
    const at = new Date().toISOString();
    const turn = this.turn++;
    const m = this.list[1 + (turn % (this.list.length - 1))]!;
    if (turn % 50 === 49) {
      const from = this.list[this.leader]!;
      this.leader = (this.leader + 1) % this.list.length;
      this.term++;
      const to = this.list[this.leader]!;
      for (const x of this.list) {
        x.leader = to.id;
        x.role = x === to ? 'leader' : 'follower';
        x.term = this.term;
      }
      return { type: 'leader-changed', at, from: { id: from.id, name: from.name }, to: { id: to.id, name: to.name }, term: this.term, fencingToken: this.term, leaderlessMs: 120 };
    }
    if (turn % 50 === 48) return { type: 'election-started', at, term: this.term + 1, reason: 'bench' };
    if (turn % 10 === 3) return { type: 'member-suspect', at, id: m.id, name: m.name, incarnation: m.incarnation, reason: 'silence' };
    if (turn % 10 === 6) return { type: 'member-alive', at, id: m.id, name: m.name, incarnation: ++m.incarnation, previous: 'suspect' };
    return { type: 'member-updated', at, member: { ...m, lastSeenMs: 0 } };
  }
}
