/**
 * The daemon's Prometheus metrics: an own prom-client Registry (never the global one, so several
 * daemons in one test process stay apart) with typed handles, every name prefixed `conclave_`,
 * plus prom-client's default process metrics under the same prefix. Raft's series, named after
 * etcd's, are registered only for a Raft daemon.
 */
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry, type LabelValues } from 'prom-client';

// prom-client samples event-loop delay with its own timer, every 10 ms by default: 100 wake-ups a
// second, measurable on an idle daemon. 100 ms still catches every stall that matters here.
const EVENT_LOOP_MONITORING_PRECISION_MS = 100;

export interface MetricHandles {
  members: Gauge<'state'>;
  memberStateChanges: Counter<'to'>;
  heartbeatsSent: Counter;
  heartbeatsReceived: Counter;
  gossipBytesSent: Counter;
  gossipBytesReceived: Counter;
  messagesSent: Counter<'type'>;
  messagesReceived: Counter<'type'>;
  messagesRejected: Counter<'reason'>;
  peerConnections: Gauge;
  eventLoopLagSeconds: Gauge;
  healthMultiplier: Gauge;
  isLeader: Gauge;
  leaseRemainingSeconds: Gauge;
  bootstrapComplete: Gauge;
  handshakeFailures: Counter;
  peerFloodDisconnects: Counter;
  outboundFramesDropped: Counter;
  outboundStreamResets: Counter;
  peerListsSent: Counter;
  directLinks: Gauge;
  linkFramesSent: Counter;
  linkHandshakeFailures: Counter;
  term: Gauge;
  fencingToken: Gauge;
  elections: Counter<'result'>;
  electionDurationSeconds: Histogram;
  leaderChanges: Counter;
  leaderlessSecondsTotal: Counter;
  apiRequests: Counter<'route' | 'code'>;
  /** Hook runs by hook and result (ok, failed, timeout, skipped). */
  hookRuns: Counter<'hook' | 'result'>;
  hookDurationSeconds: Histogram<'hook'>;
  apiRejectedRequests: Counter<'reason'>;
  walBatches: Counter;
  walFsyncs: Counter;
  walFsyncSeconds: Gauge<'quantile'>;
  walTornTails: Counter;
  /** Every fsync of the log store (etcd's etcd_disk_wal_fsync_duration_seconds). */
  walFsyncDurationSeconds: Histogram;
  /** Log records not written since the log destination failed (README "Metrics"). */
  logRecordsDropped: Counter;
  /** 1 while the log destination is failed: the daemon runs on without its log until a reload opens log.file again, or a restart. */
  logDestinationFailed: Gauge;
  /** Live switches of this node's election protocol (README "Switching protocols"), by protocol and how. */
  protocolSwitches: Counter<'to' | 'how'>;
  /** Raft's log, votes and configuration (etcd's etcd_server_* and etcd_debugging_* series); null under Bully, which has no log. */
  raft: RaftMetricHandles | null;
}

export interface RaftMetricHandles {
  commitIndex: Gauge;
  appliedIndex: Gauge;
  lastIndex: Gauge;
  snapshotIndex: Gauge;
  kvRevision: Gauge;
  kvKeys: Gauge;
  proposalsCommitted: Counter;
  proposalsFailed: Counter;
  votesCast: Counter<'kind' | 'granted'>;
  kvResends: Counter;
  heartbeatsLate: Counter;
  stepDowns: Counter<'reason'>;
  configChanges: Counter;
  snapshots: Counter<'action'>;
}

export interface ConclaveMetrics {
  registry: Registry;
  handles: MetricHandles;
  /** Runs `hook` before every scrape, to copy values the runtime keeps as plain numbers. */
  onScrape(hook: () => void): void;
  /** The exposition text, hooks run first; what ControlSource.metrics() returns. */
  scrape(): Promise<{ contentType: string; body: string }>;
  /** Raises a counter to a cumulative `total` kept elsewhere (a total below the last one is ignored). */
  setCounterTotal<T extends string>(counter: Counter<T>, total: number, labels?: LabelValues<T>): void;
}

export const METRIC_PREFIX = 'conclave_';
/** Elections take tens of ms on a LAN (Bully) up to seconds (Raft timeouts, lossy links). */
/** Hooks run from a few ms (a logger call) to tens of seconds (a service start), up to the timeout. */
export const HOOK_DURATION_BUCKETS_SECONDS = [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120];
export const ELECTION_DURATION_BUCKETS_SECONDS = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/**
 * etcd's WAL fsync buckets, 1 ms doubling to about 2 s: a healthy SSD sits in the first few, a
 * disk that makes a leader miss its heartbeats (etcd warns past 1 s) lands in the last ones.
 */
export const WAL_FSYNC_BUCKETS_SECONDS = [0.001, 0.002, 0.004, 0.008, 0.016, 0.032, 0.064, 0.128, 0.256, 0.512, 1.024, 2.048];

/**
 * `raft`: register the Raft series (a Bully daemon has no log, so it shows none rather than a
 * row of zeros that look like a stalled log). Default false.
 */
export function createMetrics(opts: { processMetrics?: boolean; raft?: boolean } = {}): ConclaveMetrics {
  const registry = new Registry();
  const registers = [registry];
  const counter = <T extends string>(name: string, help: string, labelNames: readonly T[] = []) =>
    new Counter<T>({ name: METRIC_PREFIX + name, help, labelNames, registers });
  const gauge = <T extends string>(name: string, help: string, labelNames: readonly T[] = []) =>
    new Gauge<T>({ name: METRIC_PREFIX + name, help, labelNames, registers });

  const handles: MetricHandles = {
    members: gauge('members', 'Members in this node\'s view, by state', ['state']),
    memberStateChanges: counter('member_state_changes_total', 'Member state transitions seen, by new state', ['to']),
    heartbeatsSent: counter('heartbeats_sent_total', 'Heartbeats published'),
    heartbeatsReceived: counter('heartbeats_received_total', 'Valid heartbeats received'),
    gossipBytesSent: counter('gossip_bytes_sent_total', 'Bytes published on the gossip topic'),
    gossipBytesReceived: counter('gossip_bytes_received_total', 'Bytes received on the gossip topic'),
    messagesSent: counter('messages_sent_total', 'Election messages sent, by type', ['type']),
    messagesReceived: counter('messages_received_total', 'Election messages received, by type', ['type']),
    messagesRejected: counter('messages_rejected_total', 'Inbound messages dropped, by reason', ['reason']),
    peerConnections: gauge('peer_connections', 'Open libp2p connections'),
    eventLoopLagSeconds: gauge('event_loop_lag_seconds', 'Recent maximum event-loop delay of this daemon'),
    healthMultiplier: gauge('health_multiplier', 'Lifeguard factor stretching this node\'s timeouts while it is slow (1 = healthy)'),
    isLeader: gauge('is_leader', '1 while this node is the leader (it holds a majority\'s lease), else 0'),
    leaseRemainingSeconds: gauge('lease_remaining_seconds', 'On the leader: how long its lease still runs on its own clock; 0 on any other node'),
    bootstrapComplete: gauge('bootstrap_complete', '1 once this node has seen cluster.bootstrapExpect members (before that it never leads)'),
    handshakeFailures: counter('handshake_failures_total', 'Dials whose connection opened but whose encrypted handshake failed (most often a different pre-shared key)'),
    peerFloodDisconnects: counter('peer_flood_disconnects_total', 'Peers disconnected for sending above their per-peer limits; each is then refused for a cool-down'),
    outboundFramesDropped: counter('outbound_frames_dropped_total', 'Election frames to peers dropped before the peer took them (queue full, stale, stream broken or reset)'),
    outboundStreamResets: counter('outbound_stream_resets_total', 'Message streams to peers reset because the peer took nothing for too long'),
    peerListsSent: counter('peer_lists_sent_total', 'Peer lists sent to introduce a newcomer: ours to it, it to the peers we know'),
    directLinks: gauge('direct_links', 'Peers whose election frames go on a direct TLS link (messaging.linkPort) rather than the libp2p connection'),
    linkFramesSent: counter('link_frames_sent_total', 'Frames sent on direct links: election messages, heartbeats and peer lists (the rest went on libp2p streams)'),
    linkHandshakeFailures: counter('link_handshake_failures_total', 'Sockets at the direct-link listener that failed the handshake: a key never offered, a wrong key, not TLS, or too slow'),
    term: gauge('term', 'Raft term or Bully epoch at this node'),
    fencingToken: gauge('fencing_token', 'Fencing token at this node, as on disk; only grows'),
    elections: counter('elections_total', 'Elections this node took part in, by result', ['result']),
    electionDurationSeconds: new Histogram({
      name: `${METRIC_PREFIX}election_duration_seconds`,
      help: 'Time from an election start to its result',
      buckets: ELECTION_DURATION_BUCKETS_SECONDS,
      registers,
    }),
    leaderChanges: counter('leader_changes_total', 'Times the leader this node follows changed'),
    leaderlessSecondsTotal: counter('leaderless_seconds_total', 'Time this node spent without a leader'),
    apiRequests: counter('api_requests_total', 'Control API requests, by route and HTTP status', ['route', 'code']),
    apiRejectedRequests: counter('api_rejected_requests_total', 'Control API connections and requests refused as misbehaving (bad target, over a cap, timed out, unauthorized), by reason', ['reason']),
    hookRuns: counter('hook_runs_total', 'Hook runs, by hook and result: ok, failed (non-zero exit, a signal, or could not start), timeout (killed at hooks.timeoutMs), skipped (coalesced before it started)', ['hook', 'result']),
    hookDurationSeconds: new Histogram<'hook'>({
      name: `${METRIC_PREFIX}hook_duration_seconds`,
      help: 'Time from a hook\'s start to its end (skipped runs are not timed)',
      labelNames: ['hook'],
      buckets: HOOK_DURATION_BUCKETS_SECONDS,
      registers,
    }),
    walBatches: counter('wal_batches_total', 'Batches of machine state appended to the log store (<dataDir>/wal)'),
    walFsyncs: counter('wal_fsyncs_total', 'fsyncs of the log store; fewer than batches when appends share one (group commit)'),
    walFsyncSeconds: gauge('wal_fsync_seconds', 'fsync time of the log store over its last 1024 fsyncs, by quantile (0.5, 0.99, 1)', ['quantile']),
    walTornTails: counter('wal_torn_tails_total', 'Torn last records (a crash mid-append) cut from the log store at start; the bytes are kept beside the segment'),
    walFsyncDurationSeconds: new Histogram({
      name: `${METRIC_PREFIX}wal_fsync_duration_seconds`,
      help: 'Duration of each fsync of the log store (<dataDir>/wal)',
      buckets: WAL_FSYNC_BUCKETS_SECONDS,
      registers,
    }),
    logRecordsDropped: counter('log_records_dropped_total', 'Log records not written because a write to the log destination (stderr or log.file) failed: its reader went away, the disk is full'),
    logDestinationFailed: gauge('log_destination_failed', '1 while the log destination is failed: the daemon runs on without its log until conclave reload opens log.file again, or a restart; else 0'),
    protocolSwitches: counter('protocol_switches_total', 'Times this node switched its election protocol live, by the protocol it switched to and how: agreed (it led and switched the cluster) or adopted (it followed the cluster)', ['to', 'how']),
    raft: opts.raft
      ? {
          commitIndex: gauge('raft_commit_index', 'Highest log index known committed at this node'),
          appliedIndex: gauge('raft_applied_index', 'Highest log index applied at this node'),
          lastIndex: gauge('raft_last_index', 'Last index in this node\'s log'),
          snapshotIndex: gauge('raft_snapshot_index', 'Index of this node\'s newest snapshot (0: none)'),
          kvRevision: gauge('kv_revision', 'The key-value store\'s revision as applied at this node (grows with every write that changes something)'),
          kvKeys: gauge('kv_keys', 'Keys the key-value store holds, as applied at this node'),
          proposalsCommitted: counter('raft_proposals_committed_total', 'Entries this node appended as leader that committed'),
          proposalsFailed: counter('raft_proposals_failed_total', 'Entries this node appended as leader that were lost with its leadership'),
          kvResends: counter('raft_kv_resends_total', 'Key-value requests this follower forwarded and sent the leader again after half an election timeout without an answer (a lost frame)'),
          votesCast: counter('raft_votes_cast_total', 'Pre-vote and vote requests this node answered, by kind (pre-vote, vote) and answer (granted true or false)', ['kind', 'granted']),
          heartbeatsLate: counter('raft_heartbeats_late_total', 'Heartbeat rounds this leader sent at least an interval late (event loop or disk overloaded)'),
          stepDowns: counter('raft_step_downs_total', 'Times this node stopped leading, by reason', ['reason']),
          configChanges: counter('raft_config_changes_total', 'Configuration changes this node took up (appended, truncated away or installed from a snapshot)'),
          snapshots: counter('raft_snapshots_total', 'Snapshots taken here, sent to a peer or installed from the leader, by action', ['action']),
        }
      : null,
  };
  if (opts.processMetrics !== false) {
    collectDefaultMetrics({ register: registry, prefix: METRIC_PREFIX, eventLoopMonitoringPrecision: EVENT_LOOP_MONITORING_PRECISION_MS });
  }

  const hooks: (() => void)[] = [];
  const totals = new Map<Counter<string>, Map<string, number>>();
  return {
    registry,
    handles,
    onScrape: (hook) => hooks.push(hook),
    async scrape() {
      for (const hook of hooks) hook();
      return { contentType: registry.contentType, body: await registry.metrics() };
    },
    setCounterTotal(target, total, labels) {
      const key = JSON.stringify(labels ?? {});
      const seen = totals.get(target as Counter<string>) ?? new Map<string, number>();
      totals.set(target as Counter<string>, seen);
      const delta = total - (seen.get(key) ?? 0);
      if (!(delta > 0)) return;
      seen.set(key, total);
      if (labels) target.inc(labels, delta);
      else target.inc(delta);
    },
  };
}
