/**
 * The dashboard end to end, under tmux: a fake daemon (the real API server on a Unix socket, fed
 * by a scripted source) and `conclave tui --api unix:…` in a 100x30 pane. The test reads the
 * screen with capture-pane and types with send-keys.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FakeDaemon, FAKE_NAMES, fakeId } from './tui-fake-daemon.js';
import { hasTmux, TmuxPane } from './tmux-pane.js';

const root = new URL('../../../', import.meta.url).pathname;
const cli = join(root, 'dist/daemon/cli/main.js');
const entry = join(root, 'dist/test/e2e/tui-entry.js');
const pane = new TmuxPane('tui-e2e');

let dir = '';
let daemon: FakeDaemon;
const waitForScreen = pane.waitForScreen.bind(pane);
const waitFor = pane.waitFor.bind(pane);

const headerLine = (text: string) => text.split('\n')[0] ?? '';

before(async () => {
  if (!hasTmux) return;
  // Short: a Unix socket path must fit in 107 bytes.
  dir = mkdtempSync(join(tmpdir(), 'ctui-'));
  daemon = new FakeDaemon(join(dir, 'api.sock'));
  await daemon.start();
  // The CLI when it is built, else the tiny entry that calls runTui the same way.
  const command = existsSync(cli) ? `node ${cli} tui --api ${daemon.address}` : `node ${entry} ${daemon.address}`;
  pane.start(command, 100, 30);
});

after(async () => {
  if (!hasTmux) return;
  pane.stop();
  await daemon?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test('the dashboard shows every member, the leader first, and the quorum', { skip: !hasTmux && 'tmux is not installed' }, async () => {
  const text = await waitForScreen('all five members', (t) => FAKE_NAMES.every((name) => t.includes(name)) && t.includes('connected'));
  assert.match(text, /leader alpha term 3 · token 11/);
  assert.match(text, /5\/5 reachable, quorum ok/);
  const rows = text.split('\n').filter((line) => FAKE_NAMES.some((name) => new RegExp(`^│.\\s${name}`).test(line)));
  assert.equal(rows.length, 5);
  assert.match(rows[0]!, /alpha\*\s.*alive\s+leader/);
});

test('a leader-changed event reaches the header and the timeline within 3 s', { skip: !hasTmux && 'tmux is not installed' }, async () => {
  daemon.changeLeader('charlie');
  const text = await waitForScreen('charlie as leader', (t) => /leader charlie term 4 · token 12/.test(t) && /alpha\s*→charlie\s+t4/.test(t), 3000);
  assert.match(text, /leader changes 1/);
});

test('t then y sends a transfer for the selected member to the daemon', { skip: !hasTmux && 'tmux is not installed' }, async () => {
  // Rows now: charlie (leader), alpha, bravo, delta, echo. Two steps down selects bravo.
  pane.keys('Down', 'Down', 't');
  await waitForScreen('the confirmation question', (t) => t.includes('transfer leadership to bravo? y/n'));
  assert.equal(daemon.source.commands.length, 0, 'nothing is sent before y');
  pane.keys('y');
  await waitFor('the transfer request', () => daemon.source.commands.length > 0);
  assert.deepEqual(daemon.source.commands, [{ kind: 'transfer', to: fakeId('bravo') }]);
  await waitForScreen('the answer', (t) => t.includes('transfer leadership to bravo: ok (done)'));
});

test('two members claiming to lead raise the split-brain banner until it resolves', { skip: !hasTmux && 'tmux is not installed' }, async () => {
  const setDelta = (role: 'leader' | 'follower', leader: string) => {
    daemon.source.memberList = daemon.source.memberList.map((m) => (m.name === 'delta' ? { ...m, role, leader } : m));
    daemon.source.emit({ type: 'member-updated', member: daemon.source.memberList.find((m) => m.name === 'delta')! });
  };
  setDelta('leader', fakeId('delta'));
  await waitForScreen('the split-brain banner', (t) => /SPLIT BRAIN for .*charlie and delta both claim to lead/.test(t));
  setDelta('follower', fakeId('charlie'));
  await waitForScreen('the banner to go', (t) => !t.includes('SPLIT BRAIN') && t.includes('delta'));
});

test('at 80x24 after a resize every panel fits and all members still show', { skip: !hasTmux && 'tmux is not installed' }, async () => {
  pane.resize(80, 24);
  // The whole frame at the new size, not only its top: a capture can land while tmux is still
  // drawing the redraw, and one (CI, 2026-12-07) had the new top rows over an old row 23, a 100-column
  // row of the panels' bodies cut at 80.
  const settled = (t: string) => {
    const rows = t.split('\n');
    return /^┌─ members 5 ─+┐$/m.test(t) && rows.some((line) => line.startsWith('┌─ members') && line.length === 80) && /^└─+┘└─+┘$/.test(rows[22] ?? '');
  };
  const text = await waitForScreen('the 80x24 layout', settled);
  const lines = text.split('\n');
  for (const name of FAKE_NAMES) assert.ok(lines.some((line) => line.startsWith('│') && line.includes(` ${name}`)), name);
  // The bottom panels close on row 23; row 24 is the footer (here still the transfer's answer).
  assert.match(lines[22] ?? '', /^└─+┘└─+┘$/);
  assert.match(lines[23] ?? '', /transfer leadership to bravo/);
  pane.resize(100, 30);
});

test('the daemon going away shows "disconnected, retrying"; its return recovers by itself', { skip: !hasTmux && 'tmux is not installed' }, async () => {
  await daemon.stop();
  await waitForScreen('the disconnected notice', (t) => headerLine(t).includes('disconnected, retrying'));
  daemon.source.memberList = daemon.source.memberList.filter((m) => m.name !== 'echo');
  await daemon.start();
  const text = await waitForScreen('reconnection', (t) => /^conclave connected/.test(headerLine(t)) && !t.includes('echo'), 10_000);
  assert.match(text, /4\/4 reachable/);
});

test('q quits the dashboard', { skip: !hasTmux && 'tmux is not installed' }, async () => {
  pane.keys('q');
  await waitFor('the dashboard to exit', () => !pane.alive());
});
