import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { quickFlags } from './quick.js';

describe('quick.ts: which command lines skip commander', () => {
  const saved = { api: process.env.CONCLAVE_API, token: process.env.CONCLAVE_API_TOKEN };
  afterEach(() => {
    process.env.CONCLAVE_API = saved.api;
    process.env.CONCLAVE_API_TOKEN = saved.token;
    if (saved.api === undefined) delete process.env.CONCLAVE_API;
    if (saved.token === undefined) delete process.env.CONCLAVE_API_TOKEN;
  });

  it('takes --api, --token (also as --flag=value) and --json', () => {
    delete process.env.CONCLAVE_API;
    delete process.env.CONCLAVE_API_TOKEN;
    assert.deepEqual(quickFlags(['--api', 'unix:/run/c.sock', '--json']), { api: 'unix:/run/c.sock', json: true });
    assert.deepEqual(quickFlags(['--json', '--api=10.0.0.1:7400', '--token=s3cret']), { api: '10.0.0.1:7400', token: 's3cret', json: true });
    assert.deepEqual(quickFlags([]), {});
  });

  it('falls back to $CONCLAVE_API and $CONCLAVE_API_TOKEN, as commander does; a flag wins', () => {
    process.env.CONCLAVE_API = 'unix:/env.sock';
    process.env.CONCLAVE_API_TOKEN = 'from-env';
    assert.deepEqual(quickFlags([]), { api: 'unix:/env.sock', token: 'from-env' });
    assert.deepEqual(quickFlags(['--api', 'unix:/flag.sock']), { api: 'unix:/flag.sock', token: 'from-env' });
  });

  it('leaves everything else to the full program: help, other flags, a missing or flag-like value, arguments', () => {
    for (const args of [['--help'], ['-h'], ['--wait'], ['--watch', '--json'], ['--api'], ['--api', '--json'], ['--api='], ['extra'], ['--jsonx']]) {
      assert.equal(quickFlags(args), null, args.join(' '));
    }
  });
});
