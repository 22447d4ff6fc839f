/**
 * How a write is decided before anything changes: the checks every op's keys, values and
 * sessions pass (each failure a typed error naming the limit and the size), txn compares, and a
 * WritePlan — the changes one operation makes, all at the next revision, over a view of the store
 * that shows the plan's own earlier writes. The store commits a plan whole or not at all
 * (store.ts), which is what makes a txn atomic and a failed write leave no trace.
 */
import { compareKeys, utf8ByteLength } from './text.js';
import type { KeyValue, KvCompare, KvError, KvEvent, KvLimits, KvTxnOp } from './types.js';

function fail(code: KvError['code'], message: string): KvError {
  return { ok: false, code, message };
}

/** Quotes a key for a message, cut short so an error stays small whatever the key. */
export function quote(key: string): string {
  return JSON.stringify(key.length > 64 ? `${key.slice(0, 64)}…` : key);
}

export function checkKey(key: string, limits: KvLimits, what = 'key'): KvError | null {
  if (key.length === 0) return fail('empty-key', `${what} must not be empty`);
  const bytes = utf8ByteLength(key);
  if (bytes === null) return fail('not-utf8', `${what} ${quote(key)} is not well-formed UTF-16 (a lone surrogate)`);
  if (bytes > limits.maxKeyBytes) return fail('key-too-large', `${what} is ${bytes} bytes, above maxKeyBytes ${limits.maxKeyBytes}`);
  return null;
}

/** A prefix may be empty (every key); otherwise it is bounded like a key. */
export function checkPrefix(prefix: string, limits: KvLimits): KvError | null {
  return prefix === '' ? null : checkKey(prefix, limits, 'prefix');
}

export function checkValue(value: string, limits: KvLimits, key: string): KvError | null {
  const bytes = utf8ByteLength(value);
  if (bytes === null) return fail('not-utf8', `value of ${quote(key)} is not well-formed UTF-16 (a lone surrogate)`);
  if (bytes > limits.maxValueBytes) return fail('value-too-large', `value of ${quote(key)} is ${bytes} bytes, above maxValueBytes ${limits.maxValueBytes}`);
  return null;
}

/** Bytes a key-value counts against maxTotalBytes (its key and value, UTF-8; both checked well-formed on the way in). */
export function kvBytes(kv: KeyValue): number {
  return (utf8ByteLength(kv.key) ?? 0) + (utf8ByteLength(kv.value) ?? 0);
}

/** The checks a txn branch's op passes before the txn runs; sessions are checked by the caller. */
export function checkTxnOp(op: KvTxnOp, limits: KvLimits): KvError | null {
  switch (op.kind) {
    case 'put':
      return checkKey(op.key, limits) ?? checkValue(op.value, limits, op.key);
    case 'delete':
    case 'get':
      return checkKey(op.key, limits);
    case 'deletePrefix':
      return checkPrefix(op.prefix, limits);
  }
}

/**
 * A branch may write each key once (etcd refuses the same: one revision, one event per key).
 * Writes overlap when they name the same key, or a key or prefix lies under a deleted prefix.
 */
export function findOverlap(ops: readonly KvTxnOp[]): KvError | null {
  const writes: { prefix: boolean; at: string }[] = [];
  for (const op of ops) {
    if (op.kind === 'get') continue;
    const w = op.kind === 'deletePrefix' ? { prefix: true, at: op.prefix } : { prefix: false, at: op.key };
    for (const o of writes) {
      const overlaps = o.at === w.at || (o.prefix && w.at.startsWith(o.at)) || (w.prefix && o.at.startsWith(w.at));
      if (overlaps) return fail('duplicate-key', `a txn branch writes ${quote(w.at)} twice (over ${o.prefix ? 'prefix' : 'key'} ${quote(o.at)})`);
    }
    writes.push(w);
  }
  return null;
}

/** etcd's compare: an absent key reads as revisions and version 0, and any compare on its value is false. */
export function compareHolds(c: KvCompare, kv: KeyValue | null): boolean {
  if (c.target === 'value') {
    if (kv === null) return false;
    return holds(compareKeys(kv.value, c.value), c.op);
  }
  const actual = kv === null ? 0 : kv[c.target];
  return holds(actual - c.value, c.op);
}

function holds(sign: number, op: KvCompare['op']): boolean {
  switch (op) {
    case '=':
      return sign === 0;
    case '!=':
      return sign !== 0;
    case '<':
      return sign < 0;
    case '>':
      return sign > 0;
  }
}

/** One key's change: created (prev null), replaced, or deleted (next null). */
export interface KvChange {
  key: string;
  prev: KeyValue | null;
  next: KeyValue | null;
}

/** Read access to the committed keys, which a plan layers its writes over. */
export interface KvReader {
  get(key: string): KeyValue | null;
  /** Keys starting with `prefix`, in key order. */
  keysWithPrefix(prefix: string): string[];
}

export class WritePlan {
  readonly changes: KvChange[] = [];
  private readonly written = new Map<string, KeyValue | null>();

  /** @param revision the revision every write of this plan gets: the store's next one. */
  constructor(
    private readonly base: KvReader,
    readonly revision: number,
  ) {}

  get(key: string): KeyValue | null {
    return this.written.has(key) ? this.written.get(key)! : this.base.get(key);
  }

  /** Puts `value` at `key`; returns the key-value it replaced, or null. */
  put(key: string, value: string, session: string | null): KeyValue | null {
    const prev = this.get(key);
    const next: KeyValue = Object.freeze({
      key,
      value,
      createRevision: prev?.createRevision ?? this.revision,
      modRevision: this.revision,
      version: (prev?.version ?? 0) + 1,
      session,
    });
    this.record(key, prev, next);
    return prev;
  }

  /** Deletes `key`; true if it was there. */
  delete(key: string): boolean {
    const prev = this.get(key);
    if (prev === null) return false;
    this.record(key, prev, null);
    return true;
  }

  /** Deletes every key under `prefix` in key order; returns how many. */
  deletePrefix(prefix: string): number {
    let deleted = 0;
    for (const key of this.base.keysWithPrefix(prefix)) if (this.delete(key)) deleted++;
    return deleted;
  }

  private record(key: string, prev: KeyValue | null, next: KeyValue | null): void {
    this.written.set(key, next);
    this.changes.push({ key, prev, next });
  }

  /** The watch events of this plan, in the order its writes were made. */
  events(): KvEvent[] {
    return this.changes.map(({ key, prev, next }) => {
      const kv = next ?? Object.freeze({ key, value: '', createRevision: 0, modRevision: this.revision, version: 0, session: null });
      const event: KvEvent = { type: next === null ? 'delete' : 'put', kv, revision: this.revision };
      if (prev !== null) event.prevKv = prev;
      return Object.freeze(event);
    });
  }
}
