/**
 * `conclave init`: a fresh pre-shared swarm key (mode 0600) and a config file that uses it, so a
 * cluster closed to strangers costs one command. A bad flag value exits 2 before anything is
 * written; an existing file is never overwritten without `--force` (exit 1, naming the file).
 */
import { randomBytes } from 'node:crypto';
import { lstatSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { Command, Option } from 'commander';
import { stringify } from 'yaml';
import { PROTOCOL_NAMES, type ProtocolName } from '../../protocols/types.js';
import { DEFAULT_CONFIG } from '../config/defaults.js';
import { readFlagLayer } from '../config/flags.js';
import { ConfigError } from '../errors.js';
import { formatSwarmKey, SWARM_KEY_BYTES } from '../p2p/swarm-key.js';

export const KEY_FILE = 'swarm.key';
export const CONFIG_FILE = 'conclave.yaml';
/** The key is the cluster's only secret: owner read/write only. */
const KEY_FILE_MODE = 0o600;
/** The config holds no secret (the key is a path): readable, so a service user can be given it. */
const CONFIG_FILE_MODE = 0o644;

/** `conclave init` without --force found a file where it would write. */
export class InitFileExistsError extends Error {
  override readonly name = 'InitFileExistsError';
  readonly exitCode = 1;
  readonly path: string;

  constructor(path: string) {
    super(`${path} already exists; conclave init never overwrites a file unless given --force (a new key locks out every node still holding the old one)`);
    this.path = path;
  }
}

export interface InitSettings {
  cluster: string;
  protocol: ProtocolName;
  bootstrapExpect: number;
}

export interface InitOptions extends InitSettings {
  /** Where both files go; created if missing. Relative to `cwd`. */
  dir: string;
  force: boolean;
  cwd?: string;
}

export interface InitResult {
  keyPath: string;
  configPath: string;
}

/** Flag values as commander hands them over: strings, checked by the same rules as `start`'s flags. */
interface InitFlags {
  dir: string;
  protocol: string;
  cluster: string;
  bootstrapExpect: string;
  force?: boolean;
}

export function registerInitCommand(program: Command, out: (text: string) => void = (text) => process.stdout.write(text)): void {
  program
    .command('init')
    .description(`write a new pre-shared swarm key (${KEY_FILE}) and a config that uses it (${CONFIG_FILE}): only nodes holding the key can join`)
    .option('--dir <dir>', 'where to write both files (created if missing)', '.')
    .addOption(new Option('--protocol <protocol>', 'election protocol').choices(PROTOCOL_NAMES).default(DEFAULT_CONFIG.protocol))
    .option('--cluster <name>', 'cluster name (scopes discovery and gossip)', DEFAULT_CONFIG.cluster.name)
    .option('--bootstrap-expect <n>', 'the number of nodes you will run (no node leads before it has seen that many)', String(DEFAULT_CONFIG.cluster.bootstrapExpect))
    .option('--force', `overwrite an existing ${KEY_FILE} or ${CONFIG_FILE}`)
    .action((flags: InitFlags) => {
      const settings = checkSettings(flags);
      const result = runInit({ ...settings, dir: flags.dir, force: flags.force === true });
      out(initReport(result, settings));
    });
}

/** The flags as settings, validated by the config schema; every problem at once, exit 2. */
function checkSettings(flags: InitFlags): InitSettings {
  const { layer, issues } = readFlagLayer({ cluster: flags.cluster, bootstrapExpect: flags.bootstrapExpect, protocol: flags.protocol });
  if (issues.length > 0 || !layer) throw new ConfigError(issues, 'invalid arguments for conclave init');
  return { cluster: layer.cluster!.name!, bootstrapExpect: layer.cluster!.bootstrapExpect!, protocol: layer.protocol! };
}

/** Writes a new key and a config naming it. Both targets are checked before either is written. */
export function runInit(opts: InitOptions): InitResult {
  const dir = resolve(opts.cwd ?? process.cwd(), opts.dir);
  const keyPath = join(dir, KEY_FILE);
  const configPath = join(dir, CONFIG_FILE);
  if (!opts.force) {
    for (const path of [keyPath, configPath]) if (exists(path)) throw new InitFileExistsError(path);
  }
  mkdirSync(dir, { recursive: true });
  writeNew(keyPath, formatSwarmKey(randomBytes(SWARM_KEY_BYTES)), KEY_FILE_MODE, opts.force);
  writeNew(configPath, initConfigText(opts), CONFIG_FILE_MODE, opts.force);
  return { keyPath, configPath };
}

/** A dangling symlink counts too: writing through it would create a file somewhere else. */
function exists(path: string): boolean {
  try {
    lstatSync(path);
    return true;
  } catch {
    return false;
  }
}

/**
 * Without `force`, an exclusive create (a file that appeared since the check is still refused).
 * With it, a temporary file renamed over the old one: the file gets this mode whatever the old
 * one had, and no reader ever sees it half written.
 */
function writeNew(path: string, text: string, mode: number, force: boolean): void {
  if (!force) {
    try {
      writeFileSync(path, text, { flag: 'wx', mode });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST') throw new InitFileExistsError(path);
      throw err;
    }
    return;
  }
  const temporary = `${path}.${process.pid}.tmp`;
  try {
    writeFileSync(temporary, text, { flag: 'wx', mode });
    renameSync(temporary, path);
  } finally {
    rmSync(temporary, { force: true });
  }
}

/** The config file: only what init decides, with why; every other field keeps its default. */
export function initConfigText(settings: InitSettings): string {
  const scalar = (value: string | number) => stringify(value).trimEnd();
  return [
    '# Written by `conclave init`. Copy this file and swarm.key to every node (the same two files',
    '# everywhere) and start each node with `conclave start --config <this file>`. Fields not set',
    '# here keep their defaults (listen on TCP 7401, control API on 127.0.0.1:7400, mDNS on, lan',
    '# timings): `conclave config print --config <this file>` shows the effective config.',
    '',
    'cluster:',
    '  # The same on every node. Scopes mDNS tags and gossip topics; mDNS announces it on the LAN,',
    '  # so it is no secret: the key below is what keeps other machines out.',
    `  name: ${scalar(settings.cluster)}`,
    '  # No node leads before it has seen this many members: the number of nodes you run.',
    `  bootstrapExpect: ${scalar(settings.bootstrapExpect)}`,
    '',
    '# bully or raft; every node must run the same one.',
    `protocol: ${scalar(settings.protocol)}`,
    '',
    'security:',
    '  # Pre-shared key (libp2p private network): a machine without this key cannot even complete',
    '  # a connection. Relative to this file. Keep it secret and mode 0600 on every node.',
    `  pskFile: ${KEY_FILE}`,
    '',
  ].join('\n');
}

/** What was written, then the commands that come next. */
export function initReport(result: InitResult, settings: InitSettings): string {
  const config = shellQuote(result.configPath);
  return [
    `wrote ${result.keyPath} (new pre-shared key, mode 0600: keep it secret)`,
    `wrote ${result.configPath} (cluster ${settings.cluster}, ${settings.protocol}, bootstrapExpect ${settings.bootstrapExpect}, security.pskFile ${KEY_FILE})`,
    '',
    'next:',
    `  1. copy both files to the same directory on every node (scp -p keeps the key's mode), e.g.`,
    `       scp -p ${shellQuote(result.keyPath)} ${config} NODE:${shellQuote(`${dirname(result.configPath)}/`)}`,
    settings.bootstrapExpect === 1 ? '  2. start the node:' : `  2. start each of the ${settings.bootstrapExpect} nodes (none leads before all ${settings.bootstrapExpect} have met):`,
    `       conclave start --config ${config}`,
    '  3. check it: `conclave status` says `security  pre-shared key`',
    '',
  ].join('\n');
}

/** A path as a shell word: bare when safe, else single-quoted. */
function shellQuote(text: string): string {
  return /^[\w@%+=:,./-]+$/.test(text) ? text : `'${text.replace(/'/g, `'\\''`)}'`;
}
