/**
 * Who to keep connected to, and when to dial. libp2p 2.x neither dials discovered peers nor
 * reconnects lost ones (DESIGN.md section 3), so this does both:
 *
 * - targets (bootstrap addresses, and the runtime's member set) are redialled on a timer with
 *   exponential backoff while unconnected (members at most 2 s apart, so a healed partition
 *   reconnects at once);
 * - a member that was `dead` when membership forgot it stays a target for
 *   `reconnectTimeoutMs` from its death (Serf's reconnect_timeout): after a partition longer
 *   than `forgetAfterMs` neither side knows the other any more, and without this only the next
 *   mDNS query (30 s when idle) or nothing at all (static bootstrap) brought them together;
 * - discovered peers are dialled when discovery reports them, unless a recent failure puts
 *   them in backoff; one whose handshake failed (the peer is there) is dialled again when its
 *   backoff ends, a few times (DISCOVERY_RETRIES), then when discovery reports it again. Both
 *   sides of a pair usually learn of each other at once (an mDNS announcement, a peer list), and
 *   each dial costs both a handshake, one of them then closed as a duplicate: so of two peers
 *   the one with the smaller id dials at once, the other only if still unconnected
 *   `discoveryDeferMs` later (the smaller one may be unable to reach it).
 *
 * A failed dial is logged at debug (peers come and go), except a failed handshake: the peer is
 * there but will never connect until someone fixes a key, so it is a warning, once a minute per peer.
 *
 * A peer disconnected for flooding is not dialled until its cool-down ends (`refusedUntilMs`):
 * a target waits for it without counting a failure, a discovery report is ignored.
 *
 * At most `maxDialsInFlight` dials run at once; the rest wait in order, and one whose peer
 * connected meanwhile (it dialled us) is not made.
 */
import { backoffDelayMs, type BackoffOptions } from '../../shared/backoff.js';
import { DISCOVERY_DEFER_MS, DISCOVERY_RETRIES, MAX_DIALS_IN_FLIGHT, MAX_REMEMBERED_MEMBERS, MEMBER_REDIAL_BACKOFF, REDIAL_BACKOFF } from './constants.js';
import { classifyDialFailure, handshakeFailureMessage } from './dial-failure.js';
import { createRejectLogLimiter, type RejectLogLimiter } from './reject-log.js';
import type { P2PLogger, RedialPeer } from './types.js';

/** What to dial: known addresses and/or a peer id (either may be missing, not both). */
export interface DialRequest {
  peer: string | null;
  addrs: string[];
}

export interface DialerInit {
  selfId: string;
  /** Resolves the id of the peer the connection reached. */
  dial(request: DialRequest): Promise<string>;
  isConnected(peer: string): boolean;
  nowMs(): number;
  random01(): number;
  /** Bootstrap addresses and discovered peers; REDIAL_BACKOFF. */
  backoff?: BackoffOptions;
  /** Members, forgotten dead ones included; MEMBER_REDIAL_BACKOFF. */
  memberBackoff?: BackoffOptions;
  /** How long after its death a forgotten member is still redialled; 0: not at all. */
  reconnectTimeoutMs: number;
  logger: P2PLogger;
  /** Called for every dial that failed in its handshake (see dial-failure.ts), logged or not. */
  onHandshakeFailure?(): void;
  /** Until when dials to `peer` are refused (a flooder's cool-down, see flood-guard.ts), or null. */
  refusedUntilMs?(peer: string): number | null;
  /** How long the larger id of a pair waits before dialling a discovered peer; DISCOVERY_DEFER_MS. */
  discoveryDeferMs?: number;
  /** Dials at once; MAX_DIALS_IN_FLIGHT. */
  maxDialsInFlight?: number;
}

interface Target {
  /** Null for a bootstrap address without /p2p/ until a dial reaches someone. */
  peer: string | null;
  addrs: string[];
  failures: number;
  timer: NodeJS.Timeout | null;
  dialing: boolean;
  /** A member: since when membership has held it dead (null: not dead, or not a member). */
  deadSinceMs: number | null;
}

interface DiscoveryBackoff {
  failures: number;
  notBeforeMs: number;
}

/** Bound on remembered discovery failures; the oldest are forgotten first. */
const MAX_DISCOVERY_ENTRIES = 1024;

export class Dialer {
  private readonly init: DialerInit;
  private readonly backoff: BackoffOptions;
  private readonly memberBackoff: BackoffOptions;
  private readonly bootstrap = new Set<Target>();
  private readonly members = new Map<string, Target>();
  /** Forgotten dead members still redialled, oldest death first. */
  private readonly remembered = new Map<string, Target>();
  private readonly discovery = new Map<string, DiscoveryBackoff>();
  private readonly discoveryDialing = new Set<string>();
  /** Discovered peers whose handshake failed: dialled again when their timer fires (retryDiscovered). */
  private readonly retries = new Map<string, NodeJS.Timeout>();
  /** Discovered peers with a smaller id: dialled when their timer fires, if still unconnected. */
  private readonly deferred = new Map<string, NodeJS.Timeout>();
  /** Handshake warnings: once a minute per peer, whichever path (target or discovery) dialled it. */
  private readonly handshakeLog: RejectLogLimiter = createRejectLogLimiter();
  private stopped = false;
  private dialsInFlight = 0;
  /** Dials waiting for one in flight to end, oldest first. */
  private readonly dialQueue: (() => void)[] = [];

  constructor(init: DialerInit) {
    this.init = init;
    this.backoff = init.backoff ?? REDIAL_BACKOFF;
    this.memberBackoff = init.memberBackoff ?? MEMBER_REDIAL_BACKOFF;
  }

  /** Permanent targets, dialled now. */
  addBootstrap(addrs: ReadonlyArray<{ peer: string | null; addr: string }>): void {
    for (const { peer, addr } of addrs) {
      if (peer === this.init.selfId) continue;
      const target: Target = { peer, addrs: [addr], failures: 0, timer: null, dialing: false, deadSinceMs: null };
      this.bootstrap.add(target);
      this.schedule(target, 0);
    }
  }

  /**
   * Replaces the member targets; new ones are dialled now, dropped ones stop being redialled,
   * except a member dropped while dead (forgotten), which is remembered (see above).
   */
  setMembers(peers: ReadonlyArray<RedialPeer>): void {
    const nowMs = this.init.nowMs();
    const wanted = new Map(peers.filter((p) => p.id !== this.init.selfId).map((p) => [p.id, p]));
    for (const [id, target] of this.members) {
      if (wanted.has(id)) continue;
      this.members.delete(id);
      if (target.deadSinceMs !== null && this.stillRemembered(target, nowMs)) this.remember(id, target);
      else if (target.timer) clearTimeout(target.timer);
    }
    for (const [id, peer] of wanted) {
      const existing = this.members.get(id) ?? this.recall(id);
      const deadSinceMs = peer.state === 'dead' ? (existing?.deadSinceMs ?? nowMs) : null;
      if (existing) {
        // A member learned again from gossip may come with no address yet: keep the old ones.
        if (peer.addrs.length > 0) existing.addrs = peer.addrs;
        existing.deadSinceMs = deadSinceMs;
        this.members.set(id, existing);
        continue;
      }
      const target: Target = { peer: id, addrs: peer.addrs, failures: 0, timer: null, dialing: false, deadSinceMs };
      this.members.set(id, target);
      this.schedule(target, 0);
    }
  }

  /** Forgotten dead members still redialled (what the tests look at). */
  rememberedMembers(): string[] {
    return [...this.remembered.keys()];
  }

  private stillRemembered(target: Target, nowMs: number): boolean {
    return target.deadSinceMs !== null && target.addrs.length > 0 && nowMs - target.deadSinceMs < this.init.reconnectTimeoutMs;
  }

  private remember(id: string, target: Target): void {
    this.remembered.set(id, target);
    if (this.remembered.size > MAX_REMEMBERED_MEMBERS) {
      const [oldestId, oldest] = this.remembered.entries().next().value!;
      if (oldest.timer) clearTimeout(oldest.timer);
      this.remembered.delete(oldestId);
    }
    if (!this.init.isConnected(id)) this.schedule(target, this.redialDelayMs(target));
  }

  private recall(id: string): Target | undefined {
    const target = this.remembered.get(id);
    this.remembered.delete(id);
    return target;
  }

  /** A discovery mechanism reported `peer` at `addrs` (empty: use the peer store's). */
  discovered(peer: string, addrs: string[]): void {
    if (this.stopped || peer === this.init.selfId || this.init.isConnected(peer) || this.discoveryDialing.has(peer) || this.deferred.has(peer)) return;
    if (this.refusedUntilMs(peer) !== null) return;
    const backoff = this.discovery.get(peer);
    if (backoff && this.init.nowMs() < backoff.notBeforeMs) return;
    if (peer < this.init.selfId) {
      if (this.deferred.size >= MAX_DISCOVERY_ENTRIES) return;
      const timer = setTimeout(() => {
        this.deferred.delete(peer);
        if (!this.stopped && !this.init.isConnected(peer)) this.dialDiscovered(peer, addrs, backoff);
      }, this.init.discoveryDeferMs ?? DISCOVERY_DEFER_MS);
      timer.unref();
      this.deferred.set(peer, timer);
      return;
    }
    this.dialDiscovered(peer, addrs, backoff);
  }

  private dialDiscovered(peer: string, addrs: string[], backoff: DiscoveryBackoff | undefined): void {
    if (this.discoveryDialing.has(peer)) return;
    this.discoveryDialing.add(peer);
    this.dial({ peer, addrs }).then(
      () => this.discovery.delete(peer),
      (err: unknown) => {
        const failures = (backoff?.failures ?? 0) + 1;
        this.discovery.delete(peer);
        this.discovery.set(peer, { failures, notBeforeMs: this.init.nowMs() + this.delayMs(failures) });
        if (this.discovery.size > MAX_DISCOVERY_ENTRIES) this.discovery.delete(this.discovery.keys().next().value!);
        this.reportFailure({ peer, addrs }, err, failures, 'dial to discovered peer failed');
        if (classifyDialFailure(err) === 'handshake') this.retryDiscovered(peer, addrs, failures);
      },
    ).finally(() => this.discoveryDialing.delete(peer));
  }

  /**
   * After a failed handshake (the peer is there: a busy host, or another swarm key), a discovered
   * peer is dialled again by itself once its backoff ends, up to DISCOVERY_RETRIES failures: a
   * report may never come again (mDNS asks every 30 s once this node has peers, and a newcomer is
   * introduced by one peer list, node.ts), and two newcomers whose handshake timed out on a
   * loaded machine stayed apart until then. An unreachable one (refused, no route) is not: a
   * false peer list still costs one failed dial per peer it names.
   */
  private retryDiscovered(peer: string, addrs: string[], failures: number): void {
    if (this.stopped || failures > DISCOVERY_RETRIES || this.retries.has(peer) || this.retries.size >= MAX_DISCOVERY_ENTRIES) return;
    const timer = setTimeout(() => {
      this.retries.delete(peer);
      if (this.stopped || this.init.isConnected(peer) || this.refusedUntilMs(peer) !== null) return;
      this.dialDiscovered(peer, addrs, this.discovery.get(peer));
    }, this.delayMs(failures));
    timer.unref();
    this.retries.set(peer, timer);
  }

  peerConnected(peer: string): void {
    this.discovery.delete(peer);
    for (const timers of [this.deferred, this.retries]) {
      const timer = timers.get(peer);
      if (timer) clearTimeout(timer);
      timers.delete(peer);
    }
    for (const target of this.targetsOf(peer)) {
      if (target.timer) clearTimeout(target.timer);
      target.timer = null;
      target.failures = 0;
    }
  }

  peerDisconnected(peer: string): void {
    for (const target of this.targetsOf(peer)) this.schedule(target, this.redialDelayMs(target));
  }

  stop(): void {
    this.stopped = true;
    // Waiting dials get a slot now and end at once (stopped): no caller waits forever.
    for (const start of this.dialQueue.splice(0)) {
      this.dialsInFlight++;
      start();
    }
    for (const timers of [this.deferred, this.retries]) {
      for (const timer of timers.values()) clearTimeout(timer);
      timers.clear();
    }
    for (const target of [...this.bootstrap, ...this.members.values(), ...this.remembered.values()]) {
      if (target.timer) clearTimeout(target.timer);
      target.timer = null;
    }
  }

  /**
   * init.dial once fewer than maxDialsInFlight run. A dial whose peer connected while it waited is
   * not made (it succeeds as that peer); after stop() none is.
   */
  private async dial(request: DialRequest): Promise<string> {
    // A slot is taken here, or handed over by a dial that ends (the finally below).
    if (this.dialsInFlight < (this.init.maxDialsInFlight ?? MAX_DIALS_IN_FLIGHT)) this.dialsInFlight++;
    else await new Promise<void>((start) => this.dialQueue.push(start));
    try {
      if (this.stopped) throw new Error('the dialer stopped');
      if (request.peer !== null && this.init.isConnected(request.peer)) return request.peer;
      return await this.init.dial(request);
    } finally {
      const next = this.dialQueue.shift();
      if (next) next();
      else this.dialsInFlight--;
    }
  }

  private targetsOf(peer: string): Target[] {
    const member = this.members.get(peer) ?? this.remembered.get(peer);
    return [...[...this.bootstrap].filter((t) => t.peer === peer), ...(member ? [member] : [])];
  }

  private reportFailure({ peer, addrs }: { peer: string | null; addrs: string[] }, err: unknown, failures: number, debugMsg: string): void {
    // Stopping aborts dials in flight, and libp2p reports those as timeouts.
    if (this.stopped || classifyDialFailure(err) !== 'handshake') {
      this.init.logger.debug({ peer, addrs, err, failures }, debugMsg);
      return;
    }
    this.init.onHandshakeFailure?.();
    // Keyed by peer id when known: a bootstrap address and the peer store name one peer differently.
    const key = peer ?? addrs.join(' ');
    if (this.handshakeLog.shouldLog(key, 'handshake', this.init.nowMs())) {
      // A discovery report may carry no address (libp2p then dials the peer store's); the operator
      // still needs one to find the node, and a target for the same peer has it.
      const shown = addrs.length > 0 || peer === null ? addrs : this.targetsOf(peer).flatMap((t) => t.addrs);
      this.init.logger.warn({ peer, addrs: shown, err, failures }, handshakeFailureMessage({ peer, addrs: shown }, err));
    } else {
      this.init.logger.debug({ peer, addrs, err, failures }, debugMsg);
    }
  }

  private refusedUntilMs(peer: string): number | null {
    const untilMs = this.init.refusedUntilMs?.(peer) ?? null;
    return untilMs !== null && untilMs > this.init.nowMs() ? untilMs : null;
  }

  private delayMs(failures: number, backoff = this.backoff): number {
    return backoffDelayMs(failures, backoff, this.init.random01());
  }

  /** When to redial `target`: a member (remembered ones too) on the member backoff. */
  private redialDelayMs(target: Target): number {
    const isMember = target.peer !== null && (this.members.get(target.peer) === target || this.remembered.get(target.peer) === target);
    return this.delayMs(target.failures, isMember ? this.memberBackoff : this.backoff);
  }

  private schedule(target: Target, delayMs: number): void {
    if (this.stopped || target.timer || target.dialing) return;
    target.timer = setTimeout(() => {
      target.timer = null;
      void this.attempt(target);
    }, delayMs);
    // Redials must never keep a finished process alive.
    target.timer.unref();
  }

  /** Is `target` still to be dialled? A remembered member whose time ran out is let go here. */
  private isTarget(target: Target): boolean {
    if (this.bootstrap.has(target) || target.peer === null || this.members.get(target.peer) === target) return true;
    if (this.remembered.get(target.peer) !== target) return false;
    if (this.stillRemembered(target, this.init.nowMs())) return true;
    this.remembered.delete(target.peer);
    this.init.logger.info(
      { peer: target.peer, addrs: target.addrs, reconnectTimeoutMs: this.init.reconnectTimeoutMs },
      'stopped redialling a member dead for discovery.reconnectTimeoutMs; mDNS or discovery.bootstrap can still bring it back',
    );
    return false;
  }

  private async attempt(target: Target): Promise<void> {
    if (this.stopped || !this.isTarget(target)) return;
    if (target.peer !== null && this.init.isConnected(target.peer)) {
      target.failures = 0;
      return;
    }
    const refusedUntilMs = target.peer === null ? null : this.refusedUntilMs(target.peer);
    if (refusedUntilMs !== null) {
      this.schedule(target, refusedUntilMs - this.init.nowMs());
      return;
    }
    target.dialing = true;
    let failed = false;
    try {
      const reached = await this.dial({ peer: target.peer, addrs: target.addrs });
      target.failures = 0;
      // A bootstrap address without /p2p/ is tracked by whoever answered it.
      if (this.bootstrap.has(target)) target.peer = reached;
      // A bootstrap list shared by every node names this node too.
      if (reached === this.init.selfId) this.bootstrap.delete(target);
    } catch (err) {
      failed = true;
      target.failures++;
      this.reportFailure(target, err, target.failures, 'dial failed');
    } finally {
      target.dialing = false;
    }
    if (failed && this.isTarget(target)) this.schedule(target, this.redialDelayMs(target));
  }
}
