/**
 * One bound for every counter that crosses the wire or reaches disk: epochs, terms, fencing
 * tokens, incarnations and sequence numbers. Codecs refuse anything above it on the way in, and
 * the machines never produce a value above it on the way out, so a daemon never writes what its
 * own loader would refuse (a value near 2^53 used to brick a cluster: one more is not exact).
 */

/**
 * 2^50: wall-clock-second incarnations (about 2^31) and a new epoch every millisecond for 35,000
 * years both fit, and one above it is still an exact integer in a double.
 */
export const MAX_COUNTER = 2 ** 50;

/**
 * How far above the epoch this node promised, or most of its cluster gossips, a message may
 * reach. Honest claims lie at most MAX_EPOCH_LEAD above their sender's view, and a member that
 * was away learns the cluster's epoch from gossip before it acts; a message reaching further is
 * refused and counted, so no message can push the next fencing token far (a claim at 5000 in a
 * cluster at epoch 3 is refused), let alone exhaust the token space.
 */
export const MAX_EPOCH_JUMP = 1000;

/**
 * How far above what most of the cluster gossips one member's gossiped term may lift this node's
 * next claim. Real terms differ by an election or two (one in flight, a restarted node one
 * behind); gossip claiming more is believed only this far.
 */
export const MAX_EPOCH_LEAD = 100;

/**
 * Bound on the members a node holds (self excluded). Membership ignores heartbeats from beyond
 * it, and Bully's durable member list and its codec stop there too. Peers are authenticated, so
 * this guards against a bug or a compromised key flooding ids, not against strangers.
 */
export const MAX_MEMBERS = 1024;

/**
 * Bound on a node id on the wire and on disk: a libp2p peer id is about 52 characters (Ed25519)
 * and under 100 for any key type.
 */
export const MAX_NODE_ID_CHARS = 128;

export function isCounter(value: number): boolean {
  return Number.isSafeInteger(value) && value >= 0 && value <= MAX_COUNTER;
}

/**
 * The epoch most of a cluster reports: the lower median of the members' gossiped epochs. One
 * member (or stranger) gossiping a huge term cannot move it, not even in a view of two; a node
 * behind the others (a newcomer at 0) does not move it either once it hears two peers. 0 for an
 * empty list.
 */
export function clusterEpoch(epochs: readonly number[]): number {
  if (epochs.length === 0) return 0;
  const sorted = [...epochs].sort((a, b) => a - b);
  return sorted[Math.floor((sorted.length - 1) / 2)]!;
}
