import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { classifyDialFailure, explainDialTimeout, handshakeFailureMessage, HandshakeTimeoutError } from './dial-failure.js';

/** Errors shaped like the ones libp2p 2.10 raised on 127.0.0.1 (see the table in dial-failure.ts). */
const named = (name: string, message: string, extra: Record<string, unknown> = {}): Error => Object.assign(new Error(message), { name, ...extra });
const encryptionFailed = (message = 'unexpected end of input') => named('EncryptionFailedError', message);
const unexpectedEof = () => named('UnexpectedEOFError', 'unexpected end of input', { code: 'ERR_UNEXPECTED_EOF' });
const errno = (code: string, where = '127.0.0.1:7401') =>
  Object.assign(new Error(`connection error ${where}: connect ${code} ${where}`), { code, errno: -111, syscall: 'connect' });
/** What AbortSignal.timeout rejects with: a DOMException whose numeric code is 23. */
const timeout = () => new DOMException('The operation was aborted due to timeout', 'TimeoutError');
const allFailed = (errors: unknown[]) => new AggregateError(errors, 'All multiaddr dials failed');

const PEER = '12D3KooWQKwfhaTuFt1fpRC2bjuJuxpGqkA6tp5z93kbQuL5doYK';

describe('classifyDialFailure', () => {
  it('calls every failure seen on an open connection a handshake failure', () => {
    const seen = [
      encryptionFailed(), // different keys on both sides; or a key on the listener only
      encryptionFailed('Missing newline'),
      encryptionFailed('message length length too long'),
      unexpectedEof(), // a key on the dialler only: the peer hung up during pnet's nonce exchange
      named('MuxerUnavailableError', 'Error: protocol selection failed'),
      errno('ECONNRESET'),
      new HandshakeTimeoutError(timeout()),
    ];
    for (const err of seen) assert.equal(classifyDialFailure(err), 'handshake', String(err));
  });

  it('calls refused, unrouted and timed-out connects unreachable', () => {
    for (const code of ['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'ETIMEDOUT', 'ENOTFOUND']) {
      assert.equal(classifyDialFailure(errno(code)), 'unreachable', code);
    }
    assert.equal(classifyDialFailure(timeout()), 'unreachable');
    assert.equal(classifyDialFailure(named('TimeoutError', 'The operation was aborted due to timeout')), 'unreachable', "libp2p's own TimeoutError");
  });

  it('looks inside the AggregateError libp2p raises when several addresses fail: one handshake failure is enough', () => {
    assert.equal(classifyDialFailure(allFailed([errno('ECONNREFUSED'), encryptionFailed()])), 'handshake');
    assert.equal(classifyDialFailure(allFailed([errno('ECONNREFUSED'), timeout()])), 'unreachable');
    assert.equal(classifyDialFailure(allFailed([errno('ECONNREFUSED'), named('NoValidAddressesError', 'The dial request has no valid addresses')])), 'other');
    assert.equal(classifyDialFailure(allFailed([])), 'other');
  });

  it('follows a cause chain, and stops on a cyclic one', () => {
    assert.equal(classifyDialFailure(new Error('dial failed', { cause: unexpectedEof() })), 'handshake');
    const cyclic = new Error('loop');
    (cyclic as { cause?: unknown }).cause = cyclic;
    assert.equal(classifyDialFailure(cyclic), 'other');
  });

  it('calls anything else other', () => {
    for (const err of [
      named('NoValidAddressesError', 'The dial request has no valid addresses'),
      named('InvalidPeerIdError', 'Can not dial self'),
      new TypeError('nothing to dial'),
      named('AbortError', 'The operation was aborted'),
      'a string',
      null,
      undefined,
    ]) {
      assert.equal(classifyDialFailure(err), 'other', String(err));
    }
  });
});

describe('explainDialTimeout', () => {
  const ownDial = (...events: string[]) => new Set(['dial-queue:add-to-dial-queue', 'dial-queue:start-dial', 'transport-manager:selected-transport', 'tcp:open-connection', ...events]);

  it('turns a timeout after the encryption step began into a handshake timeout, keeping the original as cause', () => {
    const err = timeout();
    const explained = explainDialTimeout(err, { progress: ownDial('upgrader:encrypt-outbound-connection'), deadlinePassed: true });
    assert.ok(explained instanceof HandshakeTimeoutError);
    assert.equal(explained.name, 'HandshakeTimeoutError');
    assert.equal(explained.cause, err);
    assert.equal(classifyDialFailure(explained), 'handshake');
  });

  it("turns a timeout before the dial's deadline into a handshake timeout: pnet's nonce exchange gave up", () => {
    const explained = explainDialTimeout(timeout(), { progress: ownDial(), deadlinePassed: false });
    assert.equal((explained as Error).name, 'HandshakeTimeoutError');
  });

  it('leaves a timeout at the deadline with no handshake begun as it is: nobody answered', () => {
    const err = timeout();
    assert.equal(explainDialTimeout(err, { progress: ownDial(), deadlinePassed: true }), err);
    assert.equal(classifyDialFailure(err), 'unreachable');
  });

  it('leaves the timeout of a dial that joined one already queued as it is: it saw none of the progress', () => {
    const err = timeout();
    const joined = new Set(['dial-queue:already-in-dial-queue']);
    assert.equal(explainDialTimeout(err, { progress: joined, deadlinePassed: false }), err);
  });

  it('passes every other error through untouched', () => {
    for (const err of [encryptionFailed(), errno('ECONNREFUSED'), allFailed([encryptionFailed()])]) {
      assert.equal(explainDialTimeout(err, { progress: ownDial('upgrader:encrypt-outbound-connection'), deadlinePassed: false }), err);
    }
  });
});

describe('handshakeFailureMessage', () => {
  it('names the address, the peer, what failed, the likely cause and the fix', () => {
    const message = handshakeFailureMessage({ peer: PEER, addrs: [`/ip4/10.0.0.5/tcp/7401/p2p/${PEER}`] }, encryptionFailed());
    assert.match(message, new RegExp(`^cannot complete the handshake with /ip4/10\\.0\\.0\\.5/tcp/7401 \\(peer ${PEER}\\): `));
    assert.match(message, /\(EncryptionFailedError: unexpected end of input\)/);
    assert.match(message, /different pre-shared keys \(security\.pskFile\) or only one of them has one/);
    assert.match(message, /same swarm key file/);
  });

  it('names the failure inside an AggregateError rather than the wrapper', () => {
    const message = handshakeFailureMessage({ peer: PEER, addrs: ['/ip4/10.0.0.5/tcp/7401', '/ip4/10.0.0.6/tcp/7401'] }, allFailed([errno('ECONNREFUSED'), unexpectedEof()]));
    assert.match(message, /with \/ip4\/10\.0\.0\.5\/tcp\/7401, \/ip4\/10\.0\.0\.6\/tcp\/7401 \(peer /);
    assert.match(message, /\(UnexpectedEOFError: unexpected end of input\)/);
  });

  it('for a handshake that ran out of time, names a busy host as the other likely cause; not for one that was refused', () => {
    const timedOut = handshakeFailureMessage({ peer: PEER, addrs: ['/ip4/10.0.0.5/tcp/7401'] }, new HandshakeTimeoutError(new DOMException('The operation was aborted due to timeout', 'TimeoutError')));
    assert.match(timedOut, /a Conclave node; or one of the two hosts was too busy to finish it within 5 s/);
    assert.doesNotMatch(handshakeFailureMessage({ peer: PEER, addrs: ['/ip4/10.0.0.5/tcp/7401'] }, encryptionFailed()), /too busy/);
  });

  it('names what it knows when the peer id or the addresses are missing', () => {
    assert.match(handshakeFailureMessage({ peer: null, addrs: ['/ip4/10.0.0.5/tcp/7401'] }, unexpectedEof()), /with \/ip4\/10\.0\.0\.5\/tcp\/7401: /);
    assert.match(handshakeFailureMessage({ peer: PEER, addrs: [] }, unexpectedEof()), new RegExp(`with peer ${PEER}: `));
  });
});
