import { test } from 'node:test';
import assert from 'node:assert/strict';
import { daemonLogNote } from './daemon-log.js';
import { initialView, reduce } from './state.js';
import { event, idOf, snapshotEvent } from './testing.js';

const at = Date.parse('2024-05-01T12:00:01.000Z');

/** What the runtime logs for the events it emits (daemon/runtime.ts), as the tap hands it over. */
const echoes = [
  { level: 30, time: at, node: 'alpha', component: 'runtime', event: 'election-started', term: 4, reason: 'leader dead', msg: 'election started' },
  { level: 30, time: at, node: 'alpha', component: 'runtime', event: 'role-changed', from: 'follower', to: 'leader', term: 4, msg: 'role: leader' },
  { level: 30, time: at, node: 'alpha', component: 'runtime', event: 'leader-changed', leader: 'bravo', term: 4, fencingToken: 12, leaderlessMs: 840, msg: 'leader is bravo' },
  { level: 30, time: at, node: 'alpha', component: 'runtime', event: 'leader-changed', leader: null, term: 4, fencingToken: 12, leaderlessMs: 0, msg: 'no leader' },
  { level: 30, time: at, node: 'alpha', component: 'runtime', event: 'member-joined', member: 'delta', id: idOf('delta'), msg: 'member joined' },
  { level: 40, time: at, node: 'alpha', component: 'runtime', event: 'member-dead', member: 'delta', incarnation: 2, suspectedForMs: 1000, msg: 'member dead' },
  { level: 40, time: at, node: 'alpha', component: 'runtime', event: 'refuted', incarnation: 7, by: 'bravo', msg: 'refuted a suspicion of this node' },
  { level: 40, time: at, node: 'alpha', component: 'runtime', event: 'protocol-mismatch', member: 'zulu', protocol: 'raft', expected: 'bully', msg: 'member runs another protocol; shown, never counted in elections' },
];

test('one leader change is one line in the panel, not the API event and its log record both', () => {
  let view = reduce(initialView('unix:/x'), { kind: 'event', nowMs: 1000, event: snapshotEvent() });
  // The order main.ts sees them in under --tui: the runtime emits the event, then logs it.
  view = reduce(view, { kind: 'event', nowMs: 2000, event: event('leader-changed', { from: null, to: { id: idOf('bravo'), name: 'bravo' }, term: 4, fencingToken: 12, leaderlessMs: 840 }) });
  const note = daemonLogNote(echoes[2]!);
  if (note) view = reduce(view, { kind: 'note', nowMs: 2000, type: 'log', ...note });
  assert.deepEqual(view.log.filter((entry) => entry.text.includes('bravo')).map((entry) => entry.text), ['leader bravo (term 4, token 12, 840 ms leaderless)']);
});

test('every runtime record that repeats an API event stays out of the panel', () => {
  for (const record of echoes) assert.equal(daemonLogNote(record), null, record.msg);
});

test('what the API does not carry reaches the panel, toned by level and without a second timestamp', () => {
  const started = daemonLogNote({ level: 30, time: at, node: 'alpha', id: idOf('alpha'), api: '127.0.0.1:7400', msg: 'conclave 0.1.0 started' });
  assert.equal(started?.tone, 'info');
  assert.match(started?.text ?? '', /^INFO +alpha: conclave 0\.1\.0 started id=\S+ api=127\.0\.0\.1:7400$/);
  const dropped = daemonLogNote({ level: 40, time: at, node: 'alpha', component: 'runtime', peer: 'x', reason: 'malformed', msg: 'dropped a message from a peer' });
  assert.equal(dropped?.tone, 'warn');
  assert.match(dropped?.text ?? '', /^WARN +alpha runtime: dropped a message from a peer peer=x reason=malformed$/);
  assert.equal(daemonLogNote({ level: 50, time: at, node: 'alpha', component: 'p2p', msg: 'direct message not sent' })?.tone, 'bad');
  // The same words without the runtime's event tag are not an echo.
  assert.notEqual(daemonLogNote({ level: 30, time: at, node: 'alpha', component: 'p2p', msg: 'no leader' }), null);
  assert.notEqual(daemonLogNote({ level: 30, time: at, node: 'alpha', component: 'runtime', msg: 'no leader' }), null);
  // Tagged, but with no API event of that type behind it.
  assert.notEqual(daemonLogNote({ level: 40, time: at, node: 'alpha', component: 'runtime', event: 'snapshot-written', msg: 'wrote a snapshot' }), null);
});
