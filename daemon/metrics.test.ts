import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { register as globalRegistry } from 'prom-client';
import { createMetrics } from './metrics.js';

const NAMES: [string, 'gauge' | 'counter' | 'histogram'][] = [
  ['conclave_members', 'gauge'],
  ['conclave_member_state_changes_total', 'counter'],
  ['conclave_heartbeats_sent_total', 'counter'],
  ['conclave_heartbeats_received_total', 'counter'],
  ['conclave_gossip_bytes_sent_total', 'counter'],
  ['conclave_gossip_bytes_received_total', 'counter'],
  ['conclave_messages_sent_total', 'counter'],
  ['conclave_messages_received_total', 'counter'],
  ['conclave_messages_rejected_total', 'counter'],
  ['conclave_peer_connections', 'gauge'],
  ['conclave_peer_flood_disconnects_total', 'counter'],
  ['conclave_outbound_frames_dropped_total', 'counter'],
  ['conclave_outbound_stream_resets_total', 'counter'],
  ['conclave_event_loop_lag_seconds', 'gauge'],
  ['conclave_health_multiplier', 'gauge'],
  ['conclave_is_leader', 'gauge'],
  ['conclave_term', 'gauge'],
  ['conclave_fencing_token', 'gauge'],
  ['conclave_elections_total', 'counter'],
  ['conclave_election_duration_seconds', 'histogram'],
  ['conclave_leader_changes_total', 'counter'],
  ['conclave_leaderless_seconds_total', 'counter'],
  ['conclave_api_requests_total', 'counter'],
  ['conclave_api_rejected_requests_total', 'counter'],
  ['conclave_wal_batches_total', 'counter'],
  ['conclave_wal_fsyncs_total', 'counter'],
  ['conclave_wal_fsync_seconds', 'gauge'],
  ['conclave_wal_torn_tails_total', 'counter'],
];

describe('daemon metrics', () => {
  it('exposes every conclave_ metric with its type, plus default process metrics under the prefix', async () => {
    const { body, contentType } = await createMetrics().scrape();
    assert.match(contentType, /^text\/plain/);
    for (const [name, type] of NAMES) assert.match(body, new RegExp(`^# TYPE ${name} ${type}$`, 'm'), name);
    assert.match(body, /^# TYPE conclave_process_cpu_user_seconds_total counter$/m);
    const foreign = body.split('\n').filter((l) => l.startsWith('# TYPE ') && !l.startsWith('# TYPE conclave_'));
    assert.deepEqual(foreign, []);
  });

  it('uses its own registry: two instances do not collide and the global registry stays empty', async () => {
    const a = createMetrics();
    const b = createMetrics();
    a.handles.term.set(4);
    b.handles.term.set(9);
    assert.match((await a.scrape()).body, /^conclave_term 4$/m);
    assert.match((await b.scrape()).body, /^conclave_term 9$/m);
    assert.equal((await globalRegistry.metrics()).trim(), '');
  });

  it('labelled handles and the election histogram (10 ms to 10 s buckets) record values', async () => {
    const m = createMetrics({ processMetrics: false });
    m.handles.members.set({ state: 'alive' }, 3);
    m.handles.apiRequests.inc({ route: '/v1/status', code: '200' });
    m.handles.apiRejectedRequests.inc({ reason: 'bad-target' });
    m.handles.apiRejectedRequests.inc({ reason: 'bad-target' });
    m.handles.electionDurationSeconds.observe(0.04);
    const { body } = await m.scrape();
    assert.match(body, /^conclave_members\{state="alive"\} 3$/m);
    assert.match(body, /^conclave_api_requests_total\{route="\/v1\/status",code="200"\} 1$/m);
    assert.match(body, /^conclave_api_rejected_requests_total\{reason="bad-target"\} 2$/m);
    assert.match(body, /^conclave_election_duration_seconds_bucket\{le="0.01"\} 0$/m);
    assert.match(body, /^conclave_election_duration_seconds_bucket\{le="0.05"\} 1$/m);
    assert.match(body, /^conclave_election_duration_seconds_bucket\{le="10"\} 1$/m);
  });

  it('scrape runs onScrape hooks first; setCounterTotal follows a cumulative total and never goes down', async () => {
    const m = createMetrics({ processMetrics: false });
    let sent = 0;
    m.onScrape(() => m.setCounterTotal(m.handles.heartbeatsSent, sent));
    m.onScrape(() => m.setCounterTotal(m.handles.messagesRejected, sent * 2, { reason: 'oversized' }));
    sent = 5;
    assert.match((await m.scrape()).body, /^conclave_heartbeats_sent_total 5$/m);
    sent = 8;
    let body = (await m.scrape()).body;
    assert.match(body, /^conclave_heartbeats_sent_total 8$/m);
    assert.match(body, /^conclave_messages_rejected_total\{reason="oversized"\} 16$/m);
    sent = 2;
    body = (await m.scrape()).body;
    assert.match(body, /^conclave_heartbeats_sent_total 8$/m);
  });
});

describe('raft and WAL metrics', () => {
  const RAFT_NAMES: [string, 'gauge' | 'counter'][] = [
    ['conclave_raft_commit_index', 'gauge'],
    ['conclave_raft_applied_index', 'gauge'],
    ['conclave_raft_last_index', 'gauge'],
    ['conclave_raft_snapshot_index', 'gauge'],
    ['conclave_kv_revision', 'gauge'],
    ['conclave_kv_keys', 'gauge'],
    ['conclave_raft_proposals_committed_total', 'counter'],
    ['conclave_raft_proposals_failed_total', 'counter'],
    ['conclave_raft_votes_cast_total', 'counter'],
    ['conclave_raft_heartbeats_late_total', 'counter'],
    ['conclave_raft_step_downs_total', 'counter'],
    ['conclave_raft_config_changes_total', 'counter'],
    ['conclave_raft_snapshots_total', 'counter'],
  ];

  it('raft series exist only when asked for (a raft daemon); a bully daemon shows none', async () => {
    const raft = (await createMetrics({ processMetrics: false, raft: true }).scrape()).body;
    for (const [name, type] of RAFT_NAMES) assert.match(raft, new RegExp(`^# TYPE ${name} ${type}$`, 'm'), name);
    const bully = createMetrics({ processMetrics: false });
    assert.equal(bully.handles.raft, null);
    assert.doesNotMatch((await bully.scrape()).body, /conclave_raft_/);
  });

  it('wal_fsync_duration_seconds is a histogram with etcd\'s buckets, 1 ms doubling to about 2 s; the quantile gauge stays', async () => {
    const m = createMetrics({ processMetrics: false });
    m.handles.walFsyncDurationSeconds.observe(0.0007);
    m.handles.walFsyncDurationSeconds.observe(0.003);
    m.handles.walFsyncDurationSeconds.observe(3);
    const { body } = await m.scrape();
    assert.match(body, /^# TYPE conclave_wal_fsync_duration_seconds histogram$/m);
    assert.match(body, /^# TYPE conclave_wal_fsync_seconds gauge$/m);
    const buckets = [...body.matchAll(/^conclave_wal_fsync_duration_seconds_bucket\{le="([^"]+)"\} (\d+)$/gm)].map((x) => [x[1], Number(x[2])]);
    assert.deepEqual(buckets.map((b) => b[0]), ['0.001', '0.002', '0.004', '0.008', '0.016', '0.032', '0.064', '0.128', '0.256', '0.512', '1.024', '2.048', '+Inf']);
    assert.deepEqual(buckets.map((b) => b[1]), [1, 1, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 3]);
    assert.match(body, /^conclave_wal_fsync_duration_seconds_count 3$/m);
  });
});
