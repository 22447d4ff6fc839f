/** A bordered box of tagged lines with a label: the chart, the timeline and the event log. */
import blessed from 'blessed';
import type { Rect } from '../layout.js';
import type { Segment } from '../view-model.js';
import { place, setContentIfChanged, setLabelIfChanged, toTags } from './tags.js';

export class Panel {
  readonly box: blessed.Widgets.BoxElement;

  constructor(screen: blessed.Widgets.Screen) {
    this.box = blessed.box({
      parent: screen,
      tags: true,
      border: { type: 'line' },
      style: { border: { fg: 'gray' }, label: { fg: 'cyan' } },
      wrap: false,
    });
  }

  draw(rect: Rect, label: string, lines: readonly Segment[][]): void {
    place(this.box, rect);
    setLabelIfChanged(this.box, label);
    setContentIfChanged(this.box, lines.map(toTags).join('\n'));
  }
}
