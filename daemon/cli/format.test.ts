import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FakeControlSource, PEER_ID, SELF_ID, fakeMember } from '../api/testing.js';
import type { LeaderResponse, StatusResponse } from '../api/types.js';
import { shortId } from '../../shared/format.js';
import { MEMBER_COLUMNS, alignTable, formatKvEvent, formatKvList, formatKvTxn, formatLeader, formatMembers, formatRaft, formatStatus, votesOf } from './format.js';

describe('CLI formatting', () => {
  it('alignTable pads each column to its widest cell and leaves no trailing spaces', () => {
    const table = alignTable(['A', 'LONG HEADER', 'C'], [['xxxx', 'y', ''], ['z', 'w', 'end']]);
    assert.equal(table, ['A     LONG HEADER  C', 'xxxx  y', 'z     w            end'].join('\n'));
  });

  it('formatMembers shows name (self starred), short id, state, role, term, followed leader by name, last seen, first address', () => {
    const members = new FakeControlSource().memberList;
    members.push(fakeMember({ id: 'x'.repeat(40) + 'UNKNOWN1', name: 'gamma', self: false, state: 'suspect', leader: 'zzzzzzzzzzzzGONELEAD', lastSeenMs: 4250, addrs: [] }));
    const lines = formatMembers(members).split('\n');
    assert.equal(lines.length, 4);
    const cells = lines.map((l) => l.split(/\s{2,}/));
    assert.deepEqual(cells[0], ['NAME', 'ID', 'STATE', 'ROLE', 'TERM', 'FOLLOWS', 'LAST SEEN', 'ADDRESS']);
    assert.deepEqual(cells[1], ['alpha *', shortId(SELF_ID), 'alive', 'leader', '3', 'alpha', 'self', '/ip4/127.0.0.1/tcp/4001']);
    assert.deepEqual(cells[2], ['beta', shortId(PEER_ID), 'alive', 'follower', '3', 'alpha', '0.3s', '/ip4/127.0.0.1/tcp/4002']);
    assert.deepEqual(cells[3], ['gamma', 'UNKNOWN1', 'suspect', 'leader', '3', 'GONELEAD', '4.2s', '-']);
    const stateAt = lines[0]!.indexOf('STATE');
    const seenAt = lines[0]!.indexOf('LAST SEEN');
    assert.deepEqual(lines.slice(1).map((l) => l.slice(stateAt).split(' ')[0]), ['alive', 'alive', 'suspect'], 'columns line up under their headers');
    assert.deepEqual(lines.slice(1).map((l) => l.slice(seenAt).split(' ')[0]), ['self', '0.3s', '4.2s']);
  });

  it('formatMembers under raft adds VOTE after ROLE: voter, learner, or - outside the configuration', () => {
    const source = new FakeControlSource();
    source.useRaft('leader');
    source.memberList.push(fakeMember({ id: 'x'.repeat(40) + 'NEWCOMER', name: 'delta', self: false, protocol: 'raft', role: 'follower' }));
    const lines = formatMembers(source.memberList, votesOf(source.status())).split('\n');
    const cells = lines.map((l) => l.split(/\s{2,}/));
    assert.deepEqual(cells[0], ['NAME', 'ID', 'STATE', 'ROLE', 'VOTE', 'TERM', 'FOLLOWS', 'LAST SEEN', 'ADDRESS']);
    assert.deepEqual(cells.slice(1).map((c) => [c[0], c[4]]), [['alpha *', 'voter'], ['beta', 'voter'], ['gamma', 'learner'], ['delta', '-']]);
    assert.equal(votesOf(new FakeControlSource().status()), null, 'bully: no votes, no column');
  });

  it('formatMembers adds PROTOCOL while members run different protocols, and DIALECT while they speak different Raft dialects (absent: 1)', () => {
    const same = new FakeControlSource().memberList.map((m) => ({ ...m, raftWire: 2 }));
    assert.deepEqual(formatMembers(same).split('\n')[0]!.split(/\s{2,}/), [...MEMBER_COLUMNS], 'one protocol, one dialect: no extra column');
    const upgrading = [same[0]!, { ...same[1]!, raftWire: undefined }, fakeMember({ id: 'x'.repeat(40) + 'SWITCHER', name: 'gamma', self: false, raftWire: 2, requested: 'raft' })];
    const cells = formatMembers(upgrading).split('\n').map((l) => l.split(/\s{2,}/));
    assert.deepEqual(cells[0], ['NAME', 'PROTOCOL', 'DIALECT', ...MEMBER_COLUMNS.slice(1)]);
    assert.deepEqual(
      cells.slice(1).map((c) => c.slice(0, 3)),
      [
        ['alpha *', 'bully', '2'],
        ['beta', 'bully', '1'],
        ['gamma', 'bully→raft', '2'],
      ],
    );
  });

  it('formatRaft: a leader without peers says so; a follower that knows no leader says that', () => {
    const source = new FakeControlSource();
    const view = source.useRaft('leader');
    assert.match(formatRaft({ ...view, peers: [] }), /no other members to replicate to$/);
    assert.match(formatRaft({ ...view, role: 'follower', leader: null, peers: [] }), /^progress {2}tracked by the leader, and no leader is known now$/m);
  });

  const status = (overrides: Partial<StatusResponse> = {}): StatusResponse => ({
    ...new FakeControlSource().status(),
    leaseRemainingMs: null,
    bootstrap: { expect: 3, seen: 3, complete: true },
    revision: 1,
    ...overrides,
  });
  const leader = (overrides: Partial<LeaderResponse> = {}): LeaderResponse => ({
    leader: { id: SELF_ID, name: 'alpha' }, term: 3, fencingToken: 11, role: 'follower', leaseRemainingMs: null, revision: 1, ...overrides,
  });

  it('formatStatus and formatLeader name the leader, term and fencing token', () => {
    const text = formatStatus(status());
    assert.match(text, /^leader {4}alpha \(\w{8}\), fencing token 11$/m);
    assert.match(text, /^members {3}2 alive, 0 suspect, 0 dead, 0 left$/m);
    assert.equal(formatLeader(leader()), `alpha (${shortId(SELF_ID)}), term 3, fencing token 11`);
    assert.equal(formatLeader(leader({ leader: null, term: 5, fencingToken: 2 })), 'no leader (term 5)');
  });

  it('the leader shows how long its lease still runs; other nodes show none', () => {
    assert.match(formatStatus(status({ role: 'leader', term: 7, leaseRemainingMs: 2_650 })), /^role {6}leader, term 7, lease 2\.6s left$/m);
    assert.match(formatStatus(status({ role: 'follower', term: 7 })), /^role {6}follower, term 7$/m);
    assert.equal(formatLeader(leader({ role: 'leader', leaseRemainingMs: 2_650 })), `alpha (${shortId(SELF_ID)}), term 3, fencing token 11, lease 2.6s left`);
  });

  it('formatStatus shows where a raft log stands and who votes; no raft line for bully', () => {
    const ref = (name: string) => ({ id: `id-${name}`, name });
    const raft = { commitIndex: 7, appliedIndex: 7, lastIndex: 8, lastTerm: 3, voters: [ref('n1'), ref('n2'), ref('n3')], learners: [ref('n4')] };
    assert.match(formatStatus(status({ protocol: 'raft', raft })), /^raft {6}commit 7, last 8 \(term 3\), voters n1 n2 n3, learners n4$/m);
    assert.match(formatStatus(status({ protocol: 'raft', raft: { ...raft, voters: [], learners: [] } })), /^raft {6}commit 7, last 8 \(term 3\), voters none yet$/m);
    assert.match(formatStatus(status({ protocol: 'raft', raft: { ...raft, kv: { revision: 12, keys: 1 } } })), /^kv {8}revision 12, 1 key$/m);
    assert.doesNotMatch(formatStatus(status({ protocol: 'raft', raft })), /^kv /m, 'an older daemon says nothing of a store');
    assert.doesNotMatch(formatStatus(status()), /^raft/m);
  });

  it('formatStatus shows the bootstrap state only while it is incomplete', () => {
    const waiting = formatStatus(status({ leader: null, bootstrap: { expect: 3, seen: 2, complete: false } }));
    assert.match(waiting, /^bootstrap waiting: seen 2 of 3 members \(never leads before 3\)$/m);
    assert.doesNotMatch(formatStatus(status()), /bootstrap/);
  });

  it('formatStatus warns when more members are live than bootstrapExpect keeps to one cluster, naming the value to set', () => {
    const members = (alive: number, suspect = 0) => ({ alive, suspect, dead: 1, left: 1 });
    const five = formatStatus(status({ members: members(4, 1), bootstrap: { expect: 3, seen: 3, complete: true } }));
    assert.match(five, /^bootstrap expect 3 is too low for 5 live members: a new cluster formed with it could split in two; set --bootstrap-expect 5 \(any value from 4 keeps one cluster\)$/m);
    // Dead and left members are not counted; a value whose majority is more than half of the live members is enough.
    assert.doesNotMatch(formatStatus(status({ members: members(3), bootstrap: { expect: 3, seen: 3, complete: true } })), /bootstrap/);
    assert.doesNotMatch(formatStatus(status({ members: members(5), bootstrap: { expect: 4, seen: 5, complete: true } })), /bootstrap/);
    // While waiting, the waiting line says what matters.
    assert.doesNotMatch(formatStatus(status({ members: members(5), bootstrap: { expect: 3, seen: 5, complete: false } })), /too low/);
  });

  it('formatStatus says whether the swarm has a pre-shared key, and how to get one when it has none', () => {
    assert.match(formatStatus(status({ security: { psk: false } })), /^security {2}open \(no pre-shared key; run conclave init\)$/m);
    assert.match(formatStatus(status({ security: { psk: true } })), /^security {2}pre-shared key$/m);
    const persistError = { path: '/d/bully-state.json', code: 'EROFS', message: 'cannot write /d/bully-state.json: EROFS' };
    assert.match(formatStatus(status({ persistError })), /^disk {6}cannot write \/d\/bully-state.json: EROFS; sending no election messages until a write succeeds$/m);
    assert.doesNotMatch(formatStatus(status({ persistError: null })), /^disk/m);
  });

  it('formatStatus reads a daemon too old to send lease, bootstrap and security', () => {
    const old = { ...status({ role: 'leader', term: 3 }) } as Partial<StatusResponse>;
    delete old.leaseRemainingMs;
    delete old.bootstrap;
    delete old.security;
    const text = formatStatus(old as StatusResponse);
    assert.match(text, /^role {6}leader, term 3$/m);
    assert.doesNotMatch(text, /bootstrap|security/);
  });

  it('formatKvList: one KEY<TAB>VALUE line per key, from which a reader recovers every key and value exactly', () => {
    const kv = (key: string, value: string) => ({ key, value, createRevision: 1, modRevision: 1, version: 1, session: null });
    const kvs = [kv('a\tb', 'x\ny'), kv('back\\slash\\n', 'cr\r\t\\t'), kv('plain', ''), kv('ü/🦀', 'v')];
    const lines = formatKvList(kvs).split('\n');
    assert.equal(lines.length, kvs.length);
    const unescape = (field: string) => field.replace(/\\(.)/g, (_, c: string) => ({ t: '\t', n: '\n', r: '\r', '\\': '\\' })[c]!);
    assert.deepEqual(lines.map((line) => line.split('\t').map(unescape)), kvs.map((k) => [k.key, k.value]));
    assert.equal(formatKvList([]), '');
  });

  it('formatKvEvent: `put KEY=VALUE @REVISION` or `delete KEY @REVISION` on one line, escaped as kv ls escapes', () => {
    const kv = (key: string, value: string, modRevision: number) => ({ key, value, createRevision: 3, modRevision, version: 1, session: null });
    assert.equal(formatKvEvent({ type: 'put', kv: kv('app/db', 'postgres://a b', 7), revision: 7 }), 'put app/db=postgres://a b @7');
    assert.equal(formatKvEvent({ type: 'put', kv: kv('a\tb', 'x\ny\r\\', 8), revision: 8 }), 'put a\\tb=x\\ny\\r\\\\ @8');
    assert.equal(formatKvEvent({ type: 'put', kv: kv('k', '', 9), revision: 9 }), 'put k= @9', 'an empty value');
    // A delete's kv holds the key and the deleting revision, nothing else; prevKv is not shown.
    const deleted = { type: 'delete' as const, kv: { key: 'line\nbreak', value: '', createRevision: 0, modRevision: 10, version: 0, session: null }, prevKv: kv('line\nbreak', 'old', 4), revision: 10 };
    assert.equal(formatKvEvent(deleted), 'delete line\\nbreak @10');
  });

  it('formatKvTxn names each operation of the branch that ran; a result kind it does not know is named, not dropped', () => {
    const request = { compare: [], success: [{ kind: 'deletePrefix' as const, prefix: 'p/' }], failure: [] };
    const reply = { succeeded: true, responses: [{ kind: 'deletePrefix' as const, deleted: 3 }, { kind: 'watch' } as never], revision: 9, index: 12 };
    assert.equal(formatKvTxn(request, reply), 'succeeded at revision 9\ndeletePrefix "p/": 3 deleted\nwatch');
  });
});
