/**
 * Errors the daemon and CLI report to people. Each class has a stable `name` (tests and callers
 * match on it, never on message text) and the process `exitCode` it maps to: 2 when the input is
 * wrong (usage, config, data on disk) and a rerun with the same input fails the same way, 1 for
 * failures at run time. The CLI prints `conclave: <message>` and exits with `exitCode`.
 */

/** One problem with the configuration: a field path (`node.priority`, `env CONCLAVE_X`, `--flag`). */
export interface ConfigIssue {
  path: string;
  message: string;
}

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  readonly exitCode = 2;
  readonly issues: ConfigIssue[];

  /** `heading` says what was checked, e.g. `invalid configuration in conclave.yaml`. */
  constructor(issues: ConfigIssue[], heading = 'invalid configuration') {
    super(`${heading}:\n${issues.map((i) => `  ${i.path}: ${i.message}`).join('\n')}`);
    this.issues = issues;
  }
}

/** `peer.key` cannot be read or parsed; it is never replaced silently (a new key is a new node id). */
export class IdentityError extends Error {
  override readonly name = 'IdentityError';
  readonly exitCode = 2;
  readonly path: string;

  constructor(path: string, reason: string) {
    super(`identity file ${path} ${reason}; move it aside to create a new identity (this node then gets a new peer id)`);
    this.path = path;
  }
}

/** Another live process holds the data dir's lock: two daemons must never share one identity. */
export class DataDirLockedError extends Error {
  override readonly name = 'DataDirLockedError';
  readonly exitCode = 2;
  readonly dataDir: string;
  readonly pid: number;

  constructor(dataDir: string, pid: number, lockPath: string) {
    super(
      `data dir ${dataDir} is in use by PID ${pid} (lock ${lockPath}); stop that daemon or choose another --data-dir ` +
        `(if PID ${pid} is not a conclave daemon, remove the lock file)`,
    );
    this.dataDir = dataDir;
    this.pid = pid;
  }
}

/** A durable state file in the data dir is unreadable or corrupt; reported, never replaced. */
export class DataFileError extends Error {
  override readonly name = 'DataFileError';
  readonly exitCode = 2;
  readonly path: string;
  /** Where in the file the problem is (a log segment's record), null when it concerns the whole file. */
  readonly offset: number | null;

  constructor(path: string, reason: string, offset?: number) {
    const at = offset === undefined ? '' : ` at byte ${offset}`;
    super(`data file ${path} is unusable${at}: ${reason}; it was left untouched, move it aside to start that state over`);
    this.path = path;
    this.offset = offset ?? null;
  }
}

/**
 * A data file could not be written (disk full, read-only, permissions). Writes replace a file
 * atomically, so a failed one leaves it as it was. At start a rerun fails the same way until the
 * disk is fixed, hence 2; at run time the runtime reports it and retries.
 */
export class PersistError extends Error {
  override readonly name = 'PersistError';
  readonly exitCode = 2;
  readonly path: string;
  /** The errno code of the cause (`ENOSPC`, `EROFS`, `EACCES`, …), null when it has none. */
  readonly code: string | null;

  /** `outcome`: what became of the file, e.g. `left as it was`. */
  constructor(path: string, cause: unknown, outcome: string) {
    const code = (cause as NodeJS.ErrnoException | null)?.code;
    super(
      `cannot write data file ${path} (${outcome}): ${cause instanceof Error ? cause.message : String(cause)}; ` +
        'check free space, permissions and whether the file system is mounted read-only',
      { cause },
    );
    this.path = path;
    this.code = typeof code === 'string' ? code : null;
  }
}

/**
 * The data dir holds an identity without the election state it had (`lost-state`), or election
 * state without the identity it belonged to (`lost-identity`). Starting anyway would restart a
 * node's fencing token at 0 or hand one node's promises to another; the start is refused.
 */
export class ElectionStateError extends Error {
  override readonly name = 'ElectionStateError';
  readonly exitCode = 2;
  /** The file that is missing. */
  readonly path: string;
  readonly kind: 'lost-state' | 'lost-identity';

  constructor(kind: 'lost-state' | 'lost-identity', statePath: string, identityPath: string) {
    const wayOut = 'or delete the whole data dir to join as a brand-new node';
    super(
      kind === 'lost-state'
        ? `election state ${statePath} is missing, but this data dir holds the identity ${identityPath} of a node that ran before: ` +
            'starting from empty state would restart its fencing token from 0. If the file is lost, start once with ' +
            `--reset-election-state (the token restarts and the node learns the cluster's epoch from its peers), ${wayOut}`
        : `identity ${identityPath} is missing, but this data dir holds election state ${statePath} of the node it belonged to, ` +
            'which a new identity must not inherit. Restore that peer.key if you have it; otherwise start once with ' +
            `--reset-election-state (a new identity with empty election state, which replaces the file), ${wayOut}`,
    );
    this.path = kind === 'lost-state' ? statePath : identityPath;
    this.kind = kind;
  }
}

/** The command line itself is wrong (beyond what the argument parser catches). */
export class UsageError extends Error {
  override readonly name = 'UsageError';
  readonly exitCode = 2;
}

/** The exit code an error maps to: its own `exitCode`, else 1 (a failure at run time). */
export function exitCodeOf(err: unknown): number {
  const code = (err as { exitCode?: unknown } | null)?.exitCode;
  return typeof code === 'number' && Number.isInteger(code) ? code : 1;
}
