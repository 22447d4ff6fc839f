/**
 * UI state and what each key does to it. Pure: keys come in with the member ids in display order;
 * anything that must reach a daemon or the process leaves as an effect.
 */
import type { NodeRef } from '../daemon/api/types.js';
import type { NodeId, Role } from '../protocols/types.js';

export type PendingCommand =
  | { kind: 'transfer'; to: NodeRef }
  /** `relayed`: asked of a follower, which relays it to `leader` (as it does a transfer). */
  | { kind: 'resign'; leader: NodeRef; relayed: boolean }
  | { kind: 'elect' };

export type Mode = 'normal' | 'confirm' | 'filter' | 'help';

export interface UiMessage {
  text: string;
  tone: 'info' | 'good' | 'bad';
}

export interface UiState {
  viewIndex: number;
  viewCount: number;
  /** Follows the member, not the row, as the order changes. */
  selectedId: NodeId | null;
  /** First member row shown (scrolling). */
  membersFirst: number;
  mode: Mode;
  pending: PendingCommand | null;
  filter: string;
  filterDraft: string;
  paused: boolean;
  /** Log lines scrolled back from the newest; 0 follows new lines. */
  logBack: number;
  message: UiMessage | null;
}

export type UiEffect = { kind: 'quit' } | { kind: 'command'; command: PendingCommand } | { kind: 'view-changed' };

/** What blessed reports for a key press: `name` (`up`, `tab`, `q`), the typed character, modifiers. */
export interface KeyPress {
  name?: string;
  ch?: string;
  ctrl?: boolean;
}

export interface KeyContext {
  /** Members in display order. */
  members: readonly NodeRef[];
  /** Lines the log panel shows at once, for paging. */
  logRows: number;
  /** The viewed daemon; null before its first snapshot. */
  viewed: ViewedNode | null;
}

/** Who the viewed daemon is, its role and the leader it knows: what `r` needs to ask the right question. */
export interface ViewedNode {
  self: NodeRef;
  role: Role;
  leader: NodeRef | null;
}

export function initialUi(viewCount: number): UiState {
  return {
    viewIndex: 0,
    viewCount: Math.max(1, viewCount),
    selectedId: null,
    membersFirst: 0,
    mode: 'normal',
    pending: null,
    filter: '',
    filterDraft: '',
    paused: false,
    logBack: 0,
    message: null,
  };
}

/** The selected row: the selected member's, else the first. -1 when there are no members. */
export function selectedIndex(ui: UiState, members: readonly NodeRef[]): number {
  if (members.length === 0) return -1;
  const at = ui.selectedId === null ? -1 : members.findIndex((m) => m.id === ui.selectedId);
  return at === -1 ? 0 : at;
}

export function handleKey(ui: UiState, key: KeyPress, ctx: KeyContext): { ui: UiState; effect: UiEffect | null } {
  if (key.ctrl && key.name === 'c') return { ui, effect: { kind: 'quit' } };
  switch (ui.mode) {
    case 'help':
      return { ui: { ...ui, mode: 'normal' }, effect: null };
    case 'confirm':
      return confirmKey(ui, key);
    case 'filter':
      return { ui: filterKey(ui, key), effect: null };
    case 'normal':
      return normalKey(ui, key, ctx);
  }
}

function normalKey(ui: UiState, key: KeyPress, ctx: KeyContext): { ui: UiState; effect: UiEffect | null } {
  const none = (next: UiState) => ({ ui: next, effect: null });
  switch (key.name) {
    case 'up':
    case 'down':
      return none(moveSelection(ui, ctx.members, key.name === 'up' ? -1 : 1));
    case 'home':
      return none({ ...ui, selectedId: ctx.members[0]?.id ?? null });
    case 'end':
      return none({ ...ui, selectedId: ctx.members[ctx.members.length - 1]?.id ?? null });
    case 'pageup':
      return none({ ...ui, logBack: ui.logBack + Math.max(1, ctx.logRows - 1) });
    case 'pagedown':
      return none({ ...ui, logBack: Math.max(0, ui.logBack - Math.max(1, ctx.logRows - 1)) });
    case 'tab':
      return {
        ui: { ...ui, viewIndex: (ui.viewIndex + 1) % ui.viewCount, selectedId: null, membersFirst: 0, logBack: 0, message: null },
        effect: { kind: 'view-changed' },
      };
    case 'escape':
      return none({ ...ui, message: null });
  }
  switch (key.ch) {
    case 'q':
      return { ui, effect: { kind: 'quit' } };
    case '?':
      return none({ ...ui, mode: 'help' });
    case 'p':
      return none({ ...ui, paused: !ui.paused });
    case '/':
      return none({ ...ui, mode: 'filter', filterDraft: ui.filter });
    case 'r': {
      // The viewed daemon itself when it leads; else the leader it knows, to which it relays the request.
      const viewed = ctx.viewed;
      const leader = viewed && (viewed.role === 'leader' ? viewed.self : viewed.leader);
      if (!viewed || !leader) return none({ ...ui, message: { text: 'no known leader to resign', tone: 'bad' } });
      return none(ask(ui, { kind: 'resign', leader, relayed: leader.id !== viewed.self.id }));
    }
    case 'e':
      return none(ask(ui, { kind: 'elect' }));
    case 't': {
      const at = selectedIndex(ui, ctx.members);
      if (at === -1) return none({ ...ui, message: { text: 'no member to transfer leadership to', tone: 'bad' } });
      return none(ask(ui, { kind: 'transfer', to: ctx.members[at]! }));
    }
    case 'k':
      return none(moveSelection(ui, ctx.members, -1));
    case 'j':
      return none(moveSelection(ui, ctx.members, 1));
    default:
      return none(ui);
  }
}

function ask(ui: UiState, command: PendingCommand): UiState {
  return { ...ui, mode: 'confirm', pending: command, message: null };
}

function confirmKey(ui: UiState, key: KeyPress): { ui: UiState; effect: UiEffect | null } {
  const back: UiState = { ...ui, mode: 'normal', pending: null };
  if (key.ch === 'y' || key.ch === 'Y') {
    return ui.pending ? { ui: { ...back, message: { text: `${describeCommand(ui.pending)}: sent…`, tone: 'info' } }, effect: { kind: 'command', command: ui.pending } } : { ui: back, effect: null };
  }
  if (key.ch === 'n' || key.ch === 'N' || key.name === 'escape') return { ui: { ...back, message: { text: 'cancelled', tone: 'info' } }, effect: null };
  // Any other key keeps the question open: a stray key must not confirm nor lose it.
  return { ui, effect: null };
}

function filterKey(ui: UiState, key: KeyPress): UiState {
  if (key.name === 'enter' || key.name === 'return') return { ...ui, mode: 'normal', filter: ui.filterDraft.trim(), logBack: 0 };
  if (key.name === 'escape') return { ...ui, mode: 'normal', filterDraft: ui.filter };
  if (key.name === 'backspace') return { ...ui, filterDraft: ui.filterDraft.slice(0, -1) };
  if (key.ch && key.ch.length === 1 && key.ch >= ' ' && key.ch !== '\x7f') return { ...ui, filterDraft: ui.filterDraft + key.ch };
  return ui;
}

function moveSelection(ui: UiState, members: readonly NodeRef[], delta: number): UiState {
  if (members.length === 0) return ui;
  const at = Math.min(members.length - 1, Math.max(0, selectedIndex(ui, members) + delta));
  return { ...ui, selectedId: members[at]!.id };
}

export function describeCommand(command: PendingCommand): string {
  switch (command.kind) {
    case 'transfer':
      return `transfer leadership to ${command.to.name}`;
    case 'resign':
      return command.relayed ? `ask the leader (${command.leader.name}) to resign` : 'resign leadership';
    case 'elect':
      return 'start an election';
  }
}

/** The footer after a command answered: its detail, or the daemon's error code and reason. */
export function commandAnswered(ui: UiState, command: PendingCommand, result: { ok: true; detail: string } | { ok: false; code: string; message: string }): UiState {
  const text = result.ok ? `${describeCommand(command)}: ok (${result.detail})` : `${describeCommand(command)} failed: ${result.code}: ${result.message}`;
  return { ...ui, message: { text, tone: result.ok ? 'good' : 'bad' } };
}
