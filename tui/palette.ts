/**
 * How the view-model's colours reach the terminal. Grey is the one that can vanish: blessed draws
 * it as colour 8, "bright black", which it folds into 0, plain black, on a terminal of 8 colours
 * (TERM=xterm, screen, linux, or tmux-256color without its terminfo entry): invisible on a dark
 * background. Some 16-colour themes (Solarized dark) paint colour 8 in the background colour too.
 * Only the 256-colour palette has a grey that stays grey on any background.
 */
import type { Colour } from './members-table.js';

/** Colour 244 of the 256-colour palette, #808080: readable on black and on white. */
const GREY_256 = 244;

/**
 * `colour` as blessed takes it, in a tag (`{244-fg}`) or a style: a name, or a palette index (a
 * number: blessed reads a style's string as a name). null: the terminal's default foreground.
 */
export function terminalColour(colour: Colour, depth: number): string | number | null {
  if (colour !== 'grey') return colour;
  return depth >= 256 ? GREY_256 : null;
}
