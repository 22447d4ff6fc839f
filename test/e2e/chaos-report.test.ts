/**
 * The chaos report page in headless Chromium (Debian package `chromium`, which .ci/run installs):
 * it loads from a file with no network, the DOM Chromium builds holds a timeline lane per node and
 * the summary numbers of the checked history, and a screenshot is kept in test-artifacts/.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { checkHistory } from '../../nemesis/check.js';
import { renderReportHtml } from '../../nemesis/report-html.js';
import { cleanHistory, event } from '../../nemesis/testing.js';

const ROOT = new URL('../../../', import.meta.url).pathname;
const chromium = ['chromium', 'chromium-browser'].find((name) => spawnSync(name, ['--version']).status === 0);
const dir = mkdtempSync(join(tmpdir(), 'conclave-report-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function headless(args: string[]): { status: number | null; stdout: string } {
  // --no-sandbox: CI runs as root, where Chromium refuses its sandbox.
  const r = spawnSync(chromium!, ['--headless', '--no-sandbox', '--disable-gpu', '--hide-scrollbars', '--window-size=1280,900', ...args], { encoding: 'utf8', timeout: 60_000 });
  return { status: r.status, stdout: r.stdout };
}

test('Chromium renders the report: a lane per node, the summary of the checked history, a screenshot', { skip: chromium ? false : 'chromium is not installed (apt-get install chromium)' }, () => {
  const records = [...cleanHistory(), event(17_000, 'n1', 'member-dead', 'n2')].sort((a, b) => a.t - b.t);
  const report = checkHistory(records);
  const page = join(dir, 'report.html');
  writeFileSync(page, renderReportHtml(records, report));

  const dom = headless(['--dump-dom', `file://${page}`]);
  assert.equal(dom.status, 0);
  assert.equal((dom.stdout.match(/<g class="lane" data-node="n\d">/g) ?? []).length, 5, 'a lane per node');
  assert.ok((dom.stdout.match(/class="role role-leader"/g) ?? []).length >= 2, 'the reigns of n5 and n3');
  const cell = (key: string) => new RegExp(`data-key="${key}"[^>]*>([^<]*)<`).exec(dom.stdout)?.[1];
  assert.equal(cell('leader changes'), String(report.leaderChanges));
  assert.equal(cell('sampling rounds'), String(report.rounds));
  assert.equal(cell('false-dead'), '1');
  assert.match(dom.stdout, /id="verdict">1 violation\(s\)</);

  const artifacts = join(ROOT, 'test-artifacts');
  mkdirSync(artifacts, { recursive: true });
  const png = join(artifacts, 'chaos-report.png');
  rmSync(png, { force: true });
  assert.equal(headless([`--screenshot=${png}`, `file://${page}`]).status, 0);
  const image = readFileSync(png);
  assert.equal(image.subarray(1, 4).toString(), 'PNG');
  // Width and height from the PNG header: the window asked for.
  assert.deepEqual([image.readUInt32BE(16), image.readUInt32BE(20)], [1280, 900]);
});
