/**
 * Random batch sequences (snapshots, truncations, entries, hard states; awaited one by one or
 * fired in bursts; with reopens in between) replay to the state an in-memory model of the log
 * reaches. Small segments, so rotation and the deletion of superseded segments run often.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import type { LogEntry, Snapshot } from '../../protocols/types.js';
import { testDirs } from '../test-dirs.js';
import { type LogStore, type StoreBatch, openLogStore } from './index.js';

const dirs = testDirs('log-props');

interface Model {
  hardState: Map<string, unknown>;
  snapshot: Snapshot | null;
  entries: LogEntry[];
}

/** What the generator picks; turned into a batch that fits the model's log at that moment. */
interface Step {
  snapshotOffset: number | null;
  truncateBack: number | null;
  entries: number;
  term: number;
  hardState: Record<string, unknown> | null;
  /** Wait for this append before the next one (else it joins a burst). */
  wait: boolean;
  reopen: boolean;
}

const step: fc.Arbitrary<Step> = fc.record({
  snapshotOffset: fc.option(fc.integer({ min: -4, max: 3 }), { freq: 5 }),
  truncateBack: fc.option(fc.nat(5), { freq: 4 }),
  entries: fc.nat(4),
  term: fc.nat(3),
  hardState: fc.option(fc.dictionary(fc.constantFrom('membership', 'election', 'raft'), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 2 }), { freq: 2 }),
  wait: fc.boolean(),
  reopen: fc.nat(9).map((n) => n === 0),
});

const lastIndex = (m: Model) => m.entries.at(-1)?.index ?? m.snapshot?.index ?? 0;
const jsonCopy = (v: unknown): unknown => JSON.parse(JSON.stringify(v));

/** The batch for `s` given the model, and the model after it (parts in the store's order). */
function batchFor(m: Model, s: Step): StoreBatch {
  const batch: StoreBatch = {};
  if (s.snapshotOffset !== null) {
    const index = Math.max(m.snapshot?.index ?? 0, lastIndex(m) + s.snapshotOffset);
    batch.snapshot = { index, term: s.term, data: { upTo: index } };
    m.snapshot = { ...batch.snapshot };
    m.entries = m.entries.filter((e) => e.index > index);
  }
  if (s.truncateBack !== null) {
    batch.truncateAfter = Math.max(m.snapshot?.index ?? 0, lastIndex(m) - s.truncateBack);
    m.entries = m.entries.filter((e) => e.index <= batch.truncateAfter!);
  }
  if (s.entries > 0) {
    const first = lastIndex(m) + 1;
    batch.entries = Array.from({ length: s.entries }, (_, i) => ({ index: first + i, term: s.term, data: `d${first + i}.${s.term}` }));
    m.entries.push(...batch.entries);
  }
  if (s.hardState) {
    batch.hardState = s.hardState;
    for (const [k, v] of Object.entries(s.hardState)) m.hardState.set(k, jsonCopy(v));
  }
  return batch;
}

async function assertReplaysTo(store: LogStore, m: Model): Promise<LogStore> {
  await store.close();
  const again = await openLogStore(store.dir, { segmentBytes: 256 });
  assert.deepEqual(again.recovered.hardState, m.hardState);
  assert.deepEqual(again.recovered.snapshot, m.snapshot);
  assert.deepEqual(again.recovered.entries, m.entries);
  assert.equal(again.recovered.torn, null);
  return again;
}

describe('log store against a model', () => {
  it('any sequence of batches replays to the state the model reaches', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(step, { minLength: 1, maxLength: 30 }), async (steps) => {
        const model: Model = { hardState: new Map(), snapshot: null, entries: [] };
        let store = await openLogStore(dirs.fresh(), { segmentBytes: 256 });
        let burst: Promise<void>[] = [];
        try {
          for (const s of steps) {
            const appended = store.append(batchFor(model, s));
            burst.push(appended);
            if (s.wait || s.reopen) {
              await Promise.all(burst);
              burst = [];
            }
            if (s.reopen) store = await assertReplaysTo(store, model);
          }
          await Promise.all(burst);
          store = await assertReplaysTo(store, model);
        } finally {
          await store.close();
        }
      }),
      { numRuns: 30 },
    );
  });
});
