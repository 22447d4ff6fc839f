import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { LogRecord } from '../shared/log-record.js';
import { createLogger, logSinkHealth, reopenLog, setLogLevel } from './log.js';

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

test('setLogLevel (conclave reload) reaches the children and grandchildren made before it, and those made after', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'conclave-log-'));
  try {
    const tapped: LogRecord[] = [];
    const log = createLogger({ level: 'warn', format: 'json', file: join(dir, 'daemon.log'), node: 'alpha', tap: (record) => tapped.push(record) });
    const runtime = log.child({ component: 'runtime' });
    const dialer = runtime.child({ component: 'dialer' });
    runtime.info('hidden');
    setLogLevel(log, 'debug');
    runtime.info('runtime info');
    dialer.debug('dialer debug');
    log.child({ component: 'hooks' }).debug('hooks debug');
    setLogLevel(log, 'error');
    runtime.warn('hidden again');
    log.error('root error');
    await fileWith(join(dir, 'daemon.log'), 'root error');
    assert.deepEqual(tapped.map((r) => r.msg), ['runtime info', 'dialer debug', 'hooks debug', 'root error']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("an error is logged with its name as its type, not its class's name (the bundle renames a class whose name another shares)", async () => {
  const dir = mkdtempSync(join(tmpdir(), 'conclave-log-'));
  try {
    class TimeoutError2 extends Error {
      override readonly name = 'TimeoutError';
    }
    const tapped: LogRecord[] = [];
    const log = createLogger({ level: 'info', format: 'json', file: join(dir, 'daemon.log'), node: 'alpha', tap: (record) => tapped.push(record) });
    log.warn({ err: new TimeoutError2('no answer within 5000 ms') }, 'a dial failed');
    log.error(new RangeError('out of range'), 'as the first argument');
    await fileWith(join(dir, 'daemon.log'), 'as the first argument');
    const errs = tapped.map((r) => r.err as { type: string; message: string });
    assert.deepEqual(errs.map((e) => [e.type, e.message]), [['TimeoutError', 'no answer within 5000 ms'], ['RangeError', 'out of range']]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('reopenLog after logrotate moved the file: later records go to a new file at the path', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'conclave-log-'));
  try {
    const file = join(dir, 'daemon.log');
    const log = createLogger({ level: 'info', format: 'json', file, node: 'alpha' });
    log.info('before rotation');
    await fileWith(file, 'before rotation');
    renameSync(file, `${file}.1`);
    reopenLog(log);
    log.info('after rotation');
    const fresh = await fileWith(file, 'after rotation');
    assert.ok(!fresh.includes('before rotation'), 'the new file starts empty');
    assert.ok(!readFileSync(`${file}.1`, 'utf8').includes('after rotation'), 'nothing more goes to the moved file');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a destination whose write failed drops and counts records until reopenLog tries it again', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'conclave-log-'));
  try {
    // A directory where the file should be: opening it fails (EISDIR), as a full disk or a lost mount would.
    const file = join(dir, 'daemon.log');
    mkdirSync(file);
    const log = createLogger({ level: 'info', format: 'json', file, node: 'alpha' });
    for (let i = 0; i < 200 && logSinkHealth(log).failure === null; i++) await sleep(10);
    assert.equal(logSinkHealth(log).failure, 'EISDIR');
    log.info('lost');
    log.info('lost too');
    assert.deepEqual(logSinkHealth(log), { dropped: 2, failure: 'EISDIR' });
    rmSync(file, { recursive: true });
    reopenLog(log);
    log.info('written again');
    await fileWith(file, 'written again');
    assert.deepEqual(logSinkHealth(log), { dropped: 2, failure: null }, 'the count of what was lost stays');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
