/**
 * Test support for the checker: key-value histories that are linearizable by construction (a
 * real sequential execution, each operation given an interval around its instant), and the
 * mutation that makes one of them stale. Seeded, so a failing property names its seed.
 */
import type { Rng } from '../rng.js';
import type { KvCasOutput, KvDeleteOutput, KvInput, KvOperation, KvOutput, KvPutOutput } from './kv-model.js';
import { outcomeUnknown } from './linearizability.js';

export interface KvHistoryShape {
  operations: number;
  keys: number;
  clients: number;
  /** Share of operations whose client never learns the outcome; half of those never take effect. */
  unknownRate: number;
  /** How far an interval reaches either side of its operation's instant (instants are 10 ms apart). */
  spreadMs: number;
}

/**
 * Runs `shape.operations` random operations one after another on an etcd-like store (one global
 * revision), then gives each an interval around its instant: the result is linearizable, with
 * the execution order as witness.
 */
export function linearizableKvHistory(rng: Rng, shape: KvHistoryShape): KvOperation[] {
  const store = new Map<string, { value: string; modRevision: number }>();
  let revision = 0;
  const history: KvOperation[] = [];
  for (let i = 0; i < shape.operations; i++) {
    const key = `k${rng.int(0, shape.keys - 1)}`;
    const current = store.get(key);
    const roll = rng.next();
    const input: KvInput =
      roll < 0.35
        ? { kind: 'put', key, value: `v${i}` }
        : roll < 0.7
          ? { kind: 'get', key }
          : roll < 0.8
            ? { kind: 'delete', key }
            : { kind: 'cas', key, ifModRevision: rng.chance(0.6) ? (current?.modRevision ?? 0) : rng.int(0, revision), value: `v${i}` };
    const unknown = rng.chance(shape.unknownRate);
    let output: KvOutput | undefined;
    if (!unknown || rng.chance(0.5)) {
      switch (input.kind) {
        case 'put':
          store.set(key, { value: input.value, modRevision: ++revision });
          output = { revision } satisfies KvPutOutput;
          break;
        case 'get':
          output = { value: current?.value ?? null, modRevision: current?.modRevision ?? 0 };
          break;
        case 'delete':
          if (current) store.delete(key);
          output = { deleted: current ? 1 : 0, revision: current ? ++revision : revision } satisfies KvDeleteOutput;
          break;
        case 'cas': {
          const ok = input.ifModRevision === (current?.modRevision ?? 0);
          if (ok) store.set(key, { value: input.value, modRevision: ++revision });
          output = { ok, revision } satisfies KvCasOutput;
          break;
        }
      }
    }
    const atMs = i * 10;
    const callMs = atMs - rng.int(0, shape.spreadMs);
    const returnMs = unknown ? (rng.chance(0.5) ? null : Infinity) : atMs + rng.int(0, shape.spreadMs);
    history.push({ id: i, client: `c${i % shape.clients}`, callMs, returnMs, input, ...(unknown ? {} : { output }) });
  }
  return history;
}

/** A known-outcome write's value and revision, when it took effect. */
function effectiveWrite(op: KvOperation): { value: string | null; revision: number } | null {
  if (outcomeUnknown(op)) return null;
  const input = op.input;
  if (input.kind === 'put') return { value: input.value, revision: (op.output as KvPutOutput).revision };
  if (input.kind === 'cas' && (op.output as KvCasOutput).ok) return { value: input.value, revision: (op.output as KvCasOutput).revision };
  if (input.kind === 'delete' && (op.output as KvDeleteOutput).deleted === 1) return { value: null, revision: (op.output as KvDeleteOutput).revision };
  return null;
}

/**
 * The history with one read made stale: a get now returns a value (and its revision) that a
 * later write to the key had replaced, a write that returned before the get was called. No
 * linearization can place that get; null when the history has no such read.
 */
export function withStaleRead(history: readonly KvOperation[]): { history: KvOperation[]; mutated: KvOperation['id'] } | null {
  for (const get of history) {
    if (get.input.kind !== 'get' || outcomeUnknown(get)) continue;
    const key = get.input.key;
    const writes = history.filter((op) => op.input.key === key).map((op) => ({ op, write: effectiveWrite(op) }));
    const overwritten = writes.find(
      ({ write: old }) =>
        old !== null &&
        old.value !== null &&
        writes.some(({ op, write }) => write !== null && write.revision > old.revision && op.returnMs! < get.callMs),
    );
    if (!overwritten) continue;
    const stale = overwritten.write!;
    const output = { value: stale.value, modRevision: stale.revision };
    return { history: history.map((op) => (op === get ? { ...op, output } : op)), mutated: get.id };
  }
  return null;
}
