/**
 * Raft fail-over figures (issue "Raft mode"): bench/failover.ts at the lan preset's Raft timings
 * (heartbeat 100 ms, election timeout 1 s, etcd's defaults), so the etcd run beside it is like
 * for like.
 */
import { runFailoverBench } from './failover.js';

export function run(args: string[]): Promise<void> {
  return runFailoverBench(
    {
      protocol: 'raft',
      targets: { SIGKILL: { p50: 150, p99: 400 }, SIGTERM: { p50: 15 } },
      handOff: 'catch-up, then TimeoutNow',
      leaseMessages: { sent: 'APPEND', received: 'APPEND_RESPONSE', label: 'a heartbeat round every raft.heartbeatIntervalMs' },
    },
    args,
  );
}
