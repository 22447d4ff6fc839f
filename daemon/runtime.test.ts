/**
 * The runtime's persist path with a real Bully machine and a real state file whose writes can be
 * made to fail: what leaves the node and what it reports follow the disk, not the machine.
 * (daemon/store-disk.test.ts repeats the essentials on a really full and a read-only disk.)
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { bullyPersistedCodec, type BullyPersisted } from '../protocols/bully/index.js';
import { breakableStore, createRuntimeHarness, errnoError, PEER_ID, SELF_ID, type RuntimeHarness } from './runtime-testing.js';
import { createStateStore } from './store.js';

const root = mkdtempSync(join(tmpdir(), 'conclave-runtime-test-'));
after(() => rmSync(root, { recursive: true, force: true }));
let serial = 0;

/** A state file holding fencing token `token`, as a node that led epoch `token` leaves it. */
function storeAt(token: number) {
  const real = createStateStore(mkdtempSync(join(root, `d${serial++}-`)), 'bully-state.json', bullyPersistedCodec);
  const state: BullyPersisted = { v: 1, acceptedEpoch: token, acceptedLeader: SELF_ID, leaseTo: SELF_ID, highestEpochSeen: token, members: [SELF_ID], bootstrapped: true };
  real.save(state);
  return breakableStore(real);
}

/**
 * Advances `ms` and, after every step, checks what the API, metrics and events say against the
 * file: the token reported never exceeds the one on disk, never goes down, and no role other
 * than follower is reported while a write is failing.
 */
async function runChecked(h: RuntimeHarness, diskToken: () => number, ms: number, seen: number[]): Promise<void> {
  for (let t = 0; t < ms; t += 50) {
    h.advance(50);
    const status = h.control.status();
    const leader = h.control.leader();
    const metric = Number(/^conclave_fencing_token (\d+)$/m.exec(await h.scrape())?.[1]);
    for (const token of [status.fencingToken, leader.fencingToken, metric]) {
      assert.ok(token <= diskToken(), `reported token ${token} is above the ${diskToken()} on disk`);
      assert.ok(token >= (seen.at(-1) ?? 0), `reported token went back from ${seen.at(-1)} to ${token}`);
      seen.push(token);
    }
    if (status.persistError) assert.equal(status.role, 'follower');
    assert.ok(status.term <= diskToken(), `term ${status.term} above the disk's ${diskToken()}`);
  }
  for (const event of h.events) {
    if (event.type === 'leader-changed') assert.ok(event.fencingToken <= diskToken(), `${event.type} carries token ${event.fencingToken}`);
  }
}

describe('runtime: only durable election state is reported or acted on', () => {
  it('a claim the disk refused is not reported: status, leader, metrics and events keep the token on disk', async () => {
    const store = storeAt(41);
    const diskToken = () => store.load()!.acceptedEpoch;
    const h = createRuntimeHarness({ store });
    store.failWith = errnoError('ENOSPC', 'no space left on device, write');
    await runChecked(h, diskToken, 3000, []);

    assert.equal(diskToken(), 41);
    const status = h.control.status();
    assert.deepEqual(
      { role: status.role, term: status.term, leader: status.leader, fencingToken: status.fencingToken, leaseRemainingMs: status.leaseRemainingMs },
      { role: 'follower', term: 41, leader: null, fencingToken: 41, leaseRemainingMs: null },
    );
    assert.equal(status.persistError?.path, store.path);
    assert.equal(status.persistError?.code, 'ENOSPC');
    assert.ok(status.persistError?.message.includes(store.path));
    const { role, fencingToken, leader } = h.control.leader();
    assert.deepEqual({ role, fencingToken, leader }, { role: 'follower', fencingToken: 41, leader: null });

    const body = await h.scrape();
    assert.match(body, /^conclave_is_leader 0$/m);
    assert.match(body, /^conclave_fencing_token 41$/m);
    const failures = h.runtime.stats.persistFailures;
    assert.ok(failures >= 2, `the first write and at least one retry failed (${failures})`);
    assert.match(body, new RegExp(`^conclave_persist_failures_total ${failures}$`, 'm'));
    assert.deepEqual(h.events.filter((e) => e.type !== 'member-joined'), [], 'no election, role, term or leader event for a claim the disk refused');

    const logged = h.logs.find((r) => r.level === 50);
    const err = logged?.err as { message?: string; type?: string } | undefined;
    assert.equal(err?.type, 'PersistError');
    assert.ok(err?.message?.includes(store.path) && err.message.includes('ENOSPC'), err?.message);
    assert.equal(h.logs.filter((r) => r.level === 50).length, 1, 'one error per failing streak, not one per retry');
  });

  it('once a retry reaches the disk, the node reports what is now on disk (and only then leads)', async () => {
    const store = storeAt(41);
    const diskToken = () => store.load()!.acceptedEpoch;
    const h = createRuntimeHarness({ store });
    store.failWith = errnoError('EROFS', 'read-only file system, open');
    const seen: number[] = [];
    await runChecked(h, diskToken, 2000, seen);
    store.failWith = null;
    await runChecked(h, diskToken, 1500, seen);

    assert.equal(diskToken(), 42);
    const status = h.control.status();
    assert.deepEqual({ role: status.role, fencingToken: status.fencingToken, persistError: status.persistError }, { role: 'leader', fencingToken: 42, persistError: null });
    const changed = h.events.find((e) => e.type === 'leader-changed');
    assert.equal(changed?.fencingToken, 42);
    assert.ok(h.logs.some((r) => r.level === 30 && String(r.msg).includes('persisted again')));
  });

  it('after a failed write no election message leaves, in any later batch, until the state is on disk', async () => {
    const store = storeAt(41);
    const h = createRuntimeHarness({ store, peers: [PEER_ID] });
    store.failWith = errnoError('ENOSPC', 'no space left on device, write');
    // The claim fails to persist; its COORDINATOR is resent every answerTimeoutMs in batches
    // that persist nothing, and those must stay home too.
    h.advance(3000);
    assert.ok(h.runtime.stats.persistFailures >= 1);
    assert.equal(h.sent.length, 0, `sent while the state was not on disk: ${JSON.stringify(h.sent)}`);

    store.failWith = null;
    h.advance(1500);
    const coordinators = h.sent.filter((s) => s.message.type === 'COORDINATOR');
    assert.ok(coordinators.length > 0, 'claims resume once the state is written');
    for (const s of coordinators) assert.ok(s.message.epoch! <= store.load()!.acceptedEpoch, `COORDINATOR(${s.message.epoch}) left before its epoch was on disk`);
  });

  it('with the disk fine, a lone node leads and reports the token it wrote', () => {
    const store = storeAt(41);
    const h = createRuntimeHarness({ store });
    h.advance(1000);
    assert.equal(store.load()!.acceptedEpoch, 42);
    const status = h.control.status();
    assert.deepEqual({ role: status.role, fencingToken: status.fencingToken, persistError: status.persistError }, { role: 'leader', fencingToken: 42, persistError: null });
    assert.equal(h.runtime.stats.persistFailures, 0);
  });
});
