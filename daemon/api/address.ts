/** API addresses as users write them: `HOST:PORT`, `[IPV6]:PORT` or `unix:PATH`. */
import { parseHostPort, type HostPort } from './host-port.js';
import { UsageError } from '../errors.js';

export const DEFAULT_API_ADDRESS = '127.0.0.1:7400';

export type ApiTarget = { kind: 'tcp'; host: string; port: number } | { kind: 'unix'; socketPath: string };

/** Parses an API address; a malformed one is a usage error (exit 2). */
export function parseApiAddress(address: string): ApiTarget {
  if (address.startsWith('unix:')) {
    const socketPath = address.slice('unix:'.length);
    if (socketPath === '') throw new UsageError(`API address ${JSON.stringify(address)} has no path after unix:`);
    return { kind: 'unix', socketPath };
  }
  const hostPort = parseHostPort(address);
  if (!hostPort) {
    throw new UsageError(`API address ${JSON.stringify(address)} is neither HOST:PORT (e.g. 127.0.0.1:7400) nor unix:PATH`);
  }
  return { kind: 'tcp', ...hostPort };
}

/** The address to use: the flag, else `CONCLAVE_API`, else 127.0.0.1:7400. */
export function resolveApiAddress(flag?: string, env: NodeJS.ProcessEnv = process.env): string {
  if (flag) return flag;
  const fromEnv = env.CONCLAVE_API?.trim();
  return fromEnv ? fromEnv : DEFAULT_API_ADDRESS;
}

/** `host:port`, with brackets around an IPv6 host. */
export function formatHostPort({ host, port }: HostPort): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}
