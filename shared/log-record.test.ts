import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatRecord, recordBody } from './log-record.js';

test('a record formats as time then body; the body alone has no time', () => {
  const record = { level: 40, time: Date.parse('2024-05-01T12:00:01.250Z'), node: 'alpha', component: 'p2p', peer: 'x', msg: 'dial failed' };
  assert.equal(recordBody(record, false), 'WARN  alpha p2p: dial failed peer=x');
  assert.equal(formatRecord(record, false), '12:00:01.250 WARN  alpha p2p: dial failed peer=x\n');
});
