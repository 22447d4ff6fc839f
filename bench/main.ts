/**
 * `npm run bench -- <name> [options]`: benchmarks that print figures (medians, p99, ratios).
 * Timing targets live here, never as assertions in tests.
 */
import '../daemon/polyfill.js';

const BENCHES: Record<string, { describe: string; load: () => Promise<{ run(args: string[]): Promise<void> }> }> = {
  membership: { describe: 'convergence, kill -9 / SIGSTOP detection, stall soak, idle cost (5 daemons)', load: () => import('./membership.js') },
  bully: { describe: 'Bully fail-over after kill -9 / SIGTERM / SIGSTOP of the leader, stable-run leader changes', load: () => import('./bully.js') },
  raft: { describe: 'Raft fail-over after kill -9 / SIGTERM / SIGSTOP of the leader, stable-run leader changes (etcd beside it when installed), the SIGTERM hand-off\'s chain in bare processes over Node\'s TCP and our p2p layer', load: () => import('./raft.js') },
  p2p: { describe: 'direct-message round trip and gossip latency between two libp2p nodes', load: () => import('./p2p.js') },
  tui: { describe: 'dashboard CPU with 50 members and an event every 100 ms; kill -9 of the leader to the new leader on screen (5 daemons, tmux)', load: () => import('./tui.js') },
  cli: { describe: 'conclave status / leader / is-leader wall time, spawn to exit (etcdctl endpoint status beside it when installed)', load: () => import('./cli.js') },
  run: { describe: 'conclave run on 3 daemons: leadership lost → child signalled; kill -9 of the leader → child on the new leader', load: () => import('./run.js') },
  kv: { describe: 'key-value put and linearizable get: p50/p99, throughput with 1 and 16 clients, WAL fsyncs and CPU per op (5 raft daemons; etcd beside it, phases interleaved, when installed)', load: () => import('./kv.js') },
  switch: { describe: 'live protocol switch bully ⇄ raft: leaderless time per `conclave protocol switch` and per rolling restart, two-leader rounds (5 daemons)', load: () => import('./switch.js') },
  startup: { describe: 'spawn → control API answers (bundle vs unbundled) and where the time goes; 5 daemons spawned together → each sees 5 alive', load: () => import('./startup.js') },
  fleet: { describe: 'real daemons at 5 / 10 / 25 / 50 (lan preset, or --preset local; in waves of 5 from 11): convergence, idle CPU, RSS and gossip bytes per daemon, then a 10-minute soak of the largest (suspicions, deaths, leader changes)', load: () => import('./fleet.js') },
  scale: { describe: 'membership at 10 / 100 / 500 / 1,000 nodes in the simulator: convergence, heartbeats per node per second, silent-failure detection; observers vs everyone watching everyone', load: () => import('./scale.js') },
  persist: { describe: 'log store on this disk: fsync times, group commit of a burst, event-loop stalls, vs writeFileDurably', load: () => import('./persist.js') },
};

async function main(): Promise<void> {
  const [name, ...args] = process.argv.slice(2);
  const bench = name ? BENCHES[name] : undefined;
  if (!bench) {
    const list = Object.entries(BENCHES).map(([n, b]) => `  ${n.padEnd(12)} ${b.describe}`).join('\n');
    process.stderr.write(`usage: npm run bench -- <name> [options]\n\nbenchmarks:\n${list}\n`);
    process.exitCode = 2;
    return;
  }
  await (await bench.load()).run(args);
}

await main();
