#!/usr/bin/env node
// Runs the compiled test suites in order: unit and simulation first (fast, pure), then the
// integration and end-to-end suites that start real daemons. Any argument narrows to paths
// under dist/ that contain it, e.g. `node scripts/run-tests.mjs membership`.
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

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

const filters = process.argv.slice(2);
const all = findTests(dist).filter((p) => filters.length === 0 || filters.some((f) => p.includes(f)));
const isSlow = (p) => p.includes('/test/integration/') || p.includes('/test/e2e/');
const groups = [
  { name: 'unit and simulation', files: all.filter((p) => !isSlow(p)), concurrency: 2 },
  { name: 'integration and end-to-end', files: all.filter(isSlow), concurrency: 1 },
];

let failed = false;
for (const group of groups) {
  if (group.files.length === 0) continue;
  console.log(`\n# ${group.name}: ${group.files.length} files`);
  const r = spawnSync(
    process.execPath,
    ['--test', `--test-concurrency=${group.concurrency}`, '--test-reporter=spec', ...group.files],
    { stdio: 'inherit' },
  );
  if (r.status !== 0) failed = true;
}
process.exit(failed ? 1 : 0);
