/**
 * The peer in the same bench run: etcd 3.4 (Debian's etcd-server) fails over the same way, five
 * members on loopback at its default timings (heartbeat 100 ms, election timeout 1000 ms), and
 * the ratios of the medians are printed beside Conclave's figures. Skipped, and said so, when etcd
 * is not installed.
 */
import { etcdAvailable, etcdFailover } from './etcd.js';
import type { FailoverTimes } from './failover.js';
import { percentile, summarize } from './stats.js';

const ETCD_TIMINGS = { heartbeatIntervalMs: 100, electionTimeoutMs: 1000 };

/**
 * Two ratios per fail-over: as each bench sees the agreement (Conclave's event streams pushed to
 * it, etcd polled every 10 ms: a poll adds up to an interval and a round of requests to etcd's
 * figure), and by each survivor's own record (Conclave's event times, etcd's log lines, both ms on
 * this host's clock), which times the same moment for both.
 */
export async function compareWithEtcd(conclave: Partial<Record<'SIGKILL' | 'SIGTERM' | 'SIGSTOP', FailoverTimes>>, trials: number): Promise<void> {
  const etcd = etcdAvailable();
  if (!etcd.ok) {
    console.log(`etcd comparison: skipped (${etcd.reason}; apt-get install -y etcd-server etcd-client to include it)`);
    return;
  }
  console.log(`etcd comparison: etcd ${etcd.version}, 5 members on 127.0.0.1, heartbeat ${ETCD_TIMINGS.heartbeatIntervalMs} ms, election timeout ${ETCD_TIMINGS.electionTimeoutMs} ms (its defaults)`);
  for (const [signal, label] of [
    ['SIGKILL', 'kill -9 of the leader'],
    ['SIGTERM', 'SIGTERM of the leader (it transfers leadership, then stops)'],
    ['SIGSTOP', 'SIGSTOP of the leader'],
  ] as const) {
    const ours = conclave[signal];
    // Only the fail-overs Conclave's daemons ran in this bench run (--sigkill 0 and --sigstop 0 skip theirs).
    if (!ours) {
      console.log(`etcd: ${label}: skipped, as for Conclave in this run`);
      continue;
    }
    const times = await etcdFailover(signal, { trials, ...ETCD_TIMINGS }, (line) => process.stderr.write(`${line}\n`));
    console.log(summarize(`etcd: ${label} → every survivor names the same new leader (polled every 10 ms)`, times.polled));
    const logged = times.logged.filter((v): v is number => v !== null);
    const missing = times.logged.length - logged.length;
    if (logged.length > 0) {
      console.log(`  by the survivors' own log lines (raft.node: … elected leader): p50 ${Math.round(percentile(logged, 50))} ms, p99 ${Math.round(percentile(logged, 99))} ms${missing > 0 ? ` (${missing} trials without a line from every survivor)` : ''}`);
    }
    if (ours.seen.length > 0) {
      const ratio = (a: number[], b: number[]) => `${(percentile(a, 50) / percentile(b, 50)).toFixed(2)} (conclave p50 ${Math.round(percentile(a, 50))} ms, etcd p50 ${Math.round(percentile(b, 50))} ms)`;
      console.log(`  ratio of medians, conclave / etcd, as the bench sees them (conclave's events, etcd polled): ${ratio(ours.seen, times.polled)}`);
      if (logged.length > 0) console.log(`  ratio of medians, conclave / etcd, by the survivors' own records (conclave's event times, etcd's log lines): ${ratio(ours.ownClock, logged)}`);
    }
  }
}
