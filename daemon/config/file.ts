/**
 * Reads one config file (YAML; JSON is valid YAML) into a validated layer. Syntax errors are
 * reported as `file:line:col`, schema errors by field path with the line they sit on.
 */
import { readFileSync } from 'node:fs';
import { LineCounter, parseDocument, type Document } from 'yaml';
import type { ConfigIssue } from '../errors.js';
import { fieldIssues, formatFieldPath, type FieldPath } from './issues.js';
import { configLayerSchema, type ConfigLayer } from './schema.js';

export interface FileLayer {
  /** Null when the file could not be read, parsed or validated; `issues` says why. */
  layer: ConfigLayer | null;
  issues: ConfigIssue[];
}

/** `absolutePath` is read; `shownPath` (as the user wrote it) appears in messages. */
export function readConfigFile(absolutePath: string, shownPath: string): FileLayer {
  let text: string;
  try {
    text = readFileSync(absolutePath, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'error';
    const reason = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a directory, not a file' : `cannot be read (${code})`;
    return { layer: null, issues: [{ path: shownPath, message: `config file ${reason}` }] };
  }
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const at = (offset: number) => {
    const { line, col } = lineCounter.linePos(offset);
    return `${shownPath}:${line}:${col}`;
  };
  if (doc.errors.length > 0) {
    return { layer: null, issues: doc.errors.map((e) => ({ path: at(e.pos[0]), message: `YAML syntax: ${e.message.split('\n')[0]}` })) };
  }
  let value: unknown;
  try {
    // Aliases can expand exponentially ("billion laughs"); yaml bounds them and throws past that.
    value = doc.toJS({ maxAliasCount: 100 }) ?? {};
  } catch (err) {
    return { layer: null, issues: [{ path: shownPath, message: `YAML: ${(err as Error).message}` }] };
  }
  const parsed = configLayerSchema.safeParse(value, { reportInput: true });
  if (parsed.success) return { layer: parsed.data, issues: [] };
  const issues = fieldIssues(parsed.error).map((issue) => {
    const offset = offsetOf(doc, issue.path);
    const where = offset === null ? shownPath : at(offset);
    return { path: formatFieldPath(issue.path), message: `${issue.message} (${where})` };
  });
  return { layer: null, issues };
}

/** Where the value at `path` (or its closest present ancestor) starts in the text. */
function offsetOf(doc: Document, path: FieldPath): number | null {
  for (let depth = path.length; depth > 0; depth--) {
    const node = doc.getIn(path.slice(0, depth), true) as { range?: [number, number, number] } | undefined;
    if (node?.range) return node.range[0];
  }
  return (doc.contents as { range?: [number, number, number] } | null)?.range?.[0] ?? null;
}
