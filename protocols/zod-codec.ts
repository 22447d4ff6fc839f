/** One way to turn a zod schema into a Codec (types.ts): the first issue, with its path, is the reason. */
import type { z } from 'zod';
import type { Codec } from './types.js';

/**
 * `schema`, or a function that makes it: then it is made on the first parse (see `lazily`), not
 * when the module loads.
 */
export function codecOf<T>(schema: z.ZodType<T> | (() => z.ZodType<T>), what: string): Codec<T> {
  const schemaNow = typeof schema === 'function' ? schema : () => schema;
  return {
    warm: () => warmSchema(schemaNow()),
    parse(value) {
      const result = schemaNow().safeParse(value);
      if (result.success) return { ok: true, value: result.data };
      const issue = result.error.issues[0];
      const path = issue?.path.length ? issue.path.join('.') : '(root)';
      return { ok: false, reason: `${path}: ${issue?.message ?? `invalid ${what}`}` };
    },
  };
}

/**
 * A value made on its first use, then kept. For zod schemas a daemon needs only once messages
 * flow: zod builds a schema object per call of every method in a chain, and the raft and
 * key-value schemas built at module load took some 15 ms of a daemon's 330 ms start-up, before
 * its API could answer (`npm run bench -- startup`).
 */
export function lazily<T>(make: () => T): () => T {
  let made: { value: T } | null = null;
  return () => (made ??= { value: make() }).value;
}

/**
 * Has zod compile the parser of every object schema inside `schema` now. Zod 4 compiles an
 * object's parser (`new Function`) the first time it parses one, 1–4 ms on this machine: a node
 * paid it for the first VOTE_RESPONSE and APPEND_RESPONSE it ever read, which is the moment it
 * became leader, in the middle of a hand-off. Parsing `{}` compiles the object's own parser (and
 * fails, which is all that is wanted); the walk reaches nested objects, arrays, unions, optionals.
 */
export function warmSchema(schema: z.ZodType): void {
  const seen = new Set<object>();
  const visit = (value: unknown): void => {
    if (!isSchema(value) || seen.has(value)) return;
    seen.add(value);
    const def: object = value._zod.def;
    if ((def as { type?: string }).type === 'object') value.safeParse({});
    for (const part of Object.values(def)) {
      if (isSchema(part)) visit(part);
      else if (Array.isArray(part)) part.forEach(visit);
      else if (part !== null && typeof part === 'object') Object.values(part).forEach(visit);
    }
  };
  visit(schema);
}

function isSchema(value: unknown): value is z.ZodType {
  return typeof value === 'object' && value !== null && '_zod' in value && typeof (value as { safeParse?: unknown }).safeParse === 'function';
}
