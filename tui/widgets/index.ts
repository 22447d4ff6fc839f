/** All widgets of the dashboard; `draw` renders one ScreenModel into them (no decisions here). */
import type blessed from 'blessed';
import type { Layout } from '../layout.js';
import type { ScreenModel } from '../view-model.js';
import { HelpOverlay } from './help.js';
import { MembersTable } from './members.js';
import { Panel } from './panel.js';
import { StatusLines } from './status-lines.js';

export class Widgets {
  private readonly lines: StatusLines;
  private readonly members: MembersTable;
  private readonly elections: Panel;
  private readonly chart: Panel;
  private readonly timeline: Panel;
  private readonly log: Panel;
  private readonly help: HelpOverlay;

  constructor(screen: blessed.Widgets.Screen) {
    this.lines = new StatusLines(screen);
    this.members = new MembersTable(screen);
    this.elections = new Panel(screen);
    this.chart = new Panel(screen);
    this.timeline = new Panel(screen);
    this.log = new Panel(screen);
    this.help = new HelpOverlay(screen);
  }

  draw(layout: Layout, model: ScreenModel): void {
    this.lines.draw(layout, model);
    this.members.draw(layout.members, model);
    this.elections.draw(layout.elections, model.electionsTitle, model.electionLines);
    this.chart.draw(layout.chart, model.chartTitle, model.chartLines);
    this.timeline.draw(layout.timeline, model.timelineTitle, model.timeline);
    this.log.draw(layout.log, model.logTitle, model.log);
    this.help.draw(model.help, layout.header.width, layout.footer.top + 1);
  }
}
