/**
 * Validates an untrusted, already JSON-decoded value into a `Heartbeat`. Every string and array
 * is bounded so a hostile or broken peer cannot make a node hold or re-gossip large values.
 */
import { z } from 'zod';
import { MAX_COUNTER, MAX_NODE_ID_CHARS } from '../bounds.js';
import type { Codec } from '../types.js';
import { PROTOCOL_NAMES, ROLES } from '../types.js';
import { MAX_GOSSIPED_REFS, OBSERVERS_PER_MEMBER } from './membership.js';
import type { Heartbeat } from './types.js';

/** Cluster names are at most 63 characters (they name mDNS tags); leave a little room. */
export const MAX_CLUSTER_CHARS = 128;
/** Node names may be up to 253 characters (config's NODE_NAME_RE). */
export const MAX_NAME_CHARS = 256;
export const MAX_VERSION_CHARS = 64;
/** A node listens on a handful of addresses; 32 leaves room for many interfaces. */
export const MAX_ADDRS = 32;
export const MAX_ADDR_CHARS = 256;

const counter = z.number().int().min(0).max(MAX_COUNTER);
const nodeId = z.string().min(1).max(MAX_NODE_ID_CHARS);

const incarnationRef = z.object({ id: nodeId, incarnation: counter });

const memberMeta = z.object({
  name: z.string().min(1).max(MAX_NAME_CHARS),
  addrs: z.array(z.string().max(MAX_ADDR_CHARS)).max(MAX_ADDRS),
  protocol: z.enum(PROTOCOL_NAMES),
  // Absent from peers of a version before protocol eras: filled in below.
  era: counter.optional(),
  requested: z.enum(PROTOCOL_NAMES).optional(),
  switchTo: z.enum(PROTOCOL_NAMES).nullable().optional(),
  order: z.enum(PROTOCOL_NAMES).nullable().optional(),
  formed: z.boolean().optional(),
  raftWire: counter.optional(),
  priority: z.number().int().min(Number.MIN_SAFE_INTEGER).max(Number.MAX_SAFE_INTEGER),
  version: z.string().max(MAX_VERSION_CHARS),
  role: z.enum(ROLES),
  term: counter,
  leader: nodeId.nullable(),
  fencingToken: counter,
});

const heartbeatSchema = z.object({
  v: z.literal(1),
  cluster: z.string().min(1).max(MAX_CLUSTER_CHARS),
  id: nodeId,
  incarnation: counter,
  seq: counter,
  leaving: z.boolean(),
  meta: memberMeta,
  suspects: z.array(incarnationRef).max(MAX_GOSSIPED_REFS),
  dead: z.array(incarnationRef).max(MAX_GOSSIPED_REFS),
  left: z.array(incarnationRef).max(MAX_GOSSIPED_REFS),
  // Room for a later version that watches with more observers; more than that is no heartbeat of ours.
  observers: z.array(nodeId).min(1).max(4 * OBSERVERS_PER_MEMBER).optional(),
  probe: nodeId.optional(),
});

export const heartbeatCodec: Codec<Heartbeat> = {
  parse(value) {
    const result = heartbeatSchema.safeParse(value);
    if (result.success) {
      const { meta } = result.data;
      const filled = { ...meta, era: meta.era ?? 0, requested: meta.requested ?? meta.protocol, switchTo: meta.switchTo ?? null, order: meta.order ?? null };
      return { ok: true, value: { ...result.data, meta: filled } satisfies Heartbeat };
    }
    const issue = result.error.issues[0];
    const path = issue?.path.length ? issue.path.join('.') : '(root)';
    return { ok: false, reason: `${path}: ${issue?.message ?? 'invalid heartbeat'}` };
  },
};
