import type { ProtocolName } from '../../protocols/types.js';
import type { MembershipTimings } from '../../protocols/membership/types.js';
import type { BullyConfig } from '../../protocols/bully/config.js';
import type { RaftConfig } from '../../protocols/raft/config.js';
import type { MembershipPresetName } from '../../protocols/membership/presets.js';
import type { LOG_FORMATS, LOG_LEVELS } from './schema.js';

export type { MembershipPresetName };
/** A string runs through `/bin/sh -c`; a list is argv, run without a shell. */
export type HookCommand = string | string[];
export type LogLevel = (typeof LOG_LEVELS)[number];
export type LogFormat = (typeof LOG_FORMATS)[number];

/** The effective, validated configuration a daemon runs with (defaults < file < env < flags). */
export interface ConclaveConfig {
  cluster: {
    /** Scopes mDNS tags and gossip topics. */
    name: string;
    /** No node leads before it has seen the cluster reach this many members (both protocols). */
    bootstrapExpect: number;
  };
  node: { name: string; priority: number };
  protocol: ProtocolName;
  /** Absolute path after loading. */
  dataDir: string;
  /** libp2p listen multiaddrs. */
  listen: string[];
  api: {
    /** TCP `host:port` for the HTTP control API; the Unix socket <dataDir>/api.sock is always on. */
    listen: string;
    /** Bearer token; required when `listen` is not a loopback address. */
    token: string | null;
  };
  discovery: {
    /** Query every intervalMs while searching, every idleIntervalMs once connected and settled. */
    mdns: { enabled: boolean; intervalMs: number; idleIntervalMs: number };
    bootstrap: string[];
    /** How long after its death a forgotten member is still redialled (Serf's reconnect_timeout). */
    reconnectTimeoutMs: number;
  };
  /** Named preset plus the timings it resolved to (individual fields may override the preset). */
  membership: { preset: MembershipPresetName } & MembershipTimings;
  messaging: {
    /** Frames above this size are dropped and counted. */
    maxFrameBytes: number;
    /** The direct-link listener's TCP port (0: any free one); null: election frames on the libp2p connection only. */
    linkPort: number | null;
  };
  bully: BullyConfig;
  /** Timings fitted to the membership preset unless set (raft-presets.ts). */
  raft: RaftConfig;
  security: { pskFile: string | null };
  /** Commands run on leadership transitions (daemon/hooks/); null: none. */
  hooks: {
    onLeader: HookCommand | null;
    onFollower: HookCommand | null;
    onLeaderChange: HookCommand | null;
    /** A run still going after this long has its process group killed and counts as `timeout`. */
    timeoutMs: number;
  };
  log: { level: LogLevel; format: LogFormat; file: string | null };
}
