/** A bordered box of tagged lines with a label: the chart, the timeline and the event log. */
import blessed from 'blessed';
import type { Rect } from '../layout.js';
import type { Segment } from '../view-model.js';
import { borderStyle, colourDepth, place, setContentIfChanged, setLabelIfChanged, toTags } from './tags.js';

export class Panel {
  readonly box: blessed.Widgets.BoxElement;
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

  draw(rect: Rect, label: string, lines: readonly Segment[][]): void {
    place(this.box, rect);
    setLabelIfChanged(this.box, label);
    setContentIfChanged(this.box, lines.map((line) => toTags(line, this.depth)).join('\n'));
  }
}
