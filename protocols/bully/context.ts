/**
 * What every part of the Bully machine reads and none owns: who this node is, its settings, the
 * time of the input being handled, the membership view and the effect queue. The machine
 * (bully.ts) owns all of it and hands each part itself, typed as the port that part declares
 * (this context plus the few siblings and transitions it uses), so each file states what it
 * depends on.
 */
import type { NodeId } from '../types.js';
import type { BullyConfig } from './config.js';
import type { BullyMessage } from './messages.js';
import type { Outbox } from './outbox.js';
import type { BullyView } from './view.js';

export interface BullyContext {
  readonly selfId: NodeId;
  readonly config: BullyConfig;
  /** `cluster.bootstrapExpect`, at least 1: never claim before the cluster was seen this large. */
  readonly bootstrapExpect: number;
  /** How long a leader may count a grant after sending what earned it (../lease.ts). */
  readonly leaderLeaseDurationMs: number;
  /** `membership.forgetAfterMs`, or Infinity: see BullyInit.memberForgetAfterMs. */
  readonly memberForgetAfterMs: number;
  /** The time of the input being handled (never goes back). */
  readonly nowMs: number;
  readonly view: BullyView;
  readonly out: Outbox;
}

export type Message<T extends BullyMessage['type']> = Extract<BullyMessage, { type: T }>;

/**
 * A role's own handling of the messages whose meaning depends on it, and of its own timers
 * (etcd-raft's stepFollower / stepCandidate / stepLeader, swapped on transition).
 */
export interface RoleMachine {
  step(from: NodeId, message: BullyMessage): void;
  tick(): void;
  /** The earliest time this role's `tick` acts; Infinity when none of its timers runs. */
  deadline(): number;
}
