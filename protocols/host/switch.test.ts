/** The protocol-era rules (switch.ts): adopt, settle, announce, acknowledge, commit. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Member } from '../membership/types.js';
import type { MemberState, ProtocolName } from '../types.js';
import { eraAhead, nextSwitchStep, switchProgress, type EraState } from './switch.js';

function member(id: string, over: Partial<Member> = {}): Member {
  return {
    id,
    name: id,
    addrs: [],
    protocol: 'bully',
    era: 1,
    requested: 'bully',
    switchTo: null,
    order: null,
    priority: 0,
    version: 't',
    role: 'follower',
    term: 1,
    leader: null,
    fencingToken: 1,
    state: 'alive' as MemberState,
    incarnation: 1,
    lastHeardMs: 0,
    stateSinceMs: 0,
    self: false,
    suspectReason: null,
    ...over,
  };
}

function self(over: Partial<EraState> = {}): EraState {
  return { era: 1, protocol: 'bully', requested: 'bully', switchTo: null, order: null, ...over };
}

/** Five members, n1 this node; `over` per id. */
function five(over: Record<string, Partial<Member>> = {}): Member[] {
  return ['n1', 'n2', 'n3', 'n4', 'n5'].map((id) => member(id, { self: id === 'n1', ...over[id] }));
}

/** n1 leads term 1; or follows `leader` in term 1. */
const LEAD = { role: 'leader', leader: 'n1', term: 1 } as const;
const follow = (leader: string | null) => ({ role: 'follower', leader, term: 1 }) as const;
/** A member holding a switch to raft, acknowledged under n1's reign. */
const holds = { switchTo: 'raft', leader: 'n1' } as const;

const asking = (protocol: ProtocolName, ...ids: string[]) => Object.fromEntries(ids.map((id) => [id, { requested: protocol }]));

describe('protocol eras', () => {
  it('a member at a higher era is adopted, and so is the higher-ranked protocol at the same era; a dead one is not', () => {
    assert.deepEqual(nextSwitchStep(self(), follow(null), five({ n3: { era: 2, protocol: 'raft' } })), { kind: 'adopt', era: 2, protocol: 'raft', from: 'n3' });
    assert.equal(nextSwitchStep(self(), follow(null), five({ n3: { era: 2, protocol: 'raft', state: 'dead' } })), null);
    assert.equal(eraAhead({ era: 1, protocol: 'raft' }, { era: 1, protocol: 'bully' }), true);
    assert.equal(eraAhead({ era: 1, protocol: 'bully' }, { era: 1, protocol: 'raft' }), false);
    // A fresh node (era 0) takes the cluster's protocol whatever its own.
    assert.deepEqual(nextSwitchStep(self({ era: 0, protocol: 'raft', requested: 'raft' }), follow(null), five()), { kind: 'adopt', era: 1, protocol: 'bully', from: 'n2' });
  });

  it('the leader of an era-0 cluster settles it at era 1; only a leader does', () => {
    const fresh = five(Object.fromEntries(['n2', 'n3', 'n4', 'n5'].map((id) => [id, { era: 0 }])));
    assert.deepEqual(nextSwitchStep(self({ era: 0 }), LEAD, fresh), { kind: 'settle' });
    assert.equal(nextSwitchStep(self({ era: 0 }), follow('n2'), fresh), null);
  });

  it('the leader announces once more than half of the live members ask for another protocol, and not before', () => {
    assert.equal(nextSwitchStep(self(), LEAD, five(asking('raft', 'n2', 'n3'))), null, 'two of five');
    assert.deepEqual(nextSwitchStep(self(), LEAD, five(asking('raft', 'n2', 'n3', 'n4'))), { kind: 'announce', protocol: 'raft', why: 'requested' });
    // Dead members do not ask: three of the four live ones do.
    assert.deepEqual(nextSwitchStep(self(), LEAD, five({ ...asking('raft', 'n2', 'n3', 'n4'), n5: { state: 'dead' } })), { kind: 'announce', protocol: 'raft', why: 'requested' });
    assert.equal(nextSwitchStep(self(), follow('n2'), five(asking('raft', 'n2', 'n3', 'n4'))), null, 'a follower never announces');
  });

  it('one member\'s order is enough, at the leader\'s era', () => {
    assert.deepEqual(nextSwitchStep(self(), LEAD, five({ n4: { order: 'raft' } })), { kind: 'announce', protocol: 'raft', why: 'ordered' });
    assert.deepEqual(nextSwitchStep(self({ order: 'raft' }), LEAD, five()), { kind: 'announce', protocol: 'raft', why: 'ordered' });
    assert.equal(nextSwitchStep(self(), LEAD, five({ n4: { order: 'bully' } })), null, 'an order for what runs already');
  });

  it('a follower mirrors its leader\'s announcement, and only its leader\'s', () => {
    const members = five({ n3: { switchTo: 'raft', role: 'leader' }, n4: { switchTo: 'raft' } });
    assert.deepEqual(nextSwitchStep(self(), follow('n3'), members), { kind: 'acknowledge', protocol: 'raft' });
    assert.equal(nextSwitchStep(self(), follow('n5'), members), null);
    assert.equal(nextSwitchStep(self({ switchTo: 'raft' }), follow('n3'), members), null, 'already holds it');
    assert.deepEqual(nextSwitchStep(self({ switchTo: 'raft' }), follow('n3'), five()), { kind: 'acknowledge', protocol: null }, 'withdrawn');
  });

  it('the leader commits once more than half of the members it knows hold the switch under its reign, dead ones counted', () => {
    const leader = self({ switchTo: 'raft' });
    assert.equal(nextSwitchStep(leader, LEAD, five({ n2: holds })), null, 'two of five');
    assert.deepEqual(nextSwitchStep(leader, LEAD, five({ n2: holds, n3: holds })), { kind: 'commit', protocol: 'raft' });
    // A dead member still counts in how many are known, and holds nothing.
    assert.equal(nextSwitchStep(leader, LEAD, five({ n2: { ...holds, state: 'dead' }, n3: holds })), null);
    // A member of another era holding a switch is not holding this one.
    assert.equal(nextSwitchStep(leader, LEAD, five({ n2: { ...holds, era: 0 }, n3: holds })), null);
    // Held under another reign (another leader, or this leader's earlier term): not yet acknowledged.
    assert.equal(nextSwitchStep(leader, LEAD, five({ n2: { ...holds, leader: 'n4' }, n3: holds })), null);
    assert.equal(nextSwitchStep(leader, { ...LEAD, term: 2 }, five({ n2: holds, n3: holds })), null, 'acknowledged in term 1, leading term 2');
    assert.deepEqual(switchProgress(leader, five({ n2: holds }), LEAD), { to: 'raft', holding: 2, known: 5, needed: 3 });
  });

  it('a leader that sees fewer members than bootstrapExpect counts bootstrapExpect', () => {
    const alone = five().slice(0, 1);
    assert.equal(nextSwitchStep(self({ switchTo: 'raft' }), LEAD, alone, 3), null, 'one of three');
    assert.deepEqual(nextSwitchStep(self({ switchTo: 'raft' }), LEAD, alone), { kind: 'commit', protocol: 'raft' }, 'a cluster of one');
    assert.deepEqual(switchProgress(self({ switchTo: 'raft' }), five({ n2: holds }), LEAD, 7), { to: 'raft', holding: 2, known: 7, needed: 4 });
  });
});
