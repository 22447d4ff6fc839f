/**
 * The dashboard against a real cluster, under tmux: five Bully daemons (in a private network
 * namespace with real mDNS when root, else on loopback) and `conclave tui` attached to node 1's
 * socket. After kill -9 of the leader the screen must name the new leader and show the change,
 * and `t` on another member must move leadership there. tui.test.ts covers the rest of the screen
 * with a scripted daemon. How soon the change reaches the screen is a figure of
 * `npm run bench -- tui`, not a bound here: the waits below only keep a broken test from hanging.
 */
import '../../daemon/polyfill.js';
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { LocalCluster } from '../support/local-cluster.js';
import { hasTmux, TmuxPane } from './tmux-pane.js';

const root = new URL('../../../', import.meta.url).pathname;
const cli = join(root, 'dist/daemon/cli/main.js');
const skip = !hasTmux && 'tmux is not installed';
const pane = new TmuxPane('tui-cluster');
const NAMES = ['n1', 'n2', 'n3', 'n4', 'n5'];
/** Generous: a loaded machine delays what the screen shows, never what it shows. */
const SCREEN_WAIT_MS = 30_000;

let cluster: LocalCluster;
/** The leader at start: normally n5 (highest priority), but a slow start may let another lead first, and it then stays (no pre-emption). */
let firstLeader = '';

/** The two header lines: connection, then leader and quorum. */
const header = (text: string): string => text.split('\n').slice(0, 2).join('\n');
/** Member rows: a table line whose first cell is one of the names. */
const rows = (text: string): string[] => text.split('\n').filter((line) => NAMES.some((name) => new RegExp(`^│.\\s${name}\\b`).test(line)));
const waitForScreen = pane.waitForScreen.bind(pane);


before(async () => {
  if (!hasTmux) return;
  cluster = await LocalCluster.start({ size: 5, protocol: 'bully', priorities: [1, 2, 3, 4, 5] });
  firstLeader = await cluster.agreedLeader();
  // Node 1 is the viewed daemon; it has the lowest rank, so it never leads here.
  assert.notEqual(firstLeader, 'n1');
  pane.start(`node ${cli} tui --api unix:${cluster.node(1).socket}`, 120, 36);
});

after(async () => {
  if (!hasTmux) return;
  pane.stop();
  await cluster?.stop();
});

test('all five real members are on screen, the leader first and named in the header', { skip }, async () => {
  const leaderRow = new RegExp(`${firstLeader}\\*?\\s.*alive\\s+leader`);
  const text = await waitForScreen('five members and the leader', (t) => rows(t).length === 5 && new RegExp(`leader ${firstLeader} term \\d+`).test(header(t)) && leaderRow.test(rows(t)[0]!), SCREEN_WAIT_MS);
  assert.match(text, /5\/5 reachable, quorum ok/);
});

test('kill -9 of the leader: the header names a new leader, the timeline shows the change, the table follows', { skip }, async () => {
  const victim = Number(firstLeader.slice(1));
  cluster.signal(victim, 'SIGKILL');
  const newLeader = (t: string): string | null => /leader (n\d) term \d+/.exec(header(t))?.[1] ?? null;
  const text = await waitForScreen('a new leader in the header and the timeline', (t) => {
    const name = newLeader(t);
    return name !== null && name !== firstLeader && new RegExp(`→${name}\\s+t\\d+`).test(t) && new RegExp(`${firstLeader}\\s+→`).test(t);
  }, SCREEN_WAIT_MS);
  const successor = newLeader(text)!;
  await cluster.waitExit(victim);
  // The table follows gossip, a moment behind node 1's own view in the header.
  await waitForScreen(`${successor} first in the table, as leader`, (t) => new RegExp(`${successor}\\*?\\s.*alive\\s+leader`).test(rows(t)[0] ?? ''), SCREEN_WAIT_MS);
  // The killed leader stays in the table, no longer alive.
  const victimRow = (t: string) => rows(t).find((row) => new RegExp(`^│.\\s${firstLeader}\\b`).test(row));
  await waitForScreen(`${firstLeader} listed, not alive`, (t) => /\s(suspect|dead)\s/.test(victimRow(t) ?? ''), SCREEN_WAIT_MS);
  assert.equal(await cluster.agreedLeader([1, 2, 3, 4, 5].filter((i) => i !== victim), undefined, firstLeader), successor);
});

test('t on another member, then y: leadership moves there', { skip }, async () => {
  // Rows: the leader first. Two steps down selects another member.
  const leader = /leader (n\d) term/.exec(header(pane.screen()))![1]!;
  pane.keys('Down', 'Down', 't');
  const question = await waitForScreen('the confirmation question', (t) => /transfer leadership to (n\d)\? y\/n/.test(t), SCREEN_WAIT_MS);
  const target = /transfer leadership to (n\d)\? y\/n/.exec(question)![1]!;
  assert.ok(target !== leader && target !== firstLeader, `selected ${target}`);
  pane.keys('y');
  await waitForScreen(`the transfer to ${target} reported done`, (t) => t.includes(`transfer leadership to ${target}: ok`), SCREEN_WAIT_MS);
  await waitForScreen(`${target} leading in the header`, (t) => new RegExp(`leader ${target} term \\d+`).test(header(t)), SCREEN_WAIT_MS);
  assert.equal((await cluster.client(1).status()).leader?.name, target);
});
