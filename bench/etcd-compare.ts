/**
 * The peer in the same bench run: etcd 3.4 (Debian's etcd-server) fails over the same way, five
 * members on loopback at its default timings (heartbeat 100 ms, election timeout 1000 ms), and
 * the ratios of the medians are printed beside Conclave's figures. Skipped, and said so, when etcd
 * is not installed.
 */
import { etcdAvailable, etcdFailover } from './etcd.js';
import { percentile, summarize } from './stats.js';

const ETCD_TIMINGS = { heartbeatIntervalMs: 100, electionTimeoutMs: 1000 };

export async function compareWithEtcd(conclave: Partial<Record<'SIGKILL' | 'SIGTERM' | 'SIGSTOP', number[]>>, trials: number): Promise<void> {
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
    const times = await etcdFailover(signal, { trials, ...ETCD_TIMINGS }, (line) => process.stderr.write(`${line}\n`));
    console.log(summarize(`etcd: ${label} → every survivor names the same new leader`, times));
    const ours = conclave[signal];
    if (ours && ours.length > 0) {
      const ratio = percentile(ours, 50) / percentile(times, 50);
      console.log(`  ratio of medians, conclave / etcd: ${ratio.toFixed(2)} (conclave p50 ${Math.round(percentile(ours, 50))} ms, etcd p50 ${Math.round(percentile(times, 50))} ms)`);
    }
  }
}
