/**
 * Names derived from the cluster: the mDNS service tag and the membership and election stream
 * protocol ids. Nodes of another cluster use other names, so they neither discover nor hear each other.
 */
import { createHash } from 'node:crypto';
import type { ProtocolName } from '../../protocols/types.js';

/** DNS labels hold at most 63 bytes; `_conclave-` and the hash fit well inside. */
const MAX_TAG_LABEL_BYTES = 63;
const LABEL_PREFIX = '_conclave-';

/**
 * `_conclave-<cluster>._udp.local` when the cluster is a plain DNS label that fits; otherwise
 * the cluster part is a hash, so long or unusual names still give a valid, distinct tag.
 */
export function mdnsServiceTag(cluster: string): string {
  const plain = /^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$/.test(cluster) && LABEL_PREFIX.length + cluster.length <= MAX_TAG_LABEL_BYTES;
  const label = plain ? cluster : createHash('sha256').update(cluster, 'utf8').digest('hex').slice(0, 32);
  return `${LABEL_PREFIX}${label}._udp.local`;
}

/** Heartbeats and peer lists, between every two nodes of the cluster whatever election protocol each runs. */
export function membershipProtocolId(cluster: string): string {
  return `/conclave/${cluster}/membership/1.0.0`;
}

export function directProtocolId(cluster: string, protocol: ProtocolName): string {
  return `/conclave/${cluster}/${protocol}/1.0.0`;
}

/** Offers of a direct link (link-server.ts), asked for over libp2p by the peer that will dial it. */
export function linkProtocolId(cluster: string): string {
  return `/conclave/${cluster}/link/1.0.0`;
}
