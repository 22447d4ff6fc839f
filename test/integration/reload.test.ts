/**
 * `conclave reload` and SIGHUP on two real daemons (mDNS only inside the test's own namespace,
 * else loopback with static bootstrap): the log level the config file sets changes live, in the
 * runtime's log too; a changed field that needs a restart is listed; a malformed file is refused
 * by field path and the daemon keeps running.
 */
import '../../daemon/polyfill.js';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { after, describe, it } from 'node:test';
import { CLI, LocalCluster } from '../support/local-cluster.js';

const PINO_INFO = 30;
const PINO_ERROR = 50;
const clusters: LocalCluster[] = [];
after(async () => {
  await Promise.all(clusters.map((c) => c.stop()));
});

interface Record {
  level: number;
  msg: string;
  component?: string;
  event?: string;
  issues?: { path: string }[];
}

/** The daemon's JSON log records (the file also holds whatever else the process printed). */
function records(cluster: LocalCluster, index: number): Record[] {
  return readFileSync(cluster.node(index).logFile, 'utf8')
    .split('\n')
    .flatMap((line) => {
      try {
        const record = JSON.parse(line) as Record;
        return typeof record.level === 'number' ? [record] : [];
      } catch {
        return [];
      }
    });
}

function editConfig(cluster: LocalCluster, from: string, to: string): void {
  const text = readFileSync(cluster.configPath, 'utf8');
  assert.ok(text.includes(from), `the config file holds ${from}:\n${text}`);
  writeFileSync(cluster.configPath, text.replace(from, to));
}

describe('conclave reload', { timeout: 90_000 }, () => {
  it('applies the file\'s new log level live (the runtime logs at it too), lists a field that needs a restart, and refuses a malformed file on SIGHUP', async () => {
    const cluster = await LocalCluster.start({ size: 2, logLevel: null, yaml: 'log:\n  level: warn\nmessaging:\n  maxFrameBytes: 65536\n' });
    clusters.push(cluster);
    await cluster.waitForStates(1, { n1: 'alive', n2: 'alive' });
    assert.deepEqual(records(cluster, 1).filter((r) => r.level === PINO_INFO), [], 'at warn, no info line (not even "started", nor the member that joined)');

    editConfig(cluster, 'level: warn', 'level: info');
    editConfig(cluster, 'maxFrameBytes: 65536', 'maxFrameBytes: 131072');
    const reload = spawnSync(process.execPath, [CLI, 'reload', '--api', `unix:${cluster.node(1).socket}`], { encoding: 'utf8', env: { ...process.env, CONCLAVE_API: undefined } });
    assert.equal(reload.status, 0, reload.stderr);
    assert.equal(reload.stdout, 'applied:\n  log.level: "warn" → "info"\nneeds a restart to take effect:\n  messaging.maxFrameBytes: 65536 → 131072\n');
    await cluster.waitFor('the reload logged at info', 10_000, async () => records(cluster, 1).some((r) => r.level === PINO_INFO && r.msg.startsWith('config reloaded: applied log.level')));

    // n1's runtime (a child logger made at start) now logs at info: n2 leaving is a line.
    cluster.signal(2, 'SIGTERM');
    await cluster.waitExit(2, 10_000);
    await cluster.waitFor('n1 logging that n2 left, at info', 10_000, async () =>
      records(cluster, 1).some((r) => r.level === PINO_INFO && r.component === 'runtime' && r.event === 'member-left'),
    );

    editConfig(cluster, 'level: info', 'level: loud');
    cluster.signal(1, 'SIGHUP');
    const refused = await cluster.waitFor('the refused reload logged', 10_000, async () => records(cluster, 1).find((r) => r.level === PINO_ERROR && r.msg.startsWith('config reload refused')));
    assert.deepEqual(refused.issues?.map((i) => i.path), ['log.level']);
    assert.equal((await cluster.client(1).status()).name, 'n1', 'still running after SIGHUP');
    const again = spawnSync(process.execPath, [CLI, 'reload', '--api', `unix:${cluster.node(1).socket}`], { encoding: 'utf8', env: { ...process.env, CONCLAVE_API: undefined } });
    assert.equal(again.status, 2, again.stdout);
    assert.match(again.stderr, /keeps running its previous configuration.*\n {2}log\.level: expected one of/s);
  });
});
