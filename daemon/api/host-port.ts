/**
 * `HOST:PORT` as users write an API address, parsed with node:net alone. The CLI's reporting
 * commands and the client library read addresses with it; daemon/config/addresses.ts checks
 * config fields with libp2p's multiaddr parser, which these light entry points must not load.
 */
import { isIPv4, isIPv6 } from 'node:net';

export interface HostPort {
  host: string;
  port: number;
}

const HOSTNAME_RE = /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;

/** `host:port` or `[ipv6]:port` (port 0 asks the OS for a free one); null when malformed. */
export function parseHostPort(value: string): HostPort | null {
  const match = /^(?:\[([^\]]+)\]|([^:[\]\s]+)):(\d{1,5})$/.exec(value);
  if (!match) return null;
  const host = match[1] ?? match[2] ?? '';
  const port = Number(match[3]);
  if (port > 65_535) return null;
  if (match[1] !== undefined ? !isIPv6(host) : !(isIPv4(host) || HOSTNAME_RE.test(host))) return null;
  return { host, port };
}
