/**
 * scripts/lib/api-probe.mjs, which `cluster.sh up` asks whether its nodes' APIs answer: `yes` for
 * an answer within the round even when it takes longer than a connection try (a daemon on a
 * starved machine), `slow` for a socket that accepts connections and never answers (so `up` says
 * the daemon runs but is starved, not that it did not answer), `no` when nothing listens or the
 * answer is not 200.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';

const PROBE = new URL('../../scripts/lib/api-probe.mjs', import.meta.url).pathname;

describe('scripts/lib/api-probe.mjs', () => {
  const dir = mkdtempSync(join(tmpdir(), 'conclave-probe-'));
  const servers: Server[] = [];
  const socket = (name: string) => join(dir, `${name}.sock`);

  /** A server on `name`'s socket that answers with `status` after `delayMs`, or never (null). */
  const serve = (name: string, status: number, delayMs: number | null) =>
    new Promise<void>((resolve) => {
      const server = createServer((_req, res) => {
        if (delayMs === null) return;
        setTimeout(() => res.writeHead(status, { 'content-type': 'application/json' }).end('{}'), delayMs);
      });
      servers.push(server);
      server.listen(socket(name), resolve);
    });

  before(async () => {
    await serve('quick', 200, 0);
    await serve('late', 200, 600);
    await serve('never', 200, null);
    await serve('refusing', 503, 0);
  });

  after(async () => {
    for (const server of servers) {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
    rmSync(dir, { recursive: true, force: true });
  });

  it('says yes, slow or no per socket, in the order given', async () => {
    const names = ['quick', 'late', 'never', 'missing', 'refusing'];
    const { stdout } = await promisify(execFile)(process.execPath, [PROBE, ...names.map(socket)], { timeout: 10_000 });
    assert.deepEqual(stdout.trim().split('\n'), ['yes', 'yes', 'slow', 'no', 'no']);
  });
});
