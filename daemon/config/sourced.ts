/**
 * A config layer built from single values that each came from somewhere a person can name
 * (`env CONCLAVE_PROTOCOL`, `--priority`): schema issues are reported against that name.
 */
import type { ConfigIssue } from '../errors.js';
import { fieldIssues, type FieldPath } from './issues.js';
import { configLayerSchema, type ConfigLayer } from './schema.js';

export interface SourcedValue {
  path: FieldPath;
  value: unknown;
  /** How the user set it: `env CONCLAVE_X` or `--flag`. */
  label: string;
}

export function validateSourcedValues(values: readonly SourcedValue[]): { layer: ConfigLayer | null; issues: ConfigIssue[] } {
  const raw: Record<string, unknown> = {};
  for (const { path, value } of values) setIn(raw, path, value);
  const parsed = configLayerSchema.safeParse(raw, { reportInput: true });
  if (parsed.success) return { layer: parsed.data, issues: [] };
  const issues = fieldIssues(parsed.error).map((issue) => ({ path: labelFor(values, issue.path), message: issue.message }));
  return { layer: null, issues };
}

/** The label of the value whose path is the longest prefix of `path`. */
function labelFor(values: readonly SourcedValue[], path: FieldPath): string {
  let best: SourcedValue | undefined;
  for (const v of values) {
    const isPrefix = v.path.length <= path.length && v.path.every((part, i) => part === path[i]);
    if (isPrefix && (!best || v.path.length > best.path.length)) best = v;
  }
  return best?.label ?? path.join('.');
}

function setIn(target: Record<string, unknown>, path: FieldPath, value: unknown): void {
  let node = target;
  for (const part of path.slice(0, -1)) {
    const key = String(part);
    if (typeof node[key] !== 'object' || node[key] === null) node[key] = {};
    node = node[key] as Record<string, unknown>;
  }
  node[String(path[path.length - 1])] = value;
}
