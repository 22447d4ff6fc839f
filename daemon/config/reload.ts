/**
 * What a reload (`conclave reload`, SIGHUP) changes: the running config against one loaded again
 * from the same file, environment and flags, field by field. Pure; daemon/reload.ts applies the
 * plan. A live field takes effect at once; any other changed field is listed as needing a restart
 * and keeps its running value in the new config, so the config a daemon holds is always the one
 * it runs.
 */
import { isDeepStrictEqual } from 'node:util';
import type { ProtocolName } from '../../protocols/types.js';
import { redactSecrets } from './secrets.js';
import type { ConclaveConfig } from './types.js';

/** One changed field: its dotted path and both values (secrets shown as a placeholder). */
export interface FieldChange {
  field: string;
  from: unknown;
  to: unknown;
  /** `requested`: a protocol switch asked of the cluster, which switches on its own schedule. */
  note?: string;
}

/**
 * The fields a running daemon takes on at once. Everything else is fixed at start: identity and
 * name (gossiped, ranked), addresses and discovery (sockets, dials), the data dir, cluster name
 * and key (topics, the private network), frame limits, bootstrapExpect and every election timing
 * (the machines are built with them), the log's file and format (its stream).
 */
export const LIVE_FIELDS: ReadonlySet<string> = new Set([
  // The logger and its children switch level at once.
  'log.level',
  // Read when a run starts: the next transition uses them; a running hook keeps its own.
  'hooks.onLeader',
  'hooks.onFollower',
  'hooks.onLeaderChange',
  'hooks.timeoutMs',
  // Membership measures against them from its next tick; the loader has already checked them
  // together (suspectAfterMs above heartbeatIntervalMs, …). The preset is only their name: the
  // raft timings fitted to it are raft.* fields, which need a restart.
  'membership.preset',
  'membership.heartbeatIntervalMs',
  'membership.suspectAfterMs',
  'membership.suspicionMinMs',
  'membership.suspicionMaxMs',
  'membership.forgetAfterMs',
  'membership.maxHealthMultiplier',
]);

/** Changed live only through the cluster's switch (issue 13), when the daemon can ask for one. */
export const SWITCH_FIELD = 'protocol';

export interface ReloadPlan {
  applied: FieldChange[];
  needsRestart: FieldChange[];
  /**
   * The running config with the live changes in it: what the daemon runs with from now on. A
   * requested protocol is not in it: the running protocol changes when the cluster switches.
   */
  config: ConclaveConfig;
  /** The protocol to ask the cluster to switch to; null when `protocol` is unchanged or needs a restart. */
  requestProtocol: ProtocolName | null;
}

/**
 * Sorts every field that differs between `running` and `next` (both as loadConfig returns them)
 * into applied and needs-restart, in config order. `canSwitchProtocol`: the daemon can ask the
 * cluster for a protocol switch; without it a changed `protocol` needs a restart.
 */
export function planReload(running: ConclaveConfig, next: ConclaveConfig, opts: { canSwitchProtocol: boolean }): ReloadPlan {
  const config = structuredClone(running);
  const shownFrom = redactSecrets(running);
  const shownTo = redactSecrets(next);
  const applied: FieldChange[] = [];
  const needsRestart: FieldChange[] = [];
  let requestProtocol: ProtocolName | null = null;
  for (const path of changedPaths(running, next)) {
    const field = path.join('.');
    const change: FieldChange = { field, from: valueAt(shownFrom, path), to: valueAt(shownTo, path) };
    if (LIVE_FIELDS.has(field)) {
      setAt(config, path, structuredClone(valueAt(next, path)));
      applied.push(change);
    } else if (field === SWITCH_FIELD && opts.canSwitchProtocol) {
      requestProtocol = next.protocol;
      // What the node asks for now: a later reload that changes it back asks again.
      config.protocol = next.protocol;
      applied.push({ ...change, note: 'requested' });
    } else {
      needsRestart.push(change);
    }
  }
  return { applied, needsRestart, config, requestProtocol };
}

/** Paths of the leaves that differ; a list (listen addresses, an argv hook) is one leaf. */
function changedPaths(a: unknown, b: unknown, path: string[] = []): string[][] {
  if (isPlainObject(a) && isPlainObject(b)) {
    const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])];
    return keys.flatMap((key) => changedPaths(a[key], b[key], [...path, key]));
  }
  return isDeepStrictEqual(a, b) ? [] : [path];
}

function valueAt(root: unknown, path: readonly string[]): unknown {
  let node = root;
  for (const key of path) node = isPlainObject(node) ? node[key] : undefined;
  return node;
}

function setAt(root: object, path: readonly string[], value: unknown): void {
  let node = root as Record<string, unknown>;
  for (const key of path.slice(0, -1)) node = node[key] as Record<string, unknown>;
  node[path[path.length - 1]!] = value;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
