import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync, mkdirSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { loadOrCreateIdentity } from './identity.js';

const root = mkdtempSync(join(tmpdir(), 'conclave-identity-test-'));
after(() => rmSync(root, { recursive: true, force: true }));

async function rejectsWith(promise: Promise<unknown>, name: string): Promise<Error> {
  try {
    await promise;
  } catch (err) {
    assert.equal((err as Error).name, name);
    return err as Error;
  }
  assert.fail(`expected ${name}`);
}

describe('loadOrCreateIdentity', () => {
  it('creates an Ed25519 key in peer.key (0600) inside a new data dir (0700)', async () => {
    const dataDir = join(root, 'new', 'nested');
    const identity = await loadOrCreateIdentity(dataDir);
    assert.equal(identity.created, true);
    assert.equal(identity.privateKey.type, 'Ed25519');
    assert.match(identity.peerId, /^12D3KooW/);
    assert.equal(statSync(join(dataDir, 'peer.key')).mode & 0o777, 0o600);
    assert.equal(statSync(dataDir).mode & 0o777, 0o700);
  });

  it('reuses the stored key: the same peer id on every later call', async () => {
    const dataDir = join(root, 'reuse');
    const first = await loadOrCreateIdentity(dataDir);
    const stored = readFileSync(join(dataDir, 'peer.key'));
    const second = await loadOrCreateIdentity(dataDir);
    assert.equal(second.created, false);
    assert.equal(second.peerId, first.peerId);
    assert.deepEqual(readFileSync(join(dataDir, 'peer.key')), stored);
  });

  it('a corrupt key file is an IdentityError naming the file (exit 2), and the file is left untouched', async () => {
    for (const [name, content] of [['garbage', 'not a key'], ['bad-protobuf', Buffer.from('hello world').toString('base64')]] as const) {
      const dataDir = join(root, name);
      mkdirSync(dataDir, { recursive: true });
      const path = join(dataDir, 'peer.key');
      writeFileSync(path, content, { mode: 0o600 });
      const err = await rejectsWith(loadOrCreateIdentity(dataDir), 'IdentityError');
      assert.equal((err as Error & { exitCode: number }).exitCode, 2);
      assert.equal((err as Error & { path: string }).path, path);
      assert.ok(err.message.includes(path));
      assert.equal(readFileSync(path, 'utf8'), content);
    }
  });

  it('an unreadable key file is an IdentityError, not a new identity', async (t) => {
    if (process.getuid?.() === 0) return t.skip('root reads any file');
    const dataDir = join(root, 'unreadable');
    const first = await loadOrCreateIdentity(dataDir);
    chmodSync(join(dataDir, 'peer.key'), 0o000);
    await rejectsWith(loadOrCreateIdentity(dataDir), 'IdentityError');
    chmodSync(join(dataDir, 'peer.key'), 0o600);
    assert.equal((await loadOrCreateIdentity(dataDir)).peerId, first.peerId);
  });

  it('a directory in place of peer.key is an IdentityError', async () => {
    const dataDir = join(root, 'dir-key');
    mkdirSync(join(dataDir, 'peer.key'), { recursive: true });
    await rejectsWith(loadOrCreateIdentity(dataDir), 'IdentityError');
  });
});
