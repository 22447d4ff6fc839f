/** Tuning for a small LAN cluster; each value says why it differs from the library default. */
import type { BackoffOptions } from '../../shared/backoff.js';

/**
 * Direct-message streams allowed per connection and direction. libp2p's default of 32 is
 * reached when reopened streams overlap closing ones on a busy connection.
 */
export const MAX_DIRECT_STREAMS = 128;

/** Frames waiting per peer before the oldest is dropped (`queue-full`); elections send few. */
export const MAX_QUEUED_FRAMES_PER_PEER = 1024;

/**
 * Bytes per peer waiting or handed to its stream and not yet taken. Election frames are a few
 * hundred bytes, so 1024 of them fit; without it 1024 frames of maxFrameBytes (64 KiB) would be
 * 64 MiB held for one peer that does not read. Never below maxFrameBytes (see node.ts).
 */
export const MAX_QUEUED_BYTES_PER_PEER = 1024 * 1024;

/** Frames that waited longer than this for a stream are dropped (stale by then for an election). */
export const MAX_QUEUED_FRAME_AGE_MS = 5_000;

/**
 * A message stream that takes no frame for this long is reset: twice MAX_QUEUED_FRAME_AGE_MS, so
 * whatever it holds is stale; with the lan and local presets a peer stalled that long has been
 * declared dead already.
 */
export const MAX_BLOCKED_STREAM_MS = 10_000;

/**
 * Inbound frames one stream decodes before it yields to the event loop. A chunk from the socket
 * can hold thousands of small frames, all decoded in one turn otherwise: the API, timers and
 * other peers wait behind them. 64 frames take well under a millisecond to drop, a few to handle.
 */
export const INBOUND_FRAMES_PER_TURN = 64;

/** Opening a direct stream (dial included) gives up after this; the frames stay queued. */
export const OPEN_STREAM_TIMEOUT_MS = 5_000;

/** libp2p's 10 s dial timeout is sized for the internet; LAN peers answer in milliseconds. */
export const DIAL_TIMEOUT_MS = 5_000;

/**
 * Dials this node has in flight at once; more wait their turn (before libp2p's dial timeout
 * starts). A node joining a large cluster learns of every member at once: dialling them all at
 * once on a busy machine made each handshake slow, many timed out at DIAL_TIMEOUT_MS and were
 * made again, and the newcomer starved (README "How large a cluster").
 */
export const MAX_DIALS_IN_FLIGHT = 4;

/**
 * Inbound connections accepted per second from one host. libp2p's 5 is a DoS guard for public
 * nodes; a local cluster restarting at once connects from one address many times a second.
 */
export const INBOUND_CONNECTIONS_PER_HOST_PER_S = 100;

/**
 * Of two peers that discover each other, the larger id waits this long before it dials (the
 * smaller dials at once; dialer.ts): long enough for a handshake on a loaded machine, short
 * enough that a peer the smaller one cannot reach is still joined within a few seconds.
 */
export const DISCOVERY_DEFER_MS = 2_000;

/**
 * A peer a peer list named this recently was introduced to the cluster by the list's sender, so
 * its connections to us do not introduce it again (node.ts; a disconnect ends that sooner).
 * Long enough for a newcomer to meet every member on a loaded machine (a wave of
 * `scripts/cluster.sh up` took up to 30 s).
 */
export const INTRODUCTION_FRESH_MS = 60_000;

/** Redials of a bootstrap address: a restarted daemon is back within a second; a gone one costs a dial per 30 s. */
export const REDIAL_BACKOFF: BackoffOptions = { baseMs: 250, maxMs: 30_000 };

/**
 * Failed handshakes after which a discovered peer is dialled again only when discovery reports
 * it again: on REDIAL_BACKOFF, five retries span about 8 s, beyond a loaded machine's burst of
 * handshake timeouts (a wave of newcomers, dialling each other at once).
 */
export const DISCOVERY_RETRIES = 5;

/**
 * Redials of a member, dead ones and forgotten dead ones included (`discovery.reconnectTimeoutMs`):
 * a healed partition is whole again within about 2 s however long it lasted, as Serf keeps
 * reconnecting failed members. A member that is gone for good costs a dial every 1–2 s, which
 * fails at once (refused, no route) or waits on the dial timeout, one at a time.
 */
export const MEMBER_REDIAL_BACKOFF: BackoffOptions = { baseMs: 250, maxMs: 2_000 };

/**
 * A message stream whose open failed with no connection (the peer is down) is opened again after
 * this (PeerChannel), or at once when a connection comes up. Below the members' redial backoff:
 * after a healed partition whose connections closed, the first frames may reconnect before the
 * dialer does, within a second. A voter stopped for good then costs its leader about one dial a
 * second instead of one per heartbeat.
 */
export const OPEN_RETRY_BACKOFF: BackoffOptions = { baseMs: 100, maxMs: 1_000 };

/** Bound on forgotten dead members still redialled; the oldest deaths are let go first. */
export const MAX_REMEMBERED_MEMBERS = 1024;

/**
 * For this long after start, mDNS queries go at the fast `intervalMs` even when connected: peers
 * that start together may first form separate groups that only a later query joins.
 */
export const MDNS_SEARCH_PHASE_MS = 10_000;

/**
 * Direct links (link.ts). An offer is good for one handshake this soon after it was made: the
 * peer dials it at once, within a round trip or two. A handshake that has not finished in the
 * time a LAN peer takes with a busy event loop is dropped, so a port scan holds no socket long.
 */
export const LINK_OFFER_TTL_MS = 10_000;
export const LINK_HANDSHAKE_TIMEOUT_MS = 5_000;
/** Sockets the link listener holds at once, handshaking or linked: one link per member, and room for as many handshakes. */
export const MAX_LINK_SOCKETS = 2 * 1024;
/** A link that failed is asked for again after this, while the libp2p connection to the peer lasts. */
export const LINK_RETRY_BACKOFF: BackoffOptions = { baseMs: 1_000, maxMs: 60_000 };
