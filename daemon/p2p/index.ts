/** The libp2p node the runtime talks to; see types.ts for the contract. */
export { createP2PNode } from './node.js';
export { readSwarmKey } from './swarm-key.js';
export { SwarmKeyError } from './errors.js';
export { directProtocolId, gossipTopic, mdnsServiceTag } from './names.js';
export type { FrameRejectReason, P2PLogger, P2PNode, P2PNodeInit, P2PStats, RedialPeer } from './types.js';
