/**
 * The decisions behind hooks, pure so they can be tested without processes or daemons (the
 * spawning lives in runner.ts): which hooks a change of this node's leadership view fires, the
 * environment each run gets, and the queue policy when transitions come faster than hooks finish.
 *
 * Firing rules (keepalived's notify_master / notify_backup, client-go's OnNewLeader):
 * - onLeader: this node becomes leader, or starts a new reign while leading (a new term means a
 *   new fencing token the job must use).
 * - onFollower: this node stops leading; also once at start (keepalived runs notify_backup when
 *   it enters BACKUP), so a job a crashed daemon left running is stopped when it comes back.
 * - onLeaderChange: a different node is named leader than the last one named. A leaderless gap
 *   that ends with the same leader is no change; "no leader" alone fires nothing.
 *
 * Queues: onLeader and onFollower share one lane, so a stop never overtakes the start it undoes;
 * onLeaderChange has its own. A lane runs one hook at a time, in transition order. Runs that pile
 * up behind a running hook are coalesced so the lane stays bounded and ends in the latest state:
 * a new run replaces a waiting run of the same hook (it carries newer values), and a waiting
 * start-then-stop (or stop-then-start) pair that the newest run makes moot is dropped. Dropped
 * runs count as `skipped`.
 */
import type { Role } from '../../protocols/types.js';
import type { NodeRef } from '../../protocols/host/events.js';

export const HOOK_NAMES = ['onLeader', 'onFollower', 'onLeaderChange'] as const;
export type HookName = (typeof HOOK_NAMES)[number];

/** How one run ended; `skipped`: coalesced away before it started. */
export const HOOK_RESULTS = ['ok', 'failed', 'timeout', 'skipped'] as const;
export type HookResult = (typeof HOOK_RESULTS)[number];

/** Which queue a hook runs in. */
export type HookLaneName = 'leadership' | 'leader-change';

export function laneOf(hook: HookName): HookLaneName {
  return hook === 'onLeaderChange' ? 'leader-change' : 'leadership';
}

/** What this node reports about leadership, as of one moment. */
export interface LeadershipView {
  role: Role;
  term: number;
  fencingToken: number;
  /** The leader this node names (itself when leading), or null. */
  leader: NodeRef | null;
}

/** One run to make: which hook, and the values it is told about. */
export interface HookRun {
  hook: HookName;
  view: LeadershipView;
  /** The leader named before the current one (or before none, the one just lost); null if none. */
  previousLeader: NodeRef | null;
}

/**
 * Follows this node's leadership view and says which hooks each change fires. Feed it every view
 * (unchanged ones fire nothing); the first view fires the start-up runs.
 */
export class HookTrigger {
  private last: LeadershipView | null = null;
  /** The most recent non-null leader named, and the one named before it. */
  private named: NodeRef | null = null;
  private namedBefore: NodeRef | null = null;

  observe(view: LeadershipView): HookRun[] {
    const prev = this.last;
    this.last = { ...view, leader: view.leader ? { ...view.leader } : null };
    const leaderChanged = view.leader !== null && view.leader.id !== this.named?.id;
    if (leaderChanged) {
      this.namedBefore = this.named;
      this.named = { ...view.leader! };
    }
    const previousLeader = view.leader === null ? this.named : this.namedBefore;
    const run = (hook: HookName): HookRun => ({ hook, view: this.last!, previousLeader });
    const runs: HookRun[] = [];
    const leads = view.role === 'leader';
    if (prev === null) runs.push(run(leads ? 'onLeader' : 'onFollower'));
    else if (leads && (prev.role !== 'leader' || prev.term !== view.term)) runs.push(run('onLeader'));
    else if (!leads && prev.role === 'leader') runs.push(run('onFollower'));
    if (leaderChanged) runs.push(run('onLeaderChange'));
    return runs;
  }
}

/** What a lane tells its runner to do after a change: start a run, and runs dropped unstarted. */
export interface LaneStep {
  start: HookRun | null;
  skipped: HookRun[];
}

/** One queue of hook runs: at most one running; the waiting ones coalesced as described above. */
export class HookLane {
  private running: HookRun | null = null;
  private readonly waiting: HookRun[] = [];

  get busy(): boolean {
    return this.running !== null;
  }

  /** Runs waiting behind the running one (at most two). */
  get pending(): readonly HookRun[] {
    return this.waiting;
  }

  enqueue(run: HookRun): LaneStep {
    if (this.running === null) {
      this.running = run;
      return { start: run, skipped: [] };
    }
    const skipped: HookRun[] = [];
    const lastWaiting = this.waiting[this.waiting.length - 1];
    if (lastWaiting?.hook === run.hook) skipped.push(...this.waiting.splice(this.waiting.length - 1, 1));
    this.waiting.push(run);
    // Waiting runs now alternate between two hooks; X, Y, X ends where X alone does.
    while (this.waiting.length > 2) skipped.push(...this.waiting.splice(0, 2));
    return { start: null, skipped };
  }

  /** The running hook ended; starts the next waiting one, if any. */
  finished(): LaneStep {
    this.running = this.waiting.shift() ?? null;
    return { start: this.running, skipped: [] };
  }

  /** Drops every waiting run (a stopping daemon starts nothing new); the running one is left. */
  clear(): HookRun[] {
    return this.waiting.splice(0);
  }
}

/** The variables a hook finds in its environment (on top of the daemon's own). */
export function hookEnv(run: HookRun, nodeName: string): Record<string, string> {
  const { view } = run;
  return {
    CONCLAVE_HOOK: run.hook,
    CONCLAVE_FENCING_TOKEN: String(view.fencingToken),
    CONCLAVE_TERM: String(view.term),
    CONCLAVE_LEADER_ID: view.leader?.id ?? '',
    CONCLAVE_LEADER_NAME: view.leader?.name ?? '',
    CONCLAVE_NODE_NAME: nodeName,
    CONCLAVE_ROLE: view.role,
    CONCLAVE_PREVIOUS_LEADER: run.previousLeader?.name ?? '',
  };
}

/** Bounds the output kept of one run: the last `maxBytes`, cut at a line start where possible. */
export class OutputTail {
  private chunks: Buffer[] = [];
  private bytes = 0;
  private dropped = false;
  /** The last byte dropped, to tell whether the kept text starts a line. */
  private lastDroppedByte = 0x0a;

  constructor(private readonly maxBytes: number) {}

  push(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.bytes += chunk.length;
    while (this.bytes - this.chunks[0]!.length >= this.maxBytes) {
      const first = this.chunks.shift()!;
      this.bytes -= first.length;
      this.lastDroppedByte = first[first.length - 1] ?? this.lastDroppedByte;
      this.dropped = true;
    }
  }

  /** The tail as text; when earlier output was dropped, it starts at a whole line. */
  text(): string {
    const all = Buffer.concat(this.chunks);
    const cut = Math.max(0, all.length - this.maxBytes);
    let text = all.subarray(cut).toString('utf8');
    if (cut > 0 || this.dropped) {
      // Drop the partial first line, unless the cut fell just after a newline.
      const partial = (cut > 0 ? all[cut - 1] : this.lastDroppedByte) !== 0x0a;
      const newline = text.indexOf('\n');
      if (partial && newline >= 0 && newline < text.length - 1) text = text.slice(newline + 1);
      text = `…${text}`;
    }
    return text.trimEnd();
  }
}
