/**
 * Bully's outgoing effects in the order the machine's parts produced them: what `drain()` hands
 * the host (which writes persists before it sends). It owns nothing else.
 */
import type { CommandResult, ElectionEffect, RefusalReason } from '../election.js';
import type { NodeId } from '../types.js';
import type { BullyMessage, BullyPersisted } from './messages.js';

export type BullyEffect = ElectionEffect<BullyMessage, BullyPersisted>;

export class Outbox {
  private effects: BullyEffect[] = [];

  emit(effect: BullyEffect): void {
    this.effects.push(effect);
  }

  send(to: NodeId, message: BullyMessage): void {
    this.emit({ type: 'send', to, message });
  }

  /** One copy to each of `peers`, in their order. */
  sendAll(peers: readonly { id: NodeId }[], message: BullyMessage): void {
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

  drain(): BullyEffect[] {
    const out = this.effects;
    this.effects = [];
    return out;
  }
}
