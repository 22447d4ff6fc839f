/**
 * The zod schema of one config layer: the file form, also used for what env vars and flags set.
 * Every field is optional (defaults fill the rest) and every object is strict, so a misspelt key
 * is an error instead of a silently ignored setting. Checks across fields live in checks.ts.
 */
import { z } from 'zod';
import { MAX_ENTRIES_PER_MESSAGE } from '../../protocols/raft/messages.js';
import { MEMBERSHIP_PRESET_NAMES } from '../../protocols/membership/presets.js';
import { PROTOCOL_NAMES } from '../../protocols/types.js';
import { bootstrapAddressProblem, hostPortProblem, listenAddressProblem } from './addresses.js';

/** Cluster names become mDNS service tags and gossip topic names: keep them DNS- and topic-safe. */
export const CLUSTER_NAME_RE = /^[a-z0-9][a-z0-9._-]{0,62}$/;
/** Node names are path segments of the default data dir and appear in logs: no slashes, no spaces. */
export const NODE_NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,252}$/;

export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'silent'] as const;
export const LOG_FORMATS = ['pretty', 'json'] as const;

/** Refines a string with a check that returns the reason it is wrong, or null. */
function checked(problem: (value: string) => string | null) {
  return z.string().superRefine((value, ctx) => {
    const reason = problem(value);
    if (reason !== null) ctx.addIssue({ code: 'custom', message: reason });
  });
}

const durationMs = (min: number) => z.number().int().min(min, { error: `must be at least ${min} ms` });
const filePath = z.string().min(1, { error: 'must not be empty' });

const membershipSchema = z
  .object({
    preset: z.enum(MEMBERSHIP_PRESET_NAMES),
    heartbeatIntervalMs: durationMs(10),
    suspectAfterMs: durationMs(1),
    suspicionMinMs: durationMs(1),
    suspicionMaxMs: durationMs(1),
    forgetAfterMs: durationMs(1),
    maxHealthMultiplier: z.number().min(1, { error: 'must be at least 1 (1 turns the local-health stretch off)' }),
  })
  .partial()
  .strict();

const bullySchema = z
  .object({
    answerTimeoutMs: durationMs(1),
    coordinatorTimeoutMs: durationMs(1),
    settleMs: durationMs(0),
    preempt: z.boolean(),
    preemptDelayMs: durationMs(0),
    quorum: z.enum(['majority', 'none']),
    expectedSize: z.number().int().min(1, { error: 'must be at least 1 (or null: the members known)' }).nullable(),
    leaseMs: durationMs(1),
    resignHoldMs: durationMs(0),
  })
  .partial()
  .strict();

/** More voters than this only slow every commit (etcd and Consul advise 3 or 5; 7 at most). */
const MAX_VOTERS = 9;

const raftSchema = z
  .object({
    electionTimeoutMs: durationMs(10),
    heartbeatIntervalMs: durationMs(1),
    maxEntriesPerAppend: z.number().int().min(1, { error: 'must be at least 1' }).max(MAX_ENTRIES_PER_MESSAGE, { error: `must be at most ${MAX_ENTRIES_PER_MESSAGE} (what one message may carry)` }),
    maxInflight: z.number().int().min(1, { error: 'must be at least 1' }).max(1024, { error: 'must be at most 1024' }),
    commitNoticeDelayMs: durationMs(0),
    leaderGoneStaggerMs: durationMs(0),
    snapshotEntries: z.number().int().min(2, { error: 'must be at least 2 (half of it stays in the log after a snapshot)' }).max(10_000_000, { error: 'must be at most 10000000' }),
    stabilizationMs: durationMs(0),
    maxVoters: z.number().int().min(1, { error: 'must be at least 1' }).max(MAX_VOTERS, { error: `must be at most ${MAX_VOTERS} (every commit waits for a majority of them)` }),
    deadVoterRemoveMs: durationMs(0),
    minQuorum: z.number().int().min(1, { error: 'must be at least 1' }).max(MAX_VOTERS, { error: `must be at most ${MAX_VOTERS}` }),
  })
  .partial()
  .strict();

const clusterObjectSchema = z
  .object(
    {
      name: z.string().regex(CLUSTER_NAME_RE, {
        error: 'must be 1-63 characters of a-z 0-9 . _ - starting with a letter or digit (it names mDNS tags and gossip topics)',
      }),
      bootstrapExpect: z
        .number()
        .int()
        .min(1, { error: 'must be at least 1 (1 runs a single node)' })
        .max(1024, { error: 'must be at most 1024 (the member limit)' }),
    },
    { error: (issue) => (issue.code === 'invalid_type' ? 'expected a cluster name or a mapping with name and bootstrapExpect' : undefined) },
  )
  .partial()
  .strict();

/**
 * A hook command: a string runs through `/bin/sh -c` (pipes, `&&`, variables), a list is the
 * argv of a program run without a shell (no quoting to get wrong). Null: no hook.
 */
const hookCommandSchema = z
  .union([z.string(), z.array(z.string())], {
    error: (issue) => (issue.code === 'invalid_union' ? 'expected a shell command (string), an argv list of strings, or null' : undefined),
  })
  .nullable()
  .superRefine((command, ctx) => {
    const problem =
      command === null
        ? null
        : typeof command === 'string'
          ? command.trim() === '' ? 'must not be empty or blank (null turns the hook off)' : null
          : command.length === 0
            ? 'needs at least the program to run (null turns the hook off)'
            : command[0]!.trim() === '' ? 'the program (first item) must not be empty' : null;
    if (problem !== null) ctx.addIssue({ code: 'custom', message: problem });
  });

const hooksSchema = z
  .object({
    onLeader: hookCommandSchema,
    onFollower: hookCommandSchema,
    onLeaderChange: hookCommandSchema,
    // Past a day a hook is hung, and setTimeout cannot count much further (2^31 ms).
    timeoutMs: durationMs(100).max(86_400_000, { error: 'must be at most 86400000 (one day)' }),
  })
  .partial()
  .strict();

const apiObjectSchema = z
  .object(
    {
    listen: checked(hostPortProblem),
    token: z
      .string()
      .regex(/^\S+$/, { error: 'must be non-empty and contain no whitespace (it is sent in an HTTP header)' })
      .nullable(),
    },
    { error: (issue) => (issue.code === 'invalid_type' ? 'expected host:port or a mapping with listen and token' : undefined) },
  )
  .partial()
  .strict();

export const configLayerSchema = z
  .object({
    // `cluster: NAME` is shorthand for `cluster: { name: NAME }`.
    cluster: z.preprocess((value) => (typeof value === 'string' ? { name: value } : value), clusterObjectSchema),
    node: z
      .object({
        name: z.string().regex(NODE_NAME_RE, {
          error: 'must be 1-253 characters of A-Z a-z 0-9 . _ - starting with a letter or digit (it is part of the default data dir)',
        }),
        priority: z.number().int(),
      })
      .partial()
      .strict(),
    protocol: z.enum(PROTOCOL_NAMES),
    dataDir: filePath,
    listen: z.array(checked(listenAddressProblem)).min(1, { error: 'needs at least one address, or peers cannot dial this node' }),
    // `api: 127.0.0.1:7400` is shorthand for `api: { listen: 127.0.0.1:7400 }`.
    api: z.preprocess((value) => (typeof value === 'string' ? { listen: value } : value), apiObjectSchema),
    discovery: z
      .object({
        mdns: z
          .object({
            enabled: z.boolean(),
            // Faster than 10 queries a second floods the LAN for no faster discovery.
            intervalMs: durationMs(100),
            idleIntervalMs: durationMs(1000),
          })
          .partial()
          .strict(),
        bootstrap: z.array(checked(bootstrapAddressProblem)),
        reconnectTimeoutMs: durationMs(0),
      })
      .partial()
      .strict(),
    membership: membershipSchema,
    messaging: z
      .object({
        maxFrameBytes: z
          .number()
          .int()
          .min(1024, { error: 'must be at least 1024 (a heartbeat must fit)' })
          .max(4 * 1024 * 1024, { error: 'must be at most 4194304 (the frame decoder limit)' }),
        linkPort: z
          .number()
          .int()
          .min(0, { error: 'must be a TCP port (0: any free one), or null for no direct links' })
          .max(65_535, { error: 'must be a TCP port, at most 65535' })
          .nullable(),
      })
      .partial()
      .strict(),
    bully: bullySchema,
    raft: raftSchema,
    security: z.object({ pskFile: filePath.nullable() }).partial().strict(),
    hooks: hooksSchema,
    log: z
      .object({
        level: z.enum(LOG_LEVELS),
        format: z.enum(LOG_FORMATS),
        file: filePath.nullable(),
      })
      .partial()
      .strict(),
  })
  .partial()
  .strict();

/** One layer of configuration (file, env or flags) as the schema accepts it. */
export type ConfigLayer = z.infer<typeof configLayerSchema>;
