/**
 * Bully's outgoing effects in the order the machine's parts produced them (../outbox.ts): what
 * `drain()` hands the host (which writes persists before it sends). It owns nothing else.
 */
import type { ElectionEffect } from '../election.js';
import { Outbox as EffectOutbox } from '../outbox.js';
import type { BullyMessage, BullyPersisted } from './messages.js';

export type BullyEffect = ElectionEffect<BullyMessage, BullyPersisted>;

export class Outbox extends EffectOutbox<BullyMessage, BullyPersisted> {}
