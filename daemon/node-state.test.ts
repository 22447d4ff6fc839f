import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { bullyPersistedCodec, INITIAL_BULLY_STATE, type BullyPersisted } from '../protocols/bully/index.js';
import { INITIAL_RAFT_STATE, raftPersistedCodec } from '../protocols/raft/index.js';
import type { Codec, ProtocolName } from '../protocols/types.js';
import { loadConfig } from './config/load.js';
import { loadOrCreateIdentity } from './identity.js';
import { openNodeStore, WAL_DIR } from './node-store.js';
import { openNodeState, stateMismatch, type NodeState, type OpenNodeStateOptions } from './node-state.js';
import { testDirs } from './test-dirs.js';

const dirs = testDirs('node-state');
const freshDir = dirs.fresh;

function configFor(dataDir: string, protocol: ProtocolName = 'bully') {
  return loadConfig({ env: {}, flags: { name: 'n1', dataDir, protocol } });
}

type Logged = { level: 'warn' | 'info'; message: string }[];

function open(dataDir: string, reset = false, protocol: ProtocolName = 'bully') {
  const logged: Logged = [];
  const log: OpenNodeStateOptions['log'] = {
    warn: (_fields, message) => logged.push({ level: 'warn', message }),
    info: (_fields, message) => logged.push({ level: 'info', message }),
  };
  // Closed again at once: a test only looks at what opening it decided.
  const opening = openNodeState(configFor(dataDir, protocol), { resetElectionState: reset, nowMs: 0, log }).then(async (state: NodeState) => {
    await state.store.close();
    return state;
  });
  return { logged, opening };
}

const AT_42: BullyPersisted = { ...INITIAL_BULLY_STATE, acceptedEpoch: 42, acceptedLeader: 'someone', leaseTo: 'someone', highestEpochSeen: 42, members: ['someone'], bootstrapped: true };
/** The log store, where the election state lives. */
const statePath = (dir: string) => join(dir, WAL_DIR);
const keyPath = (dir: string) => join(dir, 'peer.key');
const quiet = { warn: () => undefined, info: () => undefined };

async function storeOf(dir: string) {
  return openNodeStore({ dataDir: dir, protocol: 'bully', electionCodec: bullyPersistedCodec as Codec<unknown>, log: quiet });
}

/** The election state a restart would read. */
async function stateOf(dir: string): Promise<BullyPersisted | null> {
  const store = await storeOf(dir);
  await store.close();
  return store.election as BullyPersisted | null;
}

async function writeState(dir: string, state: BullyPersisted): Promise<void> {
  const store = await storeOf(dir);
  await store.append({ hardState: { bully: state } });
  await store.close();
}

/** A node that ran: its key, and election state at fencing token 42. */
async function ranNode(): Promise<string> {
  const dir = freshDir();
  await open(dir).opening;
  await writeState(dir, AT_42);
  return dir;
}

async function assertRefused(opening: Promise<unknown>, kind: string, missing: string): Promise<void> {
  await assert.rejects(opening, (err: Error & { kind?: string; path?: string; exitCode?: number }) => {
    assert.equal(err.name, 'ElectionStateError');
    assert.equal(err.kind, kind);
    assert.equal(err.exitCode, 2);
    assert.equal(err.path, missing);
    assert.ok(err.message.includes(missing), err.message);
    assert.ok(err.message.includes('--reset-election-state'), 'names the way out');
    return true;
  });
}

describe('stateMismatch', () => {
  it('an identity needs its state; state that holds anything needs its identity', () => {
    assert.equal(stateMismatch(true, 'held'), null);
    assert.equal(stateMismatch(true, 'initial'), null);
    assert.equal(stateMismatch(true, 'none'), 'lost-state');
    assert.equal(stateMismatch(false, 'none'), null, 'a brand-new data dir');
    assert.equal(stateMismatch(false, 'initial'), null, 'a first start that stopped between its two writes');
    assert.equal(stateMismatch(false, 'held'), 'lost-identity');
  });
});

describe('openNodeState', () => {
  it('a brand-new data dir starts: empty election state written, then a new identity', async () => {
    const dir = freshDir();
    const { opening, logged } = open(dir);
    const { identity, election } = await opening;
    assert.equal(identity.created, true);
    assert.deepEqual(await stateOf(dir), { ...INITIAL_BULLY_STATE, members: [] });
    assert.equal(election?.machine.summary(0).fencingToken, 0);
    assert.deepEqual(logged, []);
  });

  it('the node store\'s stats follow its appends (metrics read them at every scrape) and its fsyncs can be observed', async () => {
    const store = await storeOf(freshDir());
    const before = store.stats.batches;
    const fsyncs: number[] = [];
    store.onFsync((ms) => fsyncs.push(ms));
    await store.append({ hardState: { membership: { incarnation: 5 } } });
    assert.equal(store.stats.batches, before + 1);
    assert.ok(fsyncs.length >= 1);
    await store.close();
  });

  it('a restart restores identity and fencing token', async () => {
    const dir = await ranNode();
    const before = readFileSync(keyPath(dir), 'utf8');
    const { identity, election } = await open(dir).opening;
    assert.equal(identity.created, false);
    assert.equal(readFileSync(keyPath(dir), 'utf8'), before);
    assert.equal(election?.machine.summary(0).fencingToken, 42);
  });

  it('an identity without its election state (the log store gone) is refused, naming it; nothing is written', async () => {
    const dir = await ranNode();
    rmSync(statePath(dir), { recursive: true });
    await assertRefused(open(dir).opening, 'lost-state', statePath(dir));
    assert.equal(await stateOf(dir), null, 'no election state was written');
  });

  it('--reset-election-state accepts it for that start, with a warning that the token restarts; the next start is ordinary', async () => {
    const dir = await ranNode();
    rmSync(statePath(dir), { recursive: true });
    const { opening, logged } = open(dir, true);
    const { identity, election } = await opening;
    assert.equal(identity.created, false);
    assert.equal(election?.machine.summary(0).fencingToken, 0);
    assert.equal(logged.length, 1);
    assert.equal(logged[0]!.level, 'warn');
    assert.match(logged[0]!.message, /fencing token restarts/);
    assert.ok(logged[0]!.message.includes(statePath(dir)));
    const again = open(dir);
    await again.opening;
    assert.deepEqual(again.logged, []);
  });

  it('election state without its identity is refused before a new identity is made', async () => {
    const dir = await ranNode();
    rmSync(keyPath(dir));
    await assertRefused(open(dir).opening, 'lost-identity', keyPath(dir));
    assert.equal(existsSync(keyPath(dir)), false, 'no new key, or the next start would take the old state for its own');
    assert.equal((await stateOf(dir))?.acceptedEpoch, 42, 'left untouched');
  });

  it('with --reset-election-state a new identity starts from empty state, replacing the old one', async () => {
    const dir = await ranNode();
    rmSync(keyPath(dir));
    const { opening, logged } = open(dir, true);
    const { identity, election } = await opening;
    assert.equal(identity.created, true);
    assert.equal(election?.machine.summary(0).fencingToken, 0);
    assert.equal((await stateOf(dir))?.acceptedEpoch, 0);
    assert.equal(logged[0]?.level, 'warn');
  });

  it('an empty state without a key (a first start stopped between its writes) starts as a new node', async () => {
    const dir = freshDir();
    await writeState(dir, { ...INITIAL_BULLY_STATE, members: [] });
    const { identity } = await open(dir).opening;
    assert.equal(identity.created, true);
  });

  it('a corrupt key is reported as itself, not as lost state', async () => {
    const dir = freshDir();
    writeFileSync(keyPath(dir), 'not a key');
    await assert.rejects(open(dir).opening, { name: 'IdentityError' });
  });

  it('a corrupt log store is reported as itself (DataFileError naming the segment), never replaced', async () => {
    const dir = await ranNode();
    const segment = join(statePath(dir), '0000000000000001.wal');
    const bytes = readFileSync(segment);
    bytes[3] ^= 0xff; // inside the header's magic
    writeFileSync(segment, bytes);
    await assert.rejects(open(dir, true).opening, { name: 'DataFileError', path: segment });
    assert.deepEqual(readFileSync(segment), bytes);
  });

  it('election state that does not parse is DataFileError naming the log store', async () => {
    const dir = freshDir();
    mkdirSync(dir, { recursive: true });
    const store = await storeOf(dir);
    await store.append({ hardState: { bully: { epoch: 'seven' } } });
    await store.close();
    await assert.rejects(open(dir, true).opening, { name: 'DataFileError', path: statePath(dir) });
  });

  it('a data dir from before the log store: its files are imported and kept as *.migrated', async () => {
    const dir = freshDir();
    mkdirSync(dir, { recursive: true });
    await loadOrCreateIdentity(dir);
    writeFileSync(join(dir, 'bully-state.json'), JSON.stringify(AT_42));
    writeFileSync(join(dir, 'incarnation'), '1800000000\n');
    const { opening, logged } = open(dir);
    const { election, incarnation } = await opening;
    assert.equal(election?.machine.summary(0).fencingToken, 42);
    assert.equal(incarnation, 1_800_000_001, 'one above the imported incarnation (it is above the clock)');
    assert.deepEqual((await stateOf(dir))?.acceptedEpoch, 42);
    assert.equal(existsSync(join(dir, 'bully-state.json')), false);
    assert.equal(readFileSync(join(dir, 'bully-state.json.migrated'), 'utf8'), JSON.stringify(AT_42));
    assert.ok(existsSync(join(dir, 'incarnation.migrated')));
    assert.ok(logged.some((l) => l.level === 'info' && l.message.includes('imported')));
  });

  it('a corrupt legacy file is refused as itself, and nothing is imported', async () => {
    const dir = freshDir();
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'bully-state.json'), '{"epoch": "seven"');
    await assert.rejects(open(dir).opening, { name: 'DataFileError', path: join(dir, 'bully-state.json') });
    assert.equal(readFileSync(join(dir, 'bully-state.json'), 'utf8'), '{"epoch": "seven"');
  });

  it('each start stores an incarnation above the last one', async () => {
    const dir = freshDir();
    const first = (await open(dir).opening).incarnation;
    const second = (await open(dir).opening).incarnation;
    assert.ok(second > first, `${second} > ${first}`);
  });

  it('raft on a data dir bully ran on starts with an empty log, above bully\'s token, honouring bully\'s promise once', async () => {
    const dir = await ranNode();
    const { opening, logged } = open(dir, false, 'raft');
    const { election } = await opening;
    assert.equal(election?.machine.protocol, 'raft');
    // Bully accepted epoch 42: raft's first term, so its first token, is above it; before its first leader record it reports bully's.
    assert.equal(election?.machine.summary(0).term, 42);
    assert.equal(election?.machine.summary(0).fencingToken, 42);
    assert.equal(election?.machine.formed?.(), false, 'no Raft cluster formed here yet');
    assert.deepEqual(logged.map((l) => l.level), ['info']);
    assert.match(logged[0]!.message, /starts above its fencing token 42 and helps elect no one for 3000 ms/);
    // The carried promise: no vote for anyone within bully's lease (3000 ms, longer than raft's own 1000 ms restart hold).
    const raft = election!.machine;
    const self = (await opening).identity.peerId;
    const member = (id: string, isSelf: boolean) => ({ id, name: id, state: 'alive' as const, priority: 0, protocol: 'raft' as const, self: isSelf, role: 'follower' as const, term: 0, leader: null, fencingToken: 0 });
    const granted = (nowMs: number, term: number) => {
      raft.step({ type: 'members', nowMs, members: [member(self, true), member('other', false)] });
      raft.step({ type: 'message', nowMs, from: 'other', message: { type: 'VOTE', term, preVote: false, lastLogIndex: 0, lastLogTerm: 0, transfer: false } });
      return raft.drain().some((e) => e.type === 'send' && (e.message as { type: string; granted?: boolean }).type === 'VOTE_RESPONSE' && (e.message as { granted: boolean }).granted);
    };
    assert.equal(granted(2000, 43), false);
    assert.equal(granted(3100, 42), false, 'a term at bully\'s token is never granted: a leader of it would reuse a token');
    assert.equal(granted(3100, 44), true, 'after the hold the vote is granted');
    // The next start under raft carries no promise (raft ran last), and keeps the floor.
    const again = open(dir, false, 'raft');
    assert.equal((await again.opening).election?.machine.summary(0).term, 42);
    assert.deepEqual(again.logged, []);
    // Its raft state, raised to bully's token and written at start, is now stored beside bully's, which is kept.
    const reopened = await openNodeStore({ dataDir: dir, protocol: 'raft', electionCodec: raftPersistedCodec as Codec<unknown>, log: quiet });
    await reopened.close();
    assert.deepEqual(reopened.election, { ...INITIAL_RAFT_STATE, term: 42 });
    assert.deepEqual(await stateOf(dir), AT_42);
  });

  it('bully on a data dir raft ran on starts above raft\'s term and newest leader record, and holds its grant to that leader', async () => {
    const dir = freshDir();
    await open(dir, false, 'raft').opening;
    const store = await openNodeStore({ dataDir: dir, protocol: 'raft', electionCodec: raftPersistedCodec as Codec<unknown>, log: quiet });
    await store.append({
      hardState: { raft: { ...INITIAL_RAFT_STATE, term: 9, votedFor: 'leader-7', fencingFloor: 7 } },
      entries: [
        { index: 1, term: 7, data: { kind: 'config', voters: ['leader-7', 'x'], learners: [] } },
        { index: 2, term: 7, data: { kind: 'leader', leader: 'leader-7', term: 7 } },
      ],
    });
    await store.close();
    const { opening, logged } = open(dir, false, 'bully');
    const { election } = await opening;
    const summary = election!.machine.summary(0);
    assert.equal(summary.fencingToken, 9, 'raft saw term 9: bully reports no lower token');
    assert.match(logged[0]!.message, /starts above its fencing token 9/);
    // It voted for leader-7 in term 9 after that record: that is whom it promised last.
    assert.match(logged[0]!.message, /helps elect no one for 1000 ms/);
    // A claim from anyone but the promised leader waits for the hold (bully's lease, the longer): no ACCEPT before it.
    const bully = election!.machine;
    const self = election!.machine === bully ? (await opening).identity.peerId : '';
    const member = (id: string, isSelf: boolean) => ({ id, name: id, state: 'alive' as const, priority: isSelf ? 0 : 5, protocol: 'bully' as const, self: isSelf, role: 'follower' as const, term: 0, leader: null, fencingToken: 0 });
    const accepts = (nowMs: number) => {
      bully.step({ type: 'members', nowMs, members: [member(self, true), member('x', false)] });
      bully.step({ type: 'message', nowMs, from: 'x', message: { type: 'COORDINATOR', epoch: 10, kind: 'claim', round: 1, leaseMs: 3000 } });
      return bully.drain().filter((e) => e.type === 'send' && (e.message as { type: string }).type === 'ACCEPT').length;
    };
    assert.equal(accepts(10), 0);
    assert.equal(accepts(3100), 1, 'after the hold the claim is accepted');
  });

  it('another protocol\'s state that does not parse is refused with the file named, never guessed', async () => {
    const dir = freshDir();
    await open(dir, false, 'raft').opening;
    const store = await openNodeStore({ dataDir: dir, protocol: 'raft', electionCodec: null, log: quiet });
    await store.append({ hardState: { raft: { v: 1, term: -3 } } });
    await store.close();
    await assert.rejects(open(dir, false, 'bully').opening, (err: Error & { path?: string; exitCode?: number }) => {
      assert.equal(err.name, 'DataFileError');
      assert.equal(err.exitCode, 2);
      assert.equal(err.path, statePath(dir));
      assert.match(err.message, /its raft election state \(kept from when this node ran raft\) does not parse/);
      return true;
    });
  });

  it('raft whose state is gone while its key survived refuses to start (it could vote twice in a term), unless reset', async () => {
    const dir = freshDir();
    await open(dir, false, 'raft').opening;
    rmSync(statePath(dir), { recursive: true });
    await assertRefused(open(dir, false, 'raft').opening, 'lost-state', statePath(dir));
    const { election } = await open(dir, true, 'raft').opening;
    assert.equal(election?.machine.summary(0).term, 0);
  });

  it('a raft log whose entry or snapshot does not parse is DataFileError naming the log store and the index; nothing is replaced', async () => {
    for (const [what, batch] of [
      ['log entry at index 2', { entries: [{ index: 1, term: 1, data: { kind: 'config', voters: ['a'], learners: [] } }, { index: 2, term: 1, data: { kind: 'promise', to: 'z' } }] }],
      ['snapshot at index 3', { snapshot: { index: 3, term: 1, data: { v: 1, configuration: { voters: [], learners: [] }, leaderRecord: null } } }],
    ] as const) {
      const dir = freshDir();
      await open(dir, false, 'raft').opening;
      const store = await openNodeStore({ dataDir: dir, protocol: 'raft', electionCodec: raftPersistedCodec as Codec<unknown>, log: quiet });
      await store.append(batch);
      await store.close();
      await assert.rejects(open(dir, false, 'raft').opening, (err: Error & { path?: string }) => err.name === 'DataFileError' && err.path === statePath(dir) && err.message.includes(what));
    }
  });

  it('the flag on a consistent data dir changes nothing and says so', async () => {
    const dir = await ranNode();
    const { opening, logged } = open(dir, true);
    const { election } = await opening;
    assert.equal(election?.machine.summary(0).fencingToken, 42);
    assert.equal(logged[0]?.level, 'info');
    assert.match(logged[0]!.message, /ignored/);
  });

  it('a node of a cluster runs the cluster\'s protocol (its era\'s), whatever its config asks: a changed config asks, an unchanged one keeps the cluster\'s choice', async () => {
    const dir = await ranNode();
    // The cluster switched this node to raft in era 3, as its leader asked of everyone (the node had started with bully).
    const store = await storeOf(dir);
    await store.append({ hardState: { era: { era: 3, protocol: 'raft', requested: 'raft' } } });
    await store.close();
    const unchanged = open(dir, false, 'bully');
    const state = await unchanged.opening;
    assert.equal(state.election.machine.protocol, 'raft', 'runs the era\'s protocol, not the config\'s');
    assert.deepEqual(state.switching.era, { era: 3, requested: 'raft', tokenFloor: 0 }, 'the config did not change since the last start: the cluster\'s choice stands');
    assert.equal(state.election.machine.summary(0).term, 42, 'above bully\'s token');
    assert.match(unchanged.logged.at(-1)!.message, /config asks for bully, but this node's cluster runs raft \(era 3\)/);
    // Started next with raft in its config (changed since the last start): it asks for raft.
    assert.deepEqual((await open(dir, false, 'raft').opening).switching.era, { era: 3, requested: 'raft', tokenFloor: 0 });
    // And then with bully again (changed): a new request for bully, while it still runs raft.
    const changed = await open(dir, false, 'bully').opening;
    assert.equal(changed.election.machine.protocol, 'raft');
    assert.deepEqual(changed.switching.era, { era: 3, requested: 'bully', tokenFloor: 0 });
    // Started once more with the same config: the request outlives the start that read it.
    assert.deepEqual((await open(dir, false, 'bully').opening).switching.era, { era: 3, requested: 'bully', tokenFloor: 0 });
  });

  it('a state the carry-over raised is on disk before the machine reports a token: the next start reads it back', async () => {
    const dir = await ranNode();
    await open(dir, false, 'raft').opening;
    const store = await storeOf(dir);
    await store.close();
    assert.equal((store.otherElections.get('raft') as { term: number } | undefined)?.term, 42, "raft's term, raised above bully's epoch 42, written at start");
  });

  it('the token floor a live switch wrote with the era carries over at the next start, above what the other protocol\'s own state says', async () => {
    const dir = await ranNode();
    // A switch to raft carried token 50 over (from a state of the old machine not yet written).
    const store = await storeOf(dir);
    await store.append({ hardState: { era: { era: 3, protocol: 'raft', requested: 'raft', tokenFloor: 50 } } });
    await store.close();
    const state = await open(dir, false, 'raft').opening;
    assert.equal(state.election.machine.summary(0).fencingToken, 50, 'not 42, what bully\'s own state holds');
    assert.equal(state.switching.era.tokenFloor, 50, 'the core writes it again with every era change');
  });

  it('a corrupt era record is refused, naming the log store', async () => {
    const dir = await ranNode();
    const store = await storeOf(dir);
    await store.append({ hardState: { era: { era: -1, protocol: 'paxos' } } });
    await store.close();
    await assert.rejects(open(dir).opening, (err: Error & { path?: string }) => err.name === 'DataFileError' && err.path === statePath(dir) && /protocol era/.test(err.message));
  });
});
