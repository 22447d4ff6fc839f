/**
 * Key-value clients that record what they saw, for the linearizability checker
 * (protocols/check/kv-model.ts): workers put, get (linearizable), delete and compare-and-set keys
 * through the daemons' API, each operation stamped with when it was called and when its outcome
 * came back. What a worker cannot know is recorded as such: a write whose request timed out or
 * lost its connection may have been applied, so its outcome stays open to the end of the history;
 * a write refused before it entered the log, and any failed read, had no effect and is left out.
 * The chaos tool runs one worker per node through a Raft run; the key-value integration test runs
 * two per node.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { ApiClient } from '../daemon/api/client.js';
import { ApiError, ApiUnreachableError, KvCompareFailedError } from '../daemon/api/errors.js';
import type { KvInput, KvOperation, KvOutput } from '../protocols/check/kv-model.js';

/** What one worker learned of one operation: its output, `unknown`, or null when it had no effect. */
export async function performKv(client: ApiClient, input: KvInput): Promise<KvOutput | 'unknown' | null> {
  try {
    switch (input.kind) {
      case 'put':
        return { revision: (await client.kvPut(input.key, input.value)).revision };
      case 'cas':
        return { ok: true, revision: (await client.kvPut(input.key, input.value, { ifModRevision: input.ifModRevision })).revision };
      case 'delete': {
        const done = await client.kvDelete(input.key);
        return { deleted: done.deleted > 0 ? 1 : 0, revision: done.revision };
      }
      case 'get': {
        const { kv } = await client.kvGet(input.key);
        return { value: kv?.value ?? null, modRevision: kv?.modRevision ?? 0 };
      }
    }
  } catch (err) {
    if (err instanceof KvCompareFailedError && input.kind === 'cas' && err.revision !== null) return { ok: false, revision: err.revision };
    // Refused before the write entered the log, or never sent: no effect.
    if (err instanceof ApiError && ['no-leader', 'busy', 'shutting-down'].includes(err.code)) return input.kind === 'get' ? null : err.code === 'shutting-down' ? 'unknown' : null;
    if (err instanceof ApiUnreachableError && /refused|no socket/.test(err.reason)) return null;
    // A timeout or a connection lost mid-request: a write may have been applied.
    if (err instanceof ApiError || err instanceof ApiUnreachableError) return input.kind === 'get' ? null : 'unknown';
    throw err;
  }
}

export interface KvWorker {
  /** Labels its operations (`client` in the history). */
  name: string;
  client: ApiClient;
}

export interface KvWorkloadOptions {
  workers: readonly KvWorker[];
  /** The key of worker `w`'s `n`-th operation. */
  keyFor(worker: number, n: number): string;
  /** Pause after an answered operation; after one of unknown outcome the pause is 50 ms at least. */
  pauseMs: number;
  /** The history's clock. */
  now(): number;
  /** Each operation once its outcome is known (or known to be unknown). */
  onOperation(op: KvOperation): void;
  /** In [0, 1); default Math.random. The mix, not the schedule: runs need not replay it. */
  random?: () => number;
}

/**
 * Starts every worker: 30 % puts, 35 % gets, 10 % deletes and 25 % compare-and-sets (a third of
 * them create-only, the rest naming the latest revision the worker saw of that key), until stop().
 */
export function startKvWorkload(opts: KvWorkloadOptions): { stop: () => Promise<void> } {
  const random = opts.random ?? Math.random;
  let nextId = 1;
  let nextValue = 1;
  let running = true;
  const seen = new Map<string, number>();
  const loop = async (worker: KvWorker, w: number) => {
    let n = 0;
    while (running) {
      const key = opts.keyFor(w, n++);
      const roll = random();
      const input: KvInput =
        roll < 0.3 ? { kind: 'put', key, value: `v${nextValue++}` }
        : roll < 0.65 ? { kind: 'get', key }
        : roll < 0.75 ? { kind: 'delete', key }
        : { kind: 'cas', key, ifModRevision: random() < 0.3 ? 0 : (seen.get(key) ?? 0), value: `v${nextValue++}` };
      const op: KvOperation = { id: nextId++, client: worker.name, callMs: opts.now(), returnMs: null, input };
      const output = await performKv(worker.client, input);
      if (output === null) {
        await sleep(Math.max(opts.pauseMs, 50));
        continue;
      }
      if (output !== 'unknown') {
        op.returnMs = opts.now();
        op.output = output;
        const revision = 'modRevision' in output ? output.modRevision : 'ok' in output && !output.ok ? 0 : 'revision' in output && input.kind !== 'delete' ? output.revision : 0;
        if (revision > 0) seen.set(key, Math.max(seen.get(key) ?? 0, revision));
      }
      opts.onOperation(op);
      // Unreachable nodes are retried a little later, not in a busy loop.
      await sleep(output === 'unknown' ? Math.max(opts.pauseMs, 50) : opts.pauseMs);
    }
  };
  const loops = opts.workers.map((worker, w) => loop(worker, w));
  return {
    stop: async () => {
      running = false;
      await Promise.all(loops);
    },
  };
}
