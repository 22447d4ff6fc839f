/**
 * Turns zod's issues into short reasons a person can act on, one per problem, each with the
 * field path it concerns (an unknown key gets its own path and a "did you mean").
 */
import type { z } from 'zod';
import { configLayerSchema } from './schema.js';
import { didYouMean } from './suggest.js';

export type FieldPath = readonly (string | number)[];

export interface FieldIssue {
  path: FieldPath;
  message: string;
}

/** `node.priority`, `listen[1]`; the root is `(root)`. */
export function formatFieldPath(path: FieldPath): string {
  let out = '';
  for (const part of path) out += typeof part === 'number' ? `[${part}]` : out ? `.${part}` : part;
  return out || '(root)';
}

export function fieldIssues(error: z.ZodError): FieldIssue[] {
  const out: FieldIssue[] = [];
  for (const issue of error.issues) {
    const path = issue.path.filter((p): p is string | number => typeof p !== 'symbol');
    if (issue.code === 'unrecognized_keys') {
      const known = knownKeysAt(path);
      for (const key of issue.keys) out.push({ path: [...path, key], message: `unknown key${didYouMean(key, known)}` });
    } else if (issue.code === 'invalid_type' && issue.message.startsWith('Invalid input')) {
      // zod's own wording; a schema's custom message (no such prefix) is kept as written.
      out.push({ path, message: `expected ${expectedPhrase(issue.expected)}, got ${describeValue(issue.input)}` });
    } else if (issue.code === 'invalid_value') {
      const values = issue.values.map(String);
      const got = describeValue(issue.input);
      out.push({ path, message: `expected one of ${values.join(', ')}; got ${got}${typeof issue.input === 'string' ? didYouMean(issue.input, values) : ''}` });
    } else {
      out.push({ path, message: issue.message });
    }
  }
  return out;
}

function expectedPhrase(expected: string): string {
  switch (expected) {
    case 'int':
      return 'an integer';
    case 'number':
      return 'a number';
    case 'string':
      return 'a string';
    case 'boolean':
      return 'true or false';
    case 'object':
      return 'a mapping';
    case 'array':
      return 'a list';
    default:
      return expected;
  }
}

export function describeValue(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null';
  if (typeof value === 'string') return JSON.stringify(value);
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  return String(value);
}

interface SchemaDef {
  type: string;
  innerType?: { _zod: { def: SchemaDef } };
  out?: { _zod: { def: SchemaDef } };
  shape?: Record<string, { _zod: { def: SchemaDef } }>;
}

/** The keys the schema allows at `path`, for suggestions. */
function knownKeysAt(path: FieldPath): string[] {
  let def = (configLayerSchema as unknown as { _zod: { def: SchemaDef } })._zod.def;
  const unwrap = () => {
    while (def.type === 'optional' || def.type === 'nullable' || def.type === 'pipe') {
      const next = def.type === 'pipe' ? def.out : def.innerType;
      if (!next) break;
      def = next._zod.def;
    }
  };
  unwrap();
  for (const part of path) {
    const child = typeof part === 'string' ? def.shape?.[part] : undefined;
    if (!child) return [];
    def = child._zod.def;
    unwrap();
  }
  return Object.keys(def.shape ?? {});
}
