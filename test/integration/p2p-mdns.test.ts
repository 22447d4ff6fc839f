/**
 * Real mDNS discovery, only inside a private network namespace (lo + multicast route) that
 * this test creates and deletes: nodes of one cluster find and connect to each other; nodes of
 * another cluster on the same "LAN" stay invisible.
 */
import '../../daemon/polyfill.js';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { after, describe, it } from 'node:test';
import { canUseNamespaces, createMulticastNamespace, deleteNamespace } from '../support/local-cluster.js';
import { waitFor } from './fixtures/p2p-nodes.js';

const FIXTURE = fileURLToPath(new URL('./fixtures/p2p-mdns-node.js', import.meta.url));
const NAMESPACE = `cnv-p2p-${process.pid}`;

interface FixtureNode {
  cluster: string;
  child: ChildProcess;
  peerId: string | null;
  connected: Set<string>;
}

describe('p2p mDNS discovery in a private network namespace', { timeout: 60_000 }, () => {
  const nodes: FixtureNode[] = [];
  let namespaceCreated = false;

  after(() => {
    for (const n of nodes) if (n.child.exitCode === null && n.child.pid) n.child.kill('SIGKILL');
    if (namespaceCreated) deleteNamespace(NAMESPACE);
  });

  it('connects nodes of one cluster by mDNS and never those of another cluster', async (t) => {
    if (!canUseNamespaces()) {
      t.skip('needs root and ip');
      return;
    }
    namespaceCreated = true;
    createMulticastNamespace(NAMESPACE);

    for (const cluster of ['alpha', 'alpha', 'beta', 'beta']) {
      // `ip netns exec` execs node, so the child's PID is the fixture's.
      const child = spawn('ip', ['netns', 'exec', NAMESPACE, process.execPath, FIXTURE, cluster, '200'], { stdio: ['ignore', 'pipe', 'inherit'] });
      const n: FixtureNode = { cluster, child, peerId: null, connected: new Set() };
      nodes.push(n);
      createInterface({ input: child.stdout! }).on('line', (line) => {
        const event = JSON.parse(line) as { type: string; peerId?: string; peer?: string; event?: string };
        if (event.type === 'ready') n.peerId = event.peerId!;
        if (event.type === 'peer' && event.event === 'connected') n.connected.add(event.peer!);
        if (event.type === 'peer' && event.event === 'disconnected') n.connected.delete(event.peer!);
      });
    }
    await waitFor('all fixtures ready', () => nodes.every((n) => n.peerId !== null), 20_000);
    const sameCluster = (n: FixtureNode) => nodes.filter((m) => m !== n && m.cluster === n.cluster);
    await waitFor('each node connected to its cluster mate by mDNS', () => nodes.every((n) => sameCluster(n).every((m) => n.connected.has(m.peerId!))), 20_000);
    for (const n of nodes) {
      assert.deepEqual([...n.connected], sameCluster(n).map((m) => m.peerId), `${n.cluster} node connected only to its own cluster`);
    }
  });
});
