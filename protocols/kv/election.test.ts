/**
 * Named elections on the store: the lowest create revision leads with it as its token, each
 * candidate waits on its predecessor only, a deleted key (its session ended) ends the reign and
 * wakes the next, and over any sequence of campaigns, resignations and session ends at most one
 * candidate leads an election at a time and its tokens only grow.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { Campaign, candidateKey, CAMPAIGN_RETRY_MS, electionLeader, electionNameProblem, electionOfKey, ElectionView, predecessorOf, type CampaignEvent, type CampaignPort } from './election.js';
import { kvRequestError, type KvAnswer, type KvRequest } from './requests.js';
import { createKvStore, type KvStore } from './store.js';
import { applier, ok } from './testing.js';
import type { KeyValue, KvEvent, KvOperation } from './types.js';

/** One store behind a port that answers at once, watches over the store's own events, and a manual clock. */
class Bench implements CampaignPort {
  readonly store: KvStore = createKvStore();
  private readonly write = applier(this.store);
  private readonly watchers = new Set<{ key: string; from: number; onEvents: (events: KvEvent[]) => void }>();
  private timers: { atMs: number; fn: () => void; live: boolean }[] = [];
  nowMs = 0;
  /** Answers to hand out before the store's own (a refusal, then the real answer). */
  readonly refusals: KvAnswer[] = [];
  readonly watched: string[] = [];

  request(request: KvRequest, onAnswer: (answer: KvAnswer) => void): void {
    const refusal = this.refusals.shift();
    if (refusal) return onAnswer(refusal);
    if (request.kind === 'write') return onAnswer({ ok: true, kind: 'write', index: this.store.appliedIndex() + 1, result: this.apply(request.op) });
    const read = request.read;
    if (read.kind !== 'range') throw new Error(`unexpected read ${read.kind}`);
    onAnswer({ ok: true, kind: 'read', range: this.store.range(read.prefix, read.limit) });
  }

  watch(key: string, fromRevision: number, onEvents: (events: KvEvent[]) => void): () => void {
    this.watched.push(key);
    const catchUp = this.store.eventsSince(fromRevision, { key });
    if (!catchUp.ok) throw new Error(catchUp.message);
    const watcher = { key, from: fromRevision, onEvents };
    this.watchers.add(watcher);
    if (catchUp.events.length > 0) onEvents(catchUp.events);
    return () => this.watchers.delete(watcher);
  }

  after(ms: number, fn: () => void): () => void {
    const timer = { atMs: this.nowMs + ms, fn, live: true };
    this.timers.push(timer);
    return () => void (timer.live = false);
  }

  advance(ms: number): void {
    this.nowMs += ms;
    const due = this.timers.filter((t) => t.live && t.atMs <= this.nowMs);
    this.timers = this.timers.filter((t) => t.live && t.atMs > this.nowMs);
    for (const t of due) t.fn();
  }

  /** Applies a write as the log would, and tells the watchers. */
  apply(op: KvOperation) {
    const result = this.write(op);
    if (result.ok) {
      for (const w of [...this.watchers]) {
        const mine = result.events.filter((e) => e.kv.key === w.key && e.revision >= w.from);
        if (mine.length > 0 && this.watchers.has(w)) w.onEvents(mine);
      }
    }
    return result;
  }

  grant(id: string): void {
    ok(this.apply({ kind: 'sessionGrant', id, node: 'n1', ttlMs: 5000 }));
  }

  campaign(name: string, session: string, events: CampaignEvent[] = []): { campaign: Campaign; events: CampaignEvent[] } {
    const campaign = new Campaign(name, session, `value of ${session}`, this, (e) => events.push(e));
    campaign.start();
    return { campaign, events };
  }
}

const kinds = (events: CampaignEvent[]) => events.map((e) => (e.kind === 'ended' ? `ended:${e.reason}` : e.kind));

describe('named elections: names, keys, and who leads', () => {
  it('a name is one path segment of letters, digits, ".", "_" and "-"', () => {
    assert.equal(electionNameProblem('billing-export.v2_a'), null);
    for (const bad of ['', 'a/b', '..', '.', 'sp ace', 'x'.repeat(129), 'ünï']) assert.notEqual(electionNameProblem(bad), null, bad);
    assert.equal(electionOfKey(candidateKey('scheduler', 's1')), 'scheduler');
    assert.equal(electionOfKey('conclave/leader'), null);
    assert.equal(electionOfKey('conclave/elections/x'), null);
  });

  it('the lowest create revision leads; a candidate waits for the newest older one', () => {
    const kv = (key: string, createRevision: number): KeyValue => ({ key, value: '', createRevision, modRevision: createRevision, version: 1, session: null });
    const kvs = [kv('c', 9), kv('a', 3), kv('b', 5)];
    assert.equal(electionLeader(kvs)?.key, 'a');
    assert.equal(predecessorOf(kvs, 9)?.key, 'b');
    assert.equal(predecessorOf(kvs, 5)?.key, 'a');
    assert.equal(predecessorOf(kvs, 3), null);
    assert.equal(electionLeader([]), null);
  });
});

describe('Campaign', () => {
  it('the first candidate leads under its create revision; the third waits on the second, not on the leader', () => {
    const bench = new Bench();
    for (const s of ['s1', 's2', 's3']) bench.grant(s);
    const a = bench.campaign('jobs', 's1');
    const b = bench.campaign('jobs', 's2');
    bench.watched.length = 0;
    const c = bench.campaign('jobs', 's3');
    assert.deepEqual(kinds(a.events), ['queued', 'elected']);
    assert.deepEqual(kinds(b.events), ['queued']);
    assert.deepEqual(kinds(c.events), ['queued']);
    const elected = a.events[1]!;
    assert.ok(elected.kind === 'elected');
    assert.equal(elected.leader.token, bench.store.get(candidateKey('jobs', 's1'))!.createRevision);
    assert.equal(elected.leader.value, 'value of s1');
    assert.deepEqual(bench.watched, [candidateKey('jobs', 's3'), candidateKey('jobs', 's3'), candidateKey('jobs', 's2')], 'its own key, then its predecessor only');
  });

  it('resigning hands over to the next in line, under a higher token; an ended session ends that reign and wakes the next', () => {
    const bench = new Bench();
    for (const s of ['s1', 's2', 's3']) bench.grant(s);
    const a = bench.campaign('jobs', 's1');
    const b = bench.campaign('jobs', 's2');
    const c = bench.campaign('jobs', 's3');
    a.campaign.resign();
    assert.deepEqual(kinds(a.events), ['queued', 'elected', 'ended:resigned']);
    assert.equal(bench.store.get(a.campaign.key), null, 'its key is gone');
    assert.deepEqual(kinds(b.events), ['queued', 'elected']);
    assert.ok(b.campaign.createRevision! > a.campaign.createRevision!);
    assert.deepEqual(kinds(c.events), ['queued'], 'the third still waits');
    ok(bench.apply({ kind: 'sessionRevoke', id: 's2', reason: 'expired' }));
    const end = b.events.at(-1)!;
    assert.deepEqual(end.kind === 'ended' && [end.reason, end.wasLeader], ['lost', true]);
    assert.deepEqual(kinds(c.events), ['queued', 'elected']);
  });

  it('a campaign retried with the same session finds its key and keeps its place', () => {
    const bench = new Bench();
    bench.grant('s1');
    bench.grant('s2');
    const first = bench.campaign('jobs', 's1');
    bench.campaign('jobs', 's2');
    const again = bench.campaign('jobs', 's1');
    assert.equal(again.campaign.createRevision, first.campaign.createRevision);
    assert.deepEqual(kinds(again.events), ['queued', 'elected']);
  });

  it('no leader yet: asks again after a pause; a store that keeps no keys ends it `failed`', () => {
    const bench = new Bench();
    bench.grant('s1');
    bench.refusals.push(kvRequestError('no-leader', 'electing'));
    const a = bench.campaign('jobs', 's1');
    assert.deepEqual(kinds(a.events), []);
    bench.advance(CAMPAIGN_RETRY_MS - 1);
    assert.deepEqual(kinds(a.events), []);
    bench.advance(1);
    assert.deepEqual(kinds(a.events), ['queued', 'elected']);
    bench.refusals.push(kvRequestError('not-raft', 'no store'));
    const b = bench.campaign('other', 's1');
    assert.deepEqual(kinds(b.events), ['ended:failed']);
  });

  it('a campaign whose session is gone ends `session-ended`', () => {
    const bench = new Bench();
    const a = bench.campaign('jobs', 'nope');
    assert.deepEqual(kinds(a.events), ['ended:session-ended']);
  });

  it('resigning while the proposal is out deletes the key once it is made', () => {
    const bench = new Bench();
    bench.grant('s1');
    bench.refusals.push(kvRequestError('timeout', 'slow'));
    const a = bench.campaign('jobs', 's1');
    a.campaign.resign();
    bench.advance(CAMPAIGN_RETRY_MS);
    assert.deepEqual(kinds(a.events), ['queued', 'ended:resigned']);
    assert.equal(bench.store.get(a.campaign.key), null);
  });
});

describe('ElectionView', () => {
  it('follows the leader through puts and deletes, skipping changes it already holds', () => {
    const bench = new Bench();
    for (const s of ['s1', 's2']) bench.grant(s);
    const a = bench.campaign('jobs', 's1');
    const range = bench.store.range('conclave/elections/jobs/');
    const view = new ElectionView('jobs', range.kvs, range.revision);
    assert.equal(view.leader()?.token, a.campaign.createRevision);
    const put = ok(bench.apply({ kind: 'put', key: candidateKey('jobs', 's2'), value: 'x', session: 's2' }));
    assert.equal(view.apply(put.events).changed, false, 'a newer candidate changes nothing');
    const gone = ok(bench.apply({ kind: 'delete', key: a.campaign.key }));
    const after = view.apply(gone.events);
    assert.deepEqual([after.changed, after.leader?.key], [true, candidateKey('jobs', 's2')]);
    assert.equal(view.apply(gone.events).changed, false, 'replayed events are skipped');
    assert.equal(view.queue().length, 1);
  });
});

describe('Campaign, random schedules', () => {
  it('at most one candidate leads at a time; each new reign has a higher token; leaders are the lowest key', () => {
    const step = fc.oneof(
      fc.record({ kind: fc.constant('campaign' as const), who: fc.integer({ min: 0, max: 4 }) }),
      fc.record({ kind: fc.constant('resign' as const), who: fc.integer({ min: 0, max: 4 }) }),
      fc.record({ kind: fc.constant('expire' as const), who: fc.integer({ min: 0, max: 4 }) }),
      fc.record({ kind: fc.constant('refuse' as const), code: fc.constantFrom('no-leader', 'busy', 'timeout') }),
      fc.record({ kind: fc.constant('tick' as const) }),
    );
    fc.assert(
      fc.property(fc.array(step, { maxLength: 60 }), (steps) => {
        const bench = new Bench();
        const campaigns = new Map<number, Campaign>();
        const sessions = new Map<number, number>();
        let lastToken = 0;
        const check = () => {
          const leaders = [...campaigns.values()].filter((c) => c.leading);
          assert.ok(leaders.length <= 1, `${leaders.length} lead at once`);
          const kv = electionLeader(bench.store.range('conclave/elections/jobs/').kvs);
          if (leaders[0]) assert.equal(leaders[0].key, kv?.key, 'the one that leads holds the lowest key');
        };
        for (const s of steps) {
          if (s.kind === 'campaign') {
            if (campaigns.get(s.who)?.ended === false) continue;
            const n = (sessions.get(s.who) ?? 0) + 1;
            sessions.set(s.who, n);
            const id = `c${s.who}.${n}`;
            bench.grant(id);
            const campaign: Campaign = new Campaign('jobs', id, id, bench, (e) => {
              if (e.kind !== 'elected') return;
              assert.ok(e.leader.token > lastToken, `token ${e.leader.token} after ${lastToken}`);
              lastToken = e.leader.token;
            });
            campaigns.set(s.who, campaign);
            campaign.start();
          } else if (s.kind === 'resign') campaigns.get(s.who)?.resign();
          else if (s.kind === 'expire') {
            const n = sessions.get(s.who);
            if (n !== undefined) bench.apply({ kind: 'sessionRevoke', id: `c${s.who}.${n}`, reason: 'expired' });
          } else if (s.kind === 'refuse') bench.refusals.push(kvRequestError(s.code, 'transient'));
          else bench.advance(CAMPAIGN_RETRY_MS);
          check();
        }
      }),
      { numRuns: 300 },
    );
  });
});
