/** The members table: a bordered box with a column header and the visible rows, selection inverted. */
import blessed from 'blessed';
import type { Rect } from '../layout.js';
import type { ScreenModel } from '../view-model.js';
import { place, setContentIfChanged, setLabelIfChanged, toTags } from './tags.js';

export class MembersTable {
  private readonly box: blessed.Widgets.BoxElement;

  constructor(screen: blessed.Widgets.Screen) {
    this.box = blessed.box({
      parent: screen,
      tags: true,
      border: { type: 'line' },
      style: { border: { fg: 'gray' }, label: { fg: 'cyan' } },
      wrap: false,
    });
  }

  draw(rect: Rect, model: ScreenModel): void {
    place(this.box, rect);
    setLabelIfChanged(this.box, model.membersTitle);
    const lines = [`{bold}${blessed.escape(model.membersHeader)}{/bold}`];
    model.memberRows.forEach((row, i) => {
      const text = toTags(row.segments);
      lines.push(i === model.selectedRow ? `{inverse}${text}{/inverse}` : text);
    });
    if (model.memberRows.length === 0) lines.push('{gray-fg}no members yet{/gray-fg}');
    setContentIfChanged(this.box, lines.join('\n'));
  }
}
