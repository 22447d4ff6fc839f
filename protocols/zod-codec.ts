/** One way to turn a zod schema into a Codec (types.ts): the first issue, with its path, is the reason. */
import type { z } from 'zod';
import type { Codec } from './types.js';

export function codecOf<T>(schema: z.ZodType<T>, what: string): Codec<T> {
  return {
    parse(value) {
      const result = schema.safeParse(value);
      if (result.success) return { ok: true, value: result.data };
      const issue = result.error.issues[0];
      const path = issue?.path.length ? issue.path.join('.') : '(root)';
      return { ok: false, reason: `${path}: ${issue?.message ?? `invalid ${what}`}` };
    },
  };
}
