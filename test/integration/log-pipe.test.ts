/**
 * A daemon whose log reader goes away (the pipe or terminal it was started from, a log collector
 * that restarted) keeps serving and still stops on SIGTERM. Until 2026-12-06 every log write then
 * failed with EPIPE, and the failure, logged as an uncaught exception, failed again: the daemon
 * ran at a whole core for as long as it lived, and SIGTERM no longer stopped it.
 */
import '../../daemon/polyfill.js';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { createApiClient } from '../../daemon/api/client.js';
import { LAUNCHER, metricsAt, sleep } from '../support/local-cluster.js';

describe('a daemon whose stderr reader is gone', () => {
  it('keeps answering its API, says so in /metrics, and stops on SIGTERM', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'conclave-log-pipe-'));
    // At debug level, as a daemon being looked into runs; the reloads below make sure records follow the failure.
    const args = ['start', '--no-mdns', '--cluster', 'log-pipe', '--name', 'one', '--bootstrap-expect', '1', '--data-dir', dir, '--listen', '/ip4/127.0.0.1/tcp/0', '--log-level', 'debug'];
    const daemon = spawn(LAUNCHER, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    const exited = new Promise<number | null>((resolve) => daemon.once('exit', (code) => resolve(code)));
    try {
      const client = createApiClient({ address: `unix:${join(dir, 'api.sock')}`, timeoutMs: 2000 });
      const status = async () => client.status().catch(() => null);
      let first = null;
      for (let i = 0; i < 300 && first === null; i++) {
        assert.equal(daemon.exitCode, null, 'the daemon exited before its API answered');
        first = await status();
        if (first === null) await sleep(50);
      }
      assert.ok(first, 'the API answers within 15 s');
      // The reader goes away: every later write to the daemon's stderr fails with EPIPE.
      daemon.stderr!.destroy();
      // Each reload logs a record: the first write fails, the later ones are not even tried.
      for (let i = 0; i < 5; i++) {
        await client.reload().catch(() => null);
        await sleep(300);
      }
      const after = await status();
      assert.equal(after?.name, 'one', 'it still answers after its log writes started failing');
      const metrics = await metricsAt(join(dir, 'api.sock'));
      assert.match(metrics, /^conclave_log_destination_failed 1$/m, 'the failed destination is visible to an operator');
      const dropped = Number(/^conclave_log_records_dropped_total (\S+)$/m.exec(metrics)?.[1]);
      assert.ok(dropped > 0, `records logged since are counted as dropped (${dropped})`);
      daemon.kill('SIGTERM');
      const code = await Promise.race([exited, sleep(15_000).then(() => 'still running' as const)]);
      assert.notEqual(code, 'still running', 'SIGTERM stops it (it used to spin on the failed writes and never exit)');
    } finally {
      if (daemon.exitCode === null && daemon.signalCode === null) daemon.kill('SIGKILL');
      await exited;
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
