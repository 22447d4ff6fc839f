/**
 * The `CONCLAVE_*` environment layer. Each variable sets one field; a variable that looks like
 * config but is not one of them is an error naming it, so `CONCLAVE_LOG_LEVLE=debug` cannot be
 * ignored silently. Variables read by other tools (clients, tests) are listed and left alone.
 */
import type { ConfigIssue } from '../errors.js';
import type { FieldPath } from './issues.js';
import type { ConfigLayer } from './schema.js';
import { validateSourcedValues, type SourcedValue } from './sourced.js';
import { closestMatch } from './suggest.js';

type ValueKind = 'text' | 'integer' | 'boolean' | 'list';

/** Every variable the daemon's config reads, and the field it sets. */
export const CONFIG_ENV_VARS: Readonly<Record<string, { path: FieldPath; kind: ValueKind }>> = {
  CONCLAVE_CLUSTER: { path: ['cluster', 'name'], kind: 'text' },
  CONCLAVE_BOOTSTRAP_EXPECT: { path: ['cluster', 'bootstrapExpect'], kind: 'integer' },
  CONCLAVE_NODE_NAME: { path: ['node', 'name'], kind: 'text' },
  CONCLAVE_NODE_PRIORITY: { path: ['node', 'priority'], kind: 'integer' },
  CONCLAVE_PROTOCOL: { path: ['protocol'], kind: 'text' },
  CONCLAVE_DATA_DIR: { path: ['dataDir'], kind: 'text' },
  CONCLAVE_LISTEN: { path: ['listen'], kind: 'list' },
  CONCLAVE_API: { path: ['api', 'listen'], kind: 'text' },
  CONCLAVE_API_TOKEN: { path: ['api', 'token'], kind: 'text' },
  CONCLAVE_MDNS: { path: ['discovery', 'mdns', 'enabled'], kind: 'boolean' },
  CONCLAVE_BOOTSTRAP: { path: ['discovery', 'bootstrap'], kind: 'list' },
  CONCLAVE_LOG_LEVEL: { path: ['log', 'level'], kind: 'text' },
  CONCLAVE_LOG_FORMAT: { path: ['log', 'format'], kind: 'text' },
  CONCLAVE_PSK_FILE: { path: ['security', 'pskFile'], kind: 'text' },
  CONCLAVE_MEMBERSHIP_PRESET: { path: ['membership', 'preset'], kind: 'text' },
};

/** The config file's path; read by loadConfig, not a field. */
export const CONFIG_FILE_ENV_VAR = 'CONCLAVE_CONFIG';

/** `CONCLAVE_*` variables that other tools read (CLI clients, tests): never a config error. */
export const NON_CONFIG_ENV_VARS: readonly string[] = [
  // Test harness: keep a failed run's daemon logs.
  'CONCLAVE_KEEP_TEST_LOGS',
  // scripts/cluster.sh and npm start: which local cluster, which binary, how long `up` waits.
  'CONCLAVE_CLUSTER_NAME',
  'CONCLAVE_BIN',
  'CONCLAVE_UP_TIMEOUT_S',
  // npm start: show the plain member table instead of the dashboard.
  'CONCLAVE_NO_TUI',
  // Set by the daemon for its hooks (and by `conclave run` for its child): a hook that runs
  // `conclave` must not have its own environment rejected.
  'CONCLAVE_FENCING_TOKEN',
  'CONCLAVE_TERM',
  'CONCLAVE_LEADER_ID',
  'CONCLAVE_LEADER_NAME',
  'CONCLAVE_ROLE',
  'CONCLAVE_PREVIOUS_LEADER',
  'CONCLAVE_HOOK',
];

/** First words that mark a variable as meant for the daemon's config. */
const CONFIG_WORDS = new Set([
  'CLUSTER', 'NODE', 'NAME', 'PRIORITY', 'PROTOCOL', 'DATA', 'DATADIR', 'LISTEN', 'API', 'DISCOVERY', 'MDNS',
  'BOOTSTRAP', 'MEMBERSHIP', 'PRESET', 'MESSAGING', 'BULLY', 'RAFT', 'SECURITY', 'PSK', 'LOG', 'CONFIG', 'HOOKS', 'HOOK',
]);

export function readEnvLayer(env: NodeJS.ProcessEnv): { layer: ConfigLayer | null; issues: ConfigIssue[] } {
  const values: SourcedValue[] = [];
  const issues: ConfigIssue[] = [];
  const known = [...Object.keys(CONFIG_ENV_VARS), CONFIG_FILE_ENV_VAR];
  for (const [name, raw] of Object.entries(env)) {
    if (!name.startsWith('CONCLAVE_') || raw === undefined) continue;
    const spec = CONFIG_ENV_VARS[name];
    if (!spec) {
      if (name !== CONFIG_FILE_ENV_VAR && !NON_CONFIG_ENV_VARS.includes(name) && looksLikeConfig(name, known)) {
        const match = closestEnvVar(name, known);
        issues.push({ path: `env ${name}`, message: `not a config variable${match ? `; did you mean ${match}?` : ` (known: ${known.join(', ')})`}` });
      }
      continue;
    }
    // Empty means unset: compose files and shells often export a variable with no value.
    if (raw.trim() === '') continue;
    const label = `env ${name}`;
    const converted = convert(raw, spec.kind);
    if ('problem' in converted) issues.push({ path: label, message: converted.problem });
    else values.push({ path: spec.path, value: converted.value, label });
  }
  const validated = validateSourcedValues(values);
  return { layer: validated.layer, issues: [...issues, ...validated.issues] };
}

function looksLikeConfig(name: string, known: readonly string[]): boolean {
  const firstWord = name.slice('CONCLAVE_'.length).split('_')[0] ?? '';
  return CONFIG_WORDS.has(firstWord) || closestEnvVar(name, known) !== null;
}

/** Compares what follows `CONCLAVE_`, so the shared prefix does not make everything look close. */
function closestEnvVar(name: string, known: readonly string[]): string | null {
  const suffix = (n: string) => n.slice('CONCLAVE_'.length);
  const match = closestMatch(suffix(name), known.map(suffix));
  return match === null ? null : `CONCLAVE_${match}`;
}

function convert(raw: string, kind: ValueKind): { value: unknown } | { problem: string } {
  const text = raw.trim();
  switch (kind) {
    case 'text':
      return { value: text };
    case 'integer':
      return /^[+-]?\d+$/.test(text) && Number.isSafeInteger(Number(text))
        ? { value: Number(text) }
        : { problem: `expected an integer, got ${JSON.stringify(raw)}` };
    case 'boolean': {
      const lower = text.toLowerCase();
      if (['true', '1', 'yes', 'on'].includes(lower)) return { value: true };
      if (['false', '0', 'no', 'off'].includes(lower)) return { value: false };
      return { problem: `expected true or false, got ${JSON.stringify(raw)}` };
    }
    case 'list':
      return { value: text.split(',').map((s) => s.trim()).filter((s) => s !== '') };
  }
}
