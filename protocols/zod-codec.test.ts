import assert from 'node:assert/strict';
import { test } from 'node:test';
import { z } from 'zod';
import { raftMessageCodec } from './raft/messages.js';
import { compilations } from './testing.js';
import { codecOf, lazily, warmSchema } from './zod-codec.js';

const nested = () =>
  z.discriminatedUnion('type', [
    z.object({ type: z.literal('A'), items: z.array(z.object({ k: z.string(), v: z.object({ n: z.number() }).optional() })) }),
    z.object({ type: z.literal('B'), pair: z.tuple([z.object({ x: z.number() }), z.number()]), maybe: z.object({ y: z.boolean() }).nullable() }),
  ]);
const valid = [
  { type: 'A', items: [{ k: 'a', v: { n: 1 } }] },
  { type: 'B', pair: [{ x: 1 }, 2], maybe: { y: true } },
];

test('a first parse compiles parsers: the cost warmSchema moves off the critical path', () => {
  const schema = nested();
  assert.ok(compilations(() => valid.forEach((v) => assert.ok(schema.safeParse(v).success))) >= 5);
});

test('warmSchema compiles every nested object parser, so no later parse compiles one', () => {
  const schema = nested();
  assert.ok(compilations(() => warmSchema(schema)) >= 5);
  assert.equal(compilations(() => valid.forEach((v) => assert.ok(schema.safeParse(v).success))), 0);
});

test('a codec warms its schema, made lazily, and still parses as before', () => {
  const codec = codecOf(lazily(nested), 'thing');
  codec.warm!();
  assert.equal(compilations(() => assert.deepEqual(codec.parse(valid[0]), { ok: true, value: valid[0] })), 0);
  assert.deepEqual(codec.parse({ type: 'A', items: [{ k: 1 }] }), { ok: false, reason: 'items.0.k: Invalid input: expected string, received number' });
});

test('the raft message codec warmed: the leader-side replies of an election parse without compiling', () => {
  raftMessageCodec.warm!();
  const replies = [
    { type: 'VOTE_RESPONSE', term: 3, preVote: false, granted: true },
    { type: 'APPEND_RESPONSE', term: 3, success: true, index: 7, hintIndex: 0, hintTerm: 0, round: 2 },
  ];
  assert.equal(compilations(() => replies.forEach((m) => assert.ok(raftMessageCodec.parse(m).ok))), 0);
});
