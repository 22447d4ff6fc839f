/** Segments from the view-model as blessed tag markup (text escaped, so `{` in a name stays text). */
import blessed from 'blessed';
import type { Rect } from '../layout.js';
import { terminalColour } from '../palette.js';
import type { Segment } from '../view-model.js';

/** `depth`: the terminal's colour count (see colourDepth), which decides how grey is drawn. */
export function toTags(segments: readonly Segment[], depth: number): string {
  let out = '';
  for (const s of segments) {
    let text = blessed.escape(s.text);
    const colour = s.colour === null ? null : terminalColour(s.colour, depth);
    if (colour) text = `{${colour}-fg}${text}{/${colour}-fg}`;
    if (s.bold) text = `{bold}${text}{/bold}`;
    out += text;
  }
  return out;
}

/** How many colours the terminal has, as blessed read it from terminfo; 8 when unknown (the safe guess). */
export function colourDepth(screen: blessed.Widgets.Screen): number {
  return Number((screen.tput as unknown as { colors?: number }).colors) || 8;
}

/** The border style of the panels: grey where the terminal has a visible grey, else its default colour. */
export function borderStyle(depth: number): { border: { fg: string | number }; label: { fg: string } } {
  return { border: { fg: terminalColour('grey', depth) ?? 'default' }, label: { fg: 'cyan' } };
}

const lastContent = new WeakMap<blessed.Widgets.BlessedElement, string>();
const lastRect = new WeakMap<blessed.Widgets.BlessedElement, string>();

/** Sets content only when it changed: blessed re-parses tags on every setContent. */
export function setContentIfChanged(element: blessed.Widgets.BlessedElement, content: string): void {
  if (lastContent.get(element) === content) return;
  lastContent.set(element, content);
  element.setContent(content);
}

/** Moves and sizes an element to `rect`, hiding it when it has no height. */
export function place(element: blessed.Widgets.BlessedElement, rect: Rect): void {
  const key = `${rect.top},${rect.left},${rect.width},${rect.height}`;
  if (lastRect.get(element) === key) return;
  lastRect.set(element, key);
  if (rect.height <= 0 || rect.width <= 0) {
    element.hide();
    return;
  }
  element.top = rect.top;
  element.left = rect.left;
  element.width = rect.width;
  element.height = rect.height;
  element.show();
}

/** Sets a bordered element's label only when it changed. */
export function setLabelIfChanged(element: blessed.Widgets.BoxElement, label: string): void {
  const key = `label:${label}`;
  if ((element as unknown as { tuiLabel?: string }).tuiLabel === key) return;
  (element as unknown as { tuiLabel?: string }).tuiLabel = key;
  element.setLabel(label);
}
