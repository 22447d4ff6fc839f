/**
 * Dashboard CPU (issue 4): the real render loop (reducer, view-model, blessed drawing into a
 * discarded terminal stream) fed by a fake event source, 50 members and an event every 100 ms,
 * plus the once-a-second poll. Prints the share of one core used, from process.cpuUsage.
 * Not included: HTTP and SSE parsing of a live stream (see the API client's own figures).
 */
import { PassThrough, Writable, type Readable } from 'node:stream';
import blessed from 'blessed';
import type { ApiEvent, MemberResponse, SnapshotEvent, StatusResponse } from '../daemon/api/types.js';
import { Dashboard } from '../tui/dashboard.js';
import { parseNumberOptions } from './stats.js';

const TARGET_CPU_PERCENT = 5;

export async function run(args: string[]): Promise<void> {
  const opts = parseNumberOptions(args, { members: 50, eventEveryMs: 100, durationMs: 20_000, warmupMs: 2000, cols: 100, rows: 30 });
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

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
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
