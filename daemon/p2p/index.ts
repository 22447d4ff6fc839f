/** The libp2p node the runtime talks to; see types.ts for the contract. */
export { createP2PNode } from './node.js';
export { readSwarmKey } from './swarm-key.js';
export { PeerFloodError, StuckStreamError, SwarmKeyError } from './errors.js';
export { DEFAULT_PEER_LIMITS, peerLimitsFor, type PeerLimits } from './flood-guard.js';
export { directProtocolId, mdnsServiceTag, membershipProtocolId } from './names.js';
export type { FrameRejectReason, OutboundDropReason, P2PLogger, P2PNode, P2PNodeInit, P2PStats, RedialPeer } from './types.js';
