/** The members table: a bordered box with a column header and the visible rows, selection inverted. */
import blessed from 'blessed';
import type { Rect } from '../layout.js';
import type { ScreenModel } from '../view-model.js';
import { borderStyle, colourDepth, place, setContentIfChanged, setLabelIfChanged, toTags } from './tags.js';

export class MembersTable {
  private readonly box: blessed.Widgets.BoxElement;
  private readonly depth: number;

  constructor(screen: blessed.Widgets.Screen) {
    this.depth = colourDepth(screen);
    this.box = blessed.box({
      parent: screen,
      tags: true,
      border: { type: 'line' },
      style: borderStyle(this.depth),
      wrap: false,
    });
  }

  draw(rect: Rect, model: ScreenModel): void {
    place(this.box, rect);
    setLabelIfChanged(this.box, model.membersTitle);
    const lines = [`{bold}${blessed.escape(model.membersHeader)}{/bold}`];
    model.memberRows.forEach((row, i) => {
      const text = toTags(row.segments, this.depth);
      lines.push(i === model.selectedRow ? `{inverse}${text}{/inverse}` : text);
    });
    if (model.memberRows.length === 0) lines.push(toTags([{ text: 'no members yet', colour: 'grey' }], this.depth));
    setContentIfChanged(this.box, lines.join('\n'));
  }
}
