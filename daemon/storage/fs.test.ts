/**
 * The daemon's StoreFs on real files: what its descriptors are opened with, that a synced file's
 * write is made on the calling thread, and that a closed descriptor's number is never touched again.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { testDirs } from '../test-dirs.js';
import { nodeStoreFs } from './fs.js';

const dirs = testDirs('store-fs');

describe('nodeStoreFs', () => {
  it('closing a file twice closes its descriptor once: the number, handed to the next file opened, stays that file\'s', async () => {
    const dir = dirs.fresh();
    const a = await nodeStoreFs.open(join(dir, 'a'), 'wx');
    await a.close();
    const b = await nodeStoreFs.open(join(dir, 'b'), 'wx', { syncedWrites: true });
    await a.close();
    await assert.rejects(a.write(Buffer.from('x'), 0, 1, 0), { code: 'EBADF' });
    const data = Buffer.from('still open');
    assert.deepEqual(await b.write(data, 0, data.length, 0), { bytesWritten: data.length });
    await b.close();
    assert.equal(readFileSync(join(dir, 'b'), 'utf8'), 'still open');
  });

  it('a file opened with synced writes is written on the calling thread: the data is in the file when write() returns, before its promise is awaited; a failure rejects it', async () => {
    const dir = dirs.fresh();
    const path = join(dir, 's');
    const f = await nodeStoreFs.open(path, 'wx', { syncedWrites: true });
    const data = Buffer.from('durable now');
    const written = f.write(data, 0, data.length, 0);
    assert.equal(readFileSync(path, 'utf8'), 'durable now', 'written before any other turn of the event loop');
    assert.deepEqual(await written, { bytesWritten: data.length });
    // A failed write (here, more bytes than the buffer holds) is a rejection, not a throw.
    await assert.rejects(f.write(data, 0, data.length + 1, 0), { code: 'ERR_OUT_OF_RANGE' });
    await f.close();
  });

  it('`wx` refuses a file that exists; `r+` opens one to write at any position', async () => {
    const dir = dirs.fresh();
    const path = join(dir, 'f');
    const f = await nodeStoreFs.open(path, 'wx');
    await f.write(Buffer.from('abc'), 0, 3, 0);
    await f.close();
    await assert.rejects(nodeStoreFs.open(path, 'wx'), { code: 'EEXIST' });
    const g = await nodeStoreFs.open(path, 'r+');
    assert.equal(g.syncedWrites, false);
    await g.write(Buffer.from('Z'), 0, 1, 1);
    await g.truncate(2);
    await g.datasync();
    await g.close();
    assert.equal(readFileSync(path, 'utf8'), 'aZ');
  });
});
