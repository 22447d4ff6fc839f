/**
 * The bundle users run (dist/bundle, scripts/bundle.mjs) against the build it is made from
 * (dist/): the bundle swaps two dependencies' entry points for the parts the daemon uses (zod with
 * its English messages only, prom-client without its Pushgateway), so what those parts produce
 * must be the same in both: a config error reads the same, and /metrics carries every family the
 * daemon's registry defines, prom-client's default process metrics included.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { createMetrics } from '../daemon/metrics.js';

const ROOT = new URL('../../', import.meta.url).pathname;
const LAUNCHER = join(ROOT, 'bin/conclave');
const BUNDLE = join(ROOT, 'dist/bundle/daemon/cli/main.js');
const UNBUNDLED = join(ROOT, 'dist/daemon/cli/main.js');

/** GET `path` over a Unix socket; null while nothing answers there. */
function get(socketPath: string, path: string): Promise<string | null> {
  return new Promise((resolve) => {
    const req = request({ socketPath, path, timeout: 2000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve(res.statusCode === 200 ? body : null));
    });
    req.on('error', () => resolve(null));
    req.on('timeout', () => req.destroy());
    req.end();
  });
}

const families = (exposition: string) => new Set([...exposition.matchAll(/^# TYPE (\S+) /gm)].map((m) => m[1]!));

describe('the bundle', { skip: existsSync(BUNDLE) ? false : `${BUNDLE} is missing: build first` }, () => {
  it("reports an invalid config file exactly as the unbundled build does (zod's messages)", () => {
    const dir = mkdtempSync(join(tmpdir(), 'conclave-bundle-'));
    try {
      const file = join(dir, 'bad.yaml');
      writeFileSync(file, 'membership:\n  preset: 7\nnode:\n  priority: "x"\n  name: ""\nbully:\n  quorum: [1]\n');
      const bundled = spawnSync(LAUNCHER, ['config', 'check', file], { encoding: 'utf8', timeout: 30_000 });
      const unbundled = spawnSync(process.execPath, [UNBUNDLED, 'config', 'check', file], { encoding: 'utf8', timeout: 30_000 });
      assert.equal(unbundled.status, 2, unbundled.stderr);
      assert.match(unbundled.stderr, /node\.priority: expected a number/);
      assert.equal(bundled.status, 2, bundled.stderr);
      assert.equal(bundled.stderr, unbundled.stderr);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("serves every metric family the daemon's registry defines, prom-client's process metrics included", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'conclave-bundle-'));
    const daemon = spawn(
      LAUNCHER,
      ['start', '--no-mdns', '--cluster', 'bundle-test', '--name', 'one', '--bootstrap-expect', '1', '--data-dir', dir, '--listen', '/ip4/127.0.0.1/tcp/0', '--log-level', 'warn'],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    let stderr = '';
    daemon.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    try {
      let exposition: string | null = null;
      for (let i = 0; i < 300 && exposition === null; i++) {
        assert.equal(daemon.exitCode, null, `the daemon exited (${daemon.exitCode}):\n${stderr}`);
        exposition = await get(join(dir, 'api.sock'), '/metrics');
        if (exposition === null) await new Promise((r) => setTimeout(r, 50));
      }
      assert.ok(exposition !== null, `no /metrics within 15 s:\n${stderr}`);
      const served = families(exposition);
      const expected = families((await createMetrics().scrape()).body);
      assert.ok(expected.has('conclave_process_cpu_user_seconds_total') && expected.has('conclave_nodejs_eventloop_lag_p99_seconds'), 'the registry has the default metrics');
      assert.deepEqual([...expected].filter((name) => !served.has(name)), []);
    } finally {
      daemon.kill('SIGTERM');
      await new Promise((resolve) => (daemon.exitCode !== null ? resolve(null) : daemon.once('exit', resolve)));
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
