import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { checkHistory, VIOLATION_KINDS } from './check.js';
import { renderReportHtml } from './report-html.js';
import { cleanHistory, event } from './testing.js';

const count = (html: string, pattern: RegExp) => (html.match(pattern) ?? []).length;
const cell = (html: string, key: string) => new RegExp(`data-key="${key}"[^>]*>([^<]*)<`).exec(html)?.[1];

describe('chaos report page', () => {
  it('draws a lane per node with its reigns, the faults over the nodes they hit, and a summary equal to the report', () => {
    const records = cleanHistory();
    const report = checkHistory(records);
    const html = renderReportHtml(records, report);
    assert.equal(count(html, /<g class="lane" data-node="n\d">/g), 5);
    // n5 led term 1 from the start; n3 leads term 2 from 3 s: one leader segment each.
    assert.match(html, /<g class="lane" data-node="n5">[^]*?class="role role-leader"[^]*?n5 leader, term 1/);
    assert.match(html, /<g class="lane" data-node="n3">[^]*?class="role role-leader"[^]*?n3 leader, term 2/);
    // The partition shades every lane, each band naming both sides.
    assert.equal(count(html, /class="fault fault-partition"/g), 5);
    // On the node lanes (below the cluster lane, whose top is at y=26), one band each.
    const ys = [...html.matchAll(/class="fault fault-partition" x="[^"]*" y="([^"]*)"/g)].map((m) => Number(m[1]));
    assert.deepEqual(ys, [52, 78, 104, 130, 156]);
    assert.match(html, /<title>partition \{n4,n5\} \| \{n1,n2,n3\}<\/title>/);
    assert.equal(count(html, /class="leaderless"/g), report.leaderless.length);
    assert.equal(cell(html, 'leader changes'), String(report.leaderChanges));
    assert.equal(cell(html, 'sampling rounds'), String(report.rounds));
    assert.equal(cell(html, 'faults injected'), 'partition 1');
    for (const kind of VIOLATION_KINDS) assert.equal(cell(html, kind), '0');
    assert.match(html, /id="verdict">every check holds</);
    assert.equal(count(html, /class="violation"/g), 0);
  });

  it('marks each violation on the timeline and lists it, escaped', () => {
    const records = [...cleanHistory(), event(17_000, 'n1<script>', 'member-dead', 'n2')].sort((a, b) => a.t - b.t);
    const report = checkHistory(records);
    const html = renderReportHtml(records, report);
    assert.equal(report.violations.length, 1);
    assert.equal(count(html, /<g class="violation">/g), 1);
    assert.equal(cell(html, 'false-dead'), '1');
    assert.match(html, /<ol id="violations"><li>false-dead at 17s: n1&lt;script&gt; declared n2 dead/);
    assert.match(html, /id="verdict">1 violation\(s\)</);
  });

  it('needs nothing from the network and runs no script', () => {
    const html = renderReportHtml(cleanHistory(), checkHistory(cleanHistory()));
    assert.doesNotMatch(html, /<script|\b(src|href)=/i);
  });
});
