/**
 * Raft timings fitted to the membership presets (`membership.preset`: local, lan, wan), so one
 * word sets the whole cluster's timing; each `raft.*` field set explicitly overrides its preset.
 * etcd's guidance: a heartbeat about one round trip, an election timeout ten heartbeats or more.
 * Autopilot's waits (stabilizationMs, deadVoterRemoveMs) are not here: they measure crash loops and
 * reboots, which take as long on any network.
 */
import type { MembershipPresetName } from '../membership/presets.js';
import type { RaftConfig } from './config.js';
import { DEFAULT_RAFT_CONFIG } from './config.js';

export type RaftTimings = Pick<RaftConfig, 'electionTimeoutMs' | 'heartbeatIntervalMs' | 'leaderGoneStaggerMs'>;

/** A switched LAN: etcd's own defaults (heartbeat 100 ms, election 1 s), what the benches compare against. */
const lan: RaftTimings = {
  electionTimeoutMs: DEFAULT_RAFT_CONFIG.electionTimeoutMs,
  heartbeatIntervalMs: DEFAULT_RAFT_CONFIG.heartbeatIntervalMs,
  leaderGoneStaggerMs: DEFAULT_RAFT_CONFIG.leaderGoneStaggerMs,
};

/**
 * Many daemons on one host. Loopback is fast, but one busy host sees GC pauses and scheduling
 * hiccups of tens of ms, as a LAN does: the lan timings. Fail-over after a crash does not wait
 * for the timeout anyway (membership reports the closed connection at once).
 */
const local: RaftTimings = { ...lan };

/** Sites apart: round trips of 100-300 ms and bursts of loss; a leader change in seconds is fine. */
const wan: RaftTimings = { electionTimeoutMs: 5000, heartbeatIntervalMs: 500, leaderGoneStaggerMs: 300 };

export const RAFT_PRESETS: Readonly<Record<MembershipPresetName, RaftTimings>> = { lan, local, wan };
