/**
 * Binds a runtime to Prometheus metrics: event-driven counters from the runtime's event stream,
 * gauges and cumulative totals copied from its state at scrape time.
 */
import { ABUSE_KINDS, type AbuseKind } from './api/abuse.js';
import type { LogSinkHealth } from './log.js';
import { createMetrics } from './metrics.js';
import { SNAPSHOT_ACTIONS, STEP_DOWN_REASONS } from '../protocols/election.js';
import type { P2PNode } from './p2p/index.js';
import { MEMBER_STATES, type MemberState } from '../protocols/types.js';
import { REJECT_REASONS, type Runtime } from './runtime.js';
import { HOOK_NAMES, HOOK_RESULTS, type HookName, type HookResult } from './hooks/policy.js';

export interface BoundMetrics {
  scrape: () => Promise<{ contentType: string; body: string }>;
  /** For the API server's per-request hook. */
  countRequest: (route: string, status: number) => void;
  /** For the API server's per-refusal hook. */
  countRejected: (reason: AbuseKind) => void;
  /** For the hook runner: one run's end (duration null for a skipped run). */
  countHookRun: (hook: HookName, result: HookResult, durationMs: number | null) => void;
}

/** What the metrics read from the log store. */
export interface StoreMetricsSource {
  readonly torn: unknown;
  readonly stats: { readonly batches: number; readonly fsyncs: number; readonly fsyncMs: readonly number[] };
  /** Each fsync's duration in ms, as it completes. */
  onFsync?(listener: (ms: number) => void): () => void;
}

export interface BindOptions {
  /** The daemon runs Raft: register the raft_* series (see createMetrics). */
  raft?: boolean;
  /** How the daemon's log destination fares (log.ts logSinkHealth); absent: the log series stay 0. */
  logHealth?: () => LogSinkHealth;
}

export function bindMetrics(runtime: Runtime, p2p: P2PNode, store: StoreMetricsSource | null = null, opts: BindOptions = {}): BoundMetrics {
  const metrics = createMetrics({ raft: opts.raft === true });
  const m = metrics.handles;
  const raft = m.raft;
  store?.onFsync?.((ms) => m.walFsyncDurationSeconds.observe(ms / 1000));
  runtime.subscribe((event) => {
    switch (event.type) {
      case 'member-joined':
      case 'member-alive':
        m.memberStateChanges.inc({ to: 'alive' });
        break;
      case 'member-suspect':
      case 'member-dead':
      case 'member-left':
        m.memberStateChanges.inc({ to: event.type.slice('member-'.length) });
        break;
      case 'election-finished':
        m.elections.inc({ result: event.result });
        m.electionDurationSeconds.observe(event.durationMs / 1000);
        break;
      case 'leader-changed':
        m.leaderChanges.inc();
        break;
      case 'stepped-down':
        raft?.stepDowns.inc({ reason: event.reason });
        break;
      case 'configuration-changed':
        raft?.configChanges.inc();
        break;
      case 'raft-snapshot':
        raft?.snapshots.inc({ action: event.action });
        break;
      case 'heartbeat-late':
        raft?.heartbeatsLate.inc();
        break;
      case 'protocol-switched':
        m.protocolSwitches.inc({ to: event.to, how: event.how });
        break;
    }
  });
  // Every label a dashboard may alert on exists from the first scrape, at zero.
  for (const state of MEMBER_STATES) m.members.set({ state }, 0);
  for (const reason of REJECT_REASONS) m.messagesRejected.inc({ reason }, 0);
  for (const reason of ABUSE_KINDS) m.apiRejectedRequests.inc({ reason }, 0);
  for (const hook of HOOK_NAMES) for (const result of HOOK_RESULTS) m.hookRuns.inc({ hook, result }, 0);
  if (raft) {
    for (const reason of STEP_DOWN_REASONS) raft.stepDowns.inc({ reason }, 0);
    for (const action of SNAPSHOT_ACTIONS) raft.snapshots.inc({ action }, 0);
    for (const kind of ['pre-vote', 'vote']) for (const granted of ['true', 'false']) raft.votesCast.inc({ kind, granted }, 0);
  }

  metrics.onScrape(() => {
    const counts = Object.fromEntries(MEMBER_STATES.map((state) => [state, 0])) as Record<MemberState, number>;
    for (const member of runtime.members()) counts[member.state]++;
    for (const [state, n] of Object.entries(counts)) m.members.set({ state }, n);
    const { summary, status } = runtime.leadership();
    m.isLeader.set(summary.role === 'leader' ? 1 : 0);
    m.term.set(summary.term);
    m.fencingToken.set(summary.fencingToken);
    m.leaseRemainingSeconds.set((status.leaseRemainingMs ?? 0) / 1000);
    m.bootstrapComplete.set(status.bootstrap.complete ? 1 : 0);
    const log = status.log;
    if (raft && log) {
      raft.commitIndex.set(log.commitIndex);
      raft.appliedIndex.set(log.appliedIndex);
      raft.lastIndex.set(log.lastIndex);
      raft.snapshotIndex.set(log.snapshotIndex);
      raft.kvRevision.set(log.kv?.revision ?? 0);
      raft.kvKeys.set(log.kv?.keys ?? 0);
      const c = log.counters;
      metrics.setCounterTotal(raft.proposalsCommitted, c.proposalsCommitted);
      metrics.setCounterTotal(raft.proposalsFailed, c.proposalsFailed);
      metrics.setCounterTotal(raft.votesCast, c.preVotesGranted, { kind: 'pre-vote', granted: 'true' });
      metrics.setCounterTotal(raft.votesCast, c.preVotesRefused, { kind: 'pre-vote', granted: 'false' });
      metrics.setCounterTotal(raft.votesCast, c.votesGranted, { kind: 'vote', granted: 'true' });
      metrics.setCounterTotal(raft.votesCast, c.votesRefused, { kind: 'vote', granted: 'false' });
      metrics.setCounterTotal(raft.kvResends, c.kvResends);
    }
    const stats = runtime.stats;
    m.eventLoopLagSeconds.set(stats.eventLoopLagMs / 1000);
    m.healthMultiplier.set(runtime.health());
    metrics.setCounterTotal(m.heartbeatsSent, stats.heartbeatsSent);
    metrics.setCounterTotal(m.heartbeatsReceived, stats.heartbeatsReceived);
    for (const [type, n] of stats.messagesSent) metrics.setCounterTotal(m.messagesSent, n, { type });
    for (const [type, n] of stats.messagesReceived) metrics.setCounterTotal(m.messagesReceived, n, { type });
    for (const [reason, n] of stats.rejected) metrics.setCounterTotal(m.messagesRejected, n, { reason });
    metrics.setCounterTotal(m.leaderlessSecondsTotal, runtime.leaderlessMs() / 1000);
    const p2pStats = p2p.stats();
    metrics.setCounterTotal(m.gossipBytesSent, p2pStats.gossipBytesSent);
    metrics.setCounterTotal(m.gossipBytesReceived, p2pStats.gossipBytesReceived);
    metrics.setCounterTotal(m.handshakeFailures, p2pStats.handshakeFailures);
    metrics.setCounterTotal(m.peerFloodDisconnects, p2pStats.floodDisconnects);
    metrics.setCounterTotal(m.outboundFramesDropped, p2pStats.outboundFramesDropped);
    metrics.setCounterTotal(m.outboundStreamResets, p2pStats.outboundStreamResets);
    metrics.setCounterTotal(m.peerListsSent, p2pStats.peerListsSent);
    m.directLinks.set(p2pStats.links);
    metrics.setCounterTotal(m.linkFramesSent, p2pStats.linkFramesSent);
    metrics.setCounterTotal(m.linkHandshakeFailures, p2pStats.linkHandshakeFailures);
    m.peerConnections.set(p2p.connectedPeers().length);
    const logHealth = opts.logHealth?.();
    m.logDestinationFailed.set(logHealth?.failure ? 1 : 0);
    metrics.setCounterTotal(m.logRecordsDropped, logHealth?.dropped ?? 0);
    if (store) {
      metrics.setCounterTotal(m.walBatches, store.stats.batches);
      metrics.setCounterTotal(m.walFsyncs, store.stats.fsyncs);
      metrics.setCounterTotal(m.walTornTails, store.torn ? 1 : 0);
      const samples = [...store.stats.fsyncMs].sort((a, b) => a - b);
      for (const q of [0.5, 0.99, 1]) {
        if (samples.length > 0) m.walFsyncSeconds.set({ quantile: String(q) }, samples[Math.min(samples.length - 1, Math.ceil(q * samples.length) - 1)]! / 1000);
      }
    }
  });
  return {
    scrape: () => metrics.scrape(),
    countRequest: (route, status) => m.apiRequests.inc({ route, code: String(status) }),
    countRejected: (reason) => m.apiRejectedRequests.inc({ reason }),
    countHookRun: (hook, result, durationMs) => {
      m.hookRuns.inc({ hook, result });
      if (durationMs !== null) m.hookDurationSeconds.observe({ hook }, durationMs / 1000);
    },
  };
}
