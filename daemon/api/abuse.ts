/**
 * Refusals of misbehaving clients, counted per kind and summarised at most once per interval per
 * kind: a flood of bad requests becomes one log line a minute and a metric, never a line (or a
 * stack trace) per request. AbuseTally decides, pure, on the times it is given; AbuseReporter only
 * adds the clock and the timer that sends deferred summaries.
 */
import { performance } from 'node:perf_hooks';

export const ABUSE_KINDS = [
  'bad-target',
  'bad-request',
  'unauthorized',
  'connection-cap',
  'sse-cap',
  'long-poll-cap',
  'sse-slow-client',
  'idle-timeout',
  'browser',
] as const;
export type AbuseKind = (typeof ABUSE_KINDS)[number];

/** What an operator can do about each kind; the daemon ends its log line with it. */
export const ABUSE_ADVICE: Readonly<Record<AbuseKind, string>> = {
  'bad-target': 'a client sends request targets that are not a path (e.g. "//" or a broken URL), or longer than 8 KiB; find it by its address and fix or block it',
  'bad-request': 'a client sends bytes that are not valid HTTP/1.1 (or oversized headers); something other than an HTTP client is connecting to the API',
  unauthorized: 'requests without the right Authorization: Bearer token; a client has a stale api.token, or someone is guessing: check the address and rotate api.token if it is not yours',
  'connection-cap': 'a listener reached its connection limit and closed new connections unanswered; look for a client that opens connections and never closes them',
  'sse-cap': 'too many /v1/events streams were open, new ones got 503; look for dashboards or scripts that open streams and never close them',
  'long-poll-cap': 'too many /v1/leader?waitMs= polls were waiting, new ones got 503; look for a client that polls in parallel instead of one poll at a time',
  'sse-slow-client': 'an event-stream client stopped reading and was disconnected; a live client reconnects and gets a fresh snapshot, a stuck one should be restarted',
  'idle-timeout': 'connections sent no complete request in time and were closed (408); a client stalls, or holds sockets open on purpose',
  browser: 'a web page tried to use the API through a browser (an Origin header, or a foreign Host name without api.token); someone opened a page that targets this port: set api.token',
};

export interface AbuseReport {
  kind: AbuseKind;
  /** Refusals of this kind since its previous report (the first report: just this one). */
  count: number;
  /** Refusals of this kind since the server started. */
  total: number;
  /** The address of the latest offender; null on the Unix socket or when unknown. */
  from: string | null;
  /** What the latest refusal was about (a quoted target, a byte count), or null. */
  detail: string | null;
  advice: string;
}

/** One refusal's context; both optional. */
export interface AbuseOccurrence {
  from?: string | null;
  detail?: string | null;
}

interface KindState {
  total: number;
  /** Refusals not yet in a report. */
  pending: number;
  lastReportMs: number;
  from: string | null;
  detail: string | null;
}

export class AbuseTally {
  private readonly kinds = new Map<AbuseKind, KindState>();

  constructor(private readonly intervalMs: number) {}

  /** Counts one refusal; returns a report when this kind had none within the interval, else null. */
  record(kind: AbuseKind, nowMs: number, occurrence: AbuseOccurrence = {}): AbuseReport | null {
    let state = this.kinds.get(kind);
    if (state === undefined) {
      // Never reported: the first refusal of a kind is reported at once.
      state = { total: 0, pending: 0, lastReportMs: nowMs - this.intervalMs, from: null, detail: null };
      this.kinds.set(kind, state);
    }
    state.total++;
    state.pending++;
    state.from = occurrence.from ?? null;
    state.detail = occurrence.detail ?? null;
    return nowMs - state.lastReportMs >= this.intervalMs ? this.report(kind, state, nowMs) : null;
  }

  /** Reports of the kinds with unreported refusals whose interval has passed. */
  due(nowMs: number): AbuseReport[] {
    const out: AbuseReport[] = [];
    for (const [kind, state] of this.kinds) {
      if (state.pending > 0 && nowMs - state.lastReportMs >= this.intervalMs) out.push(this.report(kind, state, nowMs));
    }
    return out;
  }

  /** Reports of every kind with unreported refusals, interval or not (at shutdown). */
  flush(nowMs: number): AbuseReport[] {
    const out: AbuseReport[] = [];
    for (const [kind, state] of this.kinds) if (state.pending > 0) out.push(this.report(kind, state, nowMs));
    return out;
  }

  /** The earliest time at which due() has a report, or null when nothing is pending. */
  nextDueMs(): number | null {
    let next: number | null = null;
    for (const state of this.kinds.values()) {
      if (state.pending === 0) continue;
      const at = state.lastReportMs + this.intervalMs;
      if (next === null || at < next) next = at;
    }
    return next;
  }

  private report(kind: AbuseKind, state: KindState, nowMs: number): AbuseReport {
    const report: AbuseReport = { kind, count: state.pending, total: state.total, from: state.from, detail: state.detail, advice: ABUSE_ADVICE[kind] };
    state.pending = 0;
    state.lastReportMs = nowMs;
    return report;
  }
}

export interface AbuseHooks {
  /** Every refusal, at once (for a metric). */
  onRejected?: (kind: AbuseKind) => void;
  /** The summaries, at most once per interval per kind (for the log). */
  onAbuse?: (report: AbuseReport) => void;
}

/** An AbuseTally on the monotonic clock, with a timer armed only while summaries are pending. */
export class AbuseReporter {
  private readonly tally: AbuseTally;
  private timer: NodeJS.Timeout | null = null;

  constructor(
    intervalMs: number,
    private readonly hooks: AbuseHooks,
  ) {
    this.tally = new AbuseTally(intervalMs);
  }

  record(kind: AbuseKind, occurrence: AbuseOccurrence = {}): void {
    this.hooks.onRejected?.(kind);
    const report = this.tally.record(kind, performance.now(), occurrence);
    if (report !== null) this.hooks.onAbuse?.(report);
    else this.arm();
  }

  /** Sends what is still pending (at close): nothing counted goes unreported. */
  stop(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    for (const report of this.tally.flush(performance.now())) this.hooks.onAbuse?.(report);
  }

  private arm(): void {
    const next = this.tally.nextDueMs();
    if (this.timer !== null || next === null) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      for (const report of this.tally.due(performance.now())) this.hooks.onAbuse?.(report);
      this.arm();
    }, Math.max(0, Math.ceil(next - performance.now())));
    // A pending summary never keeps the process alive; stop() sends it at shutdown.
    this.timer.unref();
  }
}
