/**
 * The /v1/events wire format, both ways. The daemon stamps each NodeEvent with its time
 * (`stampEvent`); a client reads what arrives with `streamEventCodec`, which accepts only events
 * whose type it knows and whose fields have the types StreamEvent promises. The daemon on the
 * other end may be of another version or broken: anything else is refused with a reason, never
 * passed on half-typed.
 */
import { z } from 'zod';
import { SNAPSHOT_ACTIONS, STEP_DOWN_REASONS } from '../../protocols/election.js';
import type { NodeEvent } from '../../protocols/host/events.js';
import type { SuspectReason } from '../../protocols/membership/types.js';
import { MEMBER_STATES, PROTOCOL_NAMES, ROLES, type Codec } from '../../protocols/types.js';
import { warmSchema } from '../../protocols/zod-codec.js';
import type { ApiEvent, StatusResponse, StreamEvent } from './types.js';

/**
 * The event as the daemon sends it: `type`, `at`, then the fields, in the order daemons have
 * always written them.
 */
export function stampEvent(event: NodeEvent, at: Date = new Date()): ApiEvent {
  return Object.assign({ type: event.type, at: at.toISOString() }, event);
}

const SUSPECT_REASONS = ['silence', 'connection-closed', 'reported-left', 'reported'] as const satisfies readonly SuspectReason[];
/** Bounds what a refusal reason quotes of the input (it may be shown in the dashboard's log). */
const MAX_QUOTED_CHARS = 64;

const nodeId = z.string().min(1);
const counter = z.number().int().nonnegative();
const durationMs = z.number().nonnegative();
const role = z.enum(ROLES);
const protocol = z.enum(PROTOCOL_NAMES);
const memberState = z.enum(MEMBER_STATES);
const nodeRef = z.object({ id: nodeId, name: z.string() });
const time = z.string().max(64).refine((text) => Number.isFinite(Date.parse(text)), 'not a time');

const memberView = z.object({
  id: nodeId,
  name: z.string(),
  addrs: z.array(z.string()),
  state: memberState,
  incarnation: counter,
  lastSeenMs: durationMs,
  self: z.boolean(),
  protocol,
  era: counter.optional(),
  requested: protocol.optional(),
  switchTo: protocol.nullable().optional(),
  role,
  term: counter,
  leader: nodeId.nullable(),
  priority: z.number().int(),
  version: z.string(),
  raftWire: counter.optional(),
});

function event<T extends string, S extends z.ZodRawShape>(type: T, shape: S) {
  return z.object({ type: z.literal(type), at: time, ...shape });
}

const named = { id: nodeId, name: z.string() };

const apiEventSchemas = [
  event('member-joined', { member: memberView }),
  event('member-updated', { member: memberView }),
  event('member-suspect', { ...named, incarnation: counter, reason: z.enum(SUSPECT_REASONS) }),
  event('member-alive', { ...named, incarnation: counter, previous: memberState }),
  event('member-dead', { ...named, incarnation: counter, suspectedForMs: durationMs }),
  event('member-left', named),
  event('member-forgotten', named),
  event('protocol-mismatch', { ...named, protocol, expected: protocol }),
  event('refuted', { incarnation: counter, by: nodeId }),
  event('role-changed', { from: role, to: role, term: counter }),
  event('term-changed', { from: counter, to: counter }),
  event('leader-changed', { from: nodeRef.nullable(), to: nodeRef.nullable(), term: counter, fencingToken: counter, leaderlessMs: durationMs }),
  event('election-started', { term: counter, reason: z.string() }),
  event('election-finished', { term: counter, result: z.enum(['won', 'lost', 'aborted']), durationMs }),
  event('stepped-down', { term: counter, reason: z.enum(STEP_DOWN_REASONS) }),
  event('configuration-changed', { index: counter, voters: z.array(nodeRef), learners: z.array(nodeRef) }),
  event('raft-snapshot', { action: z.enum(SNAPSHOT_ACTIONS), index: counter, term: counter, peer: nodeRef.nullable() }),
  event('heartbeat-late', { lateMs: durationMs }),
  event('protocol-switch-started', { to: protocol, era: counter, why: z.enum(['requested', 'ordered']) }),
  event('protocol-switched', { from: protocol, to: protocol, era: counter, how: z.enum(['agreed', 'adopted']), tokenFloor: counter, carriedLeader: nodeRef.nullable() }),
] as const;

/** Compile-time: these schemas and NodeEvent name the same events with the same fields, so neither drifts alone. */
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
true satisfies Same<z.infer<(typeof apiEventSchemas)[number]>, ApiEvent>;

/**
 * Fields added to /v1/status after its first version are checked when present but may be absent
 * from an older daemon; that is as far as client.status() trusts a reply too (client.ts SHAPES),
 * and the consumers guard them.
 */
const status = z.object({
  id: nodeId,
  name: z.string(),
  cluster: z.string(),
  protocol,
  role,
  term: counter,
  leader: nodeRef.nullable(),
  fencingToken: counter,
  members: z.object({ alive: counter, suspect: counter, dead: counter, left: counter }),
  leaseRemainingMs: durationMs.nullable().optional(),
  bootstrap: z.object({ expect: counter, seen: counter, complete: z.boolean() }).optional(),
  era: z
    .object({
      era: counter,
      requested: protocol,
      switch: z.object({ to: protocol, holding: counter, known: counter, needed: counter }).nullable(),
      ordered: protocol.nullable(),
    })
    .optional(),
  security: z.object({ psk: z.boolean() }).optional(),
  persistError: z.object({ path: z.string(), code: z.string().nullable(), message: z.string() }).nullable().optional(),
  revision: counter.optional(),
  uptimeMs: durationMs,
  version: z.string(),
});

const snapshot = event('snapshot', { status, members: z.array(memberView) });

const streamEventSchema = z.discriminatedUnion('type', [snapshot, ...apiEventSchemas]);
const KNOWN_TYPES: ReadonlySet<string> = new Set(streamEventSchema.options.map((option) => option.shape.type.value));

/** Reads one decoded JSON value from /v1/events; fields this version does not know are dropped. */
export const streamEventCodec: Codec<StreamEvent> = {
  warm: () => warmSchema(streamEventSchema),
  parse(value) {
    const type = (value as { type?: unknown } | null)?.type;
    if (typeof type !== 'string') return { ok: false, reason: 'an event without a type' };
    if (!KNOWN_TYPES.has(type)) return { ok: false, reason: `an event of unknown type "${type.slice(0, MAX_QUOTED_CHARS)}"` };
    const result = streamEventSchema.safeParse(value);
    if (result.success) {
      const event = result.data;
      // See `status` above: an older daemon's snapshot may lack the newer status fields.
      return { ok: true, value: event.type === 'snapshot' ? { ...event, status: event.status as StatusResponse } : event };
    }
    const issue = result.error.issues[0];
    const path = issue?.path.length ? issue.path.join('.') : '(root)';
    return { ok: false, reason: `a malformed "${type}" event: ${path}: ${issue?.message ?? 'invalid'}` };
  },
};
