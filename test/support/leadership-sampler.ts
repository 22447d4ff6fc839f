/**
 * Samples what every daemon of a cluster answers on /v1/status, in rounds that ask all of them
 * at once, every `intervalMs`: the history protocols/sim/leadership-history.ts checks. A node
 * that does not answer (not started yet, killed, paused) is simply missing from that round.
 *
 * Each node is asked on one kept-alive connection (as the etcd bench polls etcd), not a new one
 * per question: the sampler runs through the timed trials on the cores the daemons share, and a
 * connection per answer cost each daemon about 100 µs more CPU per answer (570–700 against
 * 470–560 µs, README "Hand-off") and the sampler more still.
 */
import { Agent, request } from 'node:http';
import { parseApiAddress } from '../../daemon/api/address.js';
import type { StatusResponse } from '../../daemon/api/types.js';
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
  /** One kept-alive connection per node, by API address. */
  private readonly agents = new Map<string, Agent>();

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
    for (const agent of this.agents.values()) agent.destroy();
    this.agents.clear();
    return checkLeadershipHistory(this.samples);
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      const startedMs = Date.now();
      const round = ++this.round;
      await Promise.all(
        this.nodes().map(async (node) => {
          try {
            const s = await this.status(node.api);
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

  /** GET /v1/status on the node's kept-alive connection; rejects on no answer within a second, or not a 200. */
  private status(api: string): Promise<StatusResponse> {
    let agent = this.agents.get(api);
    if (!agent) {
      agent = new Agent({ keepAlive: true, maxSockets: 1 });
      this.agents.set(api, agent);
    }
    const target = parseApiAddress(api);
    const where = target.kind === 'unix' ? { socketPath: target.socketPath } : { host: target.host, port: target.port };
    return new Promise((resolve, reject) => {
      const req = request({ ...where, path: '/v1/status', agent, timeout: 1000, headers: { accept: 'application/json' } }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (body += chunk));
        res.on('end', () => {
          if (res.statusCode !== 200) return reject(new Error(`status ${res.statusCode}`));
          try {
            resolve(JSON.parse(body) as StatusResponse);
          } catch (err) {
            reject(err as Error);
          }
        });
        res.on('error', reject);
      });
      req.on('timeout', () => req.destroy(new Error('no answer within 1000 ms')));
      req.on('error', reject);
      req.end();
    });
  }
}
