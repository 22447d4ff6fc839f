import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { incarnationForStart, loadIncarnation, MAX_INCARNATION } from './incarnation.js';

const root = mkdtempSync(join(tmpdir(), 'conclave-incarnation-test-'));
after(() => rmSync(root, { recursive: true, force: true }));
let serial = 0;

/** A fresh data dir, with an `incarnation` file holding `content` unless it is null. */
function dataDir(content: string | null): string {
  const dir = join(root, `d${serial++}`);
  mkdirSync(dir);
  if (content !== null) writeFileSync(join(dir, 'incarnation'), content);
  return dir;
}

const NOW_MS = 1_700_000_000_500;
const NOW_S = 1_700_000_000;

/** loadIncarnation (reading a pre-log-store data dir) refuses the file with DataFileError naming it, and leaves it as it was. */
function assertRefused(content: string): void {
  const dir = dataDir(content);
  const path = join(dir, 'incarnation');
  assert.throws(() => loadIncarnation(dir), (err: Error & { exitCode?: number; path?: string }) => {
    assert.equal(err.name, 'DataFileError', JSON.stringify(content));
    assert.equal(err.exitCode, 2);
    assert.equal(err.path, path);
    assert.ok(err.message.includes(path), err.message);
    return true;
  });
  assert.equal(readFileSync(path, 'utf8'), content, 'never replaced');
}

describe('incarnation across restarts', () => {
  it('a first start takes wall-clock seconds', () => {
    assert.equal(incarnationForStart(null, NOW_MS), NOW_S);
  });

  it('a stored value above the clock (refutations of the previous life) is outranked by one', () => {
    assert.equal(incarnationForStart(NOW_S + 40, NOW_MS), NOW_S + 41);
  });

  it('a stored value below the clock gives way to the clock; equal to it, one above', () => {
    assert.equal(incarnationForStart(12, NOW_MS), NOW_S);
    assert.equal(incarnationForStart(NOW_S, NOW_MS), NOW_S + 1);
    assert.equal(incarnationForStart(MAX_INCARNATION, NOW_MS), MAX_INCARNATION + 1, 'the maximum itself still has a successor');
  });
});

describe('the incarnation file of a data dir from before the log store', () => {
  it('a missing file reads as none; digits with or without the newline read as themselves', () => {
    assert.equal(loadIncarnation(dataDir(null)), null);
    assert.equal(loadIncarnation(dataDir('12\n')), 12);
    assert.equal(loadIncarnation(dataDir(`${NOW_S}`)), NOW_S);
  });

  it('garbage, an empty file, a negative, a float, other whitespace: DataFileError, file untouched', () => {
    for (const content of ['garbage\n', '', '\n', '-5\n', '1.5\n', '1e9\n', '0x10\n', ' 7\n', '7 \n', '7\r\n', '7\n\n', '7\n8\n']) {
      assertRefused(content);
    }
  });

  it('a value above the maximum (400 digits would parse to Infinity) is DataFileError', () => {
    assertRefused(`${'9'.repeat(400)}\n`);
    assertRefused(`${MAX_INCARNATION + 1}\n`);
  });

  it('an unreadable file (here a directory in its place, which even root cannot read) is DataFileError', () => {
    const dir = dataDir(null);
    mkdirSync(join(dir, 'incarnation'));
    assert.throws(() => loadIncarnation(dir), { name: 'DataFileError', path: join(dir, 'incarnation') });
  });
});
