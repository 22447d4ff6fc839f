/**
 * Address checks for config fields: libp2p multiaddrs (`listen`, `discovery.bootstrap`) and the
 * API's `host:port`. Each check returns the reason a value is wrong, or null when it is fine.
 */
import { isIP } from 'node:net';
import { multiaddr } from '@multiformats/multiaddr';
import { peerIdFromString } from '@libp2p/peer-id';
import { parseHostPort, type HostPort } from '../api/host-port.js';

/** The only transport the daemon carries is TCP, reached over IP or a DNS name. */
const HOST_PROTOCOLS = new Set(['ip4', 'ip6', 'dns', 'dns4', 'dns6']);

interface Component {
  name: string;
  value?: string;
}

function components(value: string): Component[] | string {
  try {
    return multiaddr(value).getComponents();
  } catch (err) {
    return `${JSON.stringify(value)} is not a multiaddr (${(err as Error).message})`;
  }
}

/** A listen address: `/ip4/<addr>/tcp/<port>` or `/ip6/<addr>/tcp/<port>`. */
export function listenAddressProblem(value: string): string | null {
  const parts = components(value);
  if (typeof parts === 'string') return parts;
  const [host, tcp, ...rest] = parts;
  if (!host || (host.name !== 'ip4' && host.name !== 'ip6') || tcp?.name !== 'tcp' || rest.length > 0) {
    return `${JSON.stringify(value)} is not a TCP listen address; use /ip4/<addr>/tcp/<port> or /ip6/<addr>/tcp/<port>`;
  }
  return null;
}

/** A bootstrap peer: `/ip4|ip6|dns|dns4|dns6/<host>/tcp/<port>`, optionally `/p2p/<peer id>`. */
export function bootstrapAddressProblem(value: string): string | null {
  const parts = components(value);
  if (typeof parts === 'string') return parts;
  const [host, tcp, p2p, ...rest] = parts;
  if (!host || !HOST_PROTOCOLS.has(host.name) || tcp?.name !== 'tcp' || (p2p && p2p.name !== 'p2p') || rest.length > 0) {
    return `${JSON.stringify(value)} is not a TCP peer address; use /ip4/<addr>/tcp/<port>[/p2p/<peer id>] (or /dns4/<name>/…)`;
  }
  if (p2p) {
    try {
      peerIdFromString(p2p.value ?? '');
    } catch {
      return `${JSON.stringify(value)} has an invalid peer id after /p2p/`;
    }
  }
  return null;
}

// One rule for `host:port`, kept where the light entry points (CLI, client library) can load it.
export { parseHostPort, type HostPort };

export function hostPortProblem(value: string): string | null {
  return parseHostPort(value) ? null : `${JSON.stringify(value)} is not host:port (e.g. 127.0.0.1:7400 or [::1]:7400)`;
}

/** True only for addresses that cannot be reached from another machine. */
export function isLoopbackHost(host: string): boolean {
  if (host === 'localhost') return true;
  if (isIP(host) === 4) return host.startsWith('127.');
  if (isIP(host) === 6) return host === '::1' || host === '0:0:0:0:0:0:0:1';
  return false;
}
