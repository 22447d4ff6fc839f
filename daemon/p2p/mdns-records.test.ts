import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Packet } from 'dns-packet';
import { GREETING_GAP_MS, MAX_GREETINGS_PER_S, MIN_RESPONSE_GAP_MS, MdnsPacer, RESPONSE_DELAY_MS, answerRecords, asksFor, parseResponse, queryPacket } from './mdns-records.js';

const TAG = '_conclave-test._udp.local';
const ID_A = '12D3KooWJE5DGyvbbbZthqbmYUU6UGQHgug6XXyeVkDLFWrs65Eg';
const ID_B = '12D3KooWN4n9jCdbwNxtGUtcYudfMjgwhHGjSkNzeo72nryHrXbK';

describe('mDNS records', () => {
  it('an answer parses back to the peer and its addresses without /p2p/', () => {
    const answers = answerRecords(TAG, 'nodea', [`/ip4/127.0.0.1/tcp/4001/p2p/${ID_A}`, `/ip4/10.0.0.2/tcp/4001/p2p/${ID_A}`]);
    assert.deepEqual(parseResponse({ type: 'response', answers }, TAG, 'other'), [{ id: ID_A, addrs: ['/ip4/127.0.0.1/tcp/4001', '/ip4/10.0.0.2/tcp/4001'] }]);
  });

  it("reads @libp2p/mdns's answers (TXT as buffers, in answers or additionals)", () => {
    const packet: Packet = {
      type: 'response',
      answers: [{ name: TAG, type: 'PTR', class: 'IN', ttl: 120, data: `libp2p.${TAG}` }],
      additionals: [{ name: `libp2p.${TAG}`, type: 'TXT', class: 'IN', ttl: 120, data: [Buffer.from(`dnsaddr=/ip4/192.168.1.5/tcp/9/p2p/${ID_B}`)] }],
    };
    assert.deepEqual(parseResponse(packet, TAG, 'self'), [{ id: ID_B, addrs: ['/ip4/192.168.1.5/tcp/9'] }]);
  });

  it('ignores its own answer, other service tags, and records that do not parse', () => {
    const own = answerRecords(TAG, 'self', [`/ip4/127.0.0.1/tcp/1/p2p/${ID_A}`]);
    assert.deepEqual(parseResponse({ type: 'response', answers: own }, TAG, 'self'), []);
    const other = answerRecords('_other._udp.local', 'x', [`/ip4/127.0.0.1/tcp/1/p2p/${ID_A}`]);
    assert.deepEqual(parseResponse({ type: 'response', answers: other }, TAG, 'self'), []);
    const junk: Packet = {
      type: 'response',
      answers: [
        { name: TAG, type: 'PTR', class: 'IN', ttl: 120, data: `x.${TAG}` },
        { name: `x.${TAG}`, type: 'TXT', class: 'IN', ttl: 120, data: ['dnsaddr=/ip4/1.2.3.4/tcp/1', 'hello', `dnsaddr=/ip4/1.2.3.4/tcp/1/p2p/`] },
      ],
    };
    assert.deepEqual(parseResponse(junk, TAG, 'self'), [], 'no address names a peer');
    assert.deepEqual(parseResponse({ type: 'response' }, TAG, 'self'), []);
  });

  it('takes no guess at an instance whose addresses name two peers', () => {
    const answers = [...answerRecords(TAG, 'x', [`/ip4/127.0.0.1/tcp/1/p2p/${ID_A}`]), ...answerRecords(TAG, 'x', [`/ip4/127.0.0.1/tcp/2/p2p/${ID_B}`]).slice(1)];
    assert.deepEqual(parseResponse({ type: 'response', answers }, TAG, 'self'), []);
  });

  it('leaves out an address too long for a TXT string (255 bytes)', () => {
    const long = `/dns4/${'a'.repeat(240)}/tcp/1/p2p/${ID_A}`;
    const answers = answerRecords(TAG, 'x', [long, `/ip4/127.0.0.1/tcp/1/p2p/${ID_A}`]);
    assert.equal(answers.filter((a) => a.type === 'TXT').length, 1);
  });

  it('a query asks for the tag by PTR', () => {
    assert.ok(asksFor(queryPacket(TAG, 7), TAG));
    assert.equal(asksFor(queryPacket('_other._udp.local', 7), TAG), false);
    assert.equal(asksFor({ type: 'query', questions: [{ name: TAG, type: 'A' }] }, TAG), false);
  });
});

describe('mDNS pacing (RFC 6762)', () => {
  it('a node that saw another node query within its period does not query (§7.3)', () => {
    const pacer = new MdnsPacer();
    assert.ok(pacer.shouldQuery(0, 1000), 'the first query goes at once');
    pacer.queried(0, 0);
    assert.equal(pacer.shouldQuery(500, 1000), false);
    assert.ok(pacer.shouldQuery(1000, 1000));
    // Another node's query at 900 restarts the period.
    pacer.queried(900, 0);
    assert.equal(pacer.shouldQuery(1000, 1000), false);
    assert.equal(pacer.shouldQuery(1899, 1000), false);
    assert.ok(pacer.shouldQuery(1900, 1000));
  });

  it('draws each period from [0.8, 1.0] of the interval, so timers drift apart', () => {
    const pacer = new MdnsPacer();
    pacer.queried(0, 0.999);
    assert.equal(pacer.shouldQuery(799, 1000), false);
    assert.ok(pacer.shouldQuery(801, 1000));
  });

  it('answers after 20–120 ms, at most once a second however many ask, one answer for all asking meanwhile (§6)', () => {
    const pacer = new MdnsPacer();
    assert.equal(pacer.answerAt(0, 0), RESPONSE_DELAY_MS.min);
    assert.equal(pacer.answerAt(5, 0.5), null, 'an answer is already due: it serves this query too');
    pacer.answered(20);
    assert.equal(pacer.answerAt(100, 1), 20 + MIN_RESPONSE_GAP_MS, 'not before a second after the last');
    pacer.answered(20 + MIN_RESPONSE_GAP_MS);
    assert.equal(pacer.answerAt(5000, 1), 5000 + RESPONSE_DELAY_MS.max);
  });

  it('greets a sender address once per gap, each address on its own', () => {
    const pacer = new MdnsPacer();
    assert.ok(pacer.greet('10.0.0.2', 0));
    assert.equal(pacer.greet('10.0.0.2', GREETING_GAP_MS - 1), false, 'within the gap');
    assert.ok(pacer.greet('10.0.0.3', 5), 'another sender');
    assert.ok(pacer.greet('10.0.0.2', GREETING_GAP_MS), 'after the gap');
  });

  it('greets at most MAX_GREETINGS_PER_S senders a second in all, so forged answers buy a bounded reflection', () => {
    const pacer = new MdnsPacer();
    let greeted = 0;
    for (let i = 0; i < 1000; i++) if (pacer.greet(`10.0.${i >> 8}.${i & 255}`, i / 10)) greeted++;
    assert.equal(greeted, MAX_GREETINGS_PER_S, 'a thousand senders in 100 ms');
    assert.ok(pacer.greet('10.9.9.9', 1000), 'the next second');
  });

  it('fifty nodes searching at once: about one query per interval and at most one answer per node per second', () => {
    // Each node ticks every interval at its own phase; a query is seen by every node at once.
    const nodes = 50;
    const intervalMs = 1000;
    const pacers = Array.from({ length: nodes }, () => new MdnsPacer());
    let queries = 0;
    const answersAt: number[][] = pacers.map(() => []);
    let seed = 1;
    const random = () => ((seed = (seed * 48271) % 2147483647) / 2147483647);
    const phase = pacers.map(() => Math.floor(random() * intervalMs));
    const due: (number | null)[] = pacers.map(() => null);
    for (let t = 0; t < 10_000; t++) {
      for (let i = 0; i < nodes; i++) {
        if (due[i] === t) {
          pacers[i]!.answered(t);
          answersAt[i]!.push(t);
          due[i] = null;
        }
      }
      for (let i = 0; i < nodes; i++) {
        if ((t - phase[i]!) % intervalMs !== 0 || t < phase[i]! || !pacers[i]!.shouldQuery(t, intervalMs)) continue;
        queries++;
        for (let j = 0; j < nodes; j++) {
          pacers[j]!.queried(t, random());
          if (j === i) continue;
          const at = pacers[j]!.answerAt(t, random());
          if (at !== null) due[j] = Math.ceil(at);
        }
      }
    }
    assert.ok(queries <= 15, `${queries} queries in 10 intervals (50 × 10 = 500 without suppression)`);
    for (const times of answersAt) {
      for (let k = 1; k < times.length; k++) assert.ok(times[k]! - times[k - 1]! >= MIN_RESPONSE_GAP_MS);
    }
  });
});
