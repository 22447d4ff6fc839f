/**
 * A linearizability checker for recorded histories (issues 12 and 15: the simulator's and real
 * daemons' key-value histories), after Porcupine's `checker.go`: Wing & Gong's depth-first search
 * for a linearization, with Lowe's memoization of (set of operations linearized, model state),
 * run separately on each independent sub-history the model's `partition` names (per key for the
 * key-value store: linearizability is compositional, so checking each key alone is exact and the
 * searches stay small).
 *
 * The search: every operation contributes a call entry and, when its outcome is known, a return
 * entry, sorted by time into a doubly linked list. Walking the list from its head, any call met
 * before the first return belongs to an operation that may be linearized next (it started before
 * the earliest-returning pending operation had to have taken effect). One that the model accepts,
 * in a configuration not seen before, is lifted out of the list and the walk restarts; meeting a
 * return entry means nothing more can go before that operation, so the last choice is undone.
 *
 * Unknown outcomes (a timeout, a crash: `returnMs` null or Infinity, no output): such an
 * operation may have taken effect at any instant after its call, or never. It gets a call entry
 * and no return entry, so it is a candidate from its call to the end and never forces a
 * backtrack; the search is done once every operation with a known outcome is linearized, and
 * unknown ones left over are the ones that never took effect. The model's `step` with output
 * `undefined` therefore only has to describe the operation taking effect. (Porcupine instead
 * returns them at +Infinity and requires the model to accept them at the end; leaving them out
 * says "never happened" without asking anything of the model.) An unknown-outcome operation whose
 * step leaves the state unchanged is not tried there: leaving it pending covers that branch.
 *
 * Pure: no clock. The search is bounded by `maxSteps` (iterations of the walk, over all
 * partitions); running out answers `ok: 'unknown'` instead of hanging.
 */

export type OperationId = string | number;

/** One operation of a history, as a client saw it. */
export interface Operation<Input, Output> {
  id: OperationId;
  client: string | number;
  /** When the client invoked it. */
  callMs: number;
  /** When the client got its outcome; null or Infinity when it never learned it (timeout, crash). */
  returnMs: number | null;
  input: Input;
  /** The outcome; ignored (and may be absent) when `returnMs` says the outcome is unknown. */
  output?: Output;
}

export interface StepResult<State> {
  ok: boolean;
  state: State;
}

/** An independent sub-history: the checker linearizes each alone. */
export interface Partition<Input, Output> {
  key: string;
  operations: Operation<Input, Output>[];
}

/** The sequential specification the history is checked against (Porcupine's `Model`). */
export interface Model<State, Input, Output> {
  init(): State;
  /**
   * Applies `input` to `state` and says whether `output` is what the object could have answered.
   * `output` undefined: the outcome is unknown and this is the operation taking effect; it must
   * accept every outcome the operation could have had. Must not mutate `state`.
   */
  step(state: State, input: Input, output: Output | undefined): StepResult<State>;
  /** Equal states must hash equal (the cache key); a 32-bit integer. */
  hash(state: State): number;
  equal(a: State, b: State): boolean;
  /** Independent sub-histories (default: the whole history is one, keyed 'all'). */
  partition?(history: readonly Operation<Input, Output>[]): Partition<Input, Output>[];
  describeOperation?(op: Operation<Input, Output>): string;
  describeState?(state: State): string;
}

export interface CheckOptions {
  /** Search iterations allowed over all partitions before answering 'unknown'. */
  maxSteps?: number;
}

/**
 * Enough for the histories a simulator run or a chaos run records (hundreds to a few thousand
 * operations per key); a pathological history answers 'unknown' in about a second instead of
 * searching for ever.
 */
export const DEFAULT_MAX_STEPS = 5_000_000;

export type CheckResult =
  | { ok: true; partitions: number; steps: number }
  | {
      ok: false;
      partition: string;
      reason: string;
      /** The longest sequence of operations of that partition the search could linearize, in order. */
      longestLinearizablePrefix: OperationId[];
      /** After that prefix: the operations that could have come next, none of which the model accepts. */
      failingOps: OperationId[];
      steps: number;
    }
  | { ok: 'unknown'; partition: string; reason: 'search budget exhausted'; steps: number };

/** A history the checker cannot read (duplicate ids, a return before its call). */
export class InvalidHistoryError extends Error {
  override readonly name = 'InvalidHistoryError';
  constructor(readonly operation: OperationId, readonly problem: string) {
    super(`operation ${String(operation)}: ${problem}`);
  }
}

/** Whether the client never learned the operation's outcome. */
export function outcomeUnknown(op: Pick<Operation<unknown, unknown>, 'returnMs'>): boolean {
  return op.returnMs === null || op.returnMs === Infinity;
}

/**
 * Checks `history` against `model`: `ok: true` when every partition has a linearization, `false`
 * with the first partition that has none and why, `'unknown'` when the budget (shared by all
 * partitions) ran out first.
 */
export function checkLinearizability<State, Input, Output>(
  model: Model<State, Input, Output>,
  history: readonly Operation<Input, Output>[],
  options: CheckOptions = {},
): CheckResult {
  validate(history);
  const partitions = model.partition ? model.partition(history) : [{ key: 'all', operations: [...history] }];
  let budget = options.maxSteps ?? DEFAULT_MAX_STEPS;
  let steps = 0;
  for (const partition of partitions) {
    const outcome = searchPartition(model, partition.operations, budget);
    steps += outcome.steps;
    budget -= outcome.steps;
    if (outcome.kind === 'fail') return { ...explainFailure(model, partition, outcome.longest), steps };
    if (outcome.kind === 'exhausted') return { ok: 'unknown', partition: partition.key, reason: 'search budget exhausted', steps };
  }
  return { ok: true, partitions: partitions.length, steps };
}

function validate(history: readonly Operation<unknown, unknown>[]): void {
  const ids = new Set<OperationId>();
  for (const op of history) {
    if (ids.has(op.id)) throw new InvalidHistoryError(op.id, 'duplicate id');
    ids.add(op.id);
    if (!Number.isFinite(op.callMs)) throw new InvalidHistoryError(op.id, `call time ${op.callMs} is not a finite number`);
    if (!outcomeUnknown(op) && !(op.returnMs! >= op.callMs)) throw new InvalidHistoryError(op.id, `returns at ${op.returnMs} before its call at ${op.callMs}`);
  }
}

// ---- the search ---------------------------------------------------------------------------

interface Entry {
  /** Index of the operation in its partition. */
  op: number;
  isCall: boolean;
  time: number;
  prev: Entry | null;
  next: Entry | null;
  /** A call's return entry (null: outcome unknown). */
  ret: Entry | null;
}

type SearchOutcome =
  | { kind: 'ok'; steps: number }
  | { kind: 'fail'; steps: number; longest: number[] }
  | { kind: 'exhausted'; steps: number };

/** The sorted call/return list behind a sentinel head. */
function entryList(ops: readonly Operation<unknown, unknown>[]): Entry {
  const entries: Entry[] = [];
  ops.forEach((op, i) => {
    const call: Entry = { op: i, isCall: true, time: op.callMs, prev: null, next: null, ret: null };
    entries.push(call);
    if (!outcomeUnknown(op)) {
      call.ret = { op: i, isCall: false, time: op.returnMs!, prev: null, next: null, ret: null };
      entries.push(call.ret);
    }
  });
  // At equal times calls go first: operations whose intervals touch count as concurrent, so a
  // clock that rounds two instants together never makes a correct history fail.
  entries.sort((a, b) => a.time - b.time || Number(b.isCall) - Number(a.isCall));
  const head: Entry = { op: -1, isCall: false, time: -Infinity, prev: null, next: null, ret: null };
  let last = head;
  for (const entry of entries) {
    last.next = entry;
    entry.prev = last;
    last = entry;
  }
  return head;
}

function unlink(entry: Entry): void {
  entry.prev!.next = entry.next;
  if (entry.next) entry.next.prev = entry.prev;
}

/** Undoes `unlink` (valid in reverse order of unlinking: the search undoes last choice first). */
function relink(entry: Entry): void {
  entry.prev!.next = entry;
  if (entry.next) entry.next.prev = entry;
}

function lift(call: Entry): void {
  unlink(call);
  if (call.ret) unlink(call.ret);
}

function unlift(call: Entry): void {
  if (call.ret) relink(call.ret);
  relink(call);
}

/** A fixed pseudo-random 32-bit word per operation index; a set's hash is the XOR of its members'. */
function opHash(i: number): number {
  let h = Math.imul(i + 1, 0x9e3779b1);
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/** Lowe's memo: configurations (linearized set, state) already explored. */
class Seen<State> {
  private readonly buckets = new Map<number, { bits: Uint32Array; state: State }[]>();
  constructor(private readonly equal: (a: State, b: State) => boolean) {}

  /** Adds the configuration; false when it was already there. */
  add(key: number, bits: Uint32Array, state: State): boolean {
    let bucket = this.buckets.get(key);
    if (!bucket) this.buckets.set(key, (bucket = []));
    for (const seen of bucket) if (sameBits(seen.bits, bits) && this.equal(seen.state, state)) return false;
    bucket.push({ bits: bits.slice(), state });
    return true;
  }
}

function sameBits(a: Uint32Array, b: Uint32Array): boolean {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function searchPartition<State, Input, Output>(
  model: Model<State, Input, Output>,
  ops: readonly Operation<Input, Output>[],
  budget: number,
): SearchOutcome {
  const head = entryList(ops);
  const unknown = ops.map(outcomeUnknown);
  const hashes = ops.map((_, i) => opHash(i));
  const bits = new Uint32Array(Math.ceil(ops.length / 32) || 1);
  const seen = new Seen<State>((a, b) => model.equal(a, b));
  const stack: { call: Entry; before: State }[] = [];
  let longest: number[] = [];
  let knownLeft = unknown.filter((u) => !u).length;
  let state = model.init();
  let bitsHash = 0;
  let steps = 0;
  let entry = head.next;
  while (knownLeft > 0) {
    if (steps >= budget) return { kind: 'exhausted', steps };
    steps++;
    if (entry === null) throw new Error('linearizability search ran past the last entry (checker bug)');
    if (entry.isCall) {
      const i = entry.op;
      const op = ops[i]!;
      const next = model.step(state, op.input, unknown[i] ? undefined : op.output);
      // An unknown outcome that changes nothing here is covered by never linearizing it.
      if (next.ok && !(unknown[i] && model.equal(next.state, state))) {
        bits[i >>> 5]! ^= 1 << (i & 31);
        bitsHash ^= hashes[i]!;
        if (seen.add((bitsHash ^ Math.imul(model.hash(next.state), 0x27d4eb2d)) >>> 0, bits, next.state)) {
          stack.push({ call: entry, before: state });
          state = next.state;
          lift(entry);
          if (!unknown[i]) knownLeft--;
          if (stack.length > longest.length) longest = stack.map((s) => s.call.op);
          entry = head.next;
          continue;
        }
        bits[i >>> 5]! ^= 1 << (i & 31);
        bitsHash ^= hashes[i]!;
      }
      entry = entry.next;
    } else {
      // A pending operation's return: nothing more can go before it; undo the last choice.
      const top = stack.pop();
      if (!top) return { kind: 'fail', steps, longest };
      const i = top.call.op;
      state = top.before;
      bits[i >>> 5]! ^= 1 << (i & 31);
      bitsHash ^= hashes[i]!;
      unlift(top.call);
      if (!unknown[i]) knownLeft++;
      entry = top.call.next;
    }
  }
  return { kind: 'ok', steps };
}

// ---- the report ---------------------------------------------------------------------------

function describe<State, Input, Output>(model: Model<State, Input, Output>, op: Operation<Input, Output>): string {
  const what = model.describeOperation ? model.describeOperation(op) : JSON.stringify({ input: op.input, output: op.output });
  const until = outcomeUnknown(op) ? '?' : String(op.returnMs);
  return `#${String(op.id)} ${what} (client ${String(op.client)}, ${op.callMs}..${until} ms)`;
}

/**
 * Why a partition has no linearization, told from the longest prefix the search found: the
 * state after it, the earliest-returning operation still pending (it had to be placed by its
 * return), and the operations that could have come next, which the model all refuses there.
 */
function explainFailure<State, Input, Output>(
  model: Model<State, Input, Output>,
  partition: Partition<Input, Output>,
  longest: readonly number[],
): { ok: false; partition: string; reason: string; longestLinearizablePrefix: OperationId[]; failingOps: OperationId[] } {
  const ops = partition.operations;
  let state = model.init();
  for (const i of longest) state = model.step(state, ops[i]!.input, outcomeUnknown(ops[i]!) ? undefined : ops[i]!.output).state;
  const placed = new Set(longest);
  const pending = ops.map((_, i) => i).filter((i) => !placed.has(i));
  const blocking = pending
    .filter((i) => !outcomeUnknown(ops[i]!))
    .reduce((a, b) => (ops[b]!.returnMs! < ops[a]!.returnMs! ? b : a));
  const deadline = ops[blocking]!.returnMs!;
  const candidates = pending.filter((i) => ops[i]!.callMs <= deadline);
  // At the end of the longest prefix every candidate is refused (one accepted would have made
  // a longer prefix), unknown-outcome ones aside that would change nothing there.
  const failing = candidates.filter((i) => !model.step(state, ops[i]!.input, outcomeUnknown(ops[i]!) ? undefined : ops[i]!.output).ok);
  const shown = model.describeState ? model.describeState(state) : JSON.stringify(state);
  const reason =
    `partition ${partition.key}: ${describe(model, ops[blocking]!)} cannot be linearized: after the ` +
    `${longest.length} operation(s) of the longest linearizable prefix the state is ${shown}, and no operation ` +
    `that may come next fits it: ${failing.map((i) => describe(model, ops[i]!)).join('; ')}`;
  return {
    ok: false,
    partition: partition.key,
    reason,
    longestLinearizablePrefix: longest.map((i) => ops[i]!.id),
    failingOps: failing.map((i) => ops[i]!.id),
  };
}
