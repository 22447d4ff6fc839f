/**
 * Samples what every daemon of a cluster answers on /v1/status, in rounds that ask all of them
 * at once, every `intervalMs`: the history protocols/sim/leadership-history.ts checks. A node
 * that does not answer (not started yet, killed, paused) is simply missing from that round.
 */
import { createApiClient } from '../../daemon/api/client.js';
import { checkLeadershipHistory, type LeadershipHistoryReport, type LeadershipSample } from '../../protocols/sim/leadership-history.js';
import type { ProtocolName } from '../../protocols/types.js';

export interface SampledNode {
  name: string;
  /** `unix:PATH` or `HOST:PORT`. */
  api: string;
}

/** One answer as recorded: what the history check reads, and when and under which protocol (timings of a switch, bench/switch.ts). */
export interface SampledStatus extends LeadershipSample {
  /** When its round started, on this process's clock: every answer of a round shares it. */
  atMs: number;
  protocol: ProtocolName;
}

export class LeadershipSampler {
  readonly samples: SampledStatus[] = [];
  private round = 0;
  private stopped = false;
  /** Node names by id, from each node's own answers: a node that just restarted may name the leader by id only. */
  private readonly names = new Map<string, string>();
  private readonly loop: Promise<void>;

  constructor(
    private readonly nodes: () => readonly SampledNode[],
    private readonly intervalMs = 10,
  ) {
    this.loop = this.run();
  }

  get rounds(): number {
    return this.round;
  }

  /** Stops sampling (safe to call again) and checks what was recorded. */
  async stop(): Promise<LeadershipHistoryReport> {
    this.stopped = true;
    await this.loop;
    return checkLeadershipHistory(this.samples);
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      const startedMs = Date.now();
      const round = ++this.round;
      await Promise.all(
        this.nodes().map(async (node) => {
          try {
            const s = await createApiClient({ address: node.api, timeoutMs: 1000 }).status();
            this.names.set(s.id, node.name);
            const leader = s.leader === null ? null : (this.names.get(s.leader.id) ?? s.leader.name);
            this.samples.push({ round, atMs: startedMs, node: node.name, role: s.role, term: s.term, leader, fencingToken: s.fencingToken, protocol: s.protocol });
          } catch {
            // Not answering now: nothing to record.
          }
        }),
      );
      await new Promise((resolve) => setTimeout(resolve, Math.max(0, this.intervalMs - (Date.now() - startedMs))));
    }
  }
}
