/**
 * mDNS pacing on real multicast, only inside a private network namespace (lo + multicast route)
 * that this test creates and deletes: a dozen discovery instances searching at once all find each
 * other, while duplicate question suppression keeps the queries near one per interval (a dozen
 * per interval without it) and no instance answers more than once a second (RFC 6762 §6, §7.3);
 * and a peer heard from but not connected is greeted by unicast, once.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { after, describe, it } from 'node:test';
import { MIN_RESPONSE_GAP_MS } from '../../daemon/p2p/mdns-records.js';
import { canUseNamespaces, createMulticastNamespace, deleteNamespace } from '../support/local-cluster.js';

const FIXTURE = fileURLToPath(new URL('./fixtures/mdns-pacing-node.js', import.meta.url));
const GREETING_FIXTURE = fileURLToPath(new URL('./fixtures/mdns-greeting-node.js', import.meta.url));
const NAMESPACE = `cnv-mdns-${process.pid}`;

describe('mDNS pacing in a private network namespace', { timeout: 60_000 }, () => {
  let namespaceCreated = false;
  after(() => {
    if (namespaceCreated) deleteNamespace(NAMESPACE);
  });

  it('twelve instances searching at once find each other with about one query per interval and one answer per instance per second at most', (t) => {
    if (!canUseNamespaces()) {
      t.skip('needs root and ip');
      return;
    }
    namespaceCreated = true;
    createMulticastNamespace(NAMESPACE);
    const instances = 12;
    const intervalMs = 200;
    const durationMs = 3000;
    const r = spawnSync('ip', ['netns', 'exec', NAMESPACE, process.execPath, FIXTURE, String(instances), String(intervalMs), String(durationMs)], { encoding: 'utf8', timeout: 30_000 });
    assert.equal(r.status, 0, r.stderr);
    const result = JSON.parse(r.stdout.trim().split('\n').pop()!) as { everyoneFound: boolean; queries: number; answers: Record<string, number[]> };
    assert.ok(result.everyoneFound, 'every instance found every other');
    const intervals = durationMs / intervalMs;
    // Each query period is 0.8–1.0 of the interval; a late timer only spaces queries further.
    assert.ok(result.queries <= intervals * 1.5 + 2, `${result.queries} queries in ${intervals} intervals (${instances * intervals} without suppression)`);
    // The listener stamps an answer when it reads it, so a busy moment can shorten a gap a little.
    for (const [peer, times] of Object.entries(result.answers)) {
      for (let k = 1; k < times.length; k++) assert.ok(times[k]! - times[k - 1]! >= MIN_RESPONSE_GAP_MS - 50, `${peer} answered twice within a second: ${times.join(', ')}`);
    }
  });

  it('greets a peer it is not connected to by unicast, at once and once per gap, and finds it', (t) => {
    if (!canUseNamespaces()) {
      t.skip('needs root and ip');
      return;
    }
    if (!namespaceCreated) {
      namespaceCreated = true;
      createMulticastNamespace(NAMESPACE);
    }
    const r = spawnSync('ip', ['netns', 'exec', NAMESPACE, process.execPath, GREETING_FIXTURE], { encoding: 'utf8', timeout: 30_000 });
    assert.equal(r.status, 0, r.stderr);
    const result = JSON.parse(r.stdout.trim().split('\n').pop()!) as { found: string[]; unicast: string[][] };
    assert.deepEqual(result.found, ['stranger']);
    // Two answers from the stranger within the gap: one greeting, naming the instance.
    assert.deepEqual(result.unicast, [['instance']]);
  });
});
