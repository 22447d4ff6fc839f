/**
 * The shipped deployment files are checked by the tools that consume them, where installed (CI
 * need not install them): `systemd-analyze verify` on the units in deploy/systemd, and
 * `promtool check rules` / `promtool test rules` on deploy/prometheus. Without the tool the test
 * is skipped and says which tool is missing.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';

const ROOT = new URL('../../', import.meta.url).pathname;
const SYSTEMD_DIR = join(ROOT, 'deploy/systemd');
const PROMETHEUS_DIR = join(ROOT, 'deploy/prometheus');
/** Where the units expect the CLI; verify checks that ExecStart= programs exist. */
const INSTALLED_CLI = '/usr/local/bin/conclave';

function has(tool: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${tool}`]).status === 0;
}

const skipSystemd = has('systemd-analyze') ? false : 'systemd-analyze is not installed';
const skipPromtool = has('promtool') ? false : 'promtool is not installed (Debian package prometheus)';

describe('systemd units', () => {
  const units = readdirSync(SYSTEMD_DIR).filter((f) => f.endsWith('.service'));

  it('there is a unit for the daemon and one for a leader-only job using `conclave run`', () => {
    assert.ok(units.includes('conclave.service'), units.join(', '));
    const job = units.map((u) => readFileSync(join(SYSTEMD_DIR, u), 'utf8')).find((text) => /^ExecStart=\S+ run .*-- /m.test(text));
    assert.ok(job, 'a unit runs `conclave run -- CMD`');
  });

  it('the daemon unit gives the graceful stop its time: SIGTERM to the daemon alone, a stop timeout past the 2 s hand-off and the default hook timeout', () => {
    const text = readFileSync(join(SYSTEMD_DIR, 'conclave.service'), 'utf8');
    assert.match(text, /^KillMode=mixed$/m);
    const stopS = Number(/^TimeoutStopSec=(\d+)s$/m.exec(text)?.[1]);
    assert.ok(stopS >= 2 + 30, `TimeoutStopSec=${stopS}s`);
    assert.match(text, /^StateDirectory=conclave$/m);
    assert.match(text, /^Restart=on-failure$/m);
    assert.match(text, /^RestartPreventExitStatus=2$/m, 'exit 2 (bad config or data dir) is not retried');
  });

  it('`systemctl reload` runs `conclave reload` against the socket in the data dir the unit sets', () => {
    const text = readFileSync(join(SYSTEMD_DIR, 'conclave.service'), 'utf8');
    assert.match(text, /^Environment=CONCLAVE_DATA_DIR=%S\/conclave$/m);
    assert.match(text, /^ExecReload=\S+ reload --api unix:%S\/conclave\/api\.sock$/m);
  });

  it('`systemd-analyze verify` finds nothing to say about them', { skip: skipSystemd }, () => {
    // Verify runs the units' programs' existence checks: point them at a program that exists.
    const dir = mkdtempSync(join(tmpdir(), 'conclave-units-'));
    try {
      for (const unit of units) writeFileSync(join(dir, unit), readFileSync(join(SYSTEMD_DIR, unit), 'utf8').replaceAll(INSTALLED_CLI, process.execPath));
      // Templates are verified through an instance name.
      const names = units.map((u) => join(dir, u.endsWith('@.service') ? u.replace('@.service', '@example.service') : u));
      const r = spawnSync('systemd-analyze', ['verify', ...names], { encoding: 'utf8', cwd: dir });
      // verify exits 0 on lines it ignores ("Failed to parse …, ignoring"): any word about our files is a failure.
      const ours = `${r.stdout}\n${r.stderr}`.split('\n').filter((line) => line.includes(dir) || units.some((u) => line.includes(u.replace('@.service', '@'))));
      assert.equal(r.status, 0, `${r.stdout}${r.stderr}`);
      assert.deepEqual(ours, []);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('Prometheus alert rules', () => {
  it('`promtool check rules` accepts deploy/prometheus/alerts.yml', { skip: skipPromtool }, () => {
    const r = spawnSync('promtool', ['check', 'rules', 'alerts.yml'], { encoding: 'utf8', cwd: PROMETHEUS_DIR });
    assert.equal(r.status, 0, `${r.stdout}${r.stderr}`);
  });

  it('`promtool test rules` passes alerts.test.yml', { skip: skipPromtool }, () => {
    const r = spawnSync('promtool', ['test', 'rules', 'alerts.test.yml'], { encoding: 'utf8', cwd: PROMETHEUS_DIR });
    assert.equal(r.status, 0, `${r.stdout}${r.stderr}`);
  });

  it('every alert has a summary and a runbook, and every alert is tested', () => {
    const rules = readFileSync(join(PROMETHEUS_DIR, 'alerts.yml'), 'utf8');
    const tests = readFileSync(join(PROMETHEUS_DIR, 'alerts.test.yml'), 'utf8');
    const alerts = [...rules.matchAll(/^\s*- alert: (\w+)$/gm)].map((m) => m[1]!);
    assert.ok(alerts.length >= 8, alerts.join(', '));
    const blocks = rules.split(/^\s*- alert: /m).slice(1);
    for (const [i, block] of blocks.entries()) {
      assert.match(block, /^\s+summary: /m, `${alerts[i]} has a summary`);
      assert.match(block, /^\s+runbook: /m, `${alerts[i]} has a runbook`);
      assert.ok(tests.includes(`alertname: ${alerts[i]}`), `${alerts[i]} is tested in alerts.test.yml`);
    }
    // The metric names the rules use exist in daemon/metrics.ts.
    const metrics = readFileSync(join(ROOT, 'daemon/metrics.ts'), 'utf8');
    for (const name of new Set([...rules.matchAll(/conclave_(\w+?)(?:_bucket|_count|_sum)?[{)\s]/g)].map((m) => m[1]!))) {
      assert.ok(metrics.includes(`'${name}'`) || metrics.includes(`}${name}\``), `conclave_${name} is a metric of daemon/metrics.ts`);
    }
  });
});
