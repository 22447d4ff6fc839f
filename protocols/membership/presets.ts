/**
 * Named membership timings (memberlist's DefaultLANConfig / DefaultLocalConfig / DefaultWANConfig).
 * Worst cases follow from formulas.ts: a silent member is declared dead after
 * `suspectAfterMs + suspicionMinMs` with enough confirmations, `suspectAfterMs + suspicionMaxMs`
 * when this node alone suspects; a closed connection skips the `suspectAfterMs` part.
 */
import type { MembershipTimings } from './types.js';

/** Several daemons on one LAN. Targets (5 nodes): kill -9 dead p50 <= 1 s, SIGSTOP dead p50 <= 3 s. */
const lan: MembershipTimings = {
  // Every heartbeat is a frame to every member (to six from seven nodes up), the bulk of an idle daemon's CPU: 1 s (memberlist's
  // LAN probe interval) instead of 500 ms took about a quarter off it.
  // Detection does not wait for the next heartbeat (suspicions are gossiped at once, a closed
  // connection is a hint at once), so only silence detection scales with this.
  heartbeatIntervalMs: 1000,
  // Two intervals: TCP loses no heartbeat, it only delays one, and a 300 ms GC pause or stall
  // leaves a gap of 1.3 s; a silent (SIGSTOP) node is suspected 1-2 s after it stopped (its last
  // heartbeat arrived 0-1 s before the stop).
  suspectAfterMs: 2000,
  // With three confirmations (gossiped the moment each node suspects) a killed node, whose
  // connection closes at once, is dead at ~600 ms and a silent one at ~1.6-2.6 s; a falsely
  // suspected node hears the suspicion within milliseconds and refutes well within this.
  suspicionMinMs: 600,
  // Alone, wait longer: a connection-closed hint unconfirmed by anyone is more likely a local
  // glitch. 2000 + 2000 also bounds a silent node's death at ~4 s with no help at all.
  suspicionMaxMs: 2000,
  // A minute of `dead`/`left` in the view lets operators see what happened and lets a wrongly
  // declared node read its own death in our heartbeats and refute it.
  forgetAfterMs: 60_000,
  // Event-loop lag may stretch timeouts fourfold (silence 8 s) but no further: a node that is
  // that slow should still notice the dead eventually.
  maxHealthMultiplier: 4,
};

/** Many daemons on one host (development, tests): loopback is fast and never loses packets. */
const local: MembershipTimings = {
  // Loopback delivery is sub-millisecond; faster heartbeats make demos and tests responsive.
  heartbeatIntervalMs: 200,
  // Five missed heartbeats: one host running many daemons sees scheduling hiccups.
  suspectAfterMs: 1000,
  // Two and a half intervals: confirmations from the other local daemons arrive within one.
  suspicionMinMs: 500,
  suspicionMaxMs: 1500,
  // Test clusters churn; forget faster so views stay readable.
  forgetAfterMs: 30_000,
  maxHealthMultiplier: 4,
};

/** Nodes across sites or lossy links: latency in the hundreds of ms and bursts of loss. */
const wan: MembershipTimings = {
  // One second keeps gossip cheap on metered links; a leader change in seconds is fine here.
  heartbeatIntervalMs: 1000,
  // Five missed heartbeats ride out a burst of loss or a route flap.
  suspectAfterMs: 5000,
  // Three intervals: confirmations travel slowly, refutations too.
  suspicionMinMs: 3000,
  suspicionMaxMs: 10_000,
  // Five minutes: slow links make flapping likelier; keep the history visible longer.
  forgetAfterMs: 300_000,
  // Remote and shared hosts are more often overloaded; allow more self-doubt.
  maxHealthMultiplier: 8,
};

/** The preset names (`membership.preset`, `--preset`): config, CLI and scripts derive from this list. */
export const MEMBERSHIP_PRESET_NAMES = ['lan', 'local', 'wan'] as const;
export type MembershipPresetName = (typeof MEMBERSHIP_PRESET_NAMES)[number];

export const MEMBERSHIP_PRESETS: Readonly<Record<MembershipPresetName, MembershipTimings>> = { lan, local, wan };
