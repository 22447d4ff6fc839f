/**
 * Whether the swarm is closed to peers without the pre-shared key. Without one, anyone who can
 * reach a node and knows the cluster name can join, and mDNS announces that name on the LAN: the
 * daemon says so once at start, and `/v1/status` carries it to `conclave status` and the dashboard.
 */
import type { SecurityStatus } from './api/types.js';
import type { ConclaveConfig } from './config/types.js';

export function securityStatus(config: Pick<ConclaveConfig, 'security'>): SecurityStatus {
  return { psk: config.security.pskFile !== null };
}

/** The start-up warning for an open swarm, with the fix; null when a key protects it. */
export function openSwarmWarning(config: Pick<ConclaveConfig, 'cluster' | 'security' | 'discovery'>): string | null {
  if (securityStatus(config).psk) return null;
  const announced = config.discovery.mdns.enabled ? ' (mDNS announces it on the LAN)' : '';
  return (
    `no pre-shared key (security.pskFile): the cluster is open, anyone who can reach this node and knows ` +
    `the cluster name "${config.cluster.name}"${announced} can join it and take part in elections; ` +
    'run `conclave init` to create a key and a config that uses it'
  );
}
