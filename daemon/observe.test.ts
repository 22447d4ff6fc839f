/**
 * The metrics binding against a scripted runtime: the raft series follow the log status and the
 * events, and every fsync the store reports lands in the histogram.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ElectionLogStatus, ElectionStatus } from '../protocols/election.js';
import type { NodeEvent } from '../protocols/host/events.js';
import type { ElectionSummary } from '../protocols/types.js';
import { stampEvent } from './api/event-codec.js';
import type { ApiEvent } from './api/types.js';
import { bindMetrics, type StoreMetricsSource } from './observe.js';
import type { P2PNode } from './p2p/index.js';
import type { Runtime } from './runtime.js';

function scriptedRuntime(log: ElectionLogStatus | undefined) {
  const listeners = new Set<(event: ApiEvent) => void>();
  const summary: ElectionSummary = { role: 'leader', term: 4, leader: 'self', fencingToken: 9 };
  const state = { log };
  const runtime = {
    subscribe: (listener: (event: ApiEvent) => void) => {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    members: () => [],
    leadership: (): { summary: ElectionSummary; revision: number; status: ElectionStatus } => ({
      summary,
      revision: 1,
      status: { leaseRemainingMs: 1000, bootstrap: { expect: 3, seen: 3, complete: true }, ...(state.log ? { log: state.log } : {}) },
    }),
    stats: { heartbeatsSent: 0, heartbeatsReceived: 0, messagesSent: new Map(), messagesReceived: new Map(), rejected: new Map(), eventLoopLagMs: 0, persistBatches: 0 },
    health: () => 1,
    leaderlessMs: () => 0,
  } as unknown as Runtime;
  const emit = (event: NodeEvent) => {
    for (const listener of listeners) listener(stampEvent(event));
  };
  return { runtime, emit, state };
}

const p2p = {
  stats: () => ({ gossipBytesSent: 0, gossipBytesReceived: 0, handshakeFailures: 0, floodDisconnects: 0, outboundFramesDropped: 0, outboundStreamResets: 0, peerListsSent: 0, links: 0, linkFramesSent: 0, linkHandshakeFailures: 0 }),
  connectedPeers: () => [],
} as unknown as P2PNode;

function logStatus(overrides: Partial<ElectionLogStatus> = {}): ElectionLogStatus {
  return {
    commitIndex: 40,
    appliedIndex: 39,
    lastIndex: 42,
    lastTerm: 4,
    voters: ['self'],
    learners: [],
    snapshotIndex: 12,
    kv: { revision: 17, keys: 3 },
    peers: [],
    counters: { proposalsCommitted: 5, proposalsFailed: 1, preVotesGranted: 2, preVotesRefused: 3, votesGranted: 4, votesRefused: 6, kvResends: 7 },
    ...overrides,
  };
}

describe('metrics binding', () => {
  it('under raft: index gauges and etcd-style counters from the log status, step-downs, configuration changes, snapshots and late heartbeats from the events', async () => {
    const { runtime, emit, state } = scriptedRuntime(logStatus());
    const bound = bindMetrics(runtime, p2p, null, { raft: true });
    let body = (await bound.scrape()).body;
    assert.match(body, /^conclave_raft_commit_index 40$/m);
    assert.match(body, /^conclave_raft_applied_index 39$/m);
    assert.match(body, /^conclave_raft_last_index 42$/m);
    assert.match(body, /^conclave_raft_snapshot_index 12$/m);
    assert.match(body, /^conclave_kv_revision 17$/m);
    assert.match(body, /^conclave_kv_keys 3$/m);
    assert.match(body, /^conclave_raft_proposals_committed_total 5$/m);
    assert.match(body, /^conclave_raft_proposals_failed_total 1$/m);
    assert.match(body, /^conclave_raft_votes_cast_total\{kind="pre-vote",granted="true"\} 2$/m);
    assert.match(body, /^conclave_raft_votes_cast_total\{kind="pre-vote",granted="false"\} 3$/m);
    assert.match(body, /^conclave_raft_votes_cast_total\{kind="vote",granted="true"\} 4$/m);
    assert.match(body, /^conclave_raft_votes_cast_total\{kind="vote",granted="false"\} 6$/m);
    assert.match(body, /^conclave_raft_kv_resends_total 7$/m);
    assert.match(body, /^conclave_raft_step_downs_total\{reason="removed"\} 0$/m, 'every reason exists from the first scrape');
    assert.match(body, /^conclave_raft_snapshots_total\{action="installed"\} 0$/m);
    emit({ type: 'stepped-down', term: 4, reason: 'check-quorum' });
    emit({ type: 'stepped-down', term: 5, reason: 'check-quorum' });
    emit({ type: 'configuration-changed', index: 43, voters: [], learners: [] });
    emit({ type: 'raft-snapshot', action: 'sent', index: 12, term: 4, peer: null });
    emit({ type: 'heartbeat-late', lateMs: 250 });
    state.log = logStatus({ counters: { proposalsCommitted: 9, proposalsFailed: 1, preVotesGranted: 2, preVotesRefused: 3, votesGranted: 5, votesRefused: 6, kvResends: 8 } });
    body = (await bound.scrape()).body;
    assert.match(body, /^conclave_raft_step_downs_total\{reason="check-quorum"\} 2$/m);
    assert.match(body, /^conclave_raft_config_changes_total 1$/m);
    assert.match(body, /^conclave_raft_snapshots_total\{action="sent"\} 1$/m);
    assert.match(body, /^conclave_raft_heartbeats_late_total 1$/m);
    assert.match(body, /^conclave_raft_proposals_committed_total 9$/m);
    assert.match(body, /^conclave_raft_votes_cast_total\{kind="vote",granted="true"\} 5$/m);
  });

  it('under bully: no raft series, even with raft events around', async () => {
    const { runtime, emit } = scriptedRuntime(undefined);
    const bound = bindMetrics(runtime, p2p);
    emit({ type: 'heartbeat-late', lateMs: 250 });
    assert.doesNotMatch((await bound.scrape()).body, /conclave_raft_/);
  });

  it('each fsync the store reports is observed in wal_fsync_duration_seconds as it happens', async () => {
    const { runtime } = scriptedRuntime(undefined);
    let listener: ((ms: number) => void) | null = null;
    const store: StoreMetricsSource = { torn: null, stats: { batches: 2, fsyncs: 2, fsyncMs: [3, 700] }, onFsync: (l) => ((listener = l), () => undefined) };
    const bound = bindMetrics(runtime, p2p, store);
    listener!(3);
    listener!(700);
    const body = (await bound.scrape()).body;
    assert.match(body, /^conclave_wal_fsync_duration_seconds_bucket\{le="0.004"\} 1$/m);
    assert.match(body, /^conclave_wal_fsync_duration_seconds_bucket\{le="1.024"\} 2$/m);
    assert.match(body, /^conclave_wal_fsync_duration_seconds_count 2$/m);
    assert.match(body, /^conclave_wal_fsync_seconds\{quantile="1"\} 0.7$/m, 'the quantile gauge stays');
  });
});
