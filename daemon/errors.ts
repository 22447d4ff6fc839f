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

  constructor(path: string, reason: string) {
    super(`data file ${path} is unusable: ${reason}; it was left untouched, move it aside to start that state over`);
    this.path = path;
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
