/**
 * Address checks for config fields: libp2p multiaddrs (`listen`, `discovery.bootstrap`) and the
 * API's `host:port`. Each check returns the reason a value is wrong, or null when it is fine.
 */
import { isIP, isIPv4, isIPv6 } from 'node:net';
import { multiaddr } from '@multiformats/multiaddr';
import { peerIdFromString } from '@libp2p/peer-id';

/** The only transport the daemon carries is TCP, reached over IP or a DNS name. */
const HOST_PROTOCOLS = new Set(['ip4', 'ip6', 'dns', 'dns4', 'dns6']);
const HOSTNAME_RE = /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;

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

export interface HostPort {
  host: string;
  port: number;
}

/** `host:port` or `[ipv6]:port`; port 0 asks the OS for a free one (tests use it). */
export function parseHostPort(value: string): HostPort | null {
  const match = /^(?:\[([^\]]+)\]|([^:[\]\s]+)):(\d{1,5})$/.exec(value);
  if (!match) return null;
  const host = match[1] ?? match[2] ?? '';
  const port = Number(match[3]);
  if (port > 65_535) return null;
  if (match[1] !== undefined ? !isIPv6(host) : !(isIPv4(host) || HOSTNAME_RE.test(host))) return null;
  return { host, port };
}

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
