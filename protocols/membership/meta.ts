/**
 * A member's meta: the fields of its own that a node gossips in every heartbeat (MemberMeta),
 * which of them a receiver keeps, and how they are applied and copied. A field a newer build
 * adds is dropped by the codecs of older ones, so adding one here costs them nothing.
 */
import type { Member, MemberMeta } from './types.js';

/** Every field of MemberMeta, in the order a receiver applies them. */
export const META_KEYS = [
  'name',
  'addrs',
  'protocol',
  'era',
  'requested',
  'switchTo',
  'order',
  'formed',
  'raftWire',
  'priority',
  'version',
  'role',
  'term',
  'leader',
  'fencingToken',
] as const satisfies readonly (keyof MemberMeta)[];

/** Copies the meta fields of `source` into `target`; true when any of them changed. */
export function applyMeta(target: MemberMeta, source: MemberMeta): boolean {
  let changed = false;
  for (const key of META_KEYS) {
    if (key === 'addrs') {
      if (!sameStrings(target.addrs, source.addrs)) {
        target.addrs = [...source.addrs];
        changed = true;
      }
    } else if (target[key] !== source[key]) {
      (target as unknown as Record<string, unknown>)[key] = source[key];
      changed = true;
    }
  }
  return changed;
}

/** A copy of the meta alone (a plain literal: heartbeats are built from it once a second per member). */
export function copyMeta(meta: MemberMeta): MemberMeta {
  return {
    name: meta.name,
    addrs: [...meta.addrs],
    protocol: meta.protocol,
    era: meta.era,
    requested: meta.requested,
    switchTo: meta.switchTo,
    order: meta.order,
    ...(meta.formed !== undefined ? { formed: meta.formed } : {}),
    ...(meta.raftWire !== undefined ? { raftWire: meta.raftWire } : {}),
    priority: meta.priority,
    version: meta.version,
    role: meta.role,
    term: meta.term,
    leader: meta.leader,
    fencingToken: meta.fencingToken,
  };
}

/** A copy a caller may keep: the machine's own record changes in place. */
export function copyMember(member: Member): Member {
  return { ...member, addrs: [...member.addrs] };
}

export function sameStrings(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((value, i) => value === b[i]);
}
