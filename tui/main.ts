/**
 * `conclave tui`: attaches to one or more daemons over the control API and shows the cluster as
 * each sees it; Tab cycles between them. Resolves when the user quits.
 */
import blessed from 'blessed';
import { createApiClient, type ApiClient } from '../daemon/api/client.js';
import type { LogRecord } from '../shared/log-record.js';
import type { CommandResult } from '../protocols/election.js';
import { daemonLogNote } from './daemon-log.js';
import { Dashboard } from './dashboard.js';
import { DaemonLink } from './link.js';
import type { LogTone } from './model.js';
import type { PendingCommand } from './ui.js';

export interface TuiOptions {
  /** API addresses, `HOST:PORT` or `unix:PATH`; one view each. */
  apis: string[];
  token: string | null;
  /** The log records of a daemon started with `--tui`, for the first view's log panel (see daemon-log.ts). */
  logRecords?: AsyncIterable<LogRecord>;
}

/** The dashboard's own requests must not hang the screen on a stuck daemon. */
const CLIENT_TIMEOUT_MS = 2000;

export async function runTui(opts: TuiOptions): Promise<void> {
  const apis = opts.apis.length > 0 ? opts.apis : ['127.0.0.1:7400'];
  const clients = apis.map((address) => createApiClient({ address, token: opts.token, timeoutMs: CLIENT_TIMEOUT_MS }));
  const screen = blessed.screen({ smartCSR: true, title: 'conclave', fullUnicode: true, autoPadding: false, warnings: false });
  const nowMs = () => Date.now();
  let quit!: () => void;
  const quitting = new Promise<void>((resolve) => (quit = resolve));
  const dashboard = new Dashboard({ screen, addresses: apis, nowMs, runCommand: (i, command) => runCommand(clients[i]!, command), onQuit: () => quit() });
  const links = clients.map((client, i) => new DaemonLink({ client, nowMs, dispatch: (action) => dashboard.dispatch(i, action) }));
  const logs = new AbortController();
  dashboard.start();
  for (const link of links) link.start();
  const note = (text: string, tone: LogTone) => dashboard.dispatch(0, { kind: 'note', nowMs: nowMs(), type: 'log', text, tone });
  if (opts.logRecords) void pumpLogRecords(opts.logRecords, logs.signal, note);
  // `npm start` ends the dashboard with SIGTERM when the cluster fails to come up: give the
  // terminal back as `q` does.
  const onSignal = () => quit();
  process.once('SIGTERM', onSignal);
  try {
    await quitting;
  } finally {
    process.off('SIGTERM', onSignal);
    logs.abort();
    dashboard.stop();
    await Promise.all(links.map((link) => link.stop()));
    screen.destroy();
  }
}

async function runCommand(client: ApiClient, command: PendingCommand): Promise<CommandResult> {
  switch (command.kind) {
    case 'transfer':
      return client.transfer(command.to.id);
    case 'resign':
      return client.resign();
    case 'elect':
      return client.elect();
  }
}

async function pumpLogRecords(records: AsyncIterable<LogRecord>, signal: AbortSignal, note: (text: string, tone: LogTone) => void): Promise<void> {
  try {
    for await (const record of records) {
      if (signal.aborted) return;
      const line = daemonLogNote(record);
      if (line) note(line.text, line.tone);
    }
  } catch (err) {
    note(`log source failed: ${err instanceof Error ? err.message : String(err)}`, 'bad');
  }
}
