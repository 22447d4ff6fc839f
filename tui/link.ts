/**
 * One daemon's live feed: the /v1/events stream (snapshot, then events) with reconnect and
 * backoff, plus a poll of /v1/status and /v1/members every second for lastSeen ages. Everything
 * it learns goes to `dispatch` as reducer actions.
 */
import { ApiError, ApiUnreachableError } from '../daemon/api/errors.js';
import type { ApiClient } from '../daemon/api/client.js';
import { backoffDelayMs, type BackoffOptions } from '../shared/backoff.js';
import type { Action } from './state.js';

export interface LinkInit {
  client: ApiClient;
  dispatch: (action: Action) => void;
  nowMs: () => number;
  /** Default 1000. */
  pollIntervalMs?: number;
  /** Default: 250 ms doubling to 5 s: a restarted daemon is back on screen within a second. */
  backoff?: BackoffOptions;
  /** Default {@link STARTING_RETRY}: how a daemon not reached yet is retried. */
  starting?: StartingRetry;
}

/**
 * A daemon the link has never reached may be starting at this moment (`npm start` opens the
 * dashboard beside `cluster.sh up`). For a while it is retried at a short fixed delay, so it is on
 * screen as soon as its API answers rather than after a backoff that grew while it loaded; a
 * failed connection to a socket that is not there yet costs nothing.
 */
export interface StartingRetry {
  delayMs: number;
  /** From the link's start; after it the usual backoff applies. */
  windowMs: number;
}

const DEFAULT_POLL_INTERVAL_MS = 1000;
const DEFAULT_BACKOFF: BackoffOptions = { baseMs: 250, maxMs: 5000 };
export const STARTING_RETRY: StartingRetry = { delayMs: 100, windowMs: 15_000 };

/** How long to wait before the next attempt to attach. */
export function retryDelayMs(input: {
  everAttached: boolean;
  sinceStartMs: number;
  failures: number;
  backoff: BackoffOptions;
  starting: StartingRetry;
  random01: number;
}): number {
  if (!input.everAttached && input.sinceStartMs < input.starting.windowMs) return input.starting.delayMs;
  return backoffDelayMs(input.failures, input.backoff, input.random01);
}

export class DaemonLink {
  private stopped = true;
  private attached = false;
  private everAttached = false;
  private polling = false;
  private stream: AbortController | null = null;
  private pollTimer: NodeJS.Timeout | undefined;
  private wake: (() => void) | null = null;
  private running: Promise<void> = Promise.resolve();

  constructor(private readonly init: LinkInit) {}

  /** Safe to call twice. */
  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.running = this.run();
    this.pollTimer = setInterval(() => this.poll(), this.init.pollIntervalMs ?? DEFAULT_POLL_INTERVAL_MS);
  }

  /** Ends the stream and timers; resolves once the loop has exited. Safe to call twice. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.pollTimer);
    this.stream?.abort();
    this.wake?.();
    await this.running;
  }

  private async run(): Promise<void> {
    const startedAtMs = this.init.nowMs();
    let failures = 0;
    while (!this.stopped) {
      const stream = new AbortController();
      this.stream = stream;
      let error: unknown = null;
      try {
        await this.init.client.events(
          (event) => {
            if (event.type === 'snapshot') {
              this.attached = true;
              this.everAttached = true;
              failures = 0;
            }
            this.init.dispatch({ kind: 'event', nowMs: this.init.nowMs(), event });
          },
          {
            signal: stream.signal,
            // A newer daemon's event type, or a broken one's fields: said in the log, kept from the reducer.
            onIgnored: (reason) => this.init.dispatch({ kind: 'note', nowMs: this.init.nowMs(), type: 'ignored-event', text: `ignored ${reason}`, tone: 'info' }),
          },
        );
      } catch (err) {
        error = err;
      }
      this.attached = false;
      if (this.stopped) return;
      const delayMs = retryDelayMs({
        everAttached: this.everAttached,
        sinceStartMs: this.init.nowMs() - startedAtMs,
        failures,
        backoff: this.init.backoff ?? DEFAULT_BACKOFF,
        starting: this.init.starting ?? STARTING_RETRY,
        random01: Math.random(),
      });
      failures++;
      const { code, reason } = describeFailure(error, stream.signal.aborted);
      this.init.dispatch({ kind: 'disconnected', nowMs: this.init.nowMs(), code, reason, retryAtMs: this.init.nowMs() + delayMs });
      await this.sleep(delayMs);
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      const self = this;
      function done() {
        clearTimeout(timer);
        self.wake = null;
        resolve();
      }
      this.wake = done;
    });
  }

  private poll(): void {
    if (!this.attached || this.polling) return;
    this.polling = true;
    const { client } = this.init;
    Promise.all([client.status(), client.members()])
      .then(async ([status, members]) => {
        // Raft keeps named elections in its store: read this node's own copy (serializable, no quorum round).
        const elections = status.protocol === 'raft' ? await client.elections({ serializable: true }).then((r) => r.elections, () => null) : null;
        if (this.attached) this.init.dispatch({ kind: 'polled', nowMs: this.init.nowMs(), status, members: members.members, elections });
      })
      .catch((err: unknown) => {
        // A daemon that stops answering (SIGSTOP) keeps its stream open: end it and reconnect.
        if (err instanceof ApiUnreachableError) this.stream?.abort();
      })
      .finally(() => {
        this.polling = false;
      });
  }
}

/** A short code and reason for the header, from what ended the stream. */
export function describeFailure(error: unknown, abortedByPoll: boolean): { code: string; reason: string } {
  if (error instanceof ApiError) return { code: error.code, reason: `${error.code} (HTTP ${error.status})` };
  if (error instanceof ApiUnreachableError) return { code: 'unreachable', reason: error.reason };
  if (abortedByPoll) return { code: 'unresponsive', reason: 'daemon not answering' };
  if (error === null) return { code: 'stream-ended', reason: 'the daemon closed the stream' };
  return { code: 'error', reason: error instanceof Error ? error.name : String(error) };
}
