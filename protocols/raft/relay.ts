/**
 * Leadership commands asked of a follower go to the leader it knows (COMMAND) and are answered
 * from there (COMMAND_RESULT), so `conclave transfer`, `resign` and `leave` work on any member.
 * The relaying node answers its caller within a bound: `no-leader` at once when it knows none,
 * `timeout` when no answer came in time (lost, or the leader died). The leader executes a relayed
 * command only from a member of its configuration, once per (sender, requestId) even when the
 * network duplicates it.
 */
import type { CommandResult } from '../election.js';
import type { NodeId } from '../types.js';
import type { RaftMessage, RelayedCommand } from './messages.js';
import type { Raft } from './raft.js';

/** Who waits for a command's answer: the local API (by command id) or a member that relayed it. */
export type Requester = { kind: 'local'; id: number } | { kind: 'remote'; from: NodeId; requestId: number };

/** Error codes of relaying (commands.ts has the rest). */
export const RELAY_ERRORS = { noLeader: 'no-leader', timeout: 'timeout', busy: 'busy' } as const;

/** A relayed command is answered within this many election timeouts (a transfer alone may take one). */
export const RELAY_BOUND_TIMEOUTS = 3;
/** Commands waiting for the leader's answer at one node; more are refused as `busy`. */
const MAX_PENDING = 64;
/** Relayed requests the leader remembers, to execute a duplicated one only once. */
const MAX_SEEN = 256;
/** Each life's request ids start at random below this (well within the codec's counter bound). */
const REQUEST_ID_START_MAX = 2 ** 40;

/** Answers `req`: a command-result effect, or COMMAND_RESULT to the member that relayed it. */
export function answer(m: Raft, req: Requester, result: CommandResult): void {
  if (req.kind === 'local') m.out.reply(req.id, result);
  else m.out.send(req.from, { type: 'COMMAND_RESULT', requestId: req.requestId, result });
}

export function fail(m: Raft, req: Requester, code: string, message: string): void {
  answer(m, req, { ok: false, code, message });
}

export class Relay {
  private readonly pending = new Map<number, { commandId: number; leader: NodeId; deadlineMs: number }>();
  /**
   * 0 until the first relay, then a random start: a restarted node must not reuse the ids of its
   * previous life, which the leader may still hold as seen (and would drop as duplicates).
   */
  private nextRequestId = 0;
  private readonly seen: string[] = [];

  constructor(private readonly m: Raft) {}

  /** A command for the leader, asked here: send it on, or fail at once without a leader to ask. */
  forward(commandId: number, command: RelayedCommand): void {
    const m = this.m;
    const leader = m.leaderId;
    if (leader === null || leader === m.selfId) return m.out.fail(commandId, RELAY_ERRORS.noLeader, 'no leader is known to relay the command to; try again once one is elected');
    if (this.pending.size >= MAX_PENDING) return m.out.fail(commandId, RELAY_ERRORS.busy, `${MAX_PENDING} commands are already waiting for the leader`);
    if (this.nextRequestId === 0) this.nextRequestId = m.rng.int(1, REQUEST_ID_START_MAX);
    const requestId = this.nextRequestId++;
    this.pending.set(requestId, { commandId, leader, deadlineMs: m.nowMs + RELAY_BOUND_TIMEOUTS * m.config.electionTimeoutMs });
    m.out.send(leader, { type: 'COMMAND', requestId, command });
  }

  onMessage(from: NodeId, message: Extract<RaftMessage, { type: 'COMMAND' | 'COMMAND_RESULT' }>): void {
    if (message.type === 'COMMAND_RESULT') return this.onResult(from, message.requestId, message.result);
    const m = this.m;
    const c = m.configuration();
    if (!c || (!c.voters.includes(from) && !c.learners.includes(from))) return m.out.refuse(from, 'not-a-member', 'COMMAND from a node that is not in the configuration');
    const key = `${from}#${message.requestId}`;
    if (this.seen.includes(key)) return;
    this.seen.push(key);
    if (this.seen.length > MAX_SEEN) this.seen.shift();
    m.commands.execute({ kind: 'remote', from, requestId: message.requestId }, message.command);
  }

  private onResult(from: NodeId, requestId: number, result: CommandResult): void {
    const p = this.pending.get(requestId);
    if (!p || p.leader !== from) return;
    this.pending.delete(requestId);
    this.m.out.reply(p.commandId, result);
  }

  /** Fails what waited past its bound. */
  tick(): void {
    for (const [requestId, p] of this.pending) {
      if (this.m.nowMs < p.deadlineMs) continue;
      this.pending.delete(requestId);
      this.m.out.fail(p.commandId, RELAY_ERRORS.timeout, `the leader (${p.leader}) did not answer within ${RELAY_BOUND_TIMEOUTS} election timeouts; the command may still take effect`);
    }
  }

  deadline(): number {
    let due = Infinity;
    for (const p of this.pending.values()) due = Math.min(due, p.deadlineMs);
    return due;
  }
}
