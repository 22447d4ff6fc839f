/**
 * The dashboard as the CLI loads it, for `conclave tui` and for `conclave start --tui`, where it
 * becomes the opener runDaemon calls once the API is up: daemon/ outside the CLI never imports
 * tui/. Loaded on demand, so reporting commands never load blessed.
 */
import type { DashboardOpener } from '../daemon.js';
import type { LogRecord } from '../../shared/log-record.js';

/** Resolved from dist/daemon/cli/; a variable so the CLI builds and runs without the dashboard. */
const TUI_MODULE = '../../tui/main.js';

export interface TuiModule {
  runTui(opts: { apis: string[]; token: string | null; logRecords?: AsyncIterable<LogRecord> }): Promise<unknown>;
}

export async function loadTui(): Promise<TuiModule> {
  let loaded: Partial<TuiModule>;
  try {
    loaded = (await import(TUI_MODULE)) as Partial<TuiModule>;
  } catch (err) {
    throw new Error(`the dashboard is not available in this build (${(err as Error).message})`);
  }
  if (typeof loaded.runTui !== 'function') throw new Error('the dashboard module does not export runTui');
  return loaded as TuiModule;
}

/**
 * For `start --tui`: loads the dashboard now, so a build without it fails before the daemon
 * starts, and returns the opener that shows it attached to the daemon's own socket.
 */
export async function dashboardOpener(): Promise<DashboardOpener> {
  const tui = await loadTui();
  return async ({ api, logRecords }) => {
    await tui.runTui({ apis: [api], token: null, logRecords });
  };
}
