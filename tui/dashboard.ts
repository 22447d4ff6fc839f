/**
 * The dashboard: the views of every attached daemon, the UI state, keys, and the render loop that
 * draws view-model output into the widgets. It owns no sockets: links dispatch into it, and
 * leadership commands leave through `runCommand`.
 */
import type blessed from 'blessed';
import type { CommandResult } from '../protocols/election.js';
import { computeLayout } from './layout.js';
import type { DaemonView } from './model.js';
import { RenderLoop } from './render-loop.js';
import { initialView, reduce, type Action } from './state.js';
import { commandAnswered, handleKey, initialUi, type KeyPress, type PendingCommand, type UiState } from './ui.js';
import { bannerFor, buildScreen, electionRowsFor, type ScreenModel } from './view-model.js';
import { Widgets } from './widgets/index.js';

export interface DashboardInit {
  screen: blessed.Widgets.Screen;
  addresses: readonly string[];
  nowMs: () => number;
  /** Sends a leadership command to the daemon of view `viewIndex`. */
  runCommand: (viewIndex: number, command: PendingCommand) => Promise<CommandResult>;
  onQuit: () => void;
}

export class Dashboard {
  private views: DaemonView[];
  /** The views as they were when `p` paused the display; events still fold into `views`. */
  private frozen: { views: DaemonView[]; nowMs: number } | null = null;
  private ui: UiState;
  private readonly widgets: Widgets;
  private readonly loop: RenderLoop;
  private lastModel: ScreenModel | null = null;
  private readonly onKey = (ch: string | undefined, key: KeyPress | undefined) => this.key({ ...key, ch: ch ?? key?.ch });
  private readonly onResize = () => this.loop.request();

  constructor(private readonly init: DashboardInit) {
    this.views = init.addresses.map((address) => initialView(address));
    this.ui = initialUi(init.addresses.length);
    this.widgets = new Widgets(init.screen);
    this.loop = new RenderLoop({ render: () => this.render(), nowMs: init.nowMs });
  }

  start(): void {
    this.init.screen.on('keypress', this.onKey);
    this.init.screen.on('resize', this.onResize);
    this.loop.start();
  }

  stop(): void {
    this.loop.stop();
    this.init.screen.removeListener('keypress', this.onKey);
    this.init.screen.removeListener('resize', this.onResize);
  }

  get renders(): number {
    return this.loop.renders;
  }

  dispatch(viewIndex: number, action: Action): void {
    const view = this.views[viewIndex];
    if (!view) return;
    this.views[viewIndex] = reduce(view, action);
    if (viewIndex === this.ui.viewIndex && !this.frozen) this.loop.request();
  }

  key(key: KeyPress): void {
    // What the screen shows is what keys act on: the members in display order, the viewed node.
    const ctx = { members: this.lastModel?.memberOrder ?? [], logRows: this.layout().logRows, viewed: this.lastModel?.viewed ?? null };
    const { ui, effect } = handleKey(this.ui, key, ctx);
    this.setUi(ui);
    if (!effect) return;
    if (effect.kind === 'quit') this.init.onQuit();
    else if (effect.kind === 'command') this.command(this.ui.viewIndex, effect.command);
  }

  private setUi(ui: UiState): void {
    if (ui.paused !== this.ui.paused) this.frozen = ui.paused ? { views: [...this.views], nowMs: this.init.nowMs() } : null;
    this.ui = ui;
    this.loop.request();
  }

  private command(viewIndex: number, command: PendingCommand): void {
    const answer = (result: CommandResult) => this.setUi(commandAnswered(this.ui, command, result));
    this.init.runCommand(viewIndex, command).then(answer, (err: unknown) => {
      const e = err as { name?: string; code?: string; message?: string };
      answer({ ok: false, code: e.code ?? (e.name === 'ApiUnreachableError' ? 'unreachable' : (e.name ?? 'error')), message: e.message ?? String(err) });
    });
  }

  private layout() {
    const view = (this.frozen?.views ?? this.views)[this.ui.viewIndex]!;
    const nowMs = this.frozen?.nowMs ?? this.init.nowMs();
    const { cols, rows } = screenSize(this.init.screen);
    return computeLayout(cols, rows, bannerFor(view, nowMs) !== null, electionRowsFor(view));
  }

  private render(): void {
    const view = (this.frozen?.views ?? this.views)[this.ui.viewIndex]!;
    const nowMs = this.frozen?.nowMs ?? this.init.nowMs();
    const layout = this.layout();
    const model = buildScreen(view, this.ui, nowMs, layout);
    this.ui = { ...this.ui, membersFirst: model.membersFirst };
    this.lastModel = model;
    this.widgets.draw(layout, model);
    this.init.screen.render();
  }
}

function screenSize(screen: blessed.Widgets.Screen): { cols: number; rows: number } {
  return { cols: Number(screen.width) || 80, rows: Number(screen.height) || 24 };
}
