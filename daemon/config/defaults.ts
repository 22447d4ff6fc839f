/**
 * Defaults of every config field, each with the reason it is what it is (memberlist's
 * config.go style). Membership timings come from the named preset in
 * protocols/membership/presets.ts; node.name and dataDir are derived at load time.
 */
import { hostname, homedir } from 'node:os';
import { isAbsolute, join } from 'node:path';
import { DEFAULT_BULLY_CONFIG } from '../../protocols/bully/config.js';
import { DEFAULT_RAFT_CONFIG } from '../../protocols/raft/config.js';
import type { RaftTimings } from '../../protocols/raft/presets.js';
import type { MembershipPresetName } from '../../protocols/membership/presets.js';
import type { ConclaveConfig } from './types.js';

/** Every field whose default does not depend on the host or on other fields. */
export type ConfigDefaults = Omit<ConclaveConfig, 'node' | 'dataDir' | 'membership' | 'raft'> & {
  node: { priority: number };
  membership: { preset: MembershipPresetName };
  raft: Omit<ConclaveConfig['raft'], keyof RaftTimings> & Partial<RaftTimings>;
};

export { DEFAULT_BULLY_CONFIG };

/** Read-only by convention: loadConfig copies it before merging. */
export const DEFAULT_CONFIG: ConfigDefaults = {
  cluster: {
    // One name shared by every node of a cluster; it scopes mDNS tags and gossip topics, so
    // clusters with different names on one LAN never see each other.
    name: 'conclave',
    // No node leads before it has seen this many members, so a node that starts alone, cannot
    // reach its peers or has the wrong key never makes itself the leader of a cluster of one.
    // Three is the smallest cluster that survives a failure; set it to the number of servers
    // (1 for a single node).
    bootstrapExpect: 3,
  },
  // Equal priority everywhere: rank falls back to the node id, which is stable and unique.
  node: { priority: 0 },
  // Bully needs no durable log and elects in a few round trips: the simpler default.
  protocol: 'bully',
  // All interfaces, so peers on the LAN can dial in; 7401 sits beside the API's 7400.
  listen: ['/ip4/0.0.0.0/tcp/7401'],
  // Loopback only: the control API can move leadership, so it is not exposed without a token.
  api: { listen: '127.0.0.1:7400', token: null },
  discovery: {
    // Zero-configuration discovery is the point on a LAN. Query every second while searching:
    // libp2p's 10 s default makes a new node wait that long to find its cluster. Once connected,
    // every 30 s: each query makes every node on the LAN answer and every node parse every
    // answer, which was a quarter of an idle 5-node cluster's CPU at one query a second.
    mdns: { enabled: true, intervalMs: 1000, idleIntervalMs: 30_000 },
    // mDNS finds peers on a LAN; static addresses are only needed where multicast is blocked.
    bootstrap: [],
    // A member dead this long is let go; until then it is redialled every 1-2 s, so a partition
    // that outlasted membership.forgetAfterMs still heals within seconds. A node gone for good
    // costs each member a failed dial per 1-2 s for this hour.
    reconnectTimeoutMs: 3_600_000,
  },
  // Timings for a switched LAN; `local` is faster (one host), `wan` is slower and more tolerant.
  membership: { preset: 'lan' },
  messaging: {
    // Heartbeats and election messages are well under 4 KiB; 64 KiB leaves room for large
    // clusters' suspicion lists while bounding what a hostile peer can make us buffer.
    maxFrameBytes: 65_536,
    // Election frames on a TLS link per peer, beside libp2p (p2p/link.ts): a hop costs a few ms
    // less on two cores shared by five daemons. Any free port, learnt over libp2p: a host
    // firewall that blocks it leaves the frames on libp2p (a fixed port can be opened instead).
    linkPort: 0,
  },
  bully: { ...DEFAULT_BULLY_CONFIG },
  // Only the fields without a preset value; the timings follow membership.preset (raft-presets.ts).
  // stabilizationMs and deadVoterRemoveMs are operator time scales (crash loops, reboots), not
  // round trips, so no preset changes them.
  raft: {
    maxEntriesPerAppend: DEFAULT_RAFT_CONFIG.maxEntriesPerAppend,
    maxInflight: DEFAULT_RAFT_CONFIG.maxInflight,
    commitNoticeDelayMs: DEFAULT_RAFT_CONFIG.commitNoticeDelayMs,
    stabilizationMs: DEFAULT_RAFT_CONFIG.stabilizationMs,
    maxVoters: DEFAULT_RAFT_CONFIG.maxVoters,
    deadVoterRemoveMs: DEFAULT_RAFT_CONFIG.deadVoterRemoveMs,
    minQuorum: DEFAULT_RAFT_CONFIG.minQuorum,
    snapshotEntries: DEFAULT_RAFT_CONFIG.snapshotEntries,
  },
  // No pre-shared key: any node that knows the cluster name may join. Set one on shared LANs.
  security: { pskFile: null },
  hooks: {
    // No hooks unless asked for: a daemon runs nothing but itself by default.
    onLeader: null,
    onFollower: null,
    onLeaderChange: null,
    // A hook usually starts or stops a service or moves an address, which takes a few seconds at
    // most; 30 s allows a slow `systemctl start` yet bounds how long a hung hook holds up the
    // next run of its queue (and a graceful stop, which waits for running hooks).
    timeoutMs: 30_000,
  },
  // `pretty` reads well on a terminal; services that ship logs want `json`.
  log: { level: 'info', format: 'pretty', file: null },
};

/** The host name: node names are for people, and the host is what an operator looks for. */
export function defaultNodeName(): string {
  return hostname();
}

/**
 * `${XDG_STATE_HOME:-~/.local/state}/conclave/<cluster>/<node>`: state (identity, election
 * terms) belongs in the XDG state dir, and one dir per cluster and node lets several daemons
 * share a host. A relative XDG_STATE_HOME is ignored, as the XDG spec requires.
 */
export function defaultDataDir(env: NodeJS.ProcessEnv, cluster: string, nodeName: string): string {
  const xdg = env.XDG_STATE_HOME;
  const stateHome = xdg && isAbsolute(xdg) ? xdg : join(homeDir(env), '.local', 'state');
  return join(stateHome, 'conclave', cluster, nodeName);
}

export function homeDir(env: NodeJS.ProcessEnv): string {
  return env.HOME && isAbsolute(env.HOME) ? env.HOME : homedir();
}
