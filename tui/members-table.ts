/**
 * The members table: which columns fit a width, the row order (leader first), state colours and
 * the marker on members that run another protocol or follow another leader.
 */
import { formatDuration, shortId } from '../shared/format.js';
import type { StatusResponse } from '../daemon/api/types.js';
import type { MemberState, NodeId } from '../protocols/types.js';
import type { MemberView } from './model.js';
import { cell, shortAddress } from './text.js';

/** Every colour the view-model uses; none is black, and palette.ts keeps grey off black too. */
export const COLOURS = ['green', 'yellow', 'red', 'grey', 'cyan', 'magenta'] as const;
export type Colour = (typeof COLOURS)[number];

export const STATE_COLOURS: Readonly<Record<MemberState, Colour>> = {
  alive: 'green',
  suspect: 'yellow',
  dead: 'red',
  left: 'grey',
};

/** A run of text and its colour (null: the terminal's default). */
export interface Segment {
  text: string;
  colour: Colour | null;
  bold?: boolean;
}

export interface MemberRow {
  id: NodeId;
  segments: Segment[];
  isLeader: boolean;
  /** Why the row carries a marker, for the help line; null when it has none. */
  markerReason: string | null;
}

type ColumnKey = 'marker' | 'name' | 'id' | 'state' | 'role' | 'term' | 'follows' | 'priority' | 'heard' | 'address';

interface Column {
  key: ColumnKey;
  label: string;
  width: number;
}

const COLUMNS: readonly Column[] = [
  { key: 'marker', label: '', width: 1 },
  { key: 'name', label: 'NAME', width: 12 },
  { key: 'id', label: 'ID', width: 8 },
  { key: 'state', label: 'STATE', width: 7 },
  { key: 'role', label: 'ROLE', width: 9 },
  { key: 'term', label: 'TERM', width: 5 },
  { key: 'follows', label: 'FOLLOWS', width: 10 },
  { key: 'priority', label: 'PRIO', width: 4 },
  { key: 'heard', label: 'HEARD', width: 6 },
  { key: 'address', label: 'ADDRESS', width: 0 },
];
/** Dropped first when the width runs short, in this order. */
const DROP_ORDER: readonly ColumnKey[] = ['address', 'priority', 'id', 'term', 'follows', 'role'];
const MIN_ADDRESS_WIDTH = 9;

/** The columns that fit `width`; the address column takes what is left. */
export function columnsFor(width: number): Column[] {
  let columns = COLUMNS.map((c) => ({ ...c }));
  const used = () => columns.reduce((sum, c) => sum + c.width, 0) + columns.length - 1;
  for (const key of DROP_ORDER) {
    const address = columns.find((c) => c.key === 'address');
    if (address) address.width = Math.max(0, width - used());
    if (used() <= width && (!address || address.width >= MIN_ADDRESS_WIDTH)) break;
    columns = columns.filter((c) => c.key !== key);
  }
  const name = columns.find((c) => c.key === 'name')!;
  if (used() > width) name.width = Math.max(4, name.width - (used() - width));
  return columns;
}

export function headerLine(width: number): string {
  return columnsFor(width)
    .map((c) => cell(c.label, c.width))
    .join(' ')
    .trimEnd();
}

/** The leader the viewed node follows first, then its own protocol's members, then the others; by name within each. */
export function orderMembers(members: Iterable<MemberView>, status: StatusResponse | null): MemberView[] {
  const leaderId = status?.leader?.id ?? null;
  const rank = (m: MemberView) => (m.id === leaderId ? 0 : status && m.protocol !== status.protocol ? 2 : 1);
  return [...members].sort((a, b) => rank(a) - rank(b) || a.name.localeCompare(b.name) || a.id.localeCompare(b.id));
}

export function markerOf(m: MemberView, status: StatusResponse | null, names: ReadonlyMap<NodeId, string>): { marker: string; reason: string | null } {
  if (!status) return { marker: ' ', reason: null };
  if (m.protocol !== status.protocol) return { marker: '~', reason: `${m.name} runs ${m.protocol}, this cluster ${status.protocol}` };
  if (m.state !== 'alive') return { marker: ' ', reason: null };
  const leaderId = status.leader?.id ?? null;
  if (m.role === 'leader' && m.id !== leaderId) return { marker: '!', reason: `${m.name} claims to lead` };
  if (m.leader !== null && leaderId !== null && m.leader !== leaderId) {
    return { marker: '!', reason: `${m.name} follows ${names.get(m.leader) ?? shortId(m.leader)}` };
  }
  return { marker: ' ', reason: null };
}

export function memberRows(members: Iterable<MemberView>, status: StatusResponse | null, nowMs: number, width: number): MemberRow[] {
  const ordered = orderMembers(members, status);
  const names = new Map(ordered.map((m) => [m.id, m.name]));
  const columns = columnsFor(width);
  const leaderId = status?.leader?.id ?? null;
  return ordered.map((m) => {
    const { marker, reason } = markerOf(m, status, names);
    const isLeader = m.id === leaderId;
    const values: Record<ColumnKey, Segment> = {
      marker: { text: marker, colour: marker === ' ' ? null : marker === '!' ? 'red' : 'magenta', bold: true },
      name: { text: m.self ? `${m.name}*` : m.name, colour: null, bold: isLeader },
      id: { text: shortId(m.id), colour: 'grey' },
      state: { text: m.state, colour: STATE_COLOURS[m.state] ?? null },
      role: { text: m.role, colour: m.role === 'leader' ? 'cyan' : m.role === 'candidate' ? 'yellow' : null },
      term: { text: String(m.term), colour: null },
      follows: { text: m.leader === null ? '-' : (names.get(m.leader) ?? shortId(m.leader)), colour: null },
      priority: { text: String(m.priority), colour: null },
      heard: { text: m.self ? 'self' : formatDuration(Math.max(0, nowMs - m.heardAtMs)), colour: null },
      address: { text: shortAddress(m.addrs[0]), colour: 'grey' },
    };
    const segments = columns.map((c, i) => {
      const value = values[c.key];
      return { ...value, text: cell(value.text, c.width) + (i < columns.length - 1 ? ' ' : '') };
    });
    return { id: m.id, segments, isLeader, markerReason: reason };
  });
}
