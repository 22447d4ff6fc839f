/**
 * The leadership chart: for each time bucket of the last minutes, how much of it the viewed daemon
 * spent without a leader (a bar) and how many elections started in it (a digit). Columns before
 * the dashboard attached show `·`: nothing was watched then.
 */
import type { LeaderSample } from './model.js';

/** Bucket sizes to pick from, so the axis reads in round numbers. */
const BUCKET_STEPS_MS: readonly number[] = [1000, 2000, 5000, 10_000, 15_000, 30_000, 60_000];
/** How far back the chart aims to reach. */
export const CHART_SPAN_MS = 5 * 60_000;
const BARS = ' ▁▂▃▄▅▆▇█';
const UNWATCHED = '·';

export interface LeadershipChart {
  bucketMs: number;
  /** One character per bucket, oldest first: leaderless share of the bucket as a bar. */
  leaderless: string;
  /** One character per bucket: elections started (1-9, `+` for more). */
  elections: string;
  /** Total leaderless ms and elections over the whole chart. */
  leaderlessMs: number;
  electionCount: number;
}

/** The smallest round bucket that lets `cells` columns reach CHART_SPAN_MS. */
export function bucketSizeMs(cells: number): number {
  const wanted = CHART_SPAN_MS / Math.max(1, cells);
  return BUCKET_STEPS_MS.find((step) => step >= wanted) ?? BUCKET_STEPS_MS[BUCKET_STEPS_MS.length - 1]!;
}

export function leadershipChart(history: readonly LeaderSample[], electionStarts: readonly number[], nowMs: number, cells: number): LeadershipChart {
  const n = Math.max(0, cells);
  const bucketMs = bucketSizeMs(n);
  // Buckets end on a multiple of bucketMs so columns do not shimmer as time passes.
  const endMs = Math.ceil(nowMs / bucketMs) * bucketMs;
  const startMs = endMs - n * bucketMs;
  const leaderlessPerBucket = new Array<number>(n).fill(0);
  const watchedFromMs = history.length > 0 ? history[0]!.atMs : nowMs;
  let leaderlessMs = 0;
  for (let i = 0; i < history.length; i++) {
    if (history[i]!.leader !== null) continue;
    const from = Math.max(history[i]!.atMs, startMs);
    const to = Math.min(i + 1 < history.length ? history[i + 1]!.atMs : nowMs, nowMs);
    if (to <= from) continue;
    leaderlessMs += to - from;
    for (let b = Math.floor((from - startMs) / bucketMs); b < n && startMs + b * bucketMs < to; b++) {
      const bucketStart = startMs + b * bucketMs;
      leaderlessPerBucket[b]! += Math.min(to, bucketStart + bucketMs) - Math.max(from, bucketStart);
    }
  }
  const electionsPerBucket = new Array<number>(n).fill(0);
  let electionCount = 0;
  for (const atMs of electionStarts) {
    if (atMs < startMs || atMs > nowMs) continue;
    const b = Math.min(n - 1, Math.floor((atMs - startMs) / bucketMs));
    electionsPerBucket[b]!++;
    electionCount++;
  }
  let leaderless = '';
  let elections = '';
  for (let b = 0; b < n; b++) {
    const bucketEnd = startMs + (b + 1) * bucketMs;
    if (bucketEnd <= watchedFromMs) {
      leaderless += UNWATCHED;
      elections += UNWATCHED;
      continue;
    }
    const share = leaderlessPerBucket[b]! / bucketMs;
    // Any leaderless moment shows at least the lowest bar: a 50 ms gap must not vanish.
    leaderless += share <= 0 ? BARS[0] : BARS[Math.min(8, Math.max(1, Math.ceil(share * 8)))];
    const count = electionsPerBucket[b]!;
    elections += count === 0 ? ' ' : count > 9 ? '+' : String(count);
  }
  return { bucketMs, leaderless, elections, leaderlessMs, electionCount };
}
