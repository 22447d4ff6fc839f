import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { formatSwarmKey, readSwarmKey, swarmKeyProblem } from './swarm-key.js';

const HEX = 'dffb7e3135399a8b1612b2aaca1c36a3a8ac2cd0cca51ceeb2ced87d308cac6d';
const dir = mkdtempSync(join(tmpdir(), 'conclave-psk-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function keyFile(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

describe('swarm key', () => {
  it('reads a pnet v1 key and returns the canonical form pnet parses (CRLF, upper case, trailing newline accepted)', async () => {
    const expected = `/key/swarm/psk/1.0.0/\n/base16/\n${HEX}`;
    assert.equal(new TextDecoder().decode(await readSwarmKey(keyFile('ok', `${expected}\n`))), expected);
    const crlf = keyFile('crlf', `/key/swarm/psk/1.0.0/\r\n/base16/\r\n${HEX.toUpperCase()}\r\n`);
    assert.equal(new TextDecoder().decode(await readSwarmKey(crlf)), expected);
  });

  it('rejects a wrong header, codec, key length or extra lines with SwarmKeyError naming the file', async () => {
    const bad = {
      header: `/key/swarm/psk/2.0.0/\n/base16/\n${HEX}\n`,
      codec: `/key/swarm/psk/1.0.0/\n/base64/\n${HEX}\n`,
      short: `/key/swarm/psk/1.0.0/\n/base16/\n${HEX.slice(2)}\n`,
      nothex: `/key/swarm/psk/1.0.0/\n/base16/\n${'z'.repeat(64)}\n`,
      extra: `/key/swarm/psk/1.0.0/\n/base16/\n${HEX}\nmore\n`,
      empty: '',
    };
    for (const [name, text] of Object.entries(bad)) {
      assert.notEqual(swarmKeyProblem(text), null, name);
      const path = keyFile(name, text);
      await assert.rejects(readSwarmKey(path), (err: Error & { path?: string; exitCode?: number }) => {
        assert.equal(err.name, 'SwarmKeyError', name);
        assert.equal(err.path, path);
        assert.equal(err.exitCode, 2);
        assert.ok(err.message.includes(path));
        return true;
      });
    }
  });

  it('formatSwarmKey writes 32 bytes in the form the reader accepts, and refuses any other length', async () => {
    const text = formatSwarmKey(Buffer.from(HEX, 'hex'));
    assert.equal(text, `/key/swarm/psk/1.0.0/\n/base16/\n${HEX}\n`);
    assert.equal(swarmKeyProblem(text), null);
    assert.equal(new TextDecoder().decode(await readSwarmKey(keyFile('formatted', text))), text.trimEnd());
    assert.throws(() => formatSwarmKey(new Uint8Array(31)), RangeError);
  });

  it('reports a missing file as SwarmKeyError', async () => {
    await assert.rejects(readSwarmKey(join(dir, 'absent')), { name: 'SwarmKeyError' });
  });
});
