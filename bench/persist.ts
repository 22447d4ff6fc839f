/**
 * The log store (daemon/storage) on this machine's disk, in a temporary directory under the
 * system temp dir: fsync times of small appends awaited one by one, a burst of appends fired at
 * once (batches per fsync, total time), the longest event-loop stall while persisting
 * (perf_hooks.monitorEventLoopDelay), and the same small-state writes through the synchronous
 * writeFileDurably (daemon/store.ts) that persists Bully's state today, with the ratios.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type IntervalHistogram, monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { openLogStore } from '../daemon/storage/index.js';
import { writeFileDurably } from '../daemon/store.js';
import { parseNumberOptions, percentile } from './stats.js';

/** The size of a small hard state (Bully's epoch, vote, lease), as JSON. */
const smallState = (i: number) => ({ acceptedEpoch: i, highestEpochSeen: i, votedFor: '12D3KooWQmExamplePeerIdOfAboutFiftyTwoCharacters000', leaseEpoch: i });

export async function run(args: string[]): Promise<void> {
  const opts = parseNumberOptions(args, { appends: 500, burst: 1000, perTick: 10 });
  const root = mkdtempSync(join(tmpdir(), 'conclave-persist-bench-'));
  console.log(`persist bench: ${root} (system temp dir; its file system decides every figure below)`);
  try {
    // The noise floor: what the loop shows with nothing to persist (a shared or busy machine shows here).
    const idle = await stallDuring(() => new Promise((r) => setTimeout(r, 1000)));
    console.log(`idle baseline, 1 s without I/O: event-loop delay max ${idle.max.toFixed(2)} ms  p99 ${idle.p99.toFixed(2)} ms`);
    const oneByOne = await sequentialAppends(join(root, 'seq'), opts.appends);
    const burst = await burstAppends(join(root, 'burst'), opts.burst, 'all at once');
    await burstAppends(join(root, 'ticks'), opts.burst, `${opts.perTick} per event-loop turn`, opts.perTick);
    const sync = await syncWrites(join(root, 'sync'), opts.appends, opts.burst);

    console.log('\nratios (writeFileDurably ÷ log store):');
    console.log(`  one small state, awaited: p50 ${ratio(sync.writeMs.p50, oneByOne.appendMs.p50)}, p99 ${ratio(sync.writeMs.p99, oneByOne.appendMs.p99)}`);
    console.log(`  ${opts.burst} small states: total time ${ratio(sync.burstTotalMs, burst.totalMs)}`);
    console.log(`  longest event-loop stall (max) while writing them: ${ratio(sync.burstStall.max, burst.stall.max)}`);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

interface Dist {
  p50: number;
  p99: number;
  max: number;
}

function dist(values: readonly number[]): Dist {
  return { p50: percentile(values, 50), p99: percentile(values, 99), max: Math.max(...values) };
}

function fmt(label: string, d: Dist, n: number): string {
  return `  ${label}: n=${n}  p50 ${d.p50.toFixed(2)} ms  p99 ${d.p99.toFixed(2)} ms  max ${d.max.toFixed(2)} ms`;
}

function ratio(a: number, b: number): string {
  return b > 0 ? `${(a / b).toFixed(1)}×` : 'n/a';
}

/** Event-loop delay while `work` runs: max and p99 in ms. */
async function stallDuring(work: () => Promise<void>): Promise<{ max: number; p99: number }> {
  const h: IntervalHistogram = monitorEventLoopDelay({ resolution: 1 });
  h.enable();
  try {
    await work();
    // One more turn so a stall at the very end is sampled.
    await new Promise((r) => setTimeout(r, 5));
  } finally {
    h.disable();
  }
  return { max: h.max / 1e6, p99: h.percentile(99) / 1e6 };
}

async function sequentialAppends(dir: string, n: number): Promise<{ appendMs: Dist }> {
  const store = await openLogStore(dir);
  const appendMs: number[] = [];
  const stall = await stallDuring(async () => {
    for (let i = 1; i <= n; i++) {
      const start = performance.now();
      await store.append({ hardState: { election: smallState(i) } });
      appendMs.push(performance.now() - start);
    }
  });
  const s = store.stats;
  await store.close();
  console.log(`\n(a) ${n} small hard-state appends, each awaited before the next:`);
  console.log(fmt('fsync (fdatasync)', dist(s.fsyncMs), s.fsyncMs.length));
  console.log(fmt('append, call to resolve', dist(appendMs), appendMs.length));
  console.log(`  event-loop delay: max ${stall.max.toFixed(2)} ms  p99 ${stall.p99.toFixed(2)} ms`);
  return { appendMs: dist(appendMs) };
}

async function burstAppends(dir: string, n: number, how: string, perTick = 0): Promise<{ totalMs: number; stall: { max: number; p99: number } }> {
  const store = await openLogStore(dir);
  let totalMs = 0;
  const stall = await stallDuring(async () => {
    const start = performance.now();
    const pending: Promise<void>[] = [];
    for (let i = 1; i <= n; i++) {
      pending.push(store.append({ hardState: { election: smallState(i) } }));
      if (perTick > 0 && i % perTick === 0) await new Promise((r) => setImmediate(r));
    }
    await Promise.all(pending);
    totalMs = performance.now() - start;
  });
  const s = store.stats;
  await store.close();
  console.log(`\n(b) burst of ${n} small appends, ${how}:`);
  console.log(`  ${s.batches} batches in ${s.commits} group commits (${(s.batches / s.commits).toFixed(1)} batches per fsync), ${s.fsyncs} fsyncs in all`);
  console.log(`  total ${totalMs.toFixed(1)} ms (${((totalMs * 1000) / n).toFixed(1)} µs per append)`);
  console.log(`(c) event-loop delay during it: max ${stall.max.toFixed(2)} ms  p99 ${stall.p99.toFixed(2)} ms`);
  return { totalMs, stall };
}

/** writeFileDurably, one write per event-loop turn (as the runtime persists one batch per tick). */
async function syncWrites(dir: string, n: number, burst: number): Promise<{ writeMs: Dist; burstTotalMs: number; burstStall: { max: number; p99: number } }> {
  mkdirSync(dir);
  const path = join(dir, 'bully-state.json');
  const writeMs: number[] = [];
  const stall = await stallDuring(async () => {
    for (let i = 1; i <= n; i++) {
      const start = performance.now();
      writeFileDurably(path, JSON.stringify(smallState(i)) + '\n');
      writeMs.push(performance.now() - start);
      await new Promise((r) => setImmediate(r));
    }
  });
  let burstTotalMs = 0;
  const burstStall = await stallDuring(async () => {
    const start = performance.now();
    for (let i = 1; i <= burst; i++) {
      writeFileDurably(path, JSON.stringify(smallState(i)) + '\n');
      await new Promise((r) => setImmediate(r));
    }
    burstTotalMs = performance.now() - start;
  });
  console.log(`\n(d) the same small state through the synchronous writeFileDurably (tmp + fsync + rename + directory fsync):`);
  console.log(fmt('one write', dist(writeMs), n));
  console.log(`  event-loop delay, one write per turn: max ${stall.max.toFixed(2)} ms  p99 ${stall.p99.toFixed(2)} ms (each write blocks the loop for all of it)`);
  console.log(`  ${burst} writes back to back (one per turn): total ${burstTotalMs.toFixed(1)} ms; event-loop delay max ${burstStall.max.toFixed(2)} ms  p99 ${burstStall.p99.toFixed(2)} ms`);
  return { writeMs: dist(writeMs), burstTotalMs, burstStall };
}
