import { test } from 'node:test';
import assert from 'node:assert/strict';
import { commandAnswered, describeCommand, handleKey, initialUi, type KeyContext, type UiState } from './ui.js';

const alpha = { id: 'id-a', name: 'alpha' };
const bravo = { id: 'id-b', name: 'bravo' };

/** Viewing alpha, which leads. */
const ctx: KeyContext = {
  members: [alpha, bravo, { id: 'id-c', name: 'charlie' }],
  logRows: 5,
  viewed: { self: alpha, role: 'leader', leader: alpha },
};

function press(ui: UiState, ...keys: string[]) {
  return pressIn(ctx, ui, ...keys);
}

function pressIn(context: KeyContext, ui: UiState, ...keys: string[]) {
  let effect = null;
  for (const k of keys) {
    const key = k.length === 1 ? { ch: k, name: k } : { name: k };
    ({ ui, effect } = handleKey(ui, key, context));
  }
  return { ui, effect };
}

test('↓ then t asks to transfer to the selected member; y sends exactly that command', () => {
  const asked = press(initialUi(1), 'down', 't');
  assert.equal(asked.ui.mode, 'confirm');
  assert.equal(asked.effect, null);
  const sent = press(asked.ui, 'y');
  assert.deepEqual(sent.effect, { kind: 'command', command: { kind: 'transfer', to: { id: 'id-b', name: 'bravo' } } });
  assert.equal(sent.ui.mode, 'normal');
});

test('n or Esc cancels a pending command without sending it; other keys keep the question', () => {
  const asked = press(initialUi(1), 'r');
  assert.equal(press(asked.ui, 'x').ui.mode, 'confirm');
  for (const key of ['n', 'escape']) {
    const { ui, effect } = press(asked.ui, key);
    assert.equal(effect, null);
    assert.equal(ui.mode, 'normal');
    assert.equal(ui.pending, null);
  }
});

test('r and e ask to resign and to elect', () => {
  assert.deepEqual(press(initialUi(1), 'r', 'y').effect, { kind: 'command', command: { kind: 'resign', leader: alpha, relayed: false } });
  assert.deepEqual(press(initialUi(1), 'e', 'y').effect, { kind: 'command', command: { kind: 'elect' } });
});

test('r on the leader asks it to resign; on a follower it asks for the leader it knows, relayed', () => {
  const onLeader = press(initialUi(1), 'r').ui.pending!;
  assert.equal(describeCommand(onLeader), 'resign leadership');
  const follower: KeyContext = { ...ctx, viewed: { self: bravo, role: 'follower', leader: alpha } };
  const asked = pressIn(follower, initialUi(1), 'r');
  assert.equal(asked.ui.mode, 'confirm');
  assert.equal(describeCommand(asked.ui.pending!), 'ask the leader (alpha) to resign');
  const sent = pressIn(follower, asked.ui, 'y');
  assert.deepEqual(sent.effect, { kind: 'command', command: { kind: 'resign', leader: alpha, relayed: true } });
  // The answer names the same request and carries the daemon's detail.
  const answered = commandAnswered(sent.ui, asked.ui.pending!, { ok: true, detail: 'alpha resigned; bravo leads, term 5' });
  assert.equal(answered.message?.text, 'ask the leader (alpha) to resign: ok (alpha resigned; bravo leads, term 5)');
});

test('r with no known leader says so instead of asking', () => {
  for (const viewed of [null, { self: bravo, role: 'follower' as const, leader: null }]) {
    const { ui, effect } = pressIn({ ...ctx, viewed }, initialUi(1), 'r');
    assert.equal(ui.mode, 'normal');
    assert.equal(effect, null);
    assert.equal(ui.message?.tone, 'bad');
  }
});

test('the selection stays on the ends of the list', () => {
  assert.equal(press(initialUi(1), 'up').ui.selectedId, 'id-a');
  assert.equal(press(initialUi(1), 'down', 'down', 'down', 'down').ui.selectedId, 'id-c');
});

test('/ edits a filter that Enter applies and Esc abandons', () => {
  const typed = press(initialUi(1), '/', 'l', 'e', 'a', 'd', 'x', 'backspace');
  assert.equal(typed.ui.filterDraft, 'lead');
  // q is text while typing a filter, not quit.
  assert.equal(press(typed.ui, 'q').effect, null);
  assert.equal(press(typed.ui, 'enter').ui.filter, 'lead');
  assert.equal(press(typed.ui, 'escape').ui.filter, '');
});

test('Tab cycles the daemon views and resets the selection', () => {
  let ui: UiState = { ...initialUi(3), selectedId: 'id-b' };
  const seen: number[] = [];
  for (let i = 0; i < 4; i++) {
    const r = press(ui, 'tab');
    assert.deepEqual(r.effect, { kind: 'view-changed' });
    ui = r.ui;
    seen.push(ui.viewIndex);
  }
  assert.deepEqual(seen, [1, 2, 0, 1]);
  assert.equal(ui.selectedId, null);
});

test('q and Ctrl-C quit; Ctrl-C even mid-question', () => {
  assert.deepEqual(press(initialUi(1), 'q').effect, { kind: 'quit' });
  const asked = press(initialUi(1), 't').ui;
  assert.deepEqual(handleKey(asked, { name: 'c', ctrl: true }, ctx).effect, { kind: 'quit' });
});

test('p toggles pause, ? opens help and any key closes it', () => {
  assert.equal(press(initialUi(1), 'p').ui.paused, true);
  assert.equal(press(initialUi(1), 'p', 'p').ui.paused, false);
  const help = press(initialUi(1), '?').ui;
  assert.equal(help.mode, 'help');
  assert.equal(press(help, 'z').ui.mode, 'normal');
});

test('t with no members says so instead of asking', () => {
  const { ui } = handleKey(initialUi(1), { ch: 't' }, { ...ctx, members: [] });
  assert.equal(ui.mode, 'normal');
  assert.equal(ui.message?.tone, 'bad');
});

test('a command answer shows its detail, a refusal its code', () => {
  const command = { kind: 'transfer', to: { id: 'id-b', name: 'bravo' } } as const;
  assert.equal(commandAnswered(initialUi(1), command, { ok: true, detail: 'done' }).message?.tone, 'good');
  const refused = commandAnswered(initialUi(1), command, { ok: false, code: 'not-leader', message: 'ask the leader' });
  assert.equal(refused.message?.tone, 'bad');
  assert.match(refused.message?.text ?? '', /not-leader/);
});
