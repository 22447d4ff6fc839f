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
