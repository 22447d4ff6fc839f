/**
 * scripts/chaos.sh end to end, short: a minute of seeded faults on a real 5-node cluster per
 * protocol, with `conclave run` beside every daemon, judged clean, the cluster gone afterwards; the same history with a violation put in
 * is judged dirty by `chaos.sh check`; bad flags are usage errors. The closing notes carry the
 * hour-long runs.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import type { HistoryRecord, KvRecord, SampleRecord } from '../../nemesis/history.js';
import { canUseNamespaces } from '../support/local-cluster.js';

const ROOT = new URL('../../../', import.meta.url).pathname;
const CHAOS = join(ROOT, 'scripts/chaos.sh');
const dirs: string[] = [];
after(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

function chaos(args: string[], env: NodeJS.ProcessEnv = process.env) {
  return spawnSync('bash', [CHAOS, ...args], { encoding: 'utf8', timeout: 240_000, env });
}

/** A PATH with `ip` and node but no iptables (removed by the caller). */
function pathWithoutIptables(): string {
  const bin = mkdtempSync(join(tmpdir(), 'chaos-path-'));
  const ip = spawnSync('bash', ['-c', 'command -v ip'], { encoding: 'utf8' }).stdout.trim();
  if (ip) symlinkSync(ip, join(bin, 'ip'));
  symlinkSync(process.execPath, join(bin, 'node'));
  return bin;
}

/** The namespaces of cluster `name` that still exist (another chaos run may be going on beside the tests). */
function namespaces(name: string): string[] {
  return (spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' }).stdout ?? '').split('\n').filter((l) => l.startsWith(`cc-${name}-`));
}

/** The cluster a run's progress says it started. */
function clusterOf(stderr: string): string {
  const name = /as cluster '(chaos\d+)'/.exec(stderr)?.[1];
  assert.ok(name, `no cluster name in:\n${stderr}`);
  return name;
}

/** The seeded runs below inject one-way cuts, which cluster.sh makes with iptables (.ci/run installs it). */
const faultsSkip = !canUseNamespaces() ? 'needs root and ip' : spawnSync('iptables', ['-V']).status !== 0 ? 'iptables is not installed (its one-way cuts need it)' : false;

describe('scripts/chaos.sh', { timeout: 600_000 }, () => {
  // Seeds whose minute holds a one-way cut and a hostile fault besides a partition or a stall.
  for (const [protocol, seed] of [['bully', 2], ['raft', 9]] as const) {
    it(`a minute of seeded faults on 5 ${protocol} daemons: every check holds, the faults are on record, nothing is left running`, { skip: faultsSkip }, () => {
      const out = mkdtempSync(join(tmpdir(), `conclave-chaos-${protocol}-`));
      dirs.push(out);
      const r = chaos(['run', '--duration', '60s', '--seed', String(seed), '--protocol', protocol, '--out', out]);
      assert.equal(r.status, 0, `${r.stdout}\n${r.stderr}`);
      assert.match(r.stdout, /every check holds/);
      assert.match(r.stderr, new RegExp(`seed ${seed} \\(replay: scripts/chaos.sh run --seed ${seed}`));
      const records = readFileSync(join(out, 'history.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as HistoryRecord);
      const starts = records.filter((rec) => rec.type === 'fault-start').length;
      assert.ok(starts >= 3, `${starts} faults injected`);
      assert.equal(records.filter((rec) => rec.type === 'fault-end').length, starts, 'every fault was undone');
      const kinds = new Set(records.flatMap((rec) => (rec.type === 'fault-start' ? [rec.fault.kind] : [])));
      assert.ok(kinds.has('one-way') && kinds.has('hostile'), `faults of kinds ${[...kinds].join(', ')}`);
      // The hostile peers reached every daemon and sent forgeries: a quiet run is not an attack that went nowhere.
      for (const rec of records) {
        if (rec.type !== 'fault-end' || rec.fault.kind !== 'hostile') continue;
        assert.equal(rec.outcome?.connected, 5, JSON.stringify(rec.outcome));
        assert.ok((rec.outcome?.forgeries ?? 0) > 0 && (rec.outcome?.heartbeats ?? 0) > 0, JSON.stringify(rec.outcome));
        assert.equal(rec.outcome?.otherClusterConnected, 0, 'a peer of another cluster never gets in');
      }
      assert.ok(records.filter((rec) => rec.type === 'sample').length > 500, 'every node sampled throughout');
      assert.ok(existsSync(join(out, 'summary.txt')) && existsSync(join(out, 'report.json')) && existsSync(join(out, 'report.html')));
      assert.deepEqual(readdirSync(join(out, 'logs')).sort(), ['n1.log', 'n2.log', 'n3.log', 'n4.log', 'n5.log'], "the daemons' logs go with the run");
      // `conclave run` beside every daemon: the leader's child started, and every child was stopped at the end.
      const jobs = records.filter((rec) => rec.type === 'job');
      assert.ok(jobs.some((j) => j.type === 'job' && j.event === 'start'), 'a conclave run child started');
      assert.equal(jobs.filter((j) => j.type === 'job' && j.event === 'stop').length, jobs.filter((j) => j.type === 'job' && j.event === 'start').length, 'every child was stopped');
      if (protocol === 'raft') {
        // Key-value and named-election clients ran throughout, and their histories were judged.
        const kv = records.filter((rec) => rec.type === 'kv');
        assert.ok(kv.filter((rec) => rec.type === 'kv' && rec.returnT !== null && rec.input.kind !== 'get').length >= 100, `${kv.length} key-value operations`);
        assert.match(r.stdout, /key-value operations\s+\d+ on \d+ keys \(\d+ of unknown outcome\): linearizable/);
        const elected = records.filter((rec) => rec.type === 'election' && rec.event === 'elected');
        assert.ok(elected.length >= 5, `${elected.length} named-election wins`);
        assert.ok(new Set(elected.map((rec) => rec.type === 'election' && rec.node)).size >= 2, 'more than one node won the named election');
        assert.ok(records.some((rec) => rec.type === 'election' && rec.event === 'observed' && rec.token !== null), 'observers saw a leader');
      }
      const name = clusterOf(r.stderr);
      assert.deepEqual(namespaces(name), []);
      assert.equal(existsSync(join(ROOT, '.cluster', name)), false, 'the cluster state is gone');

      // The same history with two leaders in one round, a false death and two children at once: caught.
      const round = records.find((rec): rec is SampleRecord => rec.type === 'sample' && rec.role === 'follower')!;
      const dirty = [
        ...records,
        { ...round, node: 'n9', role: 'leader' as const, term: round.term, leader: 'n9' },
        { ...round, role: 'leader' as const, leader: round.node },
        { type: 'event' as const, t: records.at(-1)!.t, node: 'n1', event: 'member-dead' as const, member: 'n2' },
        { type: 'job' as const, t: round.t, node: 'n8', event: 'start' as const, token: 1_000_000, pid: 1 },
        { type: 'job' as const, t: round.t, node: 'n9', event: 'start' as const, token: 1_000_000, pid: 2 },
      ].sort((a, b) => a.t - b.t);
      const dirtyDir = mkdtempSync(join(tmpdir(), 'conclave-chaos-dirty-'));
      dirs.push(dirtyDir);
      writeFileSync(join(dirtyDir, 'history.jsonl'), `${dirty.map((rec) => JSON.stringify(rec)).join('\n')}\n`);
      const check = chaos(['check', dirtyDir]);
      assert.equal(check.status, 1, check.stdout + check.stderr);
      assert.match(check.stdout, /two-leaders\s+[1-9]/);
      assert.match(check.stdout, /false-dead\s+1/);
      assert.match(check.stdout, /run-overlap\s+[1-9]/);
      if (protocol === 'raft') {
        // A read that misses a write that had returned before it: not linearizable.
        const write = records.find((rec): rec is KvRecord => rec.type === 'kv' && rec.input.kind === 'put' && rec.returnT !== null)!;
        const stale: KvRecord = { type: 'kv', t: write.returnT! + 1, id: 1e9, client: 'n9', returnT: write.returnT! + 2, input: { kind: 'get', key: write.input.key }, output: { value: 'never written', modRevision: 1 } };
        writeFileSync(join(dirtyDir, 'history.jsonl'), `${[...records, stale].map((rec) => JSON.stringify(rec)).join('\n')}\n`);
        const kvCheck = chaos(['check', dirtyDir]);
        assert.equal(kvCheck.status, 1, kvCheck.stdout + kvCheck.stderr);
        assert.match(kvCheck.stdout, /kv-not-linearizable\s+1/);
      }
    });
  }

  it('takes down a cluster left by a chaos run that was killed outright', { skip: canUseNamespaces() ? false : 'needs root and ip' }, () => {
    // A PID that is gone: the run that owned this cluster died without taking it down.
    const gone = spawnSync('true').pid!;
    const orphan = `chaos${gone}`;
    const up = spawnSync('bash', [join(ROOT, 'scripts/cluster.sh'), 'up', '1', '--name', orphan], { encoding: 'utf8', timeout: 60_000 });
    assert.equal(up.status, 0, up.stderr);
    try {
      const out = mkdtempSync(join(tmpdir(), 'conclave-chaos-orphan-'));
      dirs.push(out);
      // Shorter than the quiet tail: no fault, just the run's own small cluster (and no fault kind that needs iptables).
      const r = chaos(['run', '--nodes', '1', '--duration', '3s', '--faults', 'kill,pause', '--out', out]);
      assert.equal(r.status, 0, `${r.stdout}\n${r.stderr}`);
      assert.match(r.stderr, new RegExp(`taking down cluster '${orphan}', left by a chaos run \\(PID ${gone}\\) that is gone`));
      assert.equal(existsSync(join(ROOT, '.cluster', orphan)), false);
      assert.deepEqual(namespaces(orphan), []);
      assert.deepEqual(namespaces(clusterOf(r.stderr)), []);
    } finally {
      spawnSync('bash', [join(ROOT, 'scripts/cluster.sh'), 'down', '--name', orphan]);
      rmSync(join(ROOT, '.cluster/.logs', orphan), { recursive: true, force: true });
    }
  });

  it('refuses unknown flags, fault kinds and commands with the usage and exit 2, before it looks at what the machine lacks', () => {
    // Judged with iptables on the PATH and without: a bad command line is exit 2 either way, not
    // the missing-iptables error the default faults would give.
    const bin = pathWithoutIptables();
    try {
      for (const env of [process.env, { ...process.env, PATH: `${bin}:/bin` }]) {
        for (const args of [['run', '--bogus'], ['run', '--faults', 'kill,flood'], ['fly'], ['run', '--duration', 'soon'], ['run', '--heal-bound', 'x']]) {
          const r = chaos(args, env);
          assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
          assert.match(r.stderr, /usage: scripts\/chaos\.sh run/);
        }
      }
    } finally {
      rmSync(bin, { recursive: true, force: true });
    }
    assert.match(chaos(['run', '--faults', 'kill,flood']).stderr, /unknown fault kind 'flood'; known: kill, pause, restart, partition, bridge, one-way, loss, stall, hostile/);
  });

  it('without iptables, a run whose faults need it says so before it starts anything, and names the faults it could run', { skip: canUseNamespaces() ? false : 'needs root and ip' }, () => {
    const bin = pathWithoutIptables();
    try {
      const r = chaos(['run', '--nodes', '1', '--duration', '3s', '--faults', 'kill,loss,one-way'], { ...process.env, PATH: `${bin}:/bin` });
      assert.equal(r.status, 1, r.stderr);
      assert.match(r.stderr, /the faults loss and one-way need iptables, which is not installed: apt-get install iptables, or leave them out \(--faults kill\)/);
      assert.doesNotMatch(r.stderr, /starting/);
    } finally {
      rmSync(bin, { recursive: true, force: true });
    }
  });

  it('refuses an --out directory that holds an earlier run, with exit 2, and leaves that run as it was', () => {
    const out = mkdtempSync(join(tmpdir(), 'chaos-earlier-'));
    try {
      const history = `${JSON.stringify({ type: 'meta', t: 0, seed: 1 })}\n`;
      writeFileSync(join(out, 'history.jsonl'), history);
      writeFileSync(join(out, 'jobs.jsonl'), '{"event":"start"}\n');
      const r = chaos(['run', '--nodes', '1', '--duration', '3s', '--out', out]);
      assert.equal(r.status, 2, r.stderr);
      assert.match(r.stderr, /--out: .* holds an earlier run \(history\.jsonl\); give another directory, or remove that one first/);
      assert.equal(readFileSync(join(out, 'history.jsonl'), 'utf8'), history);
      assert.equal(readFileSync(join(out, 'jobs.jsonl'), 'utf8'), '{"event":"start"}\n');
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });
});
