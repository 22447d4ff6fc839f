/**
 * A StoreFs for tests: the real file system, with every operation logged, and hooks to fail an
 * operation or hold an fsync until the test lets it go. Deterministic: nothing depends on timing.
 * By default it opens no file with synced writes (the option is dropped), so the log store's
 * fsyncs show in the log, each one that can be failed or held; `syncedWrites: true` passes the
 * option on, as the daemon's file system does.
 */
import { basename } from 'node:path';
import { nodeStoreFs, type StoreFile, type StoreFs } from './fs.js';

export type FsOp = 'open' | 'write' | 'datasync' | 'sync' | 'truncate' | 'close' | 'syncDir' | 'unlink' | 'rename';

export interface TestFs extends StoreFs {
  /** `<op> <file name>` for every operation, in order. */
  readonly log: string[];
  count(op: FsOp): number;
  /** The next `op` (on a file whose name passes `match`) throws an error with this errno code. */
  failNext(op: FsOp, code: string, match?: (name: string) => boolean): void;
  /** The next datasync waits until the returned function is called. */
  holdNextDatasync(): () => void;
}

export function testFs(opts: { syncedWrites?: boolean } = {}): TestFs {
  const log: string[] = [];
  const faults: { op: FsOp; code: string; match: (name: string) => boolean }[] = [];
  let held: Promise<void> | null = null;

  const run = async <T>(op: FsOp, path: string, fn: () => Promise<T> | T): Promise<T> => {
    const name = basename(path);
    log.push(`${op} ${name}`);
    const i = faults.findIndex((f) => f.op === op && f.match(name));
    if (i >= 0) {
      const [fault] = faults.splice(i, 1);
      throw Object.assign(new Error(`${fault!.code}: injected ${op} failure, ${name}`), { code: fault!.code });
    }
    return fn();
  };

  const wrap = (path: string, file: StoreFile): StoreFile => ({
    write: (buffer, offset, length, position) => run('write', path, () => file.write(buffer, offset, length, position)),
    datasync: () =>
      run('datasync', path, async () => {
        const wait = held;
        held = null;
        await wait;
        return file.datasync();
      }),
    sync: () => run('sync', path, () => file.sync()),
    truncate: (length) => run('truncate', path, () => file.truncate(length)),
    close: () => run('close', path, () => file.close()),
    syncedWrites: file.syncedWrites,
  });

  return {
    log,
    count: (op) => log.filter((l) => l.startsWith(`${op} `)).length,
    failNext(op, code, match = () => true) {
      faults.push({ op, code, match });
    },
    holdNextDatasync() {
      let release!: () => void;
      held = new Promise((r) => (release = r));
      return release;
    },
    open: (path, flags, options = {}) => run('open', path, async () => wrap(path, await nodeStoreFs.open(path, flags, opts.syncedWrites ? options : {}))),
    readFile: (path) => nodeStoreFs.readFile(path),
    readdir: (path) => nodeStoreFs.readdir(path),
    mkdir: (path) => nodeStoreFs.mkdir(path),
    rename: (from, to) => run('rename', from, () => nodeStoreFs.rename(from, to)),
    unlink: (path) => run('unlink', path, () => nodeStoreFs.unlink(path)),
    syncDir: (path) => run('syncDir', path, () => nodeStoreFs.syncDir(path)),
  };
}
