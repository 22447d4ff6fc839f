/** An API server over a FakeControlSource (testing.ts) on a fresh Unix socket, optionally on TCP too: what the client, CLI and route tests talk to. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseHostPort } from '../config/addresses.js';
import { startApiServer, type ApiServer } from './server.js';
import { FakeControlSource } from './testing.js';

export interface FakeDaemon {
  source: FakeControlSource;
  server: ApiServer;
  /** `unix:PATH`, for createApiClient, Conclave and `--api`. */
  api: string;
  socketPath: string;
  /** The TCP port when started with `tcp: true`. */
  port: number | null;
  /** Closes the server and removes its socket's directory. */
  close(): Promise<void>;
}

export async function startFakeDaemon(opts: { tcp?: boolean; token?: string | null } = {}): Promise<FakeDaemon> {
  const dir = mkdtempSync(join(tmpdir(), 'conclave-fake-'));
  const socketPath = join(dir, 'api.sock');
  const source = new FakeControlSource();
  const server = await startApiServer({ source, socketPath, tcpListen: opts.tcp ? '127.0.0.1:0' : null, token: opts.token ?? null });
  return {
    source,
    server,
    api: `unix:${socketPath}`,
    socketPath,
    port: server.tcpAddress ? parseHostPort(server.tcpAddress)!.port : null,
    close: async () => {
      await server.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
