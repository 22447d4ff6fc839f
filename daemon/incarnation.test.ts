import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { loadIncarnation, MAX_INCARNATION, nextIncarnation, saveIncarnation } from './incarnation.js';

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

/** nextIncarnation refuses the file with DataFileError naming it, and leaves it as it was. */
function assertRefused(content: string): void {
  const dir = dataDir(content);
  const path = join(dir, 'incarnation');
  assert.throws(() => nextIncarnation(dir, NOW_MS), (err: Error & { exitCode?: number; path?: string }) => {
    assert.equal(err.name, 'DataFileError', JSON.stringify(content));
    assert.equal(err.exitCode, 2);
    assert.equal(err.path, path);
    assert.ok(err.message.includes(path), err.message);
    return true;
  });
  assert.equal(readFileSync(path, 'utf8'), content, 'never replaced');
}

describe('incarnation across restarts', () => {
  it('a missing file is a first start: wall-clock seconds, saved before returning', () => {
    const dir = dataDir(null);
    assert.equal(loadIncarnation(dir), null);
    assert.equal(nextIncarnation(dir, NOW_MS), NOW_S);
    assert.equal(readFileSync(join(dir, 'incarnation'), 'utf8'), `${NOW_S}\n`);
  });

  it('a stored value above the clock (refutations of the previous life) is outranked by one', () => {
    const dir = dataDir(`${NOW_S + 40}\n`);
    assert.equal(nextIncarnation(dir, NOW_MS), NOW_S + 41);
    assert.equal(loadIncarnation(dir), NOW_S + 41);
  });

  it('a stored value below the clock gives way to the clock; a file without its newline is fine', () => {
    assert.equal(nextIncarnation(dataDir('12\n'), NOW_MS), NOW_S);
    assert.equal(nextIncarnation(dataDir(`${NOW_S}`), NOW_MS), NOW_S + 1);
    assert.equal(nextIncarnation(dataDir('0'), NOW_MS), NOW_S);
  });

  it('saveIncarnation writes what loadIncarnation reads', () => {
    const dir = dataDir(null);
    saveIncarnation(dir, 1234);
    assert.equal(loadIncarnation(dir), 1234);
  });

  it('garbage, an empty file, a negative, a float, other whitespace: DataFileError, file untouched', () => {
    for (const content of ['garbage\n', '', '\n', '-5\n', '1.5\n', '1e9\n', '0x10\n', ' 7\n', '7 \n', '7\r\n', '7\n\n', '7\n8\n']) {
      assertRefused(content);
    }
  });

  it('a value above the maximum (400 digits would parse to Infinity) is DataFileError', () => {
    assertRefused(`${'9'.repeat(400)}\n`);
    assertRefused(`${MAX_INCARNATION + 1}\n`);
    assert.equal(nextIncarnation(dataDir(`${MAX_INCARNATION}\n`), NOW_MS), MAX_INCARNATION + 1, 'the maximum itself still has a successor');
  });

  it('an unreadable file (here a directory in its place, which even root cannot read) is DataFileError', () => {
    const dir = dataDir(null);
    mkdirSync(join(dir, 'incarnation'));
    assert.throws(() => nextIncarnation(dir, NOW_MS), { name: 'DataFileError', path: join(dir, 'incarnation') });
  });
});
