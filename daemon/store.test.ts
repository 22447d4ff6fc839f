/**
 * writeFileDurably and the state store on an ordinary disk. Failures that need a full or
 * read-only file system are in store-disk.test.ts; here a write fails the ways a plain
 * directory allows.
 */
import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { bullyPersistedCodec, INITIAL_BULLY_STATE } from '../protocols/bully/index.js';
import { createStateStore, writeFileDurably } from './store.js';
import { testDirs } from './test-dirs.js';

const dirs = testDirs('store');
const root = dirs.root;
const freshDir = dirs.fresh;

/** The assertion every failed write must pass: PersistError naming the file and its cause's errno code. */
function assertPersistError(err: unknown, path: string, code: string): true {
  const e = err as Error & { path?: string; code?: string | null; exitCode?: number; cause?: unknown };
  assert.equal(e.name, 'PersistError');
  assert.equal(e.path, path);
  assert.equal(e.code, code);
  assert.equal(e.exitCode, 2);
  assert.ok(e.message.includes(path), e.message);
  assert.ok(e.message.includes(code), `names the cause: ${e.message}`);
  assert.equal((e.cause as { code?: string }).code, code);
  return true;
}

describe('writeFileDurably', () => {
  it('replaces the file with the whole content, mode 0600, and leaves nothing else', () => {
    const dir = freshDir();
    const path = join(dir, 'state.json');
    writeFileSync(path, 'old\n');
    const content = 'x'.repeat(300_000) + '\n';
    writeFileDurably(path, content);
    assert.equal(readFileSync(path, 'utf8'), content);
    assert.equal(statSync(path).mode & 0o777, 0o600);
    assert.deepEqual(readdirSync(dir), ['state.json']);
  });

  it('a failed rename (a directory where the file goes) is PersistError naming the file, and removes its temporary file', () => {
    const dir = freshDir();
    const path = join(dir, 'state.json');
    mkdirSync(path);
    writeFileSync(join(path, 'keep'), 'x');
    assert.throws(() => writeFileDurably(path, '{}\n'), (err) => assertPersistError(err, path, 'EISDIR'));
    assert.deepEqual(readdirSync(dir), ['state.json'], 'no state.json.tmp-<pid> left behind');
  });

  it('a directory that does not exist is PersistError naming the file', () => {
    const path = join(root, 'missing-dir', 'state.json');
    assert.throws(() => writeFileDurably(path, '{}\n'), (err) => assertPersistError(err, path, 'ENOENT'));
  });

  it('the state store reports a failed save the same way, and its file keeps the last state', () => {
    const dir = freshDir();
    const store = createStateStore(dir, 'bully-state.json', bullyPersistedCodec);
    store.save({ ...INITIAL_BULLY_STATE, acceptedEpoch: 3, highestEpochSeen: 3 });
    // The tmp file's name taken by a directory: the open fails, as on a file system that refuses writes.
    mkdirSync(`${store.path}.tmp-${process.pid}`);
    assert.throws(() => store.save({ ...INITIAL_BULLY_STATE, acceptedEpoch: 4, highestEpochSeen: 4 }), (err) => assertPersistError(err, store.path, 'EISDIR'));
    assert.equal(store.load()?.acceptedEpoch, 3);
  });
});
