import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { HttpError } from './http.js';
import { MAX_TARGET_BYTES, parseTarget } from './target.js';

function refusal(target: string): HttpError {
  try {
    parseTarget(target);
  } catch (err) {
    return err as HttpError;
  }
  return assert.fail(`${JSON.stringify(target)} was accepted`);
}

describe('request targets', () => {
  it('origin-form keeps its path and query', () => {
    const url = parseTarget('/v1/leader?waitMs=30000&after=7');
    assert.equal(url.pathname, '/v1/leader');
    assert.equal(url.searchParams.get('waitMs'), '30000');
    assert.equal(url.searchParams.get('after'), '7');
  });

  it('absolute-form is served by its path and query; its host is ignored', () => {
    for (const target of ['http://127.0.0.1:7400/v1/status?x=1', 'HTTP://example.org/v1/status?x=1', 'https://[::1]/v1/status?x=1']) {
      const url = parseTarget(target);
      assert.equal(url.pathname, '/v1/status', target);
      assert.equal(url.search, '?x=1', target);
    }
  });

  it('targets URL cannot parse, or that it reads as another host, are 400 bad-target with connection: close', () => {
    const bad = ['//', 'http://[', '//evil.example/v1/status', '/\\evil.example/v1/status', 'http://x//evil.example/v1/status', '*', '', 'v1/status', 'ftp://x/v1/status'];
    for (const target of bad) {
      const err = refusal(target);
      assert.equal(err.name, 'HttpError', target);
      assert.equal(err.status, 400, target);
      assert.equal(err.code, 'bad-target', target);
      assert.equal(err.headers.connection, 'close', target);
    }
  });

  it(`a target of ${MAX_TARGET_BYTES} bytes passes; one byte more is 414 target-too-long with connection: close`, () => {
    const longest = `/v1/status?pad=${'a'.repeat(MAX_TARGET_BYTES - '/v1/status?pad='.length)}`;
    assert.equal(parseTarget(longest).pathname, '/v1/status');
    const err = refusal(`${longest}a`);
    assert.equal(err.status, 414);
    assert.equal(err.code, 'target-too-long');
    assert.equal(err.headers.connection, 'close');
  });
});
