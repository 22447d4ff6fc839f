/** The command-line layer: `conclave start` flags, reported as `--flag: reason`. */
import type { ConfigIssue } from '../errors.js';
import type { ConfigLayer } from './schema.js';
import { validateSourcedValues, type SourcedValue } from './sourced.js';

/** Values of `start`'s config flags as given (strings from the command line, or typed values). */
export interface FlagOverrides {
  cluster?: string;
  bootstrapExpect?: string | number;
  name?: string;
  priority?: string | number;
  protocol?: string;
  dataDir?: string;
  listen?: string[];
  api?: string;
  bootstrap?: string[];
  /** false from `--no-mdns`; leave undefined when the flag was not given. */
  mdns?: boolean;
  logLevel?: string;
  logFormat?: string;
  preset?: string;
}

const FLAG_FIELDS: Readonly<Record<keyof FlagOverrides, { flag: string; path: readonly string[] }>> = {
  cluster: { flag: '--cluster', path: ['cluster', 'name'] },
  bootstrapExpect: { flag: '--bootstrap-expect', path: ['cluster', 'bootstrapExpect'] },
  name: { flag: '--name', path: ['node', 'name'] },
  priority: { flag: '--priority', path: ['node', 'priority'] },
  protocol: { flag: '--protocol', path: ['protocol'] },
  dataDir: { flag: '--data-dir', path: ['dataDir'] },
  listen: { flag: '--listen', path: ['listen'] },
  api: { flag: '--api', path: ['api', 'listen'] },
  bootstrap: { flag: '--bootstrap', path: ['discovery', 'bootstrap'] },
  mdns: { flag: '--no-mdns', path: ['discovery', 'mdns', 'enabled'] },
  logLevel: { flag: '--log-level', path: ['log', 'level'] },
  logFormat: { flag: '--log-format', path: ['log', 'format'] },
  preset: { flag: '--preset', path: ['membership', 'preset'] },
};

export function readFlagLayer(flags: FlagOverrides): { layer: ConfigLayer | null; issues: ConfigIssue[] } {
  const values: SourcedValue[] = [];
  const issues: ConfigIssue[] = [];
  for (const key of Object.keys(FLAG_FIELDS) as (keyof FlagOverrides)[]) {
    const value = flags[key];
    if (value === undefined) continue;
    const { flag, path } = FLAG_FIELDS[key];
    if ((key === 'priority' || key === 'bootstrapExpect') && typeof value === 'string') {
      if (/^[+-]?\d+$/.test(value.trim()) && Number.isSafeInteger(Number(value))) values.push({ path, value: Number(value), label: flag });
      else issues.push({ path: flag, message: `expected an integer, got ${JSON.stringify(value)}` });
      continue;
    }
    values.push({ path, value, label: flag });
  }
  const validated = validateSourcedValues(values);
  return { layer: validated.layer, issues: [...issues, ...validated.issues] };
}
