/** `npm run sim`: the script package.json names runs a seed, and bad arguments are usage errors. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';

const root = new URL('../../', import.meta.url).pathname;
/** `node dist/sim/cli.js`, as `npm run sim` runs it. */
const command = (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { scripts: { sim: string } }).scripts.sim.split(' ');

function sim(...args: string[]) {
  return spawnSync(command[0] === 'node' ? process.execPath : command[0]!, [...command.slice(1), ...args], { cwd: root, encoding: 'utf8', timeout: 60_000 });
}

describe('npm run sim', () => {
  it('runs one Bully seed and prints its summary and the total', () => {
    const r = sim('--seed', '3', '--protocol', 'bully');
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^seed 3: size \d+ .*: ok$/m);
    assert.match(r.stdout, /^1 seed\(s\), 0 failed/m);
  });

  it('runs seeds in two workers with the same per-seed lines, in seed order, as one job, and prints the rate', () => {
    const args = ['--seeds', '4', '--start', '11', '--protocol', 'bully'];
    const one = sim(...args, '--jobs', '1');
    const two = sim(...args, '--jobs', '2');
    assert.equal(one.status, 0, one.stderr);
    assert.equal(two.status, 0, two.stderr);
    const seedLines = (stdout: string) => stdout.split('\n').filter((line) => line.startsWith('['));
    assert.equal(seedLines(one.stdout).length, 4);
    assert.deepEqual(seedLines(two.stdout), seedLines(one.stdout));
    assert.match(one.stdout, /^4 seed\(s\), 0 failed, \d+ virtual s in [\d.]+ s \([\d.]+ seeds\/s, 1 job\)$/m);
    assert.match(two.stdout, /^4 seed\(s\), 0 failed, \d+ virtual s in [\d.]+ s \([\d.]+ seeds\/s, 2 jobs\)$/m);
  });

  it('refuses an unknown protocol with the known ones and exit code 2', () => {
    const r = sim('--protocol', 'paxos');
    assert.equal(r.status, 2);
    assert.match(r.stderr, /expected one of: none, bully/);
  });
});
