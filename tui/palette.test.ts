import { test } from 'node:test';
import assert from 'node:assert/strict';
import blessed from 'blessed';
import { COLOURS } from './members-table.js';
import { terminalColour } from './palette.js';

/** blessed's own colour maths: names to palette indexes, and the fold onto a terminal's colours. */
const colors = (blessed as unknown as { colors: { colorNames: Record<string, number>; reduce(color: number, total: number): number } }).colors;

test('no colour the view-model uses is drawn black or bright black on 8-, 16- or 256-colour terminals', () => {
  for (const depth of [8, 16, 256]) {
    for (const colour of COLOURS) {
      const drawn = terminalColour(colour, depth);
      // null: the terminal's own foreground, visible by definition.
      if (drawn === null) continue;
      const index = typeof drawn === 'number' ? drawn : colors.colorNames[drawn];
      assert.ok(Number.isInteger(index), `${colour} -> ${drawn} is a colour blessed knows`);
      // 0 is black; 8, bright black, is the background in some themes (Solarized dark).
      const onScreen = colors.reduce(index, depth);
      assert.ok(onScreen !== 0 && onScreen !== 8, `${colour} is drawn as colour ${onScreen} on a ${depth}-colour terminal`);
    }
  }
});

test('grey is a true grey with 256 colours and the default foreground with fewer', () => {
  assert.equal(terminalColour('grey', 256), 244);
  assert.equal(terminalColour('grey', 8), null);
  assert.equal(terminalColour('grey', 16), null);
  assert.equal(terminalColour('red', 8), 'red');
});
