/**
 * Simulated campaigns in named elections (issue 12 section 2, "Proof"): throughout a seed's run,
 * clients on random nodes open sessions, keep them alive, campaign in one of two elections with
 * the same `Campaign` machine the daemon runs (../kv/election.ts), hold leadership a while, and
 * then resign, or abandon their session so that its TTL ends it, or die with their node. Every
 * `elected` a campaign reports is recorded with the revision its deciding read saw.
 *
 * At the end of the run two properties are checked:
 * - `election-tokens-grow`: ordered by that revision, the tokens of an election never go back,
 *   and one token is never held by two candidates;
 * - `election-leader-oldest`: at that revision, by the store's own changes (every node's applied
 *   events, which together must cover every revision up to it), the elected key exists with that
 *   create revision and no older candidate does.
 * A campaign told `elected` after its key was already deleted is not a violation: the decision
 * was true at its revision, and the fencing token is what makes the late knowledge safe.
 */
import { Campaign, electionOfKey, type CampaignPort } from '../kv/election.js';
import { kvRequestError, type KvAnswer, type KvRequest } from '../kv/requests.js';
import type { KeyValue, KvEvent } from '../kv/types.js';
import type { Rng } from '../rng.js';
import type { Simulation } from './sim.js';
import type { NodeId } from '../types.js';
import type { Violation } from './types.js';

export const ELECTION_TOKENS_GROW = 'election-tokens-grow';
export const ELECTION_LEADER_OLDEST = 'election-leader-oldest';

const ELECTIONS = ['e0', 'e1'];
/** A new campaigner every this much virtual time, on average. */
const MEAN_GAP_MS = 1000;
/**
 * At most this many campaigners at once (a new one is skipped while they run): every open session
 * is a keep-alive write per third of its TTL and weighs on every snapshot, and the simulator
 * compacts every two entries and sends snapshots in 64-byte chunks; more would keep a lagging
 * follower installing snapshot after snapshot, a load the daemon's defaults never meet.
 */
const MAX_ACTIVE = 4;
/** A request its node cannot take (frozen, stalled) fails, as an HTTP client's would, after this long. */
const UNREACHABLE_TIMEOUT_MS = 1000;

/** One `elected` as a campaign reported it. */
interface Elected {
  election: string;
  key: string;
  token: number;
  revision: number;
  atMs: number;
  node: NodeId;
}

export class ElectionWorkload {
  readonly elected: Elected[] = [];
  campaigns = 0;
  private active = 0;
  /** The store's changes by revision, from whichever node applied them first. */
  private readonly reference = new Map<number, KvEvent[]>();
  private nextSession = 1;

  constructor(
    private readonly sim: Simulation,
    private readonly rng: Rng,
  ) {
    sim.onKvEvents((_node, _life, events) => {
      const byRevision = new Map<number, KvEvent[]>();
      for (const e of events) byRevision.set(e.revision, [...(byRevision.get(e.revision) ?? []), e]);
      for (const [revision, list] of byRevision) if (!this.reference.has(revision)) this.reference.set(revision, list);
    });
  }

  /** Schedules campaigners from `fromMs` to `untilMs` (virtual). */
  plan(fromMs: number, untilMs: number): void {
    for (let atMs = fromMs + this.rng.int(0, MEAN_GAP_MS); atMs < untilMs; atMs += this.rng.int(1, 2 * MEAN_GAP_MS)) {
      const node = this.sim.nodes[this.rng.int(0, this.sim.nodes.length - 1)]!.id;
      const election = ELECTIONS[this.rng.int(0, ELECTIONS.length - 1)]!;
      const ttlMs = this.rng.chance(0.5) ? 2000 : 3000;
      const holdMs = this.rng.int(200, 3000);
      const abandon = this.rng.chance(0.25);
      this.sim.at(atMs, `campaign ${election} at ${node}`, () => this.start(node, election, ttlMs, holdMs, abandon));
    }
  }

  /** A client of `node` opens a session, keeps it alive and campaigns; it dies with its node's process. */
  private start(node: NodeId, election: string, ttlMs: number, holdMs: number, abandon: boolean): void {
    const simNode = this.sim.node(node);
    if (!simNode.up || this.active >= MAX_ACTIVE) return;
    const life = simNode.life;
    const alive = () => simNode.up && simNode.life === life;
    const session = `s${this.nextSession++}`;
    this.active++;
    let stopped = false;
    let counted = true;
    // Until its campaign ends or its node's process dies (checked at its next timer).
    const finish = () => {
      stopped = true;
      if (counted) this.active--;
      counted = false;
    };
    const port = this.port(node, life, alive);
    // A dead node's campaigner is found by its next timer at the latest.
    const watchdog = () => {
      if (!counted) return;
      if (!alive()) return finish();
      this.sim.at(this.sim.nowMs + ttlMs, `campaigner ${session} watchdog`, watchdog);
    };
    watchdog();
    port.request({ kind: 'write', op: { kind: 'sessionGrant', id: session, node, ttlMs } }, (granted) => {
      if (!alive() || !granted.ok || granted.kind !== 'write' || !granted.result.ok) return finish();
      this.campaigns++;
      const keepAlive = () => {
        if (stopped || !alive()) return;
        port.request({ kind: 'write', op: { kind: 'sessionKeepAlive', id: session } }, () => undefined);
        port.after(Math.floor(ttlMs / 3), keepAlive);
      };
      port.after(Math.floor(ttlMs / 3), keepAlive);
      const campaign: Campaign = new Campaign(election, session, `${node}/${session}`, port, (event) => {
        if (event.kind === 'elected') {
          this.elected.push({ election, key: event.leader.key, token: event.leader.token, revision: event.revision, atMs: this.sim.nowMs, node });
          port.after(holdMs, () => {
            if (!alive() || campaign.ended) return;
            if (abandon) {
              // The client goes quiet: no more keep-alives, no resign; the session's TTL ends it.
              campaign.detach();
              finish();
            } else campaign.resign();
          });
        } else if (event.kind === 'ended') finish();
      });
      campaign.start();
    });
  }

  /** The campaign's port on `node`: its requests, watches fed by the node's applied changes, and timers, all for this life only. */
  private port(node: NodeId, life: number, alive: () => boolean): CampaignPort {
    const sim = this.sim;
    // Sent in a step of its own, as a daemon's client's request is a separate event: a campaign
    // asks again from within an answer or a change, which a node's core is still handing out.
    const request = (req: KvRequest, onAnswer: (answer: KvAnswer) => void) =>
      sim.at(sim.nowMs, `campaign request at ${node}`, () => {
        if (!alive()) return;
        const sent = sim.kvRequest(node, req, (answer) => alive() && onAnswer(answer));
        if (!sent) sim.at(sim.nowMs + UNREACHABLE_TIMEOUT_MS, `kv timeout at ${node}`, () => alive() && onAnswer(kvRequestError('timeout', `${node} did not answer`)));
      });
    return {
      request,
      watch(key, fromRevision, onEvents, onLost) {
        let held: KvEvent[] | null = [];
        let stopped = false;
        const deliver = (events: KvEvent[]) => {
          const mine = events.filter((e) => e.kv.key === key && e.revision >= fromRevision);
          if (mine.length > 0 && !stopped && alive()) onEvents(mine);
        };
        const unsubscribe = sim.onKvEvents((from, fromLife, events) => {
          if (from !== node || fromLife !== life) return;
          if (held) held.push(...events);
          else deliver(events);
        });
        request({ kind: 'read', read: { kind: 'events', fromRevision, filter: { key } }, consistency: 'serializable' }, (answer) => {
          if (stopped) return;
          if (!answer.ok || answer.kind !== 'events') {
            stopped = true;
            unsubscribe();
            onLost(answer.ok ? 'unexpected answer' : answer.message);
            return;
          }
          const live = held ?? [];
          held = null;
          deliver(answer.events);
          deliver(live.filter((e) => e.revision > answer.revision));
        });
        return () => {
          stopped = true;
          unsubscribe();
        };
      },
      after(ms, fn) {
        let cancelled = false;
        sim.at(sim.nowMs + ms, `campaign timer at ${node}`, () => !cancelled && alive() && fn());
        return () => void (cancelled = true);
      },
    };
  }

  /** Both properties over the whole run; null when they hold. */
  check(): Violation | null {
    const byRevision = [...this.elected].sort((a, b) => a.revision - b.revision || a.atMs - b.atMs);
    const lastByElection = new Map<string, Elected>();
    const holderOf = new Map<string, string>();
    for (const e of byRevision) {
      const last = lastByElection.get(e.election);
      if (last && e.token < last.token) return this.violation(ELECTION_TOKENS_GROW, `in ${e.election}, ${e.key} was elected under token ${e.token} at revision ${e.revision}, after ${last.key} under token ${last.token} at revision ${last.revision}`, [last, e]);
      const holder = holderOf.get(`${e.election}#${e.token}`);
      if (holder !== undefined && holder !== e.key) return this.violation(ELECTION_TOKENS_GROW, `in ${e.election}, token ${e.token} was held by ${holder} and by ${e.key}`, [e]);
      holderOf.set(`${e.election}#${e.token}`, e.key);
      lastByElection.set(e.election, e);
    }
    // Replay the store's changes up to each elected revision, while they cover every revision.
    const candidates = new Map<string, Map<string, KeyValue>>();
    let replayed = 0;
    for (const e of byRevision) {
      while (replayed < e.revision && this.reference.has(replayed + 1)) {
        replayed++;
        for (const change of this.reference.get(replayed)!) {
          const election = electionOfKey(change.kv.key);
          if (election === null) continue;
          const keys = candidates.get(election) ?? new Map<string, KeyValue>();
          candidates.set(election, keys);
          if (change.type === 'put') keys.set(change.kv.key, change.kv);
          else keys.delete(change.kv.key);
        }
      }
      if (replayed < e.revision) break; // a revision no node reported applying: nothing later can be judged
      const keys = [...(candidates.get(e.election)?.values() ?? [])];
      const mine = keys.find((kv) => kv.key === e.key);
      const older = keys.filter((kv) => kv.createRevision < e.token);
      if (!mine || mine.createRevision !== e.token || older.length > 0) {
        const held = keys.map((kv) => `${kv.key}@${kv.createRevision}`).join(', ') || 'none';
        return this.violation(ELECTION_LEADER_OLDEST, `in ${e.election}, ${e.key} was elected under token ${e.token} at revision ${e.revision}, but the store then held ${held}`, [e]);
      }
    }
    return null;
  }

  private violation(invariant: string, message: string, involved: Elected[]): Violation {
    return {
      seed: this.sim.seed,
      invariant,
      nowMs: this.sim.nowMs,
      message,
      trace: [],
      notable: involved.map((e) => `${e.atMs} ${e.node} elected ${e.key} token ${e.token} at revision ${e.revision}`),
    };
  }
}
