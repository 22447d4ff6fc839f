/**
 * Simulated clients of the key-value store (issue 12, "Proof"): throughout a seed's run, clients
 * put, get (linearizable), delete and compare-and-set a few keys on random nodes, under whatever
 * faults the seed plans, and every operation is recorded as the client saw it, on the virtual
 * clock. At the end the history must be linearizable (../check/linearizability.ts with the store's
 * model, ../check/kv-model.ts).
 *
 * What a client learns decides what goes in the history:
 * - an answer: the operation with its output;
 * - `timeout` or `shutting-down`, a request whose node crashed before answering, or no answer by
 *   the end: the outcome is unknown (a write may have been applied);
 * - a refusal before the write entered the log (`no-leader`, `busy`, `entry-too-large`), a
 *   failed read, or a request that never reached a node (down or frozen): no effect, left out.
 */
import { checkLinearizability } from '../check/linearizability.js';
import { kvModel, type KvInput, type KvOperation as CheckedOperation, type KvOutput } from '../check/kv-model.js';
import type { KvAnswer, KvRequest } from '../kv/requests.js';
import type { Rng } from '../rng.js';
import type { Simulation } from './sim.js';
import type { Violation } from './types.js';

export const KV_LINEARIZABLE = 'kv-linearizable';

/** Few keys, so that operations on one key overlap and race. */
const KEYS = ['k0', 'k1', 'k2'];
/** A client operation every this much virtual time, on average. */
const MEAN_GAP_MS = 120;
/** The checker's search budget per seed: beyond it the verdict is `unknown`, never a false failure. */
const MAX_CHECK_STEPS = 2_000_000;

export class KvWorkload {
  readonly history: CheckedOperation[] = [];
  private readonly open = new Map<number, CheckedOperation>();
  private nextId = 1;
  private nextValue = 1;
  /** The newest modRevision any client saw per key: what a compare-and-set names. */
  private readonly seenRevision = new Map<string, number>();
  /** How the check went (`unknown` when the search budget ran out). */
  verdict: 'linearizable' | 'unknown' | 'violated' | null = null;

  constructor(
    private readonly sim: Simulation,
    private readonly rng: Rng,
  ) {}

  /** Schedules client operations from `fromMs` to `untilMs` (virtual). */
  plan(fromMs: number, untilMs: number): void {
    for (let atMs = fromMs + this.rng.int(0, MEAN_GAP_MS); atMs < untilMs; atMs += this.rng.int(1, 2 * MEAN_GAP_MS)) {
      const node = this.sim.nodes[this.rng.int(0, this.sim.nodes.length - 1)]!.id;
      const input = this.nextInput();
      this.sim.at(atMs, `kv ${input.kind} ${input.key} at ${node}`, () => this.issue(node, input));
    }
  }

  private nextInput(): KvInput {
    const key = KEYS[this.rng.int(0, KEYS.length - 1)]!;
    const roll = this.rng.int(0, 99);
    if (roll < 30) return { kind: 'put', key, value: `v${this.nextValue++}` };
    if (roll < 65) return { kind: 'get', key };
    if (roll < 75) return { kind: 'delete', key };
    // Compare-and-set: create-if-absent, the newest revision seen, or an older one.
    const seen = this.seenRevision.get(key) ?? 0;
    const ifModRevision = this.rng.chance(0.3) ? 0 : Math.max(0, seen - this.rng.int(0, 1));
    return { kind: 'cas', key, ifModRevision, value: `v${this.nextValue++}` };
  }

  private issue(node: string, input: KvInput): void {
    const op: CheckedOperation = { id: this.nextId++, client: node, callMs: this.sim.nowMs, returnMs: null, input };
    // Open before asking: the answer may come within the request's own step.
    this.open.set(op.id as number, op);
    if (!this.sim.kvRequest(node, toRequest(input), (answer) => this.answered(op, answer))) this.open.delete(op.id as number);
  }

  private answered(op: CheckedOperation, answer: KvAnswer): void {
    this.open.delete(op.id as number);
    const output = outputOf(op.input, answer);
    if (output === 'unknown') {
      this.history.push(op);
      return;
    }
    if (output === null) return;
    op.returnMs = this.sim.nowMs;
    op.output = output;
    if ('modRevision' in output && output.modRevision > 0) this.noteRevision(op.input.key, output.modRevision);
    if ((op.input.kind === 'put' || op.input.kind === 'cas') && 'revision' in output && !('ok' in output && !output.ok)) this.noteRevision(op.input.key, output.revision);
    this.history.push(op);
  }

  private noteRevision(key: string, revision: number): void {
    this.seenRevision.set(key, Math.max(this.seenRevision.get(key) ?? 0, revision));
  }

  /** The history (with every unanswered operation as unknown) checked; a violation names the key and the operations that could not be placed. */
  check(): Violation | null {
    const history = [...this.history, ...this.open.values()];
    const result = checkLinearizability(kvModel, history, { maxSteps: MAX_CHECK_STEPS });
    if (result.ok === 'unknown') {
      this.verdict = 'unknown';
      return null;
    }
    if (result.ok) {
      this.verdict = 'linearizable';
      return null;
    }
    this.verdict = 'violated';
    const byId = new Map(history.map((op) => [op.id, op]));
    const describe = (id: string | number) => {
      const op = byId.get(id)!;
      return `#${id} [${op.callMs}, ${op.returnMs ?? '?'}] ${kvModel.describeOperation!(op)}`;
    };
    return {
      seed: this.sim.seed,
      invariant: KV_LINEARIZABLE,
      nowMs: this.sim.nowMs,
      message:
        `the key-value history of key ${result.partition} is not linearizable: ${result.reason}. ` +
        `Placed in order: ${result.longestLinearizablePrefix.map(describe).join('; ') || 'none'}`,
      trace: [],
      notable: history.filter((op) => op.input.key === result.partition).map((op) => describe(op.id)),
    };
  }
}

function toRequest(input: KvInput): KvRequest {
  switch (input.kind) {
    case 'put':
      return { kind: 'write', op: { kind: 'put', key: input.key, value: input.value } };
    case 'cas':
      return { kind: 'write', op: { kind: 'put', key: input.key, value: input.value, ifModRevision: input.ifModRevision } };
    case 'delete':
      return { kind: 'write', op: { kind: 'delete', key: input.key } };
    case 'get':
      return { kind: 'read', read: { kind: 'get', key: input.key }, consistency: 'linearizable' };
  }
}

/** What the client learned: the checker's output, `unknown`, or null for no effect (left out of the history). */
function outputOf(input: KvInput, answer: KvAnswer): KvOutput | 'unknown' | null {
  if (!answer.ok) return answer.code === 'timeout' || answer.code === 'shutting-down' ? (input.kind === 'get' ? null : 'unknown') : null;
  if (answer.kind === 'events') throw new Error('a watch answer for a client operation');
  if (answer.kind === 'read') {
    const kv = answer.range.kvs[0];
    return { value: kv?.value ?? null, modRevision: kv?.modRevision ?? 0 };
  }
  const result = answer.result;
  if (!result.ok) return input.kind === 'cas' && result.code === 'compare-failed' ? { ok: false, revision: result.revision } : null;
  if (input.kind === 'put' && result.kind === 'put') return { revision: result.revision };
  if (input.kind === 'cas' && result.kind === 'put') return { ok: true, revision: result.revision };
  if (input.kind === 'delete' && result.kind === 'delete') return { deleted: result.deleted > 0 ? 1 : 0, revision: result.revision };
  throw new Error(`an answer of another kind for ${input.kind}: ${JSON.stringify(answer)}`);
}
