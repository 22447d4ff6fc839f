/**
 * Whether `cluster.bootstrapExpect` keeps the servers a node sees to one cluster at a cold start,
 * for the daemon's log, `conclave status` and the dashboard. Pure.
 *
 * Why this bound: under either protocol a node with no history (empty data dir) leads only once it has seen
 * bootstrapExpect members, and only with the votes (Raft) or the quorum (Bully) of a majority
 * counted of at least that many. Two groups that never saw each other at a cold start can each
 * elect only when two such majorities fit disjointly among the servers: when
 * 2 * majority(bootstrapExpect) <= servers. Five servers with the default of 3: when A, B, C see
 * one another and so do C, D, E, A and B can elect one leader and D and E another; with 4 or 5
 * they cannot (README "Bootstrapping").
 */

import { majorityOf } from '../protocols/bully/quorum.js';

/** The most servers a bootstrapExpect of `expect` keeps to one cluster at a cold start. */
export function serversProtected(expect: number): number {
  return 2 * majorityOf(expect) - 1;
}

/** The smallest bootstrapExpect that keeps `servers` servers to one cluster. */
export function smallestSafeExpect(servers: number): number {
  // serversProtected is E for an odd E and E + 1 for an even one.
  return servers <= 1 ? 1 : servers % 2 === 1 ? servers - 1 : servers;
}

export interface ExpectTooLow {
  /** `cluster.bootstrapExpect`. */
  expect: number;
  /** Members live at once (alive or suspect), the node itself included. */
  live: number;
  /** The smallest bootstrapExpect that would keep `live` servers to one cluster. */
  safeFrom: number;
}

/** What is wrong when `live` servers outnumber what `expect` protects; null when nothing is. */
export function expectTooLow(expect: number, live: number): ExpectTooLow | null {
  return live > serversProtected(expect) ? { expect, live, safeFrom: smallestSafeExpect(live) } : null;
}

/** The value to set, and the range that also holds: `5 (any value from 4 keeps one cluster)`. */
function advice(t: ExpectTooLow): string {
  return t.safeFrom === t.live ? `${t.live}` : `${t.live} (any value from ${t.safeFrom} keeps one cluster)`;
}

/** The daemon's warning: what can go wrong and when, and what to set where. */
export function expectTooLowWarning(t: ExpectTooLow): string {
  return (
    `cluster.bootstrapExpect is ${t.expect}, but ${t.live} members are live: a cluster formed anew with this setting (empty data dirs) ` +
    `could split in two, groups of ${t.expect} that do not see each other yet each electing a leader. The running cluster, and ` +
    `restarts that keep their data dirs, are not at risk. Set cluster.bootstrapExpect (--bootstrap-expect, CONCLAVE_BOOTSTRAP_EXPECT) ` +
    `on every node to the number of servers, ${advice(t)}`
  );
}

/** One line for `conclave status`, after its `bootstrap` label. */
export function expectTooLowLine(t: ExpectTooLow): string {
  return `expect ${t.expect} is too low for ${t.live} live members: a new cluster formed with it could split in two; set --bootstrap-expect ${advice(t)}`;
}

/** The dashboard's banner: 80 columns for clusters below 100 members, 100 for any. */
export function expectTooLowBanner(t: ExpectTooLow): string {
  return `${t.live} members, bootstrapExpect ${t.expect}: a new cluster could split in two; set it to ${t.live}`;
}
