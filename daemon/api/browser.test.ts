import assert from 'node:assert/strict';
import { test } from 'node:test';
import { browserRefusal } from './browser.js';

test('what the CLI and curl send passes: an IP or localhost Host, no Origin', () => {
  for (const host of ['127.0.0.1:7400', 'localhost:7400', 'LOCALHOST', '[::1]:7400', '10.0.0.5:7400', '127.0.0.1']) {
    assert.equal(browserRefusal({ host }, false), null, host);
  }
  assert.equal(browserRefusal({}, false), null);
});

test('a browser request is refused: it carries an Origin or Sec-Fetch-Site, token or not', () => {
  assert.match(browserRefusal({ host: '127.0.0.1:7400', origin: 'https://evil.example' }, false) ?? '', /web pages/);
  assert.match(browserRefusal({ host: '127.0.0.1:7400', origin: 'null' }, true) ?? '', /web pages/);
  assert.match(browserRefusal({ host: '127.0.0.1:7400', 'sec-fetch-site': 'cross-site' }, true) ?? '', /web pages/);
});

test('a host name other than localhost is refused without a token (DNS rebinding), accepted with one', () => {
  assert.match(browserRefusal({ host: 'evil.example:7400' }, false) ?? '', /DNS rebinding/);
  assert.match(browserRefusal({ host: 'localhost.evil.example' }, false) ?? '', /DNS rebinding/);
  assert.equal(browserRefusal({ host: 'myhost.lan:7400' }, true), null);
});
