/** Bully fail-over figures (issues 3 and 7): bench/failover.ts with Bully's ranks, targets and lease messages. */
import { runFailoverBench } from './failover.js';

export function run(args: string[]): Promise<void> {
  return runFailoverBench(
    {
      protocol: 'bully',
      priorities: [1, 2, 3, 4, 5],
      targets: { SIGKILL: { p50: 300, p99: 1000 }, SIGTERM: { p50: 15 } },
      handOff: 'release, then hand-off',
      leaseMessages: { sent: 'COORDINATOR', received: 'ACCEPT', label: 'a renewal every leaseMs/4, counted for 0.96 leaseMs' },
    },
    args,
  );
}
