/**
 * The runtime's persist path with a real Bully machine and a real state file: what leaves the
 * node and what it reports wait for the disk, and a failed write stops the node.
 * (daemon/store-disk.test.ts repeats the essentials on a really full and a read-only disk.)
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { BullyPersisted } from '../protocols/bully/index.js';
import { leadershipView } from './hooks/runner.js';
import { DEAD_DISCONNECT_DELAY_MS, EVENT_LOG_DELAY_MS, EXPECT_WARN_SETTLE_MS } from './runtime.js';
import { createRuntimeHarness, errnoError, PEER_ID, SCRIPTED_DISK_PATH, SELF_ID, settle, type RuntimeHarness } from './runtime-testing.js';

/** Election state at fencing token `token`, as a node that led epoch `token` leaves it. */
function stateAt(token: number): BullyPersisted {
  return { v: 1, acceptedEpoch: token, acceptedLeader: SELF_ID, leaseTo: SELF_ID, highestEpochSeen: token, members: [SELF_ID], bootstrapped: true };
}

/** A harness at token 41 and the token its disk holds. */
function at41(peers: string[] = []): { h: RuntimeHarness; diskToken: () => number } {
  const h = createRuntimeHarness({ persisted: stateAt(41), peers });
  return { h, diskToken: () => h.disk.durable!.acceptedEpoch };
}

/**
 * Advances `ms` and, after every step, checks what the API, metrics and events say against the
 * file: the token and term reported never exceed the ones on disk and never go down.
 */
async function runChecked(h: RuntimeHarness, diskToken: () => number, ms: number, seen: number[]): Promise<void> {
  for (let t = 0; t < ms; t += 50) {
    await h.advance(50);
    const status = h.control.status();
    const leader = h.control.leader();
    const metric = Number(/^conclave_fencing_token (\d+)$/m.exec(await h.scrape())?.[1]);
    for (const token of [status.fencingToken, leader.fencingToken, metric]) {
      assert.ok(token <= diskToken(), `reported token ${token} is above the ${diskToken()} on disk`);
      assert.ok(token >= (seen.at(-1) ?? 0), `reported token went back from ${seen.at(-1)} to ${token}`);
      seen.push(token);
    }
    assert.ok(status.term <= diskToken(), `term ${status.term} above the disk's ${diskToken()}`);
  }
  for (const event of h.events) {
    if (event.type === 'leader-changed') assert.ok(event.fencingToken <= diskToken(), `${event.type} carries token ${event.fencingToken}`);
  }
}

describe('runtime: nothing leaves and nothing is reported before the disk has it', () => {
  it('while a write has not returned, its claim is neither sent nor reported; once it has, both follow', async () => {
    const { h, diskToken } = at41([PEER_ID]);
    h.disk.hold = true;
    const seen: number[] = [];
    await runChecked(h, diskToken, 3000, seen);
    assert.ok(h.disk.batches.some((b) => (b.election?.hardState as BullyPersisted | undefined)?.acceptedEpoch === 42), 'the claim was handed to the disk');
    assert.equal(h.sent.length, 0, `sent before the write returned: ${JSON.stringify(h.sent)}`);
    assert.deepEqual(h.events.filter((e) => e.type !== 'member-joined'), [], 'no election, role, term or leader event before the write returned');

    await h.disk.release();
    await runChecked(h, diskToken, 200, seen);
    const coordinators = h.sent.filter((s) => s.message.type === 'COORDINATOR');
    assert.ok(coordinators.length > 0, 'the claim leaves once it is on disk');
    for (const s of coordinators) assert.ok(s.message.epoch! <= diskToken(), `COORDINATOR(${s.message.epoch}) left before its epoch was on disk`);
  });

  it('a failed write stops the node: the failure names the file, nothing it depended on leaves, and no leadership is reported', async () => {
    const { h, diskToken } = at41([PEER_ID]);
    h.disk.failWith = errnoError('ENOSPC', 'no space left on device, write');
    await runChecked(h, diskToken, 3000, []);

    const fatal = h.fatal();
    assert.equal(fatal?.name, 'PersistError');
    assert.equal(fatal?.path, SCRIPTED_DISK_PATH);
    assert.equal(fatal?.code, 'ENOSPC');
    assert.equal(diskToken(), 41);
    assert.equal(h.sent.length, 0, `sent after the failed write: ${JSON.stringify(h.sent)}`);
    assert.equal(h.disk.batches.length, 1, 'nothing more is written after the failure: the node is stopping');
    const status = h.control.status();
    assert.deepEqual(
      { role: status.role, term: status.term, leader: status.leader, fencingToken: status.fencingToken, leaseRemainingMs: status.leaseRemainingMs },
      { role: 'follower', term: 41, leader: null, fencingToken: 41, leaseRemainingMs: null },
    );
    assert.match(await h.scrape(), /^conclave_is_leader 0$/m);
  });

  it('with the disk fine, a lone node leads and reports the token it wrote', async () => {
    const { h, diskToken } = at41();
    await h.advance(1000);
    assert.equal(diskToken(), 42);
    const status = h.control.status();
    assert.deepEqual({ role: status.role, fencingToken: status.fencingToken }, { role: 'leader', fencingToken: 42 });
    assert.equal(h.fatal(), null);
    const changed = h.events.find((e) => e.type === 'leader-changed');
    assert.ok(changed?.type === 'leader-changed' && changed.fencingToken === 42);
  });
});

describe('runtime: connections follow membership', () => {
  it('a member still dead DEAD_DISCONNECT_DELAY_MS after its verdict has its connections closed (and only then), so a partition heals through a fresh dial', async () => {
    const { h } = at41([PEER_ID]);
    await h.advance(200);
    h.membershipReports({ type: 'member-suspect', id: PEER_ID, name: PEER_ID, incarnation: 1, reason: 'silence' });
    await h.advance(50);
    assert.deepEqual(h.disconnected, [], 'a suspect keeps its connection: it may refute');
    h.membershipReports({ type: 'member-dead', id: PEER_ID, name: PEER_ID, incarnation: 1, suspectedForMs: 600 });
    await h.advance(DEAD_DISCONNECT_DELAY_MS - 100);
    assert.deepEqual(h.disconnected, [], 'not yet: a busy member falsely declared dead refutes within this');
    await h.advance(200);
    assert.deepEqual(h.disconnected, [PEER_ID]);
  });

  it('a member declared dead that refutes within DEAD_DISCONNECT_DELAY_MS keeps its connections (an overloaded node, not a gone one)', async () => {
    const { h } = at41([PEER_ID]);
    await h.advance(200);
    h.membershipReports({ type: 'member-dead', id: PEER_ID, name: PEER_ID, incarnation: 1, suspectedForMs: 600 });
    await h.advance(500);
    h.membershipReports({ type: 'member-alive', id: PEER_ID, name: PEER_ID, incarnation: 2, previous: 'dead' });
    await h.advance(DEAD_DISCONNECT_DELAY_MS * 2);
    assert.deepEqual(h.disconnected, []);
  });
});

describe('runtime: bootstrapExpect against the members live', () => {
  const peers = ['node-a', 'node-b', 'node-c', 'node-d'];
  const warnings = (h: RuntimeHarness) => h.logs.filter((r) => r.level === 40 && /bootstrapExpect/.test(String(r.msg)));

  it('more members live than bootstrapExpect keeps to one cluster: one warning, once the joins settled, naming the value to set', async () => {
    const h = createRuntimeHarness({ persisted: null, peers, bootstrapExpect: 3 });
    await h.advance(200);
    assert.deepEqual(warnings(h), [], 'a starting cluster is counted once its joins settled, not at its fourth member');
    assert.equal(h.fireTimers((delayMs) => delayMs === EXPECT_WARN_SETTLE_MS), 1);
    assert.equal(warnings(h).length, 1);
    const [warning] = warnings(h);
    assert.equal(warning!.bootstrapExpect, 3);
    assert.equal(warning!.live, 5);
    assert.equal(warning!.safeFrom, 4);
    assert.match(String(warning!.msg), /split in two.*--bootstrap-expect.*to the number of servers, 5 \(any value from 4 keeps one cluster\)$/);
    // A member that comes back brings the count back to where it was warned of: the check runs
    // again (no sooner than a minute after the warning) and says nothing new.
    h.membershipReports({ type: 'member-dead', id: 'node-a', name: 'node-a', incarnation: 1, suspectedForMs: 600 });
    await h.advance(100);
    h.membershipReports({ type: 'member-alive', id: 'node-a', name: 'node-a', incarnation: 2, previous: 'dead' });
    await h.advance(100);
    assert.equal(h.fireTimers((delayMs) => delayMs > 50_000 && delayMs <= 60_000), 1);
    assert.equal(warnings(h).length, 1);
  });

  it('a bootstrapExpect whose majority is more than half the members live logs nothing', async () => {
    for (const bootstrapExpect of [4, 5]) {
      const h = createRuntimeHarness({ persisted: null, peers, bootstrapExpect });
      await h.advance(200);
      assert.equal(h.fireTimers((delayMs) => delayMs === EXPECT_WARN_SETTLE_MS), 1, 'the check ran');
      assert.deepEqual(warnings(h), [], `bootstrapExpect ${bootstrapExpect}`);
    }
  });
});

describe('runtime: what those who follow its events read', () => {
  it('reportedSummary reads the leadership as reported without stepping the core; leadership() steps it to the present', async () => {
    const h = createRuntimeHarness({ persisted: stateAt(41), peers: [PEER_ID] });
    await h.advance(3000);
    const reported = h.control.leader();
    assert.ok(h.sent.length > 0, 'the node claims and keeps sending to its peer');
    // A timer late by a second: the machine has a send due that only a step makes.
    h.skip(1000);
    const sent = h.sent.length;
    const view = leadershipView(h.runtime);
    await settle();
    assert.equal(h.sent.length, sent, 'reading the view stepped the core: it sent what was due');
    assert.deepEqual({ role: view.role, term: view.term, fencingToken: view.fencingToken }, { role: reported.role, term: reported.term, fencingToken: reported.fencingToken });
    h.control.leader();
    await settle();
    assert.ok(h.sent.length > sent, 'an API answer (leadership()) steps the core, which sends what was due');
  });
});

describe('runtime: event log lines', () => {
  it(`listeners hear an event at once; its log line follows ${EVENT_LOG_DELAY_MS} ms later, stamped with the event's own time`, async () => {
    const { h } = at41();
    await h.advance(1000);
    const changed = h.events.find((e) => e.type === 'leader-changed');
    assert.ok(changed?.type === 'leader-changed' && changed.to?.id === SELF_ID, 'the lone node leads');
    const lineOf = (type: string) => h.logs.find((l) => l.event === type);
    assert.equal(lineOf('leader-changed'), undefined, 'its log line waits');
    const isLogTimer = (delayMs: number) => delayMs === EVENT_LOG_DELAY_MS;
    assert.equal(h.fireTimers(isLogTimer), 1, `one timer of ${EVENT_LOG_DELAY_MS} ms for the lines queued so far`);
    const line = lineOf('leader-changed');
    assert.equal(line?.msg, `leader is ${SELF_ID}`);
    assert.equal(line?.time, Date.parse(changed.at), "the line carries the event's time, not the time it was written");
    const roleLine = h.logs.findIndex((l) => l.event === 'role-changed');
    assert.ok(roleLine >= 0 && roleLine < h.logs.indexOf(line!), 'the lines keep the order of their events');
  });

  it('a graceful stop writes the lines still queued, and the later ones at once, without waiting for the timer', async () => {
    const { h } = at41();
    await h.advance(1000);
    h.fireTimers((delayMs) => delayMs === EVENT_LOG_DELAY_MS);
    const logged = h.logs.length;
    const published = h.events.length;
    // The harness's membership never reports the leave done: the stop ends at STOP_MAX_MS (a real
    // timer, which does not hold the process open by itself).
    const keepAlive = setTimeout(() => undefined, 10_000);
    try {
      const stopping = h.runtime.shutdown();
      await h.advance(100);
      await stopping;
    } finally {
      clearTimeout(keepAlive);
    }
    const stopEvents = h.events.slice(published).map((e) => e.type);
    assert.ok(stopEvents.includes('leader-changed'), `the stop publishes the node's step-down: ${JSON.stringify(stopEvents)}`);
    assert.deepEqual(h.logs.slice(logged).filter((l) => typeof l.event === 'string').map((l) => l.event), stopEvents);
  });

  it('once a write failed the node stops, and every event line is written without waiting for the timer', async () => {
    const { h } = at41([PEER_ID]);
    h.disk.failWith = errnoError('ENOSPC', 'no space left on device, write');
    await h.advance(3000);
    assert.equal(h.fatal()?.code, 'ENOSPC');
    const published = h.events.map((e) => e.type);
    assert.ok(published.length > 0, 'it published events');
    assert.deepEqual(h.logs.filter((l) => typeof l.event === 'string').map((l) => l.event), published);
  });
});

describe('runtime: the order of a step\'s effects', () => {
  it('the messages of a step leave and are flushed to the links before its events are published; the events follow in order at the check phase', async () => {
    const { h } = at41([PEER_ID]);
    h.disk.hold = true;
    await h.advance(3000);
    assert.deepEqual(h.sent, [], 'the claim waits for its write');
    const core = (h.runtime as unknown as { core: { step(input: unknown): { type: string; event?: { type: string } }[] } }).core;
    const step = core.step.bind(core);
    const given: string[] = [];
    core.step = (input) => {
      const outputs = step(input);
      for (const o of outputs) if (o.type === 'event') given.push(o.event!.type);
      return outputs;
    };
    h.trail.length = 0;
    const before = h.events.length;
    await h.disk.release();
    await settle();
    // The write's step releases the claim (COORDINATOR) and the node's own election events.
    const firstSend = h.trail.indexOf('send:COORDINATOR');
    const flush = h.trail.indexOf('flush', firstSend);
    const firstEvent = h.trail.findIndex((t) => t.startsWith('event:'));
    assert.ok(firstSend >= 0 && firstEvent >= 0, `the step sent and reported: ${h.trail.join(' ')}`);
    assert.ok(firstSend < flush && flush < firstEvent, `sends, then the flush, then the events: ${h.trail.join(' ')}`);
    assert.ok(given.length > 0);
    assert.deepEqual(h.events.slice(before).map((e) => e.type), given, 'every event published, in the order the core gave them');
  });

  it('the batches of one group write are acknowledged to the core in one step', async () => {
    const { h } = at41([PEER_ID]);
    h.disk.hold = true;
    await h.advance(3000);
    const held = h.disk.batches.length;
    assert.ok(held >= 2, `two or more writes wait for the disk (${held})`);
    const core = (h.runtime as unknown as { core: { step(input: { type: string; id?: number }): unknown } }).core;
    const step = core.step.bind(core);
    const acknowledged: number[] = [];
    core.step = (input) => {
      if (input.type === 'persisted') acknowledged.push(input.id!);
      return step(input);
    };
    await h.disk.release();
    assert.deepEqual(acknowledged, [held], 'one persisted input, through the last write of the group');
    assert.ok(h.sent.some((s) => s.message.type === 'COORDINATOR'), 'and what waited for every one of them left');
  });
});
