/**
 * Membership and failure detection (DESIGN.md section 4): the pure machine, its heartbeat codec,
 * timing presets and formulas.
 *
 * @example
 * const membership = createMembership({ cluster, selfId, selfMeta, initialIncarnation, timings: MEMBERSHIP_PRESETS.lan, nowMs });
 * membership.step({ type: 'tick', nowMs, localLagMs: 0 });
 * for (const effect of membership.drain()) ...
 */
export { createMembership, LEAVE_ANNOUNCEMENTS, MAX_GOSSIPED_REFS, OBSERVERS_PER_MEMBER } from './membership.js';
export { MAX_MEMBERS } from '../bounds.js';
export type { Membership, MembershipInit } from './membership.js';
export { heartbeatCodec } from './codec.js';
export { MEMBERSHIP_PRESET_NAMES, MEMBERSHIP_PRESETS } from './presets.js';
export type { MembershipPresetName } from './presets.js';
export * from './formulas.js';
export { membershipTimingProblems, type TimingProblem } from './timings.js';
export type * from './types.js';
export { protocolMeta } from './types.js';
