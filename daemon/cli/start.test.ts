/**
 * `conclave start` refusing a data dir it must not run on: exit 2 and the file named. Each case
 * fails before the daemon opens a socket; should one ever get further, it runs with mDNS off on
 * loopback and is stopped by the timeout.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { bullyPersistedCodec } from '../../protocols/bully/index.js';
import type { Codec } from '../../protocols/types.js';
import { loadOrCreateIdentity } from '../identity.js';
import { openNodeStore } from '../node-store.js';
import { testDirs } from '../test-dirs.js';

const ROOT = new URL('../../../', import.meta.url).pathname;
const CLI = join(ROOT, 'dist/daemon/cli/main.js');
const dirs = testDirs('start');
const work = dirs.root;
const freshDir = dirs.fresh;

const baseEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('CONCLAVE_')));

function start(dataDir: string, extra: string[] = []) {
  const args = [CLI, 'start', '--name', 'solo', '--data-dir', dataDir, '--listen', '/ip4/127.0.0.1/tcp/0', '--api', '127.0.0.1:0', '--no-mdns', '--log-format', 'json', ...extra];
  return spawnSync(process.execPath, args, { encoding: 'utf8', env: { ...baseEnv, HOME: work }, timeout: 20_000, killSignal: 'SIGKILL' });
}

function assertRefused(r: ReturnType<typeof start>, file: string): void {
  assert.equal(r.signal, null, `the daemon started instead of refusing: ${r.stderr}`);
  assert.equal(r.status, 2, r.stderr);
  assert.ok(r.stderr.includes(`conclave: `), r.stderr);
  assert.ok(r.stderr.includes(file), `names ${file}: ${r.stderr}`);
}

describe('conclave start refuses data it must not run on', () => {
  it('an identity without election state: exit 2, the log store and --reset-election-state named', async () => {
    const dir = freshDir();
    await loadOrCreateIdentity(dir);
    const r = start(dir);
    assertRefused(r, join(dir, 'wal'));
    assert.match(r.stderr, /--reset-election-state/);
  });

  it('election state without peer.key: exit 2, peer.key named, no new key made', async () => {
    const dir = freshDir();
    const quiet = { warn: () => undefined, info: () => undefined };
    const store = await openNodeStore({ dataDir: dir, protocol: 'bully', electionCodec: bullyPersistedCodec as Codec<unknown>, log: quiet });
    await store.append({ hardState: { bully: { v: 1, acceptedEpoch: 42, acceptedLeader: 'x', leaseTo: 'x', highestEpochSeen: 42, members: ['x'], bootstrapped: true } } });
    await store.close();
    assertRefused(start(dir), join(dir, 'peer.key'));
    assert.throws(() => readFileSync(join(dir, 'peer.key')), { code: 'ENOENT' });
  });

  for (const [what, content] of [
    ['garbage', 'garbage\n'],
    ['400 digits', `${'9'.repeat(400)}\n`],
  ] as const) {
    it(`an incarnation file (from before the log store) holding ${what}: exit 2 naming it, left untouched`, () => {
      const dir = freshDir();
      writeFileSync(join(dir, 'incarnation'), content);
      assertRefused(start(dir), join(dir, 'incarnation'));
      assert.equal(readFileSync(join(dir, 'incarnation'), 'utf8'), content);
    });
  }

  it('start --help documents --reset-election-state', () => {
    const r = spawnSync(process.execPath, [CLI, 'start', '--help'], { encoding: 'utf8', env: baseEnv });
    assert.equal(r.status, 0);
    assert.match(r.stdout, /--reset-election-state\s+for this start only/);
  });

  it('start loads only itself, and an unknown flag is still a usage error (exit 2) that shows start\'s usage', () => {
    const r = spawnSync(process.execPath, [CLI, 'start', '--bogus'], { encoding: 'utf8', env: baseEnv });
    assert.equal(r.status, 2);
    assert.match(r.stderr, /unknown option '--bogus'/);
    assert.match(r.stderr, /Usage: conclave start \[options\]/);
  });
});
