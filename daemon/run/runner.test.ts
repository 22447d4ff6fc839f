/**
 * `conclave run --election NAME` (runWhileLeading with an election) against a fake daemon with a
 * real store: the child runs while the candidate leads, with the election's fencing token and
 * name in its environment; it is stopped when the session ends, and starts again under a higher
 * token once the campaign leads again.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { startFakeDaemon } from '../api/fake-daemon.js';
import { until } from '../cli/cli-testing.js';
import { DEFAULT_RUN_OPTIONS } from './machine.js';
import { runWhileLeading } from './runner.js';

const workDir = mkdtempSync(join(tmpdir(), 'conclave-runner-test-'));
after(() => rmSync(workDir, { recursive: true, force: true }));

describe('conclave run --election', () => {
  it('runs the child while the candidate leads, with the election\'s token; a session ended stops it, and it starts again under a higher token', async () => {
    const daemon = await startFakeDaemon();
    const source = daemon.source;
    const record = join(workDir, 'starts.txt');
    const logged: string[] = [];
    const running = runWhileLeading({
      ...DEFAULT_RUN_OPTIONS,
      graceMs: 2000,
      api: daemon.api,
      token: null,
      command: 'sh',
      args: ['-c', `echo "$CONCLAVE_ELECTION $CONCLAVE_FENCING_TOKEN $CONCLAVE_TERM" >> ${record}; exec sleep 60`],
      election: 'jobs',
      ttlMs: 5000,
      log: (line) => logged.push(line),
    });
    const starts = () => {
      try {
        return readFileSync(record, 'utf8').split('\n').filter(Boolean);
      } catch {
        return [];
      }
    };
    try {
      await until(() => starts().length === 1, () => `the first start; log ${JSON.stringify(logged)}`);
      const [name, token, term] = starts()[0]!.split(' ');
      assert.equal(name, 'jobs');
      assert.equal(term, token, 'a named election\'s term is its token');
      const key = source.kvStore.range('conclave/elections/jobs/').kvs[0]!;
      assert.equal(Number(token), key.createRevision);
      // The node declared dead: its sessions end; the child is stopped, and run campaigns again.
      await source.kv({ kind: 'write', op: { kind: 'sessionRevoke', id: key.session!, reason: 'node-dead' } });
      await until(() => starts().length === 2, () => `a second start; log ${JSON.stringify(logged)}`);
      assert.ok(logged.some((line) => /sending SIGTERM/.test(line)), 'the first child was stopped');
      assert.ok(Number(starts()[1]!.split(' ')[1]) > Number(token), 'a higher token');
    } finally {
      process.emit('SIGTERM');
      const code = await running;
      assert.equal(code, 143, 'run exits with the child\'s status after SIGTERM');
      await daemon.close();
    }
  });
});
