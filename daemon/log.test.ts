import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { LogRecord } from '../shared/log-record.js';
import { createLogger } from './log.js';

/** Waits until `file` holds `text` (the file stream writes asynchronously). */
async function fileWith(file: string, text: string): Promise<string> {
  for (let i = 0; i < 500; i++) {
    const content = (() => {
      try {
        return readFileSync(file, 'utf8');
      } catch {
        return '';
      }
    })();
    if (content.includes(text)) return content;
    await sleep(10);
  }
  assert.fail(`${file} never got ${text}`);
}

for (const format of ['pretty', 'json'] as const) {
  test(`with a file destination (${format}) each record reaches the file once and the tap once`, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'conclave-log-'));
    try {
      const file = join(dir, 'daemon.log');
      const tapped: LogRecord[] = [];
      const log = createLogger({ level: 'info', format, file, node: 'alpha', tap: (record) => tapped.push(record) });
      log.child({ component: 'runtime' }).warn({ peer: 'x' }, 'first');
      log.info('last');
      const content = await fileWith(file, 'last');
      assert.equal(content.split('first').length - 1, 1);
      assert.deepEqual(tapped.map((r) => [r.msg, r.level, r.component, r.node]), [['first', 40, 'runtime', 'alpha'], ['last', 30, undefined, 'alpha']]);
      assert.equal(tapped[0]!.peer, 'x');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
}
