/**
 * The dashboard against a real cluster, under tmux: five Bully daemons (in a private network
 * namespace with real mDNS when root, else on loopback) and `conclave tui` attached to node 1's
 * socket. kill -9 of the leader must reach the screen within 3 s, and `t` on another member
 * must move leadership there. tui.test.ts covers the rest of the screen with a scripted daemon.
 */
import '../../daemon/polyfill.js';
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { LocalCluster } from '../support/local-cluster.js';

const root = new URL('../../../', import.meta.url).pathname;
const cli = join(root, 'dist/daemon/cli/main.js');
const hasTmux = spawnSync('tmux', ['-V']).status === 0;
const skip = !hasTmux && 'tmux is not installed';
const tmuxSocket = `conclave-tui-cluster-${process.pid}`;
const session = `tuic-${process.pid}`;
const NAMES = ['n1', 'n2', 'n3', 'n4', 'n5'];

let cluster: LocalCluster;

function tmux(...args: string[]): { status: number | null; stdout: string } {
  const r = spawnSync('tmux', ['-L', tmuxSocket, ...args], { encoding: 'utf8' });
  return { status: r.status, stdout: r.stdout };
}

const screen = (): string => tmux('capture-pane', '-p', '-t', session).stdout;
/** The two header lines: connection, then leader and quorum. */
const header = (text: string): string => text.split('\n').slice(0, 2).join('\n');
/** Member rows: a table line whose first cell is one of the names. */
const rows = (text: string): string[] => text.split('\n').filter((line) => NAMES.some((name) => new RegExp(`^│.\\s${name}\\b`).test(line)));

async function waitForScreen(what: string, predicate: (text: string) => boolean, timeoutMs: number): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  let text = '';
  while (Date.now() < deadline) {
    text = screen();
    if (predicate(text)) return text;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  assert.fail(`timed out after ${timeoutMs} ms waiting for ${what}; the screen was:\n${text}`);
}

async function agreedLeader(): Promise<string> {
  return await cluster.waitFor('one leader agreed by all', 20_000, async () => {
    const names = await Promise.all(cluster.nodes.map((n) => cluster.client(n.index).status().then((s) => s.leader?.name ?? null, () => null)));
    return names[0] && names.every((name) => name === names[0]) ? names[0] : null;
  });
}

before(async () => {
  if (!hasTmux) return;
  cluster = await LocalCluster.start({ size: 5, protocol: 'bully', priorities: [1, 2, 3, 4, 5] });
  assert.equal(await agreedLeader(), 'n5');
  const started = tmux('new-session', '-d', '-s', session, '-x', '120', '-y', '36', `env NCURSES_NO_UTF8_ACS=1 LANG=C.UTF-8 node ${cli} tui --api unix:${cluster.node(1).socket}`);
  assert.equal(started.status, 0, 'tmux new-session');
});

after(async () => {
  if (!hasTmux) return;
  tmux('kill-session', '-t', session);
  tmux('kill-server');
  rmSync(join(process.env.TMUX_TMPDIR ?? '/tmp', `tmux-${process.getuid?.() ?? 0}`, tmuxSocket), { force: true });
  await cluster?.stop();
});

test('all five real members are on screen, the leader first and named in the header', { skip }, async () => {
  const text = await waitForScreen('five members and the leader', (t) => rows(t).length === 5 && /leader n5 term \d+/.test(header(t)), 10_000);
  assert.match(rows(text)[0]!, /n5\*?\s.*alive\s+leader/);
  assert.match(text, /5\/5 reachable, quorum ok/);
});

test('kill -9 of the leader: the new leader and the change are on screen within 3 s', { skip }, async () => {
  const killedAt = Date.now();
  cluster.signal(5, 'SIGKILL');
  const text = await waitForScreen('n4 leading, in the header and the timeline', (t) => /leader n4 term \d+/.test(header(t)) && /→n4\s+t\d+/.test(t) && /n5\s+→/.test(t), 3000);
  assert.ok(Date.now() - killedAt <= 3000);
  assert.match(rows(text)[0]!, /n4\*?\s.*alive\s+leader/);
  await cluster.waitExit(5);
});

test('t on another member, then y: leadership moves there', { skip }, async () => {
  // Rows: n4 (leader) first. Two steps down selects another member.
  tmux('send-keys', '-t', session, 'Down', 'Down', 't');
  const question = await waitForScreen('the confirmation question', (t) => /transfer leadership to (n\d)\? y\/n/.test(t), 3000);
  const target = /transfer leadership to (n\d)\? y\/n/.exec(question)![1]!;
  assert.ok(target !== 'n4' && target !== 'n5', `selected ${target}`);
  tmux('send-keys', '-t', session, 'y');
  await waitForScreen(`the transfer to ${target} reported done`, (t) => t.includes(`transfer leadership to ${target}: ok`), 5000);
  await waitForScreen(`${target} leading in the header`, (t) => new RegExp(`leader ${target} term \\d+`).test(header(t)), 3000);
  assert.equal((await cluster.client(1).status()).leader?.name, target);
});
