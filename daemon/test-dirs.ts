/**
 * Temporary directories for one test file: a root under the system temp dir, removed once the
 * file's tests are done, and a fresh empty directory under it per call.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after } from 'node:test';

export interface TestDirs {
  readonly root: string;
  /** A new empty directory (mode 0700, as a data dir) under root. */
  fresh(): string;
}

export function testDirs(name: string): TestDirs {
  const root = mkdtempSync(join(tmpdir(), `conclave-${name}-test-`));
  after(() => rmSync(root, { recursive: true, force: true }));
  let serial = 0;
  return {
    root,
    fresh() {
      const dir = join(root, `d${serial++}`);
      mkdirSync(dir, { mode: 0o700 });
      return dir;
    },
  };
}
