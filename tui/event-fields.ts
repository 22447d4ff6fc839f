/**
 * Typed reads of API event fields. Events arrive as untyped JSON from whatever daemon version is
 * on the other end; a missing or odd field becomes a neutral value, never a crash.
 */
import type { MemberResponse, NodeRef } from '../daemon/api/types.js';
import type { ApiEvent } from '../daemon/api/types.js';

export function text(event: ApiEvent, field: string): string | null {
  const value = event[field];
  return typeof value === 'string' ? value : null;
}

export function count(event: ApiEvent, field: string): number | null {
  const value = event[field];
  return typeof value === 'number' && Number.isFinite(value) ? value : null;
}

export function nodeRef(event: ApiEvent, field: string): NodeRef | null {
  const value = event[field] as Partial<NodeRef> | null | undefined;
  if (typeof value !== 'object' || value === null) return null;
  if (typeof value.id !== 'string') return null;
  return { id: value.id, name: typeof value.name === 'string' ? value.name : value.id };
}

export function member(event: ApiEvent): MemberResponse | null {
  const value = event.member as Partial<MemberResponse> | undefined;
  if (typeof value !== 'object' || value === null || typeof value.id !== 'string' || typeof value.name !== 'string') return null;
  return value as MemberResponse;
}

/** The event's `at` as epoch ms; `fallbackMs` when absent or unparseable. */
export function eventTimeMs(event: ApiEvent, fallbackMs: number): number {
  const parsed = typeof event.at === 'string' ? Date.parse(event.at) : NaN;
  return Number.isFinite(parsed) ? parsed : fallbackMs;
}
