/** The unbordered lines: header (two lines), the banner (split brain, bootstrap wait, open cluster) and the footer. */
import blessed from 'blessed';
import type { Layout } from '../layout.js';
import type { Banner, ScreenModel } from '../view-model.js';
import { colourDepth, place, setContentIfChanged, toTags } from './tags.js';

/** The whole banner line takes its tone's colours, not only its text. */
const BANNER_STYLES: Readonly<Record<Banner['tone'], { fg: string; bg: string; bold: boolean }>> = {
  alarm: { fg: 'white', bg: 'red', bold: true },
  warn: { fg: 'yellow', bg: 'default', bold: true },
};

export class StatusLines {
  private readonly header: blessed.Widgets.BoxElement;
  private readonly banner: blessed.Widgets.BoxElement;
  private readonly footer: blessed.Widgets.BoxElement;
  private readonly depth: number;

  constructor(screen: blessed.Widgets.Screen) {
    this.depth = colourDepth(screen);
    this.header = blessed.box({ parent: screen, tags: true, wrap: false });
    this.banner = blessed.box({ parent: screen, tags: true, wrap: false, style: { ...BANNER_STYLES.alarm } });
    this.footer = blessed.box({ parent: screen, tags: true, wrap: false });
  }

  draw(layout: Layout, model: ScreenModel): void {
    place(this.header, layout.header);
    setContentIfChanged(this.header, model.header.map((line) => toTags(line, this.depth)).join('\n'));
    place(this.banner, layout.banner);
    if (model.banner) Object.assign(this.banner.style, BANNER_STYLES[model.banner.tone]);
    setContentIfChanged(this.banner, model.banner === null ? '' : ` ${blessed.escape(model.banner.text)}`);
    place(this.footer, layout.footer);
    setContentIfChanged(this.footer, toTags(model.footer, this.depth));
  }
}
