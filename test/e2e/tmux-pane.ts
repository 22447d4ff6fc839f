/**
 * A dashboard in a tmux pane for end-to-end tests: its own tmux server (-L), so neither the
 * session nor its environment mixes with anyone else's; keys in with send-keys, the screen out
 * with capture-pane (NCURSES_NO_UTF8_ACS=1, so borders come out as box-drawing characters).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join } from 'node:path';

export const hasTmux = spawnSync('tmux', ['-V']).status === 0;

export class TmuxPane {
  private readonly socket: string;
  private readonly session: string;

  constructor(name: string) {
    this.socket = `conclave-${name}-${process.pid}`;
    this.session = `${name}-${process.pid}`;
  }

  /** Runs `command` in a detached session of the given size; fails the test if tmux cannot. */
  start(command: string, width: number, height: number): void {
    const started = this.tmux('new-session', '-d', '-s', this.session, '-x', String(width), '-y', String(height), `env NCURSES_NO_UTF8_ACS=1 LANG=C.UTF-8 ${command}`);
    assert.equal(started.status, 0, 'tmux new-session');
  }

  /** Ends the session and the server, and removes the socket file tmux leaves behind. */
  stop(): void {
    this.tmux('kill-session', '-t', this.session);
    this.tmux('kill-server');
    rmSync(join(process.env.TMUX_TMPDIR ?? '/tmp', `tmux-${process.getuid?.() ?? 0}`, this.socket), { force: true });
  }

  keys(...keys: string[]): void {
    this.tmux('send-keys', '-t', this.session, ...keys);
  }

  resize(width: number, height: number): void {
    this.tmux('resize-window', '-t', this.session, '-x', String(width), '-y', String(height));
  }

  /** Whether the session still runs (the dashboard has not exited). */
  alive(): boolean {
    return this.tmux('has-session', '-t', this.session).status === 0;
  }

  screen(): string {
    return this.tmux('capture-pane', '-p', '-t', this.session).stdout;
  }

  /** Polls the pane (every `everyMs`) until `predicate` holds; fails with the last screen after `timeoutMs`. */
  async waitForScreen(what: string, predicate: (text: string) => boolean, timeoutMs = 5000, everyMs = 50): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    let text = '';
    while (Date.now() < deadline) {
      text = this.screen();
      if (predicate(text)) return text;
      await new Promise((resolve) => setTimeout(resolve, everyMs));
    }
    assert.fail(`timed out after ${timeoutMs} ms waiting for ${what}; the screen was:\n${text}`);
  }

  /** Polls `predicate` (not the screen) and shows the screen if it never holds. */
  async waitFor(what: string, predicate: () => boolean, timeoutMs = 5000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (predicate()) return;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    assert.fail(`timed out waiting for ${what}; the screen was:\n${this.screen()}`);
  }

  private tmux(...args: string[]): { status: number | null; stdout: string } {
    const r = spawnSync('tmux', ['-L', this.socket, ...args], { encoding: 'utf8' });
    return { status: r.status, stdout: r.stdout };
  }
}
