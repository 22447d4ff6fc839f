import { test } from 'node:test';
import assert from 'node:assert/strict';
import { computeLayout, scrollWindow, type Layout, type Rect } from './layout.js';
import { columnsFor } from './members-table.js';

const PANELS = ['header', 'banner', 'members', 'elections', 'chart', 'timeline', 'log', 'footer'] as const;

function cellsOf(r: Rect): string[] {
  const out: string[] = [];
  for (let y = r.top; y < r.top + r.height; y++) for (let x = r.left; x < r.left + r.width; x++) out.push(`${x},${y}`);
  return out;
}

/** Every screen cell belongs to exactly one panel. */
function assertTiles(layout: Layout, cols: number, rows: number): void {
  const owner = new Map<string, string>();
  for (const name of PANELS) {
    const rect = layout[name];
    assert.ok(rect.left >= 0 && rect.top >= 0 && rect.left + rect.width <= cols && rect.top + rect.height <= rows, `${name} inside ${cols}x${rows}`);
    for (const cell of cellsOf(rect)) {
      assert.equal(owner.get(cell), undefined, `${name} overlaps ${owner.get(cell)} at ${cell}`);
      owner.set(cell, name);
    }
  }
  assert.equal(owner.size, cols * rows, `${cols}x${rows} fully used`);
}

test('80x24: panels tile the screen, with room for 7 members and 5 log lines', () => {
  const layout = computeLayout(80, 24, false);
  assertTiles(layout, 80, 24);
  assert.equal(layout.memberRows, 7);
  assert.equal(layout.logRows, 5);
  // The timeline must fit "hh:mm:ss name→name tN gap".
  assert.ok(layout.timeline.width >= 36);
});

test('80x24 with the split-brain banner: one line for it, taken from the members', () => {
  const layout = computeLayout(80, 24, true);
  assertTiles(layout, 80, 24);
  assert.equal(layout.banner.height, 1);
  assert.equal(layout.memberRows, 6);
});

test('any terminal size from 80x24 to 240x80 tiles without overlap', () => {
  for (const [cols, rows] of [[80, 24], [81, 25], [100, 30], [120, 40], [160, 50], [240, 80]] as const) {
    for (const banner of [false, true]) assertTiles(computeLayout(cols, rows, banner), cols, rows);
  }
});

test('the members table keeps name, state and role at 80 columns and adds the address when wider', () => {
  const at80 = columnsFor(78).map((c) => c.key);
  for (const key of ['name', 'state', 'role', 'follows', 'heard'] as const) assert.ok(at80.includes(key), key);
  assert.ok(columnsFor(118).some((c) => c.key === 'address'));
  for (let width = 30; width <= 200; width++) {
    const columns = columnsFor(width);
    assert.ok(columns.reduce((sum, c) => sum + c.width, 0) + columns.length - 1 <= width, `width ${width}`);
  }
});

test('the scroll window moves only as far as needed to keep the selection visible', () => {
  assert.equal(scrollWindow(100, 0, 10, 0), 0);
  assert.equal(scrollWindow(100, 10, 10, 0), 1);
  assert.equal(scrollWindow(100, 5, 10, 3), 3);
  assert.equal(scrollWindow(100, 2, 10, 3), 2);
  assert.equal(scrollWindow(100, 99, 10, 0), 90);
  assert.equal(scrollWindow(5, 4, 10, 3), 0);
});

test('raft: the elections box comes out of the members table, which keeps its minimum; at most 4 lines', () => {
  const without = computeLayout(80, 24, false);
  assert.equal(without.elections.height, 0);
  const two = computeLayout(80, 24, false, 2);
  assertTiles(two, 80, 24);
  assert.equal(two.elections.height, 4, 'two lines inside a border');
  assert.equal(two.memberRows, without.memberRows - 4);
  assert.equal(computeLayout(120, 60, false, 9).elections.height, 6, 'capped');
  const small = computeLayout(80, 18, true, 4);
  assertTiles(small, 80, 18);
  assert.ok(small.members.height >= 5, 'the members keep their minimum on a small screen');
  for (const [cols, rows] of [[80, 24], [100, 40], [240, 80]] as const) for (let n = 0; n <= 6; n++) assertTiles(computeLayout(cols, rows, n % 2 === 0, n), cols, rows);
});
