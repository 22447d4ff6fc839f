/** The `?` overlay: key and marker reference, centred over the dashboard. */
import blessed from 'blessed';
import { setContentIfChanged } from './tags.js';

export class HelpOverlay {
  private readonly box: blessed.Widgets.BoxElement;

  constructor(screen: blessed.Widgets.Screen) {
    this.box = blessed.box({
      parent: screen,
      top: 'center',
      left: 'center',
      width: 78,
      height: 20,
      border: { type: 'line' },
      label: ' help ',
      style: { border: { fg: 'cyan' } },
      hidden: true,
    });
  }

  draw(lines: readonly string[] | null, cols: number, rows: number): void {
    if (lines === null) {
      if (!this.box.hidden) this.box.hide();
      return;
    }
    this.box.width = Math.min(78, cols);
    this.box.height = Math.min(lines.length + 2, rows);
    setContentIfChanged(this.box, lines.join('\n'));
    this.box.setFront();
    if (this.box.hidden) this.box.show();
  }
}
