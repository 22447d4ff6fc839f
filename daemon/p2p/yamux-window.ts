/**
 * Yamux receive-window updates once half the window is used, as hashicorp/yamux and go-yamux
 * send them, instead of after every message read (@chainsafe/libp2p-yamux 7). An idle daemon
 * reads a few dozen small frames a second (heartbeats, their relays, lease renewals) and
 * answered each with a 30-byte WINDOW_UPDATE: more than half of all its socket writes, each one
 * a syscall, an encryption and a read and decryption at the peer (measured: 35 of 44 writes a
 * second at a 5-node idle member). Flow control is unchanged: the sender still may send a whole
 * window and hears of the freed half before it could run out; the flags that open a stream (SYN,
 * ACK) are still sent on the first update.
 *
 * The library has no option for this, so the stream class's method is wrapped once, here; the
 * wrapper checks the fields it relies on and leaves the library's own method in place when a
 * new version no longer has them (yamux-window.test.ts then fails).
 */
import { StreamState, YamuxStream } from '@chainsafe/libp2p-yamux/stream';

/** What the wrapper reads of a stream (private in the library's declarations). */
interface WindowFields {
  state: StreamState;
  recvWindow: number;
  recvWindowCapacity: number;
}

const WRAPPED = Symbol.for('conclave.yamux-window-batching');

/** True once the wrapper is in place (installed at most once per process). */
export function installYamuxWindowBatching(): boolean {
  const proto = YamuxStream.prototype as unknown as { sendWindowUpdate(): void; [WRAPPED]?: true };
  if (proto[WRAPPED]) return true;
  const original = proto.sendWindowUpdate;
  if (typeof original !== 'function') return false;
  proto.sendWindowUpdate = function sendWindowUpdateBatched(this: WindowFields & { sendWindowUpdate(): void }): void {
    const opening = this.state === StreamState.Init || this.state === StreamState.SYNReceived;
    const known = typeof this.recvWindow === 'number' && typeof this.recvWindowCapacity === 'number';
    if (known && !opening && this.recvWindowCapacity > this.recvWindow / 2) return;
    original.call(this);
  };
  proto[WRAPPED] = true;
  return true;
}
