/** The unbordered lines: header (two lines), the split-brain banner and the footer. */
import blessed from 'blessed';
import type { Layout } from '../layout.js';
import type { ScreenModel } from '../view-model.js';
import { place, setContentIfChanged, toTags } from './tags.js';

export class StatusLines {
  private readonly header: blessed.Widgets.BoxElement;
  private readonly banner: blessed.Widgets.BoxElement;
  private readonly footer: blessed.Widgets.BoxElement;

  constructor(screen: blessed.Widgets.Screen) {
    this.header = blessed.box({ parent: screen, tags: true, wrap: false });
    this.banner = blessed.box({ parent: screen, tags: true, wrap: false, style: { fg: 'white', bg: 'red', bold: true } });
    this.footer = blessed.box({ parent: screen, tags: true, wrap: false });
  }

  draw(layout: Layout, model: ScreenModel): void {
    place(this.header, layout.header);
    setContentIfChanged(this.header, model.header.map(toTags).join('\n'));
    place(this.banner, layout.banner);
    setContentIfChanged(this.banner, model.banner === null ? '' : ` ${blessed.escape(model.banner)}`);
    place(this.footer, layout.footer);
    setContentIfChanged(this.footer, toTags(model.footer));
  }
}
