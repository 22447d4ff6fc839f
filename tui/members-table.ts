/**
 * The members table: which columns fit a width, the row order (leader first), state colours and
 * the marker on members that run another protocol or follow another leader. Under Raft two more
 * columns: each member's vote (voter or learner) and, when the viewed node leads, its log lag.
 */
import { formatDuration, shortId } from '../shared/format.js';
import type { RaftStatusResponse, StatusResponse } from '../daemon/api/types.js';
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

type ColumnKey = 'marker' | 'name' | 'id' | 'state' | 'role' | 'vote' | 'lag' | 'term' | 'follows' | 'priority' | 'heard' | 'address';

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
  { key: 'vote', label: 'VOTE', width: 7 },
  { key: 'lag', label: 'LAG', width: 5 },
  { key: 'term', label: 'TERM', width: 5 },
  { key: 'follows', label: 'FOLLOWS', width: 10 },
  { key: 'priority', label: 'PRIO', width: 4 },
  { key: 'heard', label: 'HEARD', width: 6 },
  { key: 'address', label: 'ADDRESS', width: 0 },
];
/** Raft's columns; a Bully table never has them. */
const RAFT_COLUMNS: ReadonlySet<ColumnKey> = new Set(['vote', 'lag']);
/** Dropped first when the width runs short, in this order. */
const DROP_ORDER: readonly ColumnKey[] = ['address', 'priority', 'id', 'lag', 'term', 'follows', 'vote', 'role'];
const MIN_ADDRESS_WIDTH = 9;

/** The columns that fit `width` (with Raft's when `raft`); the address column takes what is left. */
export function columnsFor(width: number, raft = false): Column[] {
  let columns = COLUMNS.filter((c) => raft || !RAFT_COLUMNS.has(c.key)).map((c) => ({ ...c }));
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

export function headerLine(width: number, raft = false): string {
  return columnsFor(width, raft)
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

/** Each member's vote, and (the viewed node leading) its lag, from the status's raft object. */
function raftCells(raft: RaftStatusResponse): { vote: (id: NodeId) => string; lag: (id: NodeId) => Segment } {
  const votes = new Map<NodeId, string>([...raft.learners.map((r) => [r.id, 'learner'] as const), ...raft.voters.map((r) => [r.id, 'voter'] as const)]);
  // Absent from daemons older than the field, and empty off the leader: then no lag is known.
  const lags = new Map((raft.peers ?? []).map((p) => [p.id, p.lag]));
  return {
    vote: (id) => votes.get(id) ?? '-',
    lag: (id) => {
      const lag = lags.get(id);
      if (lag === undefined) return { text: '-', colour: null };
      return { text: String(lag), colour: lag === 0 ? 'green' : lag < LAG_RED_ENTRIES ? 'yellow' : 'red' };
    },
  };
}

/** A follower this many entries behind is catching up slowly or stuck (etcd's snapshot threshold is far above; this is for the eye). */
export const LAG_RED_ENTRIES = 100;

export function memberRows(members: Iterable<MemberView>, status: StatusResponse | null, nowMs: number, width: number): MemberRow[] {
  const ordered = orderMembers(members, status);
  const names = new Map(ordered.map((m) => [m.id, m.name]));
  const raft = status?.raft ? raftCells(status.raft) : null;
  const columns = columnsFor(width, raft !== null);
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
      vote: { text: raft?.vote(m.id) ?? '', colour: null },
      lag: m.self ? { text: '-', colour: null } : (raft?.lag(m.id) ?? { text: '', colour: null }),
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
