/** `conclave elections …`, run in-process against an API server whose fake source keeps a real store, over its Unix socket. */
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { candidateKey } from '../../protocols/kv/election.js';
import { kvRequestError } from '../../protocols/kv/requests.js';
import { startFakeDaemon, type FakeDaemon } from '../api/fake-daemon.js';
import type { FakeControlSource } from '../api/testing.js';
import { runCli, until, type Run } from './cli-testing.js';
import { registerElectionCommands } from './elections.js';

describe('conclave elections', () => {
  let daemon: FakeDaemon;
  let source: FakeControlSource;
  let api: string;
  beforeEach(async () => {
    daemon = await startFakeDaemon();
    source = daemon.source;
    api = daemon.api;
  });
  afterEach(() => daemon.close());

  const elections = (args: string[], interrupt?: AbortSignal, run?: Run) =>
    runCli(registerElectionCommands, ['elections', ...args, '--api', api], { ...(interrupt ? { interrupt } : {}), ...(run ? { run } : {}) });

  /** A campaign left running until `stop()` (Ctrl-C). */
  function startCampaign(args: string[]) {
    const run: Run = { code: 0, out: '', err: '', error: null };
    const interrupt = new AbortController();
    const done = elections(['campaign', ...args], interrupt.signal, run);
    return { run, done, stop: () => (interrupt.abort(), done) };
  }

  it('campaign prints when it leads; the second leads once the first is interrupted (it resigns, exit 0); ls and show list them', async () => {
    const a = startCampaign(['jobs', '--value', 'host-a']);
    await until(() => a.run.out !== '', () => `the first to lead; stderr ${a.run.err}`);
    assert.match(a.run.out, /^leading jobs with fencing token \d+\n$/);
    const tokenA = Number(/token (\d+)/.exec(a.run.out)![1]);
    const b = startCampaign(['jobs', '--value', 'host-b', '--json']);
    await until(() => source.kvStore.range('conclave/elections/jobs/').kvs.length === 2, 'the second queued');
    const shown = await elections(['show', 'jobs']);
    assert.equal(shown.code, 0, shown.err);
    assert.match(shown.out, new RegExp(`^jobs: led by host-a under fencing token ${tokenA} \\(revision \\d+\\)\\n  leader   token ${tokenA}  host-a\\n  waiting  token \\d+  host-b\\n$`));
    assert.equal(b.run.out, '', 'the second waits');
    assert.equal((await a.stop()).code, 0);
    await until(() => b.run.out !== '', 'the second to lead');
    const leading = JSON.parse(b.run.out) as { leading: string; fencingToken: number; session: string };
    assert.equal(leading.leading, 'jobs');
    assert.ok(leading.fencingToken > tokenA);
    const listed = await elections(['ls']);
    assert.equal(listed.out, `jobs\thost-b\ttoken ${leading.fencingToken}\t1 candidate\n`);
    // Withdrawn by another process through its session: the campaign's leadership is lost, exit 1.
    const resigned = await elections(['resign', 'jobs', '--session', leading.session]);
    assert.match(resigned.out, /^resigned at revision \d+\n$/);
    const ended = await b.done;
    assert.equal(ended.code, 1);
    assert.match(ended.out, /leadership of jobs under fencing token \d+ ended: its session ended or its key was deleted/);
  });

  it('observe prints the leader, then each change, one line each', async () => {
    const run: Run = { code: 0, out: '', err: '', error: null };
    const interrupt = new AbortController();
    const watching = elections(['observe', 'jobs'], interrupt.signal, run);
    await until(() => run.out.includes('no leader'), 'the first line');
    const a = startCampaign(['jobs', '--value', 'host-a']);
    await until(() => run.out.includes('host-a'), 'the leader observed');
    await a.stop();
    await until(() => run.out.split('\n').filter(Boolean).length === 3, () => `three lines; got ${JSON.stringify(run.out)}`);
    interrupt.abort();
    assert.equal((await watching).code, 0);
    assert.match(run.out, /^jobs: no leader @\d+\njobs: host-a \(token \d+\) @\d+\njobs: no leader @\d+\n$/);
    assert.equal(source.kvStore.get(candidateKey('jobs', 'x')), null);
  });

  it('a bad name is a usage error (exit 2); under bully the API refuses (exit 1, naming not-raft)', async () => {
    const bad = await elections(['show', 'a/b']);
    assert.equal(bad.code, 2);
    source.kvRefusal = kvRequestError('not-raft', 'the key-value store needs protocol: raft');
    const refused = await elections(['campaign', 'jobs']);
    assert.equal(refused.code, 1);
    assert.match(refused.error?.message ?? '', /protocol: raft/);
  });
});
