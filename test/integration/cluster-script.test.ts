/**
 * scripts/cluster.sh end to end: up, status, sock, kill, stop/cont, restart, partition/heal,
 * loss and down, checked against the processes, namespaces, routes and firewall rules
 * themselves. Always the real daemons of this build: a daemon that cannot start fails the
 * suite. A namespace LAN as root with `ip` (else 127.0.0.1, where the LAN-only commands must
 * refuse; only what needs root, `ip` or iptables is skipped without them). A second suite kills
 * the script halfway through `up` and proves `down` still removes all.
 */
import '../../daemon/polyfill.js';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { canUseNamespaces, CLI, sleep } from '../support/local-cluster.js';

const ROOT = new URL('../../../', import.meta.url).pathname;
const SCRIPT = join(ROOT, 'scripts/cluster.sh');
const STAND_IN = `${process.execPath} ${join(ROOT, 'dist/test/integration/fixtures/conclave-stand-in.js')}`;
const LAN = canUseNamespaces();

function clusterSh(args: string[], env: NodeJS.ProcessEnv = {}): SpawnSyncReturns<string> {
  return spawnSync('bash', [SCRIPT, ...args], {
    encoding: 'utf8',
    env: { ...process.env, CONCLAVE_CLUSTER_NAME: undefined, ...env },
    timeout: 120_000,
  });
}

/** `down`, then drop the logs it kept unless CONCLAVE_KEEP_TEST_LOGS asks to keep them. */
function downAndForget(name: string, env: NodeJS.ProcessEnv): void {
  clusterSh(['down', '--name', name], env);
  if (!process.env.CONCLAVE_KEEP_TEST_LOGS) rmSync(join(ROOT, '.cluster/.logs', name), { recursive: true, force: true });
}

function ok(result: SpawnSyncReturns<string>): string {
  assert.equal(result.status, 0, `cluster.sh failed (${result.status}):\n${result.stdout}\n${result.stderr}`);
  return result.stdout;
}

/** PID and state column of node `name` in `cluster.sh status` output. */
function statusRow(output: string, name: string): { pid: number; state: string } {
  const row = output.split('\n').find((line) => line.startsWith(`${name} `));
  assert.ok(row, `no row for ${name} in:\n${output}`);
  const [, pid, state] = row.trim().split(/\s+/);
  return { pid: Number(pid), state: state ?? '' };
}

/** Scheduler state letter of a live process (R, S, T, …), or null when it is gone or a zombie. */
function processState(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state === 'Z' || state === 'X' ? null : state;
  } catch {
    return null;
  }
}

async function waitUntil(what: string, probe: () => boolean | Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

interface ScriptStatus {
  name: string;
  members: Record<string, number>;
  leader: { name: string } | null;
  bootstrap: { expect: number };
}

function getStatus(socketPath: string): Promise<ScriptStatus> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath, path: '/v1/status', timeout: 5000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => {
        try {
          resolve(JSON.parse(body));
        } catch (err) {
          reject(err);
        }
      });
    });
    req.on('error', reject);
    req.end();
  });
}

function namespaceOf(pid: number): string {
  return spawnSync('ip', ['netns', 'identify', String(pid)], { encoding: 'utf8' }).stdout.trim();
}

function namespaces(): string[] {
  return spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' }).stdout.split('\n').map((l) => l.split(' ')[0] ?? '').filter(Boolean);
}

function blackholes(namespace: string): string[] {
  return spawnSync('ip', ['-n', namespace, 'route', 'show', 'type', 'blackhole'], { encoding: 'utf8' }).stdout.split('\n').filter(Boolean);
}

/** The node's LAN address in `namespace` (the one IPv4 address besides loopback). */
function lanAddress(namespace: string): string {
  const out = spawnSync('ip', ['-n', namespace, '-4', '-o', 'addr', 'show', 'scope', 'global'], { encoding: 'utf8' }).stdout;
  const address = /inet (\d+\.\d+\.\d+\.\d+)\//.exec(out)?.[1];
  if (!address) throw new Error(`no LAN address in ${namespace}: ${out}`);
  return address;
}

/** Whether UDP datagrams sent from namespace `from` reach a socket in namespace `to` within a second. */
async function udpReaches(from: string, to: string): Promise<boolean> {
  const address = lanAddress(to);
  const listen = `const s=require('dgram').createSocket('udp4');s.on('message',()=>{console.log('got');process.exit(0)});s.bind(47999,'${address}',()=>console.log('ready'));setTimeout(()=>process.exit(1),1500)`;
  const listener = spawn('ip', ['netns', 'exec', to, process.execPath, '-e', listen], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  const ready = new Promise<void>((resolve) => listener.stdout.on('data', (d: Buffer) => ((out += d.toString()), out.includes('ready') && resolve())));
  const exited = new Promise<number | null>((resolve) => listener.on('exit', (code) => resolve(code)));
  await Promise.race([ready, exited]);
  const send = `const s=require('dgram').createSocket('udp4');let n=0;const t=setInterval(()=>{s.send('x',47999,'${address}');if(++n===5){clearInterval(t);setTimeout(()=>s.close(),50)}},100)`;
  spawnSync('ip', ['netns', 'exec', from, process.execPath, '-e', send]);
  return (await exited) === 0 && out.includes('got');
}

/** Interface names inside a namespace, without lo. */
function links(namespace: string): string[] {
  const out = spawnSync('ip', ['-n', namespace, '-o', 'link', 'show'], { encoding: 'utf8' }).stdout;
  return out.split('\n').map((line) => line.split(': ')[1]?.split('@')[0] ?? '').filter((name) => name && name !== 'lo');
}

describe('cluster.sh drives a 3-node cluster', { timeout: 240_000 }, () => {
  const name = `cs${process.pid}`;
  // This build's daemon, whatever CONCLAVE_BIN says outside: up must start it or fail.
  const env = { CONCLAVE_BIN: undefined };
  const sh = (...args: string[]) => clusterSh([...args, '--name', name], env);
  const pidOf = (index: number) => statusRow(ok(sh('status')), `n${index}`).pid;

  before(() => {
    assert.ok(existsSync(CLI), `${CLI} is missing: build first`);
    ok(sh('up', '3', '--preset', 'local'));
  });

  after(() => downAndForget(name, env));

  it('up 3 leaves three nodes that each answer on their own API socket', async () => {
    for (const index of [1, 2, 3]) {
      const socket = ok(sh('sock', String(index))).trim();
      assert.ok(existsSync(socket), `sock ${index} printed ${socket}, which does not exist`);
      assert.equal((await getStatus(socket)).name, `n${index}`);
    }
  });

  it('the daemons find each other over the LAN (mDNS in namespaces, else bootstrap)', async () => {
    const socket = ok(sh('sock', '1')).trim();
    const aliveSeen = async () => (await getStatus(socket).catch(() => null))?.members.alive ?? 0;
    await waitUntil('n1 to see 3 alive members', async () => (await aliveSeen()) === 3, 30_000);
  });

  it('status lists every node as running with a live PID', () => {
    const output = ok(sh('status'));
    for (const index of [1, 2, 3]) {
      const row = statusRow(output, `n${index}`);
      assert.equal(row.state, 'running');
      assert.notEqual(processState(row.pid), null, `n${index}'s PID ${row.pid} is not alive`);
      if (LAN) assert.equal(namespaceOf(row.pid), `cc-${name}-n${index}`, 'each node runs in its own namespace');
    }
  });

  it('up refuses a cluster name that is already up and leaves it running', () => {
    const pid = pidOf(1);
    assert.equal(sh('up', '2').status, 1);
    assert.notEqual(processState(pid), null);
  });

  it('unknown commands and flags are usage errors (exit 2)', () => {
    assert.equal(sh('frobnicate').status, 2);
    assert.equal(sh('status', '--bogus').status, 2);
    assert.equal(sh('kill', '9').status, 2);
    // Names the daemon would refuse are refused before anything starts.
    assert.equal(sh('up', '2', '--protocol', 'paxos').status, 2);
    assert.equal(sh('up', '2', '--preset', 'fast').status, 2);
    // A cluster name is the daemons' --cluster too, which is lower case.
    const upper = clusterSh(['up', '1', '--name', 'Demo'], env);
    assert.equal(upper.status, 2, upper.stderr);
    assert.match(upper.stderr, /lowercase/);
    assert.equal(existsSync(join(ROOT, '.cluster', 'Demo')), false, 'nothing was started');
  });

  it('kill 2 ends that exact process, and restart 2 brings n2 back', async () => {
    const pid = pidOf(2);
    ok(sh('kill', '2'));
    await waitUntil(`PID ${pid} to be gone`, () => processState(pid) === null);
    assert.equal(statusRow(ok(sh('status')), 'n2').state, 'dead');
    ok(sh('restart', '2'));
    const restarted = statusRow(ok(sh('status')), 'n2');
    assert.equal(restarted.state, 'running');
    assert.notEqual(restarted.pid, pid);
  });

  it('stop 3 freezes the process (state T) and cont 3 resumes it', async () => {
    const pid = pidOf(3);
    ok(sh('stop', '3'));
    await waitUntil('state T', () => processState(pid) === 'T');
    assert.equal(statusRow(ok(sh('status')), 'n3').state, 'stopped');
    ok(sh('cont', '3'));
    await waitUntil('state not T', () => processState(pid) !== 'T' && processState(pid) !== null);
    assert.equal(statusRow(ok(sh('status')), 'n3').state, 'running');
  });

  it('partition "1" "2,3" blackholes the other side in each namespace; heal removes the routes', (t) => {
    if (!LAN) {
      assert.equal(sh('partition', '1', '2,3').status, 1, 'without the namespace LAN partition must refuse');
      return t.skip('needs root and ip for the namespace LAN');
    }
    ok(sh('partition', '1', '2,3'));
    const nsOf = (index: number) => namespaceOf(pidOf(index));
    assert.equal(blackholes(nsOf(1)).length, 2, 'n1 is cut from n2 and n3');
    assert.equal(blackholes(nsOf(2)).length, 1, 'n2 is cut from n1 only');
    assert.equal(blackholes(nsOf(3)).length, 1, 'n3 is cut from n1 only');
    ok(sh('heal'));
    for (const index of [1, 2, 3]) assert.deepEqual(blackholes(nsOf(index)), []);
  });

  it('loss 2 30 adds a random-drop rule in n2 only; loss 2 0 clears it', (t) => {
    if (!LAN) return t.skip('needs root and ip for the namespace LAN');
    if (spawnSync('iptables', ['-V']).status !== 0) return t.skip('iptables is not installed');
    const rules = (index: number) =>
      spawnSync('ip', ['netns', 'exec', namespaceOf(pidOf(index)), 'iptables', '-S', 'CONCLAVE_LOSS'], { encoding: 'utf8' }).stdout;
    ok(sh('loss', '2', '30'));
    const probability = /--mode random --probability ([\d.]+) -j DROP/.exec(rules(2))?.[1];
    assert.ok(probability && Math.abs(Number(probability) - 0.3) < 1e-6, `no 30 % drop rule in:\n${rules(2)}`);
    assert.doesNotMatch(rules(1), /DROP/);
    ok(sh('loss', '2', '0'));
    assert.doesNotMatch(rules(2), /DROP/);
  });

  it('every node holds every other node as a permanent neighbour (no ARP: the kernel caps dynamic entries machine-wide)', (t) => {
    if (!LAN) return t.skip('needs root and ip for the namespace LAN');
    for (const index of [1, 2, 3]) {
      const ns = namespaceOf(pidOf(index));
      const table = spawnSync('ip', ['-n', ns, 'neigh', 'show', 'nud', 'permanent'], { encoding: 'utf8' }).stdout;
      const held = table.split('\n').filter((line) => /lladdr 02:[0-9a-f:]+ PERMANENT/.test(line)).length;
      assert.equal(held, 2, `n${index} holds the other two nodes permanently:\n${table}`);
    }
  });

  it('oneway 1 2 drops what n1 sends to n2 while n2 still reaches n1; n3 is untouched; heal clears it', async (t) => {
    if (!LAN) {
      assert.equal(sh('oneway', '1', '2').status, 1, 'without the namespace LAN oneway must refuse');
      return t.skip('needs root and ip for the namespace LAN');
    }
    if (spawnSync('iptables', ['-V']).status !== 0) return t.skip('iptables is not installed');
    const nsOf = (index: number) => namespaceOf(pidOf(index));
    assert.equal(sh('oneway', '1', '1').status, 2, 'a node cannot be cut off from itself');
    ok(sh('oneway', '1', '2'));
    assert.match(ok(sh('status')), /one-way cut to 2/);
    assert.equal(await udpReaches(nsOf(1), nsOf(2)), false, 'n1 -> n2 is dropped');
    assert.equal(await udpReaches(nsOf(2), nsOf(1)), true, 'n2 -> n1 still arrives');
    assert.equal(await udpReaches(nsOf(1), nsOf(3)), true, 'n1 -> n3 still arrives');
    ok(sh('heal'));
    assert.equal(await udpReaches(nsOf(1), nsOf(2)), true, 'n1 -> n2 arrives after heal');
    assert.doesNotMatch(ok(sh('status')), /one-way/);
  });

  it('down stops every process and removes every namespace, link and the state; a second down is a no-op', async () => {
    const pids = [1, 2, 3].map(pidOf);
    const ours = LAN ? namespaces().filter((ns) => ns.startsWith(`cc-${name}-`)) : [];
    const ourLinks = ours.flatMap(links);
    if (LAN) {
      assert.equal(ours.length, 4, 'a bridge namespace and one per node');
      assert.equal(ourLinks.length, 7, 'a bridge and both ends of three veth pairs');
    }
    ok(sh('down'));
    for (const pid of pids) assert.equal(processState(pid), null, `PID ${pid} survived down`);
    const left = namespaces();
    for (const ns of ours) assert.ok(!left.includes(ns), `namespace ${ns} survived down`);
    const rootLinks = spawnSync('ip', ['-o', 'link', 'show'], { encoding: 'utf8' }).stdout;
    for (const link of ourLinks) assert.ok(!rootLinks.includes(`: ${link}`), `link ${link} is in the root namespace`);
    assert.ok(!existsSync(join(ROOT, '.cluster', name)), 'state dir removed');
    assert.ok(existsSync(join(ROOT, '.cluster/.logs', name, 'n1.log')), 'logs kept');
    ok(sh('down'));
  });
});

describe('cluster.sh up of a larger cluster starts it in waves', { timeout: 120_000 }, () => {
  const name = `cw${process.pid}`;
  // Waves of one node: the wave path on 3 nodes (by default it takes more than 10).
  const env = { CONCLAVE_BIN: undefined, CONCLAVE_UP_WAVE: '1' };

  after(() => downAndForget(name, env));

  it('each wave starts once every node started so far sees all of them alive', async () => {
    const out = ok(clusterSh(['up', '3', '--preset', 'local', '--name', name], env));
    assert.match(out, /starting 3 nodes in 3 waves of up to 1/);
    const waves = [...out.matchAll(/^wave (\d)\/3: starting (\S+)…$/gm)].map((m) => [m[1], m[2]]);
    assert.deepEqual(waves, [['1', 'n1'], ['2', 'n2'], ['3', 'n3']], out);
    // After each wave the wait names everyone started so far, in order, before the next wave.
    // The first wave also elects before the second starts (it is every node's bootstrapExpect).
    const order = [...out.matchAll(/^(wave \d|  all \d see \d alive|  all \d name \S+ leader)/gm)].map((m) => m[1]);
    assert.deepEqual(order, ['wave 1', '  all 1 see 1 alive', '  all 1 name n1 leader', 'wave 2', '  all 2 see 2 alive', 'wave 3', '  all 3 see 3 alive'], out);
    // `up` returned only once all of them saw all three: no waiting here.
    const sockets = [1, 2, 3].map((index) => ok(clusterSh(['sock', String(index), '--name', name], env)).trim());
    for (const [i, socket] of sockets.entries()) assert.equal((await getStatus(socket)).members.alive, 3, `n${i + 1} sees 3 alive as up returns`);
    // The first wave may elect and later waves join it: bootstrapExpect is the first wave's size.
    // With the whole cluster's size, 45 daemons that had never elected all elected at the last
    // wave, and starved each other (cluster.sh).
    for (const socket of sockets) assert.equal((await getStatus(socket)).bootstrap.expect, 1);
    await waitUntil('every node names one leader', async () => {
      const leaders = (await Promise.all(sockets.map(getStatus))).map((s) => s.leader?.name ?? null);
      return leaders[0] !== null && leaders.every((l) => l === leaders[0]);
    });
  });

  it('a wave size that is not a whole number of nodes is a usage error, before anything starts', () => {
    const result = clusterSh(['up', '3', '--name', `${name}x`], { CONCLAVE_UP_WAVE: 'x' });
    assert.equal(result.status, 2, result.stderr);
    assert.match(result.stderr, /CONCLAVE_UP_WAVE must be a whole number of nodes from 1 \(it is 'x'\)/);
    assert.ok(!existsSync(join(ROOT, '.cluster', `${name}x`)));
  });
});

describe('cluster.sh down after the script was killed halfway through up', { timeout: 120_000 }, () => {
  const name = `cx${process.pid}`;
  // Not a fallback: this suite tests the script's clean-up, not the daemon. The stand-in holds
  // its socket back, so `up` is reliably still waiting when it is killed; a real daemon answers
  // too soon to catch `up` halfway.
  const env = { CONCLAVE_BIN: STAND_IN, STAND_IN_READY_DELAY_MS: '600000' };

  after(() => downAndForget(name, env));

  it('removes the processes and namespaces the crashed up made', async () => {
    const up = spawn('bash', [SCRIPT, 'up', '3', '--name', name], { stdio: 'ignore', env: { ...process.env, ...env } });
    const pidFile = (index: number) => join(ROOT, '.cluster', name, 'pids', `n${index}`);
    await waitUntil('all three nodes to be launched', () => [1, 2, 3].every((i) => existsSync(pidFile(i))));
    up.kill('SIGKILL');
    await new Promise((resolve) => up.once('exit', resolve));

    const pids = [1, 2, 3].map((i) => Number(readFileSync(pidFile(i), 'utf8')));
    for (const pid of pids) assert.notEqual(processState(pid), null, 'the nodes outlived the killed script');
    const ours = LAN ? namespaces().filter((ns) => ns.startsWith(`cc-${name}-`)) : [];
    if (LAN) assert.equal(ours.length, 4);

    ok(clusterSh(['down', '--name', name], env));
    for (const pid of pids) assert.equal(processState(pid), null, `PID ${pid} survived down`);
    const left = namespaces();
    for (const ns of ours) assert.ok(!left.includes(ns), `namespace ${ns} survived down`);
    assert.ok(!existsSync(join(ROOT, '.cluster', name)));
  });
});
