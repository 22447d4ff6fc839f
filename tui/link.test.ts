import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createApiClient } from '../daemon/api/client.js';
import { startApiServer, type ApiServer } from '../daemon/api/server.js';
import { FakeControlSource, PEER_ID } from '../daemon/api/testing.js';
import { DaemonLink, describeFailure, retryDelayMs, STARTING_RETRY } from './link.js';
import { initialView, reduce, type Action } from './state.js';

const dir = mkdtempSync(join(tmpdir(), 'ctl-'));
after(() => rmSync(dir, { recursive: true, force: true }));

async function until(what: string, predicate: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !predicate(); i++) await new Promise((resolve) => setTimeout(resolve, 25));
  assert.ok(predicate(), `waited for ${what}`);
}

test('a link attaches with the snapshot, polls, reports a lost daemon and re-attaches when it returns', async () => {
  const socketPath = join(dir, 'api.sock');
  const source = new FakeControlSource();
  let server: ApiServer = await startApiServer({ source, tcpListen: null, socketPath, token: null });
  const actions: Action[] = [];
  const link = new DaemonLink({
    client: createApiClient({ address: `unix:${socketPath}`, timeoutMs: 1000 }),
    dispatch: (action) => actions.push(action),
    nowMs: () => Date.now(),
    pollIntervalMs: 30,
    backoff: { baseMs: 20, maxMs: 100 },
  });
  const count = (pred: (a: Action) => boolean) => actions.filter(pred).length;
  const snapshots = () => count((a) => a.kind === 'event' && a.event.type === 'snapshot');
  try {
    link.start();
    link.start();
    await until('the snapshot', () => snapshots() === 1);
    await until('a poll', () => count((a) => a.kind === 'polled') > 0);
    source.changeLeader('beta', 'id-beta');
    await until('the live event', () => count((a) => a.kind === 'event' && a.event.type === 'leader-changed') === 1);
    await server.close();
    await until('the outage', () => count((a) => a.kind === 'disconnected') > 0);
    server = await startApiServer({ source, tcpListen: null, socketPath, token: null });
    await until('the second snapshot', () => snapshots() === 2);
  } finally {
    await link.stop();
    await link.stop();
    await server.close();
  }
  const settled = actions.length;
  await new Promise((resolve) => setTimeout(resolve, 100));
  assert.equal(actions.length, settled, 'nothing arrives after stop');
});

test('a daemon not reached yet is retried at the short starting delay, then with backoff', () => {
  const backoff = { baseMs: 250, maxMs: 5000 };
  const starting = { delayMs: 100, windowMs: 15_000 };
  const base = { backoff, starting, random01: 1 };
  assert.equal(retryDelayMs({ ...base, everAttached: false, sinceStartMs: 2_000, failures: 12 }), 100);
  assert.equal(retryDelayMs({ ...base, everAttached: false, sinceStartMs: 15_000, failures: 12 }), 5000, 'after the window');
  assert.equal(retryDelayMs({ ...base, everAttached: true, sinceStartMs: 2_000, failures: 0 }), 250, 'a daemon that was on screen and went away');
  assert.equal(retryDelayMs({ ...base, everAttached: true, sinceStartMs: 2_000, failures: 3 }), 2000);
  assert.ok(STARTING_RETRY.delayMs <= 100 && STARTING_RETRY.windowMs >= 10_000, 'npm start opens the dashboard about 2 s before the daemons answer');
});

test('a link started before its daemon attaches as soon as the daemon answers, however often it failed', async () => {
  const socketPath = join(dir, 'late.sock');
  const source = new FakeControlSource();
  const actions: Action[] = [];
  const link = new DaemonLink({
    client: createApiClient({ address: `unix:${socketPath}`, timeoutMs: 1000 }),
    dispatch: (action) => actions.push(action),
    nowMs: () => Date.now(),
    // A backoff this long would keep the daemon off screen for 10 s or more, past `until`'s wait.
    backoff: { baseMs: 20_000, maxMs: 60_000 },
    starting: { delayMs: 20, windowMs: 10_000 },
  });
  let server: ApiServer | null = null;
  try {
    link.start();
    await until('several failed attempts', () => actions.filter((a) => a.kind === 'disconnected').length >= 5);
    server = await startApiServer({ source, tcpListen: null, socketPath, token: null });
    await until('the snapshot', () => actions.some((a) => a.kind === 'event' && a.event.type === 'snapshot'));
  } finally {
    await link.stop();
    await server?.close();
  }
});

test('a malformed or unknown event from the wire never reaches the reducer; the log says it was ignored', async () => {
  const socketPath = join(dir, 'wire.sock');
  const source = new FakeControlSource();
  const server = await startApiServer({ source, tcpListen: null, socketPath, token: null });
  const actions: Action[] = [];
  const link = new DaemonLink({
    client: createApiClient({ address: `unix:${socketPath}`, timeoutMs: 1000 }),
    dispatch: (action) => actions.push(action),
    nowMs: () => Date.now(),
    pollIntervalMs: 60_000,
  });
  const events = () => actions.flatMap((a) => (a.kind === 'event' ? [a.event] : []));
  try {
    link.start();
    await until('the snapshot', () => events().length === 1);
    const at = new Date().toISOString();
    // What a broken daemon, or one of another version, might send.
    source.emitRaw({ type: 'member-dead', at, id: PEER_ID, name: 'beta' });
    source.emitRaw({ type: 'member-joined', at, member: 'nonsense' });
    source.emitRaw({ type: 'leader-changed', at, from: null, to: { id: 7 }, term: 4, fencingToken: 12, leaderlessMs: 0 });
    source.emitRaw({ type: 'snapshot', at, status: null, members: [] });
    source.emitRaw({ type: 'something-new', at, x: 1 });
    source.emit({ type: 'member-suspect', id: PEER_ID, name: 'beta', incarnation: 3, reason: 'silence' });
    await until('the well-formed event after them', () => events().length === 2);
  } finally {
    await link.stop();
    await server.close();
  }
  assert.deepEqual(events().map((e) => e.type), ['snapshot', 'member-suspect']);
  const notes = actions.flatMap((a) => (a.kind === 'note' ? [a.text] : []));
  assert.equal(notes.length, 5);
  assert.ok(notes.every((text) => text.startsWith('ignored ')), notes.join('\n'));
  assert.match(notes[4]!, /unknown type "something-new"/);
  // What the reducer made of it all: beta suspect, nothing else changed, every skip in the log.
  const view = actions.reduce(reduce, initialView(`unix:${socketPath}`));
  assert.deepEqual([...view.members.values()].map((m) => [m.name, m.state]), [['alpha', 'alive'], ['beta', 'suspect']]);
  assert.equal(view.status?.leader?.name, 'alpha');
  assert.equal(view.log.filter((entry) => entry.type === 'ignored-event').length, 5);
});

test('failures are told apart by code', () => {
  assert.equal(describeFailure(null, false).code, 'stream-ended');
  assert.equal(describeFailure(null, true).code, 'unresponsive');
  assert.equal(describeFailure(new (class extends Error {})(), false).code, 'error');
});
