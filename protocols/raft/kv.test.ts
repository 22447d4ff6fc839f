/**
 * The key-value store as Raft's applied state (issue 12, kv.ts), on the socket-free cluster:
 * writes through the log from the leader and from followers, answered where they were asked;
 * linearizable reads by ReadIndex (thesis §6.4) that a deposed leader cannot serve; serializable
 * reads from the local store; the store in snapshots, after restarts and on a lagging follower.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { KvAnswer, KvRead, KvRequest } from '../kv/requests.js';
import type { KvOperation } from '../kv/types.js';
import { DEFAULT_RAFT_CONFIG, type RaftConfig } from './config.js';
import { RELAY_BOUND_TIMEOUTS } from './relay.js';
import { RaftNet } from './testing.js';

const IDS = ['a', 'b', 'c'];
const T = DEFAULT_RAFT_CONFIG.electionTimeoutMs;

const write = (op: KvOperation): KvRequest => ({ kind: 'write', op });
const put = (key: string, value: string, ifModRevision?: number): KvRequest => write({ kind: 'put', key, value, ...(ifModRevision !== undefined ? { ifModRevision } : {}) });
const get = (key: string, consistency: 'linearizable' | 'serializable' = 'linearizable'): KvRequest => ({ kind: 'read', read: { kind: 'get', key }, consistency });
const range = (prefix: string, limit = 0): KvRequest => ({ kind: 'read', read: { kind: 'range', prefix, limit } as KvRead, consistency: 'linearizable' });

function valueOf(answer: KvAnswer): string | null {
  assert.ok(answer.ok && answer.kind === 'read', JSON.stringify(answer));
  return answer.range.kvs[0]?.value ?? null;
}

function others(of: string, ids = IDS): string[] {
  return ids.filter((id) => id !== of);
}

/** Every running node's store, as a snapshot would hold it. */
function stores(net: RaftNet, ids = IDS): string[] {
  return ids.map((id) => JSON.stringify(net.machine(id).kvState()));
}

describe('key-value writes through the log', () => {
  it('a write at the leader is applied by every node and answered with the store\'s result', () => {
    const net = new RaftNet(IDS);
    const leader = net.elect();
    // The leader record's put took the store's first revision (see 'the leader record' below).
    const base = net.machine(leader).kvState().revision;
    const first = net.kv(leader, put('config/a', '1'));
    assert.ok(first.ok && first.kind === 'write' && first.result.ok && first.result.kind === 'put', JSON.stringify(first));
    assert.equal(first.result.revision, base + 1);
    assert.equal(first.result.prevKv, null);
    const second = net.kv(leader, put('config/a', '2'));
    assert.ok(second.ok && second.kind === 'write' && second.result.ok && second.result.kind === 'put');
    assert.equal(second.result.prevKv?.value, '1');
    assert.ok(second.index > first.index);
    net.advance(T);
    for (const id of IDS) assert.equal(valueOf(net.kv(id, get('config/a', 'serializable'))), '2', `${id} applied both`);
    assert.equal(new Set(stores(net)).size, 1, 'every node holds the same store');
    for (const id of IDS) {
      const watched = net.effects.filter((e) => e.node === id && e.effect.type === 'kv-events').flatMap((e) => (e.effect.type === 'kv-events' ? e.effect.events : []));
      const mine = watched.filter((e) => e.kv.key === 'config/a');
      assert.deepEqual(mine.map((e) => [e.type, e.kv.value, e.revision]), [['put', '1', base + 1], ['put', '2', base + 2]], `${id} told its watches of both changes, in order`);
    }
  });

  it('the leader record: every new leader\'s record entry puts conclave/leader, {"leader", "term"}, read and watched like any key', () => {
    const net = new RaftNet(IDS);
    const leader = net.elect();
    const record = () => {
      const answer = net.kv(others(leader)[0]!, get('conclave/leader'));
      assert.ok(answer.ok && answer.kind === 'read', JSON.stringify(answer));
      return answer.range.kvs[0]!;
    };
    const first = record();
    const term = net.machine(leader).raftStatus().term;
    assert.deepEqual(JSON.parse(first.value), { leader, term });
    net.run(leader, { kind: 'resign' });
    assert.ok(net.advanceUntil(() => net.agreedLeader() !== null && net.agreedLeader() !== leader, 5000));
    const next = net.agreedLeader()!;
    const second = record();
    assert.deepEqual(JSON.parse(second.value).leader, next);
    assert.ok(JSON.parse(second.value).term > term, 'the new term: the fencing token');
    assert.ok(second.modRevision > first.modRevision && second.createRevision === first.createRevision);
  });

  it('a write at a follower goes to the leader and is answered at the follower, from its own apply', () => {
    const net = new RaftNet(IDS);
    const leader = net.elect();
    const [follower] = others(leader);
    const answer = net.kv(follower!, put('jobs/x', 'queued'));
    assert.ok(answer.ok && answer.kind === 'write' && answer.result.ok, JSON.stringify(answer));
    const proposed = net.sent.find((s) => s.from === follower && s.message.type === 'KV_PROPOSE');
    assert.equal(proposed?.to, leader);
    const entry = net.machine(leader).logEntries().find((e) => e.data.kind === 'kv');
    assert.ok(entry?.data.kind === 'kv' && entry.data.origin?.node === follower, 'the entry names the follower as its origin');
    assert.equal(net.effects.filter((e) => e.effect.type === 'kv-answer').length, 1, 'answered once, where it was asked');
  });

  it('a proposal the network delivers twice is appended once (applied twice, one write would take two revisions)', () => {
    const net = new RaftNet(IDS);
    const leader = net.elect();
    const [follower] = others(leader);
    const proposal = { type: 'KV_PROPOSE' as const, request: 7, op: { kind: 'put' as const, key: 'k', value: 'v' } };
    const base = net.machine(leader).kvState().revision;
    net.inject(follower!, leader, proposal);
    net.inject(follower!, leader, proposal);
    net.advance(T);
    const entries = net.machine(leader).logEntries().filter((e) => e.data.kind === 'kv');
    assert.equal(entries.length, 1);
    assert.equal(net.machine(leader).kvState().revision, base + 1);
  });

  it('a copy that waited out a stall of the leader\'s own is still known when it is read: the leader remembers proposals by how long it ran, not by its wall clock', () => {
    const net = new RaftNet(IDS);
    const leader = net.elect();
    const [follower] = others(leader) as [string];
    const proposal = { type: 'KV_PROPOSE' as const, request: 7, op: { kind: 'put' as const, key: 'k', value: 'v' } };
    const base = net.machine(leader).kvState().revision;
    net.inject(follower, leader, proposal);
    net.advance(T);
    assert.equal(net.machine(leader).kvState().revision, base + 1, 'applied');
    // The leader freezes (SIGSTOP) far longer than it remembers proposals by time; the others hear
    // nothing from each other either, so no one else leads, and a copy waits in its socket.
    const commandTimeoutMs = (RELAY_BOUND_TIMEOUTS + 1) * T;
    net.drop(() => true);
    net.pause(leader);
    net.advance(3 * commandTimeoutMs);
    net.resume(leader);
    net.drop(() => false);
    // It ticks (its late timer), then reads the copy.
    net.advance(net.tickMs);
    assert.equal(net.machine(leader).raftStatus().role, 'leader', 'still leading (on probation)');
    net.inject(follower, leader, proposal);
    net.advance(T);
    const copies = net.machine(leader).logEntries().filter((e) => e.data.kind === 'kv' && e.data.origin?.request === 7);
    assert.equal(copies.length, 1, 'appended once');
    assert.equal(net.machine(leader).kvState().revision, base + 1);
  });

  it('a forwarded write whose proposal is lost is sent again half an election timeout later, and answered once', () => {
    const net = new RaftNet(IDS);
    const leader = net.elect();
    const [follower] = others(leader);
    const base = net.machine(leader).kvState().revision;
    let dropped = 0;
    net.drop((m) => m.message.type === 'KV_PROPOSE' && dropped++ === 0);
    const asked = net.nowMs;
    const answer = net.kv(follower!, put('jobs/x', 'queued'));
    assert.ok(answer.ok && answer.kind === 'write' && answer.result.ok, JSON.stringify(answer));
    const proposals = net.sent.filter((s) => s.from === follower && s.message.type === 'KV_PROPOSE');
    assert.equal(proposals.length, 2, 'sent once, lost, sent again');
    assert.ok(net.nowMs - asked >= T / 2 && net.nowMs - asked < T, `answered ${net.nowMs - asked} ms after it was asked`);
    assert.equal(net.machine(leader).kvState().revision, base + 1, 'applied once');
    assert.equal(net.machine(follower!).raftStatus().counters.kvResends, 1);
  });

  it('a forwarded write whose answer is slow is sent again, and the leader takes the copy only once', () => {
    const net = new RaftNet(IDS);
    const leader = net.elect();
    const [follower] = others(leader);
    const base = net.machine(leader).kvState().revision;
    // The follower hears nothing from the leader for a while (less than an election timeout): its
    // write is appended and committed, but it learns so, and answers, only later.
    net.drop((m) => m.from === leader && m.to === follower && m.message.type === 'APPEND');
    const id = net.kvAsk(follower!, put('jobs/x', 'queued'));
    net.advance(0.7 * T);
    assert.equal(net.kvAnswers.has(id), false);
    assert.equal(net.sent.filter((s) => s.from === follower && s.message.type === 'KV_PROPOSE').length, 2, 'sent again after T/2');
    net.drop(() => false);
    net.advance(T);
    assert.ok(net.kvAnswers.get(id)?.ok, JSON.stringify(net.kvAnswers.get(id)));
    assert.equal(net.machine(leader).logEntries().filter((e) => e.data.kind === 'kv').length, 1, 'appended once');
    assert.equal(net.machine(leader).kvState().revision, base + 1);
  });

  it('a copy of a proposal the leader refused gets the same refusal; a resend never goes to another leader', () => {
    const net = new RaftNet(IDS);
    const leader = net.elect();
    const [follower] = others(leader);
    const proposal = { type: 'KV_PROPOSE' as const, request: 9, op: { kind: 'put' as const, key: 'k', value: 'v' } };
    const tooLarge = { type: 'KV_PROPOSE' as const, request: 10, op: { kind: 'put' as const, key: 'k', value: 'x'.repeat(1 << 20) } };
    const refusals = (request: number) => net.sent.filter((s) => s.from === leader && s.message.type === 'KV_REFUSED' && s.message.request === request).length;
    net.inject(follower!, leader, tooLarge);
    net.inject(follower!, leader, tooLarge);
    assert.equal(refusals(10), 2, 'the copy is refused again (the first refusal may be what was lost)');
    net.inject(follower!, leader, proposal);
    net.inject(follower!, leader, proposal);
    assert.equal(refusals(9), 0);

    // A write forwarded to a leader that then loses its leadership is not sent to the next one.
    const net2 = new RaftNet(IDS);
    const first = net2.elect();
    const [f] = others(first);
    net2.drop((m) => m.message.type === 'KV_PROPOSE');
    net2.kvAsk(f!, put('jobs/y', '1'));
    net2.isolate(first);
    assert.ok(net2.advanceUntil(() => ![null, first].includes(net2.summary(f!)?.leader ?? null), 10 * T));
    net2.drop(() => false);
    const before = net2.sent.filter((s) => s.message.type === 'KV_PROPOSE').length;
    net2.advance(2 * T);
    const after = net2.sent.filter((s) => s.message.type === 'KV_PROPOSE');
    assert.equal(after.length, before, `no resend to the new leader: ${JSON.stringify(after.slice(before).map((s) => s.to))}`);
  });

  it('a refusal of a resent write is no answer: the first copy may be in the log of a leader that restarted, so the client hears `timeout` (unknown outcome)', () => {
    const net = new RaftNet(IDS);
    const leader = net.elect();
    const [follower] = others(leader);
    net.drop((m) => m.message.type === 'KV_PROPOSE');
    const once = net.kvAsk(follower!, put('jobs/a', '1'));
    const first = net.sent.find((m) => m.from === follower && m.message.type === 'KV_PROPOSE')!.message as { request: number };
    net.inject(leader, follower!, { type: 'KV_REFUSED', request: first.request, code: 'no-leader', message: 'not leading' });
    assert.equal((net.kvAnswers.get(once) as { code?: string }).code, 'no-leader', 'sent once: the refusal is the answer');
    const twice = net.kvAsk(follower!, put('jobs/b', '2'));
    net.advance(0.6 * T);
    const copies = net.sent.filter((m) => m.from === follower && m.message.type === 'KV_PROPOSE').slice(1);
    assert.equal(copies.length, 2, 'sent, then sent again');
    net.inject(leader, follower!, { type: 'KV_REFUSED', request: (copies[0]!.message as { request: number }).request, code: 'no-leader', message: 'not leading' });
    assert.equal((net.kvAnswers.get(twice) as { code?: string }).code, 'timeout');
  });

  it('a follower\'s read whose index never comes asks again, and the leader that leads now', () => {
    const net = new RaftNet(IDS);
    const leader = net.elect();
    const [follower] = others(leader);
    net.kv(leader, put('k', 'v'));
    let dropped = 0;
    net.drop((m) => m.message.type === 'READ_INDEX_RESULT' && dropped++ === 0);
    const answer = net.kv(follower!, get('k'));
    assert.equal(valueOf(answer), 'v');
    assert.equal(net.sent.filter((s) => s.from === follower && s.message.type === 'READ_INDEX').length, 2);
    assert.equal(net.machine(follower!).raftStatus().counters.kvResends, 1);
  });

  /**
   * Five nodes, the leader elected; a write from `origin` proposed and appended, its appends
   * delivered to `fast1` and `fast2` only and their answers back: committed, with `slow`'s append
   * still on its way. Messages stay queued (hold) until a test moves them.
   */
  function committedWithOneAppendOnItsWay(config: RaftConfig) {
    const ids = ['a', 'b', 'c', 'd', 'e'];
    const net = new RaftNet(ids, config);
    const leader = net.elect();
    net.advance(T);
    const [origin, fast1, fast2, slow] = others(leader, ids) as [string, string, string, string];
    net.hold = true;
    const id = net.kvAsk(origin, put('jobs/x', 'queued'));
    assert.equal(net.deliver((m) => m.message.type === 'KV_PROPOSE'), 1);
    const entryIndex = net.machine(leader).logEntries().at(-1)!.index;
    net.deliver((m) => m.message.type === 'APPEND' && (m.to === fast1 || m.to === fast2));
    net.deliver((m) => m.message.type === 'APPEND_RESPONSE');
    assert.equal(net.machine(leader).raftStatus().commitIndex, entryIndex, 'committed');
    /** The appends queued for `to` that tell it of this entry's commit. */
    const told = (to: string) => net.pending().flatMap((m) => (m.to === to && m.message.type === 'APPEND' && m.message.leaderCommit >= entryIndex ? [m.message] : []));
    return { ids, net, leader, origin, fast1, fast2, slow, id, entryIndex, told };
  }

  it('a commit reaches the follower whose client waits at once, the others with the next append they get or commitNoticeDelayMs later', () => {
    const { ids, net, origin, fast1, fast2, slow, id, told } = committedWithOneAppendOnItsWay({ ...DEFAULT_RAFT_CONFIG, commitNoticeDelayMs: 30 });
    assert.equal(told(origin).length, 1, 'the origin hears at once');
    const round = told(origin)[0]!.round;
    for (const f of [fast1, fast2, slow]) assert.deepEqual(told(f), [], `${f} is not sent a commit-only append at once`);
    net.deliver((m) => m.to === origin);
    assert.ok(net.kvAnswers.get(id)?.ok, `the origin applied and answered its client: ${JSON.stringify(net.kvAnswers.get(id))}`);
    net.advance(20);
    for (const f of [fast1, fast2]) assert.deepEqual(told(f), [], `${f} still waits 20 ms after the commit`);
    net.advance(10);
    for (const f of [fast1, fast2]) assert.deepEqual(told(f).map((a) => a.round), [round], `${f} hears once the delay is up, by a commit-only append (not the next heartbeat round)`);
    assert.deepEqual(told(slow), [], 'the follower with an append on its way is not sent one more');
    // Its answer comes after the delay: the commit goes back with the reply to it.
    net.deliver((m) => m.to === slow);
    net.deliver((m) => m.from === slow);
    assert.equal(told(slow).length, 1, 'sent the commit after its answer');
    net.hold = false;
    net.pump();
    net.advance(T);
    assert.equal(new Set(ids.map((n) => JSON.stringify(net.machine(n).kvState()))).size, 1, 'every node applied it');
  });

  it('the next write\'s append carries a commit to the followers: no commit-only append for them', () => {
    const { net, leader, fast1, fast2, entryIndex, told } = committedWithOneAppendOnItsWay({ ...DEFAULT_RAFT_CONFIG, commitNoticeDelayMs: 30 });
    net.advance(10);
    net.kvAsk(leader, put('jobs/y', 'queued'));
    for (const f of [fast1, fast2]) {
      const appends = told(f);
      assert.equal(appends.length, 1, `${f}: one append`);
      assert.deepEqual(appends[0]!.entries.map((e) => e.index), [entryIndex + 1], `${f}: the next write's append, which carries the commit`);
    }
    net.advance(30);
    for (const f of [fast1, fast2]) assert.equal(told(f).length, 1, `${f}: no commit-only append once the delay is up`);
  });

  it('with commitNoticeDelayMs 0 every follower with nothing on its way hears of a commit at once (etcd\'s way)', () => {
    const { net, origin, fast1, fast2, slow, told } = committedWithOneAppendOnItsWay({ ...DEFAULT_RAFT_CONFIG, commitNoticeDelayMs: 0 });
    for (const f of [origin, fast1, fast2]) assert.equal(told(f).length, 1, `${f} hears at once`);
    assert.deepEqual(told(slow), [], 'the follower with an append on its way hears with the answer to it');
    net.deliver((m) => m.to === slow);
    net.deliver((m) => m.from === slow);
    assert.equal(told(slow).length, 1, 'sent the commit after its answer');
  });

  it('a failed compare-and-set is an applied result: it changes nothing and says what the key holds', () => {
    const net = new RaftNet(IDS);
    const leader = net.elect();
    net.kv(leader, put('lock', 'a', 0));
    const again = net.kv(leader, put('lock', 'b', 0));
    assert.ok(again.ok && again.kind === 'write' && !again.result.ok && again.result.code === 'compare-failed', JSON.stringify(again));
    assert.equal(valueOf(net.kv(leader, get('lock'))), 'a');
  });

  it('without a known leader a request is refused at once (no-leader), and a write too large for one append is refused before it enters the log', () => {
    const net = new RaftNet(IDS);
    net.appendBytes = 4096;
    net.start('a');
    const lonely = net.kv('a', put('k', 'v'));
    assert.deepEqual(lonely.ok ? null : lonely.code, 'no-leader');
    net.start();
    const leader = net.elect();
    const big = net.kv(leader, put('k', 'x'.repeat(5000)));
    assert.equal(big.ok ? null : big.code, 'entry-too-large');
    assert.equal(net.machine(leader).logEntries().filter((e) => e.data.kind === 'kv').length, 0);
    // Entries that fit go out several to an append, within the byte budget.
    for (let i = 0; i < 6; i++) net.kvAsk(leader, put(`k${i}`, 'y'.repeat(1500)));
    net.advance(T);
    const appends = net.sent.filter((s) => s.from === leader && s.message.type === 'APPEND' && s.message.entries.length > 0);
    assert.ok(appends.every((s) => JSON.stringify(s.message.type === 'APPEND' ? s.message.entries : []).length <= 4096 + 2), 'no append over the budget');
    for (const id of IDS) assert.equal(valueOf(net.kv(id, get('k5', 'serializable'))), 'y'.repeat(1500), `${id} has every write`);
  });

  it('a write its peers\' codec would refuse never enters the log (it would stop replication for good): invalid', () => {
    const net = new RaftNet(IDS);
    const leader = net.elect();
    const before = net.machine(leader).raftStatus().lastIndex;
    for (const op of [{ kind: 'put', key: '', value: 'v' }, { kind: 'put', key: 'k', value: 'v', ifModRevision: -1 }, { kind: 'sessionGrant', id: 's', node: leader, ttlMs: 0 }]) {
      const answer = net.kv(leader, write(op as KvOperation));
      assert.equal(answer.ok ? null : answer.code, 'invalid', JSON.stringify(op));
    }
    assert.equal(net.machine(leader).raftStatus().lastIndex, before);
  });

  it('a leader taking no proposals while it hands over refuses a write as busy', () => {
    const net = new RaftNet(['a', 'b', 'c', 'd', 'e']);
    const leader = net.elect();
    const [target, ...rest] = others(leader, ['a', 'b', 'c', 'd', 'e']);
    // Hold the target behind: the transfer waits to catch it up, and meanwhile takes no proposals.
    net.isolate(target!);
    net.kvAsk(leader, put('k', 'v'));
    net.command(leader, { kind: 'transfer', to: target! });
    const answer = net.kv(leader, put('k2', 'v'));
    assert.equal(answer.ok ? null : answer.code, 'busy', JSON.stringify(answer));
    assert.ok(rest.length > 0);
  });
});

describe('reads', () => {
  it('§6.4 ReadIndex: a linearizable read sees every write answered before it, at the leader and at a follower', () => {
    const net = new RaftNet(IDS);
    const leader = net.elect();
    const [follower] = others(leader);
    for (let i = 1; i <= 3; i++) {
      assert.ok(net.kv(i % 2 ? leader : follower!, put('n', String(i))).ok);
      assert.equal(valueOf(net.kv(leader, get('n'))), String(i));
      assert.equal(valueOf(net.kv(follower!, get('n'))), String(i));
    }
    assert.ok(net.sent.some((s) => s.from === follower && s.to === leader && s.message.type === 'READ_INDEX'));
    const listed = net.kv(follower!, range('', 10));
    assert.ok(listed.ok && listed.kind === 'read' && listed.range.kvs.map((kv) => kv.key).join() === 'conclave/leader,n');
  });

  it('a leader cut off from the majority cannot confirm a read; a serializable read at a cut-off follower answers from its own, older store', () => {
    const net = new RaftNet(['a', 'b', 'c', 'd', 'e']);
    const leader = net.elect();
    const [stale, ...rest] = others(leader, ['a', 'b', 'c', 'd', 'e']);
    assert.ok(net.kv(leader, put('k', 'old')).ok);
    net.advance(T);
    net.isolate(stale!);
    assert.ok(net.kv(leader, put('k', 'new')).ok);
    assert.equal(valueOf(net.kv(stale!, get('k', 'serializable'))), 'old', 'serializable: local and possibly stale');
    // The old leader, now alone, takes a read it can never confirm: it must not answer with data.
    net.recover();
    net.isolate(leader);
    const asked = net.kvAsk(leader, get('k'));
    net.advance(4 * T);
    const answer = net.kvAnswers.get(asked);
    assert.ok(answer === undefined || !answer.ok, `a deposed leader answered a linearizable read: ${JSON.stringify(answer)}`);
    net.recover();
    net.advanceUntil(() => net.agreedLeader() !== null, 5 * T);
    const now = net.agreedLeader()!;
    assert.ok(rest.includes(now) || now === leader || now === stale);
    assert.equal(valueOf(net.kv(stale!, get('k'))), 'new', 'a linearizable read at the once cut-off node sees the newest write');
  });
});

describe('the store in snapshots and across restarts', () => {
  const CONFIG: RaftConfig = { ...DEFAULT_RAFT_CONFIG, snapshotEntries: 4 };

  it('compaction keeps the store: a snapshot holds it as of its index, and a node restarted from a compacted disk has it all', () => {
    const net = new RaftNet(IDS, CONFIG);
    const leader = net.elect();
    for (let i = 0; i < 12; i++) assert.ok(net.kv(leader, put(`k${i % 5}`, String(i))).ok);
    net.advance(T);
    for (const id of IDS) {
      const disk = net.node(id).disk;
      assert.ok(disk.snapshot && disk.snapshot.data.kv, `${id} compacted with the store in its snapshot`);
      assert.equal(disk.snapshot.data.kv.appliedIndex <= disk.snapshot.index, true);
    }
    const [x] = others(leader);
    const before = stores(net);
    net.crash(x!);
    net.start(x!);
    net.advance(T);
    assert.deepEqual(stores(net), before, 'the restarted node rebuilt the same store (snapshot, then the log)');
    assert.equal(valueOf(net.kv(x!, get('k1', 'serializable'))), '11');
  });

  // Compaction takes the store state the apply captured at the compaction point (kv.ts
  // compactionPoint): taken a step early or late, or from the wrong store, a snapshot would hold
  // another index's state (checked: capturing before the entry is applied fails this).
  it('every snapshot holds the store exactly as of its index', () => {
    const net = new RaftNet(IDS, { ...DEFAULT_RAFT_CONFIG, snapshotEntries: 8 });
    const leader = net.elect();
    net.advance(T);
    // The store after each index, as the leader's API would serve it; writes one at a time, so every index is seen.
    const stateAfter = new Map<number, string>();
    const snapshots = new Map<string, { index: number; kv: string }>();
    for (let i = 0; i < 40; i++) {
      assert.ok(net.kv(leader, put(`k${i % 6}`, String(i))).ok);
      net.advance(5);
      const state = net.machine(leader).kvState();
      stateAfter.set(state.appliedIndex, JSON.stringify(state));
      for (const id of IDS) {
        const snap = net.node(id).disk.snapshot;
        if (snap?.data.kv) snapshots.set(`${id}@${snap.index}`, { index: snap.index, kv: JSON.stringify(snap.data.kv) });
      }
    }
    assert.ok(snapshots.size >= 3 * IDS.length, `every node compacted several times (${[...snapshots.keys()].join(' ')})`);
    for (const [at, snap] of snapshots) {
      assert.ok(stateAfter.has(snap.index), `${at}: a write's index`);
      assert.equal(snap.kv, stateAfter.get(snap.index), `${at}: the store as of ${snap.index}`);
    }
  });

  it('a follower behind the leader\'s snapshot gets the store with it (InstallSnapshot)', () => {
    const net = new RaftNet(IDS, CONFIG);
    const leader = net.elect();
    const [late] = others(leader);
    net.isolate(late!);
    for (let i = 0; i < 12; i++) assert.ok(net.kv(leader, put(`k${i}`, String(i))).ok);
    net.recover();
    net.advance(2 * T);
    assert.ok(net.effects.some((e) => e.node === late && e.effect.type === 'snapshot' && e.effect.action === 'installed'), 'installed a snapshot');
    assert.equal(new Set(stores(net)).size, 1);
    assert.equal(valueOf(net.kv(late!, get('k11', 'serializable'))), '11');
  });
});

describe('sessions (the leader times them; the gossip failure detector ends them)', () => {
  const grant = (id: string, node: string, ttlMs: number): KvRequest => write({ kind: 'sessionGrant', id, node, ttlMs });
  const keepAlive = (id: string): KvRequest => write({ kind: 'sessionKeepAlive', id });
  const attached = (key: string, session: string): KvRequest => write({ kind: 'put', key, value: 'here', session });
  const sessionsOf = (net: RaftNet, id: string) => net.machine(id).kvState().sessions.map((s) => s.id);

  it('a session kept alive lives on; once the keep-alives stop it ends a TTL later, with its keys', () => {
    const net = new RaftNet(IDS);
    const leader = net.elect();
    const [client] = others(leader);
    assert.ok(net.kv(client!, grant('s1', client!, 2000)).ok);
    assert.ok(net.kv(client!, attached('services/web/1', 's1')).ok);
    for (let i = 0; i < 5; i++) {
      net.advance(1000);
      assert.ok(net.kv(client!, keepAlive('s1')).ok);
    }
    assert.deepEqual(sessionsOf(net, client!), ['s1'], 'kept alive for 5 s with a TTL of 2 s');
    const stoppedAt = net.nowMs;
    assert.ok(net.advanceUntil(() => sessionsOf(net, client!).length === 0, 4000), 'ended once the keep-alives stopped');
    assert.ok(net.nowMs - stoppedAt >= 2000, `ended ${net.nowMs - stoppedAt} ms after the last keep-alive, not before its TTL`);
    assert.equal(valueOf(net.kv(client!, get('services/web/1'))), null, 'its key went with it');
    const revoke = net.machine(leader).logEntries().find((e) => e.data.kind === 'kv' && e.data.op.kind === 'sessionRevoke');
    assert.ok(revoke?.data.kind === 'kv' && revoke.data.op.kind === 'sessionRevoke' && revoke.data.op.reason === 'expired');
  });

  it('a session of a node membership declares dead is revoked at once, long before its TTL', () => {
    const net = new RaftNet(['a', 'b', 'c', 'd', 'e']);
    const leader = net.elect();
    const [holder, reader] = others(leader, ['a', 'b', 'c', 'd', 'e']);
    assert.ok(net.kv(holder!, grant('lock-session', holder!, 60_000)).ok);
    assert.ok(net.kv(holder!, attached('locks/db', 'lock-session')).ok);
    net.crash(holder!);
    assert.ok(net.advanceUntil(() => sessionsOf(net, reader!).length === 0, 3000), 'revoked once the node showed dead');
    assert.equal(valueOf(net.kv(reader!, get('locks/db'))), null);
    const revoke = net.machine(leader).logEntries().find((e) => e.data.kind === 'kv' && e.data.op.kind === 'sessionRevoke');
    assert.ok(revoke?.data.kind === 'kv' && revoke.data.op.kind === 'sessionRevoke' && revoke.data.op.reason === 'node-dead', JSON.stringify(revoke));
  });

  it('a new leader gives every session it inherits a full TTL from its takeover', () => {
    const net = new RaftNet(['a', 'b', 'c', 'd', 'e']);
    const first = net.elect();
    const [holder] = others(first, ['a', 'b', 'c', 'd', 'e']);
    assert.ok(net.kv(holder!, grant('s', holder!, 1500)).ok);
    net.advance(1000);
    net.crash(first);
    assert.ok(net.advanceUntil(() => net.agreedLeader() !== null, 5000));
    assert.deepEqual(sessionsOf(net, holder!), ['s'], 'survived the election although its TTL passed meanwhile');
    assert.ok(net.kv(holder!, keepAlive('s')).ok);
    net.advance(1000);
    assert.deepEqual(sessionsOf(net, holder!), ['s']);
  });
});
