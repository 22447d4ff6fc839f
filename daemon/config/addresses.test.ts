import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { bootstrapAddressProblem, isLoopbackHost, listenAddressProblem, parseHostPort } from './addresses.js';

const PEER_ID = '12D3KooWJBwwhF2gsoJs7kmzirSbx6NrpJCnD54F6nJsLv3fCJnJ';

describe('listen addresses', () => {
  it('accept TCP over IPv4 and IPv6, port 0 included', () => {
    for (const a of ['/ip4/0.0.0.0/tcp/7401', '/ip4/127.0.0.1/tcp/0', '/ip6/::/tcp/7401']) assert.equal(listenAddressProblem(a), null, a);
  });
  it('reject other transports, DNS names, peer ids and malformed addresses', () => {
    for (const a of ['/ip4/0.0.0.0/udp/7401', '/dns4/example.com/tcp/1', `/ip4/0.0.0.0/tcp/1/p2p/${PEER_ID}`, '/ip4/1.2.3/tcp/1', '/ip4/1.2.3.4/tcp/70000', '0.0.0.0:7401', '']) {
      assert.notEqual(listenAddressProblem(a), null, a);
    }
  });
});

describe('bootstrap addresses', () => {
  it('accept TCP peers by IP or DNS name, with or without a peer id', () => {
    for (const a of ['/ip4/10.0.0.2/tcp/7401', `/ip4/10.0.0.2/tcp/7401/p2p/${PEER_ID}`, '/dns4/node-2.lan/tcp/7401', '/ip6/::1/tcp/7401']) {
      assert.equal(bootstrapAddressProblem(a), null, a);
    }
  });
  it('reject an invalid peer id and non-TCP addresses', () => {
    for (const a of ['/ip4/10.0.0.2/tcp/7401/p2p/not-a-peer-id', '/ip4/10.0.0.2/udp/7401', '/p2p/' + PEER_ID]) assert.notEqual(bootstrapAddressProblem(a), null, a);
  });
});

describe('host:port', () => {
  it('parses IPv4, bracketed IPv6 and host names', () => {
    assert.deepEqual(parseHostPort('127.0.0.1:7400'), { host: '127.0.0.1', port: 7400 });
    assert.deepEqual(parseHostPort('[::1]:0'), { host: '::1', port: 0 });
    assert.deepEqual(parseHostPort('localhost:80'), { host: 'localhost', port: 80 });
  });
  it('rejects missing ports, out-of-range ports and unbracketed IPv6', () => {
    for (const v of ['127.0.0.1', '127.0.0.1:65536', '::1:7400', ':7400', 'unix:/tmp/x.sock', 'a b:1']) assert.equal(parseHostPort(v), null, v);
  });
  it('only 127/8, ::1 and localhost count as loopback', () => {
    for (const h of ['127.0.0.1', '127.9.9.9', '::1', 'localhost']) assert.equal(isLoopbackHost(h), true, h);
    for (const h of ['0.0.0.0', '::', '10.0.0.1', 'example.com', '128.0.0.1']) assert.equal(isLoopbackHost(h), false, h);
  });
});
