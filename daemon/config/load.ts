/**
 * The effective config: defaults < file < `CONCLAVE_*` env < flags, field by field. Every
 * problem in every layer is collected and thrown together as one ConfigError, so a person fixes
 * them in one pass.
 */
import { dirname, join, resolve } from 'node:path';
import { MEMBERSHIP_PRESETS } from '../../protocols/membership/presets.js';
import { RAFT_PRESETS } from '../../protocols/raft/presets.js';
import { ConfigError, type ConfigIssue } from '../errors.js';
import { checkConfig } from './checks.js';
import { DEFAULT_CONFIG, type ConfigDefaults, defaultDataDir, defaultNodeName, homeDir } from './defaults.js';
import { CONFIG_FILE_ENV_VAR, readEnvLayer } from './env.js';
import { readConfigFile } from './file.js';
import { readFlagLayer, type FlagOverrides } from './flags.js';
import type { ConfigLayer } from './schema.js';
import type { ConclaveConfig } from './types.js';

export type { FlagOverrides };

export interface LoadConfigOptions {
  /** Config file (`--config`); when absent, `CONCLAVE_CONFIG` names it; neither: defaults only. */
  file?: string;
  /** Defaults to process.env. */
  env?: NodeJS.ProcessEnv;
  flags?: FlagOverrides;
  /** Base of relative paths from env and flags, and of the file path; defaults to process.cwd(). */
  cwd?: string;
}

export function loadConfig(opts: LoadConfigOptions = {}): ConclaveConfig {
  const env = opts.env ?? process.env;
  const cwd = opts.cwd ?? process.cwd();
  const home = homeDir(env);
  const issues: ConfigIssue[] = [];
  const layers: ConfigLayer[] = [];

  const shownFile = opts.file ?? (env[CONFIG_FILE_ENV_VAR]?.trim() || undefined);
  if (shownFile !== undefined) {
    const absoluteFile = resolve(cwd, expandHome(shownFile, home));
    const file = readConfigFile(absoluteFile, shownFile);
    issues.push(...file.issues);
    // Paths in a file are relative to the file, so a config and its psk file can move together.
    if (file.layer) layers.push(resolvePaths(file.layer, dirname(absoluteFile), home));
  }
  for (const read of [() => readEnvLayer(env), () => readFlagLayer(opts.flags ?? {})]) {
    const { layer, issues: layerIssues } = read();
    issues.push(...layerIssues);
    if (layer) layers.push(resolvePaths(layer, cwd, home));
  }
  if (issues.length > 0) throw new ConfigError(issues, headingFor(shownFile));

  const config = effectiveConfig(layers, env);
  const crossFieldIssues = checkConfig(config);
  if (crossFieldIssues.length > 0) throw new ConfigError(crossFieldIssues, headingFor(shownFile));
  return config;
}

function headingFor(file: string | undefined): string {
  return file === undefined ? 'invalid configuration' : `invalid configuration (config file ${file})`;
}

/** The defaults with every valid layer merged over them; derived fields may still be missing. */
type MergedConfig = ConfigDefaults & { node: { name?: string }; dataDir?: string; membership: Partial<ConclaveConfig['membership']> };

function effectiveConfig(layers: readonly ConfigLayer[], env: NodeJS.ProcessEnv): ConclaveConfig {
  const m = structuredClone(DEFAULT_CONFIG) as MergedConfig;
  // The schema guarantees each layer's fields have the defaults' shapes.
  for (const layer of layers) mergeInto(m as unknown as Record<string, unknown>, layer);
  const { preset = DEFAULT_CONFIG.membership.preset, ...timingOverrides } = m.membership;
  const name = m.node.name ?? defaultNodeName();
  return {
    cluster: m.cluster,
    node: { name, priority: m.node.priority },
    protocol: m.protocol,
    dataDir: m.dataDir ?? defaultDataDir(env, m.cluster.name, name),
    listen: m.listen,
    api: m.api,
    discovery: m.discovery,
    // Fields set explicitly (in any layer) override the preset's values, whichever layer chose the preset.
    membership: { preset, ...MEMBERSHIP_PRESETS[preset], ...timingOverrides },
    messaging: m.messaging,
    bully: m.bully,
    // Likewise: fields set explicitly override the timings fitted to the membership preset.
    raft: { ...RAFT_PRESETS[preset], ...m.raft },
    security: m.security,
    hooks: m.hooks,
    log: m.log,
  };
}

/** Objects merge key by key; anything else (values, lists, null) replaces what was there. */
function mergeInto(target: Record<string, unknown>, layer: object): void {
  for (const [key, value] of Object.entries(layer)) {
    if (value === undefined) continue;
    const existing = target[key];
    if (isPlainObject(value) && isPlainObject(existing)) mergeInto(existing, value);
    else target[key] = structuredClone(value);
  }
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Absolute paths for dataDir, security.pskFile and log.file, with a leading `~/` expanded. */
function resolvePaths(layer: ConfigLayer, baseDir: string, home: string): ConfigLayer {
  const abs = (p: string) => resolve(baseDir, expandHome(p, home));
  const out: ConfigLayer = { ...layer };
  if (layer.dataDir !== undefined) out.dataDir = abs(layer.dataDir);
  if (layer.security?.pskFile) out.security = { ...layer.security, pskFile: abs(layer.security.pskFile) };
  if (layer.log?.file) out.log = { ...layer.log, file: abs(layer.log.file) };
  return out;
}

function expandHome(path: string, home: string): string {
  if (path === '~') return home;
  if (path.startsWith('~/')) return join(home, path.slice(2));
  return path;
}
