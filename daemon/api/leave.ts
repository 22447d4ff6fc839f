/**
 * `POST /v1/leave` decides, from the election's answer to removing this node, whether the daemon
 * stops and what it says: pure, so the Raft path is tested before the Raft machine can remove
 * anyone. Also the one bound on that wait, which the client adds to its own timeout.
 */
import type { CommandResult } from '../../protocols/election.js';
import type { NodeId } from '../../protocols/types.js';
import type { ControlSource, LeaveResponse } from './types.js';

/**
 * How long the route waits for the election to answer the removal: a follower relays it to the
 * leader, which commits a configuration entry (a few round trips on a healthy cluster).
 */
export const LEAVE_REMOVE_TIMEOUT_MS = 10_000;

/** The leave was refused: the daemon keeps running. */
export interface LeaveRefusal {
  code: string;
  message: string;
}

export interface LeaveContext {
  name: string;
  protocol: string;
  /** The election keeps a configuration (Raft): then a removal it cannot make is a failure, not a no-op. */
  hasConfiguration: boolean;
  force: boolean;
}

/**
 * Removed: stop. An election without a configuration (Bully answers `unsupported`; a node that
 * runs none) has nothing to leave: stop, and the graceful stop announces the leave. Under Raft a
 * failed removal (no leader, timeout, `unsupported`) refuses, since stopping would leave a voter
 * that never comes back, unless `force`.
 */
export function decideLeave(removal: CommandResult, ctx: LeaveContext): LeaveResponse | LeaveRefusal {
  if (removal.ok) return { ok: true, removed: true, detail: removal.detail, stopping: true };
  const nothingToLeave = removal.code === 'not-implemented' || (removal.code === 'unsupported' && !ctx.hasConfiguration);
  if (nothingToLeave) {
    return { ok: true, removed: false, detail: `${ctx.protocol} keeps no configuration to leave; the graceful stop announces the leave`, stopping: true };
  }
  if (ctx.force) {
    return { ok: true, removed: false, detail: `not removed from the configuration (${removal.code}: ${removal.message}); stopping anyway (--force)`, stopping: true };
  }
  return {
    code: removal.code,
    message: `could not remove ${ctx.name} from the ${ctx.protocol} configuration: ${removal.message}; the daemon keeps running (retry, or pass --force to stop without the removal)`,
  };
}

/** Asks the election to remove `id`, bounded by LEAVE_REMOVE_TIMEOUT_MS; no election at all is `not-implemented`. */
export async function removeSelf(source: ControlSource, id: NodeId, timeoutMs = LEAVE_REMOVE_TIMEOUT_MS): Promise<CommandResult> {
  const pending = source.command({ kind: 'remove', id });
  if (pending === null) return { ok: false, code: 'not-implemented', message: 'this daemon runs no election' };
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<CommandResult>((resolve) => {
    timer = setTimeout(() => resolve({ ok: false, code: 'timeout', message: `the election did not answer within ${timeoutMs} ms (is there a leader?)` }), timeoutMs);
  });
  try {
    return await Promise.race([pending, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
