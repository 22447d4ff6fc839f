/**
 * An election machine's outgoing effects in the order its parts produced them: what `drain()`
 * hands the host (which writes persists before it sends). Each machine's outbox is this, typed
 * with its messages and hard state (Raft's adds batching of durable writes).
 */
import type { CommandResult, ElectionEffect, RefusalReason } from './election.js';
import type { NodeId } from './types.js';

export class Outbox<M, P> {
  private effects: ElectionEffect<M, P>[] = [];
  private persists = 0;

  emit(effect: ElectionEffect<M, P>): void {
    if (effect.type === 'persist') this.persists++;
    this.effects.push(effect);
  }

  /** Persist effects emitted so far (in this life): a send (unless `parallel`) or report emitted now waits behind all of them. */
  get persistEffects(): number {
    return this.persists;
  }

  send(to: NodeId, message: M): void {
    this.emit({ type: 'send', to, message });
  }

  /** One copy to each of `peers`, in their order. */
  sendAll(peers: readonly { id: NodeId }[], message: M): void {
    for (const m of peers) this.send(m.id, message);
  }

  reply(id: number, result: CommandResult): void {
    this.emit({ type: 'command-result', id, result });
  }

  fail(id: number, code: string, message: string): void {
    this.reply(id, { ok: false, code, message });
  }

  refuse(from: NodeId, reason: RefusalReason, detail: string): void {
    this.emit({ type: 'refused', from, reason, detail });
  }

  drain(): ElectionEffect<M, P>[] {
    const out = this.effects;
    this.effects = [];
    return out;
  }
}
